/**
 * BERT weights → an ONNX model (opset 17, IR 8) written with onnx-proto's ModelProto encoder, using
 * only standard operators so any onnxruntime (checked on onnxruntime-node 1.30) runs it:
 * - embeddings: Gather(word, input_ids) + Gather(position, Range(0, S)) [+ Gather(type,
 *   token_type_ids)], LayerNormalization;
 * - N layers, as transformers' BertLayer: Q/K/V MatMul+Add, Reshape to heads, scores·1/√d_head plus
 *   the attention mask as an additive bias ((1 − mask)·float32 min, transformers'
 *   get_extended_attention_mask), Softmax, context, output dense + residual + LayerNorm; then the
 *   FFN with GELU as config.json names it (erf: 0.5x(1+erf(x/√2)); tanh: 0.5x(1+tanh(√(2/π)(x +
 *   0.044715x³)))), output dense + residual + LayerNorm;
 * - ColBERT head: the projection (no bias in HF_ColBERT), then x / max(‖x‖₂, 1e-12) (torch's
 *   F.normalize, as ColBERT's colbert.py): output `embeddings` [batch, sequence, dim];
 * - classifier head (cross-encoders): [CLS] row → pooler dense + Tanh → classifier: `logits`
 *   [batch, num_labels].
 * onnxruntime fuses the LayerNorm/GELU/attention patterns itself at session creation
 * (graphOptimizationLevel 'all'), so the graph stays plain.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { BertWeights, Linear, Norm } from './bert-weights.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR = onnx.AttributeProto.AttributeType;

export const GRAPH_OPSET = 17;
export const GRAPH_IR_VERSION = 8;
/** Output names: ColBERT token embeddings, cross-encoder scores. */
export const EMBEDDINGS_OUTPUT = 'embeddings';
export const LOGITS_OUTPUT = 'logits';
/** transformers' mask bias: torch.finfo(torch.float32).min. */
const MASK_BIAS = -3.4028234663852886e38;

type AttrValue = number | number[] | { float: number };

class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private count = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  tensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: data instanceof Float32Array ? FLOAT : INT64,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  scalar(name: string, value: number): string {
    return this.tensor(name, [], Float32Array.of(value));
  }

  ints(name: string, values: readonly number[], scalar = false): string {
    return this.tensor(name, scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  op(type: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? this.fresh(type.toLowerCase());
    const attribute: OnnxTypes.IAttributeProto[] = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: ATTR.INTS, ints: v }
        : typeof v === 'object'
          ? { name, type: ATTR.FLOAT, f: v.float }
          : { name, type: ATTR.INT, i: v },
    );
    this.nodes.push({ opType: type, name: `${type}_${out}`, input: [...inputs], output: [out], attribute });
    return out;
  }

  linear(x: string, l: Linear, name: string): string {
    const w = this.tensor(`${name}.weight`, [l.inFeatures, l.outFeatures], l.weight);
    const y = this.op('MatMul', [x, w]);
    return l.bias === null ? y : this.op('Add', [y, this.tensor(`${name}.bias`, [l.outFeatures], l.bias)]);
  }

  layerNorm(x: string, n: Norm, name: string, eps: number, output?: string): string {
    const g = this.tensor(`${name}.gamma`, [n.gamma.length], n.gamma);
    const b = this.tensor(`${name}.beta`, [n.beta.length], n.beta);
    return this.op('LayerNormalization', [x, g, b], { axis: -1, epsilon: { float: eps } }, output);
  }
}

function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export interface GraphMetadata {
  /** Free-form key → value pairs stored in ModelProto.metadata_props (e.g. the source hashes). */
  [key: string]: string;
}

