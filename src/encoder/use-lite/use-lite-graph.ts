/**
 * The bundled USE-lite rebuilt as an ONNX graph from its TF.js weights (issue 23), with the
 * converters' graph builder, so it runs on onnxruntime instead of TF.js-wasm. What the TF.js graph
 * (model.json, "KonaTransformer") computes up to TOKEN_STATES_NODE, read node by node:
 * - x0 = E[id] + (E[id] + timing(p)) per real token: the graph adds the timing signal to the
 *   gathered embeddings and then adds the scattered embeddings once more (Layer_0/add); timing(p) =
 *   [sin(p·τ), cos(p·τ)] with τ the 128 stored inverse timescales, p the position in the sentence;
 * - two pre-norm layers (LayerNorm: eps from the graph, 1e-6): attention with a fused QKV 1×1
 *   convolution (= matmul), 4 heads (64-d in layer 0 on a 256-d input, 128-d in layer 1), queries
 *   scaled by the stored factor, padding keys biased by −1e9, softmax, output 1×1 convolution;
 *   layer 0's residual is its input projected 256 → 512 (AdjustResidualInput/dense); then a ReLU
 *   FFN 512 → 1536 → 512 with residual; the output is the second layer's FFN sum [B, S, 512].
 * TF.js computes padding rows as zeros (it scatters only real tokens); here they hold values that
 * nobody reads, and real rows are unaffected (padding keys get −1e9). Equality with TF.js on scifact
 * passages: test/use-lite-onnx.test.ts.
 */
import { PlaitError } from '../../errors/index.js';
import type { Linear } from '../convert/bert-weights.js';
import { FLOAT, GraphBuilder, INT64, valueInfo } from '../convert/onnx-graph-builder.js';
import type { ModelArtifactsOnDisk } from './model-files.js';

/** Output name of the rebuilt graph: the last layer's token states [batch, sequence, 512]. */
export const USE_LITE_STATES_OUTPUT = 'states';

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
}

/** name → typed view over the weight data, in manifest order (float32 and int32 entries only, as the package ships). */
function weightsOf(artifacts: ModelArtifactsOnDisk): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  let offset = 0;
  for (const group of artifacts.json.weightsManifest) {
    for (const raw of group.weights as ManifestEntry[]) {
      const n = raw.shape.reduce((a, b) => a * b, 1);
      if (raw.dtype !== 'float32' && raw.dtype !== 'int32') {
        throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite weight ${raw.name} has dtype ${raw.dtype}; expected float32 or int32` });
      }
      if (offset + n * 4 > artifacts.weightData.byteLength) throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite weight ${raw.name} runs past the weight files' ${artifacts.weightData.byteLength} bytes` });
      // Views, not copies: every entry is 4 bytes wide, so each starts 4-byte aligned (a copy of the
      // 25 MB of weights had cost each encoder load ~30 ms; the graph's encode copies them once anyway).
      out.set(raw.name, { shape: raw.shape, data: raw.dtype === 'float32' ? new Float32Array(artifacts.weightData, offset, n) : new Int32Array(artifacts.weightData, offset, n) });
      offset += n * 4;
    }
  }
  return out;
}

