/**
 * A minimal protobuf writer for the ONNX messages the test models need (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto). No onnx package exists in this
 * environment, so the tests build their models byte by byte. Field numbers are those of onnx.proto.
 */

/** Appends protobuf wire-format fields to a growing byte buffer. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated varints (proto3 default for repeated scalars). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian). */
export function tensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): ProtoWriter {
  const w = new ProtoWriter();
  if (dims.length > 0) w.packedInts(1, dims);
  w.int(2, data instanceof Float32Array ? DataType.FLOAT : DataType.INT64);
  w.string(8, name);
  w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

export type AttributeValue = number | number[] | ProtoWriter | { float: number };

/** AttributeProto: name = 1, f = 2, i = 3, t = 5, ints = 8, type = 20 (FLOAT 1, INT 2, TENSOR 4, INTS 7). */
function attribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (value instanceof ProtoWriter) return w.message(5, value).int(20, 4);
  if (Array.isArray(value)) return w.packedInts(8, value).int(20, 7);
  if (typeof value === 'object') return w.float(2, value.float).int(20, 1);
  return w.int(3, value).int(20, 2);
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Record<string, AttributeValue> = {},
): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${opType}_${outputs[0]}`);
  w.string(4, opType);
  for (const [k, v] of Object.entries(attributes)) w.message(5, attribute(k, v));
  return w;
}

/**
 * ValueInfoProto: name = 1, type = 2 → TypeProto.tensor_type = 1 → { elem_type = 1, shape = 2 →
 * TensorShapeProto.dim = 1 → { dim_value = 1 | dim_param = 2 } }.
 */
export function valueInfo(name: string, elemType: DataTypeCode, shape: readonly (number | string)[]): ProtoWriter {
  const shapeW = new ProtoWriter();
  for (const d of shape) shapeW.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shapeW);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

export interface GraphParts {
  name: string;
  nodes: ProtoWriter[];
  initializers: ProtoWriter[];
  inputs: ProtoWriter[];
  outputs: ProtoWriter[];
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (domain = 1, version = 2).
 * GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
 */
export function model(parts: GraphParts, opset: number, irVersion = 8): Uint8Array {
  const g = new ProtoWriter();
  for (const n of parts.nodes) g.message(1, n);
  g.string(2, parts.name);
  for (const t of parts.initializers) g.message(5, t);
  for (const i of parts.inputs) g.message(11, i);
  for (const o of parts.outputs) g.message(12, o);
  return new ProtoWriter()
    .int(1, irVersion)
    .string(2, 'plait-test')
    .message(7, g)
    .message(8, new ProtoWriter().string(1, '').int(2, opset))
    .finish();
}