/** The ONNX bytes of `w` (a ColBERT encoder or a cross-encoder, by its head). */
export function buildBertGraph(w: BertWeights, metadata: GraphMetadata = {}): Uint8Array {
  const a = w.arch;
  const g = new GraphBuilder();
  const H = a.hiddenSize;
  const heads = a.numHeads;
  const headDim = H / heads;
  const withTypes = w.tokenTypeEmbeddings !== null;

  // Embeddings.
  const c0 = g.ints('const.zero', [0], true);
  const c1 = g.ints('const.one', [1], true);
  const one = g.scalar('const.one_f', 1);
  const word = g.op('Gather', [g.tensor('embeddings.word', w.wordEmbeddings.shape, w.wordEmbeddings.data), 'input_ids']);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), c1], { axis: 0 });
  const positionIds = g.op('Range', [c0, seqLen, c1]);
  let emb = g.op('Add', [word, g.op('Gather', [g.tensor('embeddings.position', w.positionEmbeddings.shape, w.positionEmbeddings.data), positionIds])]);
  if (w.tokenTypeEmbeddings !== null) {
    const types = g.op('Gather', [g.tensor('embeddings.token_type', w.tokenTypeEmbeddings.shape, w.tokenTypeEmbeddings.data), 'token_type_ids']);
    emb = g.op('Add', [emb, types]);
  }
  let x = g.layerNorm(emb, w.embeddingNorm, 'embeddings.norm', a.layerNormEps);

  // Additive attention bias [B, 1, 1, S]: 0 where attended, float32 min elsewhere.
  const mask = g.op('Cast', ['attention_mask'], { to: FLOAT });
  const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, mask]), g.scalar('const.mask_bias', MASK_BIAS)]), g.ints('const.axes_1_2', [1, 2])]);
  const splitHeads = g.ints('const.split_heads', [0, 0, heads, headDim]);
  const mergeHeads = g.ints('const.merge_heads', [0, 0, H]);
  const scale = g.scalar('const.score_scale', 1 / Math.sqrt(headDim));
  const half = g.scalar('const.half', 0.5);

  w.layers.forEach((l, i) => {
    const p = `layer${i}`;
    const heads4 = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, splitHeads])], { perm });
    const q = heads4(g.linear(x, l.query, `${p}.query`), [0, 2, 1, 3]);
    const k = heads4(g.linear(x, l.key, `${p}.key`), [0, 2, 3, 1]);
    const v = heads4(g.linear(x, l.value, `${p}.value`), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), bias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]);
    const attended = g.op('Add', [g.linear(merged, l.attentionOutput, `${p}.attention_output`), x]);
    const h = g.layerNorm(attended, l.attentionNorm, `${p}.attention_norm`, a.layerNormEps);
    const f = g.linear(h, l.intermediate, `${p}.intermediate`);
    let act: string;
    if (a.hiddenAct === 'relu') act = g.op('Relu', [f]);
    else if (a.hiddenAct === 'gelu') {
      const erf = g.op('Erf', [g.op('Div', [f, g.scalar(`${p}.sqrt2`, Math.SQRT2)])]);
      act = g.op('Mul', [g.op('Mul', [f, g.op('Add', [erf, one])]), half]);
    } else {
      const cube = g.op('Mul', [g.op('Mul', [f, f]), f]);
      const inner = g.op('Mul', [g.op('Add', [f, g.op('Mul', [cube, g.scalar(`${p}.gelu_c`, 0.044715)])]), g.scalar(`${p}.gelu_k`, Math.sqrt(2 / Math.PI))]);
      act = g.op('Mul', [g.op('Mul', [f, g.op('Add', [g.op('Tanh', [inner]), one])]), half]);
    }
    const out = g.op('Add', [g.linear(act, l.output, `${p}.output`), h]);
    x = g.layerNorm(out, l.outputNorm, `${p}.output_norm`, a.layerNormEps);
  });

  let output: OnnxTypes.IValueInfoProto;
  if (w.head.kind === 'colbert') {
    let y = g.linear(x, w.head.projection, 'colbert.linear');
    if (w.head.activation === 'tanh') y = g.op('Tanh', [y]);
    const norm = g.op('Max', [g.op('ReduceL2', [y], { axes: [-1], keepdims: 1 }), g.scalar('const.norm_eps', 1e-12)]);
    g.op('Div', [y, norm], {}, EMBEDDINGS_OUTPUT);
    output = valueInfo(EMBEDDINGS_OUTPUT, FLOAT, ['batch', 'sequence', w.head.projection.outFeatures]);
  } else {
    const cls = g.op('Gather', [x, c0], { axis: 1 });
    const pooled = g.op('Tanh', [g.linear(cls, w.head.pooler, 'pooler')]);
    const logits = g.linear(pooled, w.head.classifier, 'classifier');
    g.op('Identity', [logits], {}, LOGITS_OUTPUT);
    output = valueInfo(LOGITS_OUTPUT, FLOAT, ['batch', w.head.classifier.outFeatures]);
  }

  const inputs = [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])];
  if (withTypes) inputs.push(valueInfo('token_type_ids', INT64, ['batch', 'sequence']));
  const model: OnnxTypes.IModelProto = {
    irVersion: GRAPH_IR_VERSION,
    producerName: 'plait',
    opsetImport: [{ domain: '', version: GRAPH_OPSET }],
    graph: { name: a.architecture, node: g.nodes, initializer: g.initializers, input: inputs, output: [output] },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}
