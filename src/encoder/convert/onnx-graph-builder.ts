/**
 * The small ONNX graph writer the converters share (BERT, ModernBERT): named float32 / int64
 * initializers, one node per call with fresh output names, and the pieces both encoders use — a
 * linear layer on torch-transposed weights, LayerNormalization with or without its bias, GELU as
 * config.json names it, and ColBERT's head (projection, then x / max(‖x‖₂, 1e-12) as torch's
 * F.normalize). The model is written with onnx-proto's ModelProto encoder at opset 17 / IR 8,
 * standard operators only, so any onnxruntime (checked on onnxruntime-node 1.30) runs it.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { HiddenAct } from './bert-config.js';
import type { Linear } from './bert-weights.js';

const { onnx } = onnxProto;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR = onnx.AttributeProto.AttributeType;

export const GRAPH_OPSET = 17;
export const GRAPH_IR_VERSION = 8;
/** Output names: ColBERT token embeddings, cross-encoder scores. */
export const EMBEDDINGS_OUTPUT = 'embeddings';
export const LOGITS_OUTPUT = 'logits';
/** transformers' mask bias: torch.finfo(torch.float32).min. */
export const MASK_BIAS = -3.4028234663852886e38;

export type AttrValue = number | number[] | { float: number };

export interface GraphMetadata {
  /** Free-form key → value pairs stored in ModelProto.metadata_props (e.g. the source hashes). */
  [key: string]: string;
}

export class GraphBuilder {
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

  linear(x: string, l: Linear, name: string): string {
    const w = this.tensor(`${name}.weight`, [l.inFeatures, l.outFeatures], l.weight);
    const y = this.op('MatMul', [x, w]);
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

  /** ColBERT's head on hidden states x: projection [+ tanh], L2-normalised rows, output `embeddings` [batch, sequence, dim]. */
  colbertHead(x: string, projection: Linear, activation: 'identity' | 'tanh'): OnnxTypes.IValueInfoProto {
    let y = this.linear(x, projection, 'colbert.linear');
    if (activation === 'tanh') y = this.op('Tanh', [y]);
    const norm = this.op('Max', [this.op('ReduceL2', [y], { axes: [-1], keepdims: 1 }), this.scalar('const.norm_eps', 1e-12)]);
    this.op('Div', [y, norm], {}, EMBEDDINGS_OUTPUT);
    return valueInfo(EMBEDDINGS_OUTPUT, FLOAT, ['batch', 'sequence', projection.outFeatures]);
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
    return onnx.ModelProto.encode(model).finish();
  }
}

export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}