/** The ONNX bytes of USE-lite's token-state graph (inputs input_ids, attention_mask [batch, sequence] int64). */
export function buildUseLiteGraph(artifacts: ModelArtifactsOnDisk): Uint8Array {
  const weights = weightsOf(artifacts);
  const find = (suffix: string): { shape: number[]; data: Float32Array | Int32Array } => {
    const hits = [...weights.keys()].filter((k) => k.endsWith(suffix));
    if (hits.length !== 1) throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite: ${hits.length} weights end with ${suffix}; expected one` });
    return weights.get(hits[0]!)!;
  };
  const floats = (suffix: string): Float32Array => {
    const d = find(suffix).data;
    if (!(d instanceof Float32Array)) throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite: ${suffix} is not float32` });
    return d;
  };
  const int = (suffix: string): number => find(suffix).data[0]!;
  const scalar = (suffix: string): number => floats(suffix)[0]!;
  /** A [in, out] kernel (TF layout, also HWIO 1×1 convolutions) and its bias as a Linear, columns [from, from + count). */
  const linear = (kernel: string, bias: string, inF: number, outF: number, from = 0, count = outF): Linear => {
    const k = floats(kernel);
    const b = floats(bias);
    if (k.length !== inF * outF || b.length !== outF) throw new PlaitError('MODEL_LOAD_FAILED', { message: `USE-lite: ${kernel} is not ${inF} × ${outF}` });
    const weight = new Float32Array(inF * count);
    for (let r = 0; r < inF; r++) weight.set(k.subarray(r * outF + from, r * outF + from + count), r * count);
    return { weight, bias: b.slice(from, from + count), inFeatures: inF, outFeatures: count };
  };
  const norm = (prefix: string): { gamma: Float32Array; beta: Float32Array } => ({
    gamma: floats(`${prefix}/layer_norm/layer_norm_scale/ConcatPartitions/concat`),
    beta: floats(`${prefix}/layer_norm/layer_norm_bias/ConcatPartitions/concat`),
  });

  const g = new GraphBuilder();
  const eps = scalar('FFN/layer_prepostprocess/layer_norm/Cast/x');
  const paddingBias = scalar('attention_bias_ignore_padding/mul/y');
  const heads = int('Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2');
  const embeddings = find('module/Embeddings_en');
  const E = embeddings.shape[1]!;
  const invTimescales = floats('AddTimingSignal/TimingSignal/ExpandDims_1');

  const c0 = g.ints('const.zero', [0], true);
  const c1 = g.ints('const.one', [1], true);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), c1], { axis: 0 });
  const positions = g.op('Unsqueeze', [g.op('Cast', [g.op('Range', [c0, seqLen, c1])], { to: FLOAT }), g.ints('const.axis_1', [1])]);
  const angles = g.op('MatMul', [positions, g.tensor('timing.inv_timescales', [1, invTimescales.length], invTimescales)]);
  const timing = g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], { axis: -1 });
  const emb = g.op('Gather', [g.tensor('embeddings', embeddings.shape, embeddings.data as Float32Array), 'input_ids']);
  let x = g.op('Add', [emb, g.op('Add', [emb, timing])]);

  const mask = g.op('Cast', ['attention_mask'], { to: FLOAT });
  const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.scalar('const.one_f', 1), mask]), g.scalar('const.padding_bias', paddingBias)]), g.ints('const.axes_1_2', [1, 2])]);

  for (let l = 0; l < 2; l++) {
    const L = `Layer_${l}/TransformerLayer`;
    const width = l === 0 ? E : floats(`Encode/${L}/dense/bias/ConcatPartitions/concat`.replace('Layer_1', 'Layer_0')).length;
    const qkvWidth = floats(`Encode/${L}/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`).length;
    const attnWidth = qkvWidth / 3;
    const headDim = attnWidth / heads;
    const hidden = floats(`Encode/${L}/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`).length;
    const h = g.layerNorm(x, norm(`Encode/${L}/layer_prepostprocess`), `l${l}.attn_norm`, eps);
    const qkvKernel = `Encode/${L}/MultiheadAttention/qkv_transform_single/kernel/part_0`;
    const qkvBias = `Encode/${L}/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`;
    const split = g.ints(`l${l}.split_heads`, [0, 0, heads, headDim]);
    const toHeads = (t: string): string => g.op('Transpose', [g.op('Reshape', [t, split])], { perm: [0, 2, 1, 3] });
    const q = g.op('Mul', [toHeads(g.linear(h, linear(qkvKernel, qkvBias, width, qkvWidth, 0, attnWidth), `l${l}.q`)), g.scalar(`l${l}.q_scale`, scalar(`TransformerStack/${L}/MultiheadAttention/mul/y`))]);
    const k = g.op('Transpose', [toHeads(g.linear(h, linear(qkvKernel, qkvBias, width, qkvWidth, attnWidth, attnWidth), `l${l}.k`))], { perm: [0, 1, 3, 2] });
    const v = toHeads(g.linear(h, linear(qkvKernel, qkvBias, width, qkvWidth, 2 * attnWidth, attnWidth), `l${l}.v`));
    const attention = g.op('MatMul', [g.op('Softmax', [g.op('Add', [g.op('MatMul', [q, k]), bias])], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [attention], { perm: [0, 2, 1, 3] }), g.ints(`l${l}.merge_heads`, [0, 0, attnWidth])]);
    const out = g.linear(merged, linear(`Encode/${L}/MultiheadAttention/output_transform_single/kernel/part_0`, `Encode/${L}/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, attnWidth, hidden), `l${l}.attn_out`);
    const residual = l === 0 ? g.linear(x, linear(`Encode/${L}/dense/kernel/ConcatPartitions/concat`, `Encode/${L}/dense/bias/ConcatPartitions/concat`, width, hidden), 'l0.adjust_residual') : x;
    x = g.op('Add', [out, residual]);
    const f = g.layerNorm(x, norm(`Encode/${L}/FFN/layer_prepostprocess`), `l${l}.ffn_norm`, eps);
    const inner = floats(`Encode/${L}/FFN/conv1/bias/ConcatPartitions/concat`).length;
    const up = g.op('Relu', [g.linear(f, linear(`TransformerStack/${L}/FFN/conv1/Tensordot/Reshape_1`, `Encode/${L}/FFN/conv1/bias/ConcatPartitions/concat`, hidden, inner), `l${l}.ffn_up`)]);
    const down = g.linear(up, linear(`TransformerStack/${L}/FFN/conv2/Tensordot/Reshape_1`, `Encode/${L}/FFN/conv2/bias/ConcatPartitions/concat`, inner, hidden), `l${l}.ffn_down`);
    x = g.op('Add', [down, x], {}, l === 1 ? USE_LITE_STATES_OUTPUT : undefined);
  }
  const inputs = [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])];
  return g.encode('use-lite', inputs, [valueInfo(USE_LITE_STATES_OUTPUT, FLOAT, ['batch', 'sequence', 'hidden'])], { 'plait.source': 'TF.js USE-lite' });
}
