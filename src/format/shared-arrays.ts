/**
 * Handing an open index's arrays to worker threads without copying them. Arrays in
 * SharedArrayBuffers travel as they are (structured clone shares the memory). Memory-mapped arrays
 * cannot travel (an external ArrayBuffer would be copied), so they go as the name of their file —
 * the opening thread's descriptor of it while that is open, which outlives an unlink by a writer
 * (index-files.ts, mappedSourceOf) — and each worker maps the same file again: the kernel shares
 * the pages, so N workers cost the page cache once, not N times.
 */
import type { Kernels } from '../kernels/types.js';
import { PlaitError } from '../errors/index.js';
import { mappedSourceOf } from './index-files.js';

interface MappedRef {
  /** What the worker maps: the main thread's descriptor of the file (`/proc/self/fd/<fd>`), else its path (index-files.ts, mappedSourceOf). */
  __plaitMapped: string;
  /** The mapped file's size, checked by the worker (a descriptor or path naming another file is refused). */
  bytes: number;
  type: 'Int32Array' | 'Uint8Array' | 'Float32Array';
  byteOffset: number;
  length: number;
}

const CTORS = { Int32Array, Uint8Array, Float32Array } as const;

function isMappedRef(v: unknown): v is MappedRef {
  return typeof v === 'object' && v !== null && typeof (v as MappedRef).__plaitMapped === 'string';
}

/** A copy of `value` (plain objects and arrays walked) with every memory-mapped typed array replaced by a reference to its file. */
export function toTransferable(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const file = mappedSourceOf(value);
    if (file === null) return value;
    const type = value.constructor.name as MappedRef['type'];
    if (!(type in CTORS)) throw new PlaitError('INTERNAL', { message: `cannot hand a mapped ${type} to a worker` });
    return { __plaitMapped: file, type, byteOffset: value.byteOffset, length: (value as Int32Array).length, bytes: value.buffer.byteLength } satisfies MappedRef;
  }
  if (Array.isArray(value)) return value.map(toTransferable);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toTransferable(v);
    return out;
  }
  return value;
}

/** Inverse of `toTransferable` in a worker: maps each referenced file (once) with the worker's own addon. */
export function fromTransferable<T>(value: unknown, kernels: Kernels): T {
  const maps = new Map<string, ArrayBuffer>();
  const walk = (v: unknown): unknown => {
    if (isMappedRef(v)) {
      if (kernels.mapFile === undefined) throw new PlaitError('NATIVE_UNAVAILABLE', { message: `the worker cannot map ${v.__plaitMapped}: its kernels have no mapFile` });
      let buf = maps.get(v.__plaitMapped);
      if (buf === undefined) {
        buf = kernels.mapFile(v.__plaitMapped);
        if (buf.byteLength !== v.bytes) throw new PlaitError('INDEX_CORRUPT', { message: `${v.__plaitMapped} has ${buf.byteLength} bytes in the worker, ${v.bytes} in the thread that opened it` });
        maps.set(v.__plaitMapped, buf);
      }
      return new CTORS[v.type](buf, v.byteOffset, v.length);
    }
    if (ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
