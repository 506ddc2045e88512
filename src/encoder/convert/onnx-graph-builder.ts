/**
 * The small ONNX graph writer the converters share (BERT, ModernBERT): named float32 / int64
 * initializers, one node per call with fresh output names, and the pieces both encoders use — a
 * linear layer on torch-transposed weights, LayerNormalization with or without its bias, GELU as
 * config.json names it, and ColBERT's head (projection, then x / max(‖x‖₂, 1e-12) as torch's
 * F.normalize). The model is written with onnx-proto's ModelProto encoder at opset 17 / IR 8,
 * standard operators only, so any onnxruntime (checked on onnxruntime-node 1.30) runs it.
 */
import type { onnx as OnnxTypes } from 'onnx-proto';
import { lazyModule } from '../../util/lazy-module.js';
import type { HiddenAct } from './bert-config.js';
import type { Linear, Projection } from './bert-weights.js';
import { EMBEDDINGS_OUTPUT, GRAPH_IR_VERSION, GRAPH_OPSET, type GraphMetadata, type Quantization } from './graph-contract.js';

export { EMBEDDINGS_OUTPUT, GRAPH_IR_VERSION, GRAPH_OPSET, LOGITS_OUTPUT } from './graph-contract.js';
export type { GraphMetadata, Quantization } from './graph-contract.js';

/** onnx-proto (with protobufjs), loaded at the first graph written: only a conversion needs it (util/lazy-module.ts). */
const onnxProto = lazyModule<typeof import('onnx-proto')>('onnx-proto');

/*
 * TensorProto.DataType and AttributeProto.AttributeType as onnx/onnx.proto numbers them (stable wire
 * values), so that naming a type does not load the protobuf writer; test/lazy-module.test.ts holds
 * them equal to onnx-proto's enums.
 */
export const FLOAT = 1;
export const INT64 = 7;
const INT8 = 3;
const UINT8 = 2;
export const ONNX_ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, INTS: 7 } as const;
export const ONNX_DATA_TYPE = { FLOAT, UINT8, INT8, INT64 } as const;
const ATTR = ONNX_ATTRIBUTE_TYPE;

/** transformers' mask bias: torch.finfo(torch.float32).min. */
export const MASK_BIAS = -3.4028234663852886e38;

export type AttrValue = number | number[] | { float: number };


