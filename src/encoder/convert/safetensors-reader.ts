/**
 * Reads a `.safetensors` file by its documented format (huggingface/safetensors, "Format"): an
 * unsigned 64-bit little-endian header length N, N bytes of JSON mapping each tensor name to
 * `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the byte after the header; an
 * optional `__metadata__` entry of strings), then the tensors' little-endian bytes, row-major.
 * Every offset, size and shape is checked against the file before a byte is read, so a truncated or
 * tampered file is a MODEL_LOAD_FAILED naming the tensor, never an out-of-range read. F32, F16 and
 * BF16 tensors come back as Float32Array (F64 too, narrowed); integer tensors (BERT's
 * `position_ids` buffer) are listed but not converted.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { PlaitError } from '../../errors/index.js';
import { f16ToF32, bf16ToF32 } from './half-float.js';
import type { WeightSource, WeightTensor } from './weight-source.js';

/** Bytes per element of each dtype the format defines. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};
/** The header is JSON of a few hundred bytes per tensor; the format's reference reader caps it at 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

interface Entry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export class SafetensorsReader implements WeightSource {
  private constructor(
    readonly file: string,
    private readonly bytes: Buffer,
    private readonly bodyStart: number,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Reads and validates `file`; throws MODEL_LOAD_FAILED (unreadable, truncated, malformed header). */
  static open(file: string): SafetensorsReader {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (cause) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `cannot read ${file}: ${(cause as Error).message}`, file }, { cause });
    }
    return SafetensorsReader.fromBytes(bytes, file);
  }

  static fromBytes(bytes: Buffer, file = '<buffer>'): SafetensorsReader {
    const bad = (why: string): PlaitError => new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not a valid safetensors file: ${why}`, file });
    if (bytes.length < 8) throw bad(`${bytes.length} bytes, shorter than the 8-byte header length`);
    const headerLength = bytes.readBigUInt64LE(0);
    if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
      throw bad(`header of ${headerLength} bytes announced but the file has ${bytes.length - 8} after the length (truncated?)`);
    }
    const bodyStart = 8 + Number(headerLength);
    let header: unknown;
    try {
      header = JSON.parse(bytes.toString('utf8', 8, bodyStart));
    } catch {
      throw bad('the header is not JSON');
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('the header is not a JSON object');
    const bodyLength = bytes.length - bodyStart;
    const entries = new Map<string, Entry>();
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const width = typeof e.dtype === 'string' ? DTYPE_BYTES[e.dtype] : undefined;
      if (width === undefined) throw bad(`tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
      const shape = e.shape;
      if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor "${name}" has a malformed shape`);
      const offsets = e.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) {
        throw bad(`tensor "${name}" has malformed data_offsets`);
      }
      const [begin, end] = offsets as [number, number];
      const numel = shape.reduce((a, b) => a * b, 1);
      if (end < begin || end - begin !== numel * width) throw bad(`tensor "${name}" spans ${end - begin} bytes but ${e.dtype}[${shape.join(', ')}] needs ${numel * width}`);
      if (end > bodyLength) throw bad(`tensor "${name}" ends at byte ${end} of the data but the file holds ${bodyLength} (truncated?)`);
      entries.set(name, { dtype: e.dtype as string, shape, begin, end });
    }
    return new SafetensorsReader(file, bytes, bodyStart, entries);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  shape(name: string): number[] | null {
    return this.entries.get(name)?.shape ?? null;
  }

  dtype(name: string): string | null {
    return this.entries.get(name)?.dtype ?? null;
  }

  /** The tensor as float32, or null when absent; MODEL_UNSUPPORTED for a non-float dtype. */
  get(name: string): WeightTensor | null {
    const e = this.entries.get(name);
    if (e === undefined) return null;
    const data = bytesToF32(this.bytes, this.bodyStart + e.begin, this.bodyStart + e.end, e.dtype, `${this.file}: ${name}`);
    return { shape: e.shape, data };
  }
}

/** Little-endian floats in bytes[start, end) of the given dtype, converted to float32. */
export function bytesToF32(bytes: Uint8Array, start: number, end: number, dtype: string, what: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  switch (dtype) {
    case 'F32': {
      // A byte copy is a valid float32 array on a little-endian host (every host Node ships for).
      if (LITTLE_ENDIAN_HOST) return new Float32Array(Uint8Array.prototype.slice.call(bytes, start, end).buffer);
      const out = new Float32Array((end - start) / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array((end - start) / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array((end - start) / 2);
      for (let i = 0; i < out.length; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array((end - start) / 2);
      for (let i = 0; i < out.length; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
      return out;
    }
    default:
      throw new PlaitError('MODEL_UNSUPPORTED', { message: `${what} is ${dtype}; weights must be F32, F16 or BF16`, dtype });
  }
}
