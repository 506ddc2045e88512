/**
 * Reads a PyTorch zip checkpoint (`pytorch_model.bin` as torch.save has written it since 1.6): a
 * zip whose one top folder holds `data.pkl` (the state dict, read by the allow-listed unpickler in
 * torch-pickle.ts), `data/<key>` (each storage's raw little-endian bytes) and optionally `byteorder`.
 * Tensors are gathered through their storage offset and strides, so views and non-contiguous
 * tensors come out right. The legacy (pre-1.6, non-zip) format is refused with a MODEL_UNSUPPORTED
 * that says how to re-save it.
 */
import { readFileSync } from 'node:fs';
import { PlaitError } from '../../errors/index.js';
import { bytesToF32 } from './safetensors-reader.js';
import { readTorchPickle, type TorchTensorRef } from './torch-pickle.js';
import type { WeightSource, WeightTensor } from './weight-source.js';
import { ZipReader } from './zip-reader.js';

export class TorchCheckpointReader implements WeightSource {
  private constructor(
    readonly file: string,
    private readonly zip: ZipReader,
    private readonly prefix: string,
    private readonly tensors: Map<string, TorchTensorRef>,
  ) {}

  static open(file: string): TorchCheckpointReader {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (cause) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `cannot read ${file}: ${(cause as Error).message}`, file }, { cause });
    }
    return TorchCheckpointReader.fromBytes(bytes, file);
  }

  static fromBytes(bytes: Buffer, file = '<buffer>'): TorchCheckpointReader {
    if (bytes.length >= 4 && bytes.readUInt32LE(0) !== 0x04034b50) {
      throw new PlaitError('MODEL_UNSUPPORTED', {
        message: `${file} is not a zip archive: it is either damaged or in PyTorch's legacy (pre-1.6) format; re-save it with torch.save (or as safetensors) and try again`,
        file,
      });
    }
    const zip = new ZipReader(bytes, file);
    const pkl = [...zip.entries.keys()].find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
    if (pkl === undefined) throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} has no <folder>/data.pkl: not a PyTorch checkpoint`, file });
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const order = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
    if (order !== 'little') throw new PlaitError('MODEL_UNSUPPORTED', { message: `${file} was saved on a ${order}-endian machine`, file });
    const tensors = readTorchPickle(zip.read(pkl), file);
    return new TorchCheckpointReader(file, zip, prefix, tensors);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  shape(name: string): number[] | null {
    return this.tensors.get(name)?.shape ?? null;
  }

  get(name: string): WeightTensor | null {
    const t = this.tensors.get(name);
    if (t === undefined) return null;
    const entry = `${this.prefix}data/${t.storage.key}`;
    const storage = this.zip.read(entry);
    const w = t.storage.width;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    // The last element read sits at offset + Σ (size_i − 1)·stride_i; it must lie inside the storage.
    const last = numel === 0 ? t.offset : t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i]!, 0);
    if (storage.length < t.storage.numel * w || (last + 1) * w > storage.length) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `${this.file}: tensor "${name}" reads past its storage ${entry} (truncated?)`, file: this.file });
    }
    const all = bytesToF32(storage, 0, Math.min(storage.length, t.storage.numel * w), t.storage.dtype, `${this.file}: ${name}`);
    return { shape: t.shape, data: gather(all, t) };
  }
}

/** The tensor's elements in row-major order, from its storage by offset and strides. */
function gather(storage: Float32Array, t: TorchTensorRef): Float32Array {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const contiguous = t.shape.every((_, i) => t.shape[i] === 1 || t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return storage.slice(t.offset, t.offset + numel);
  const out = new Float32Array(numel);
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let n = 0; n < numel; n++) {
    let src = t.offset;
    for (let d = 0; d < rank; d++) src += index[d]! * t.stride[d]!;
    out[n] = storage[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < t.shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