export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private count = 0;
  /** DynamicQuantizeLinear outputs per float input, so Q, K and V quantise their shared input once. */
  private readonly quantized = new Map<string, string[]>();

  constructor(readonly quantization: Quantization = 'none') {}

  private fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  tensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array | Int8Array | Uint8Array): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: data instanceof Float32Array ? FLOAT : data instanceof Int8Array ? INT8 : data instanceof Uint8Array ? UINT8 : INT64,
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

  /** One node with one output (named `output` or a fresh name); returns the output's name. */
  op(type: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.opN(type, inputs, 1, attrs, output === undefined ? undefined : [output])[0]!;
  }

  /** One node with `n` outputs (Split); returns their names. */
  opN(type: string, inputs: readonly string[], n: number, attrs: Record<string, AttrValue> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? Array.from({ length: n }, () => this.fresh(type.toLowerCase()));
    const attribute: OnnxTypes.IAttributeProto[] = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: ATTR.INTS, ints: v }
        : typeof v === 'object'
          ? { name, type: ATTR.FLOAT, f: v.float }
          : { name, type: ATTR.INT, i: v },
    );
    this.nodes.push({ opType: type, name: `${type}_${outs[0]}`, input: [...inputs], output: outs, attribute });
    return outs;
  }

  /**
   * x·W (+ b). With int8 quantization (unless `opts.float`) W is stored as int8 with one scale per
   * output column (symmetric, scale = max|W[:, o]| / 127) and x is quantised at run time:
   * - per tensor (default): DynamicQuantizeLinear (uint8 with a zero point), then
   *   y = MatMulInteger(x_q, W_q) · (s_x · s_W) — the pattern onnxruntime's quantize_dynamic writes
   *   and its CPU optimizer fuses into one DynamicQuantizeMatMul kernel (u8s8, VNNI where present);
   * - per row (`opts.perRow`): each token row gets its own symmetric scale s_r = max|x_r| / 127 and
   *   is stored as uint8 round(x / s_r) + 128 (one scalar zero point keeps the fast u8s8 kernel):
   *   for heavy-tailed inputs (ModernBERT's GeGLU product) where one range for the whole batch
   *   loses the small values. Measured in bench/quantize-int8.ts (RESULTS.md "int8 graphs").
   */
  linear(x: string, l: Linear, name: string, opts: { float?: boolean; perRow?: boolean } = {}): string {
    let y: string;
    if (this.quantization === 'none' || opts.float === true) {
      y = this.op('MatMul', [x, this.tensor(`${name}.weight`, [l.inFeatures, l.outFeatures], l.weight)]);
    } else {
      const { weight, scales } = quantizeColumns(l.weight, l.inFeatures, l.outFeatures);
      const w = this.tensor(`${name}.weight_int8`, [l.inFeatures, l.outFeatures], weight);
      const wScale = this.tensor(`${name}.weight_scale`, [l.outFeatures], scales);
      if (opts.perRow === true) {
        const rowMax = this.op('Max', [this.op('ReduceMax', [this.op('Abs', [x])], { axes: [-1], keepdims: 1 }), this.scalar(`${name}.row_floor`, 1e-12)]);
        const rowScale = this.op('Div', [rowMax, this.scalar(`${name}.int8_max`, 127)]);
        const shifted = this.op('Add', [this.op('Round', [this.op('Div', [x, rowScale])]), this.scalar(`${name}.zero_f`, 128)]);
        const xq = this.op('Cast', [shifted], { to: UINT8 });
        const product = this.op('MatMulInteger', [xq, w, this.tensor(`${name}.zero_point`, [], Uint8Array.of(128))]);
        y = this.op('Mul', [this.op('Mul', [this.op('Cast', [product], { to: FLOAT }), rowScale]), wScale]);
      } else {
        let q = this.quantized.get(x);
        if (q === undefined) {
          q = this.opN('DynamicQuantizeLinear', [x], 3);
          this.quantized.set(x, q);
        }
        const [xq, xScale, xZero] = q as [string, string, string];
        const product = this.op('MatMulInteger', [xq, w, xZero]);
        y = this.op('Mul', [this.op('Cast', [product], { to: FLOAT }), this.op('Mul', [xScale, wScale])]);
      }
    }
    return l.bias === null ? y : this.op('Add', [y, this.tensor(`${name}.bias`, [l.outFeatures], l.bias)]);
  }

  /** LayerNormalization over the last axis; a null `beta` (ModernBERT's norm_bias false) leaves the bias out. */
  layerNorm(x: string, n: { gamma: Float32Array; beta: Float32Array | null }, name: string, eps: number, output?: string): string {
    const inputs = [x, this.tensor(`${name}.gamma`, [n.gamma.length], n.gamma)];
    if (n.beta !== null) inputs.push(this.tensor(`${name}.beta`, [n.beta.length], n.beta));
    return this.op('LayerNormalization', inputs, { axis: -1, epsilon: { float: eps } }, output);
  }

  /** transformers' ACT2FN: erf GELU 0.5x(1+erf(x/√2)), tanh GELU 0.5x(1+tanh(√(2/π)(x+0.044715x³))), ReLU. */
  activation(f: string, act: HiddenAct, name: string): string {
    if (act === 'relu') return this.op('Relu', [f]);
    const one = this.scalar(`${name}.one`, 1);
    const half = this.scalar(`${name}.half`, 0.5);
    if (act === 'gelu') {
      const erf = this.op('Erf', [this.op('Div', [f, this.scalar(`${name}.sqrt2`, Math.SQRT2)])]);
      return this.op('Mul', [this.op('Mul', [f, this.op('Add', [erf, one])]), half]);
    }
    const cube = this.op('Mul', [this.op('Mul', [f, f]), f]);
    const inner = this.op('Mul', [this.op('Add', [f, this.op('Mul', [cube, this.scalar(`${name}.gelu_c`, 0.044715)])]), this.scalar(`${name}.gelu_k`, Math.sqrt(2 / Math.PI))]);
    return this.op('Mul', [this.op('Mul', [f, this.op('Add', [this.op('Tanh', [inner]), one])]), half]);
  }

  /** ColBERT's head on hidden states x: each projection [+ tanh] in turn, L2-normalised rows, output `embeddings` [batch, sequence, dim]. */
  colbertHead(x: string, projections: readonly Projection[]): OnnxTypes.IValueInfoProto {
    let y = x;
    projections.forEach((p, i) => {
      // The projections stay float32: 1–2 % of the compute, and their rounding would reach the vectors unmixed.
      y = this.linear(y, p.linear, i === 0 ? 'colbert.linear' : `colbert.linear${i + 1}`, { float: true });
      if (p.activation === 'tanh') y = this.op('Tanh', [y]);
    });
    const norm = this.op('Max', [this.op('ReduceL2', [y], { axes: [-1], keepdims: 1 }), this.scalar('const.norm_eps', 1e-12)]);
    this.op('Div', [y, norm], {}, EMBEDDINGS_OUTPUT);
    return valueInfo(EMBEDDINGS_OUTPUT, FLOAT, ['batch', 'sequence', projections[projections.length - 1]!.linear.outFeatures]);
  }

  /** The ModelProto bytes of the nodes and initializers added so far. */
  encode(name: string, inputs: OnnxTypes.IValueInfoProto[], outputs: OnnxTypes.IValueInfoProto[], metadata: GraphMetadata): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: GRAPH_IR_VERSION,
      producerName: 'plait',
      opsetImport: [{ domain: '', version: GRAPH_OPSET }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: inputs, output: outputs },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
    return onnxProto().onnx.ModelProto.encode(model).finish();
  }
}

/** Symmetric per-column int8 of a row-major [rows, cols] matrix: W ≈ W_q[r, c] · scales[c], |W_q| ≤ 127. */
export function quantizeColumns(w: Float32Array, rows: number, cols: number): { weight: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) scales[c] = Math.max(scales[c]!, Math.abs(w[base + c]!));
  }
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! > 0 ? scales[c]! / 127 : 1;
  const weight = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) weight[base + c] = Math.max(-127, Math.min(127, Math.round(w[base + c]! / scales[c]!)));
  }
  return { weight, scales };
}

export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}
