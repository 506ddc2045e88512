/**
 * Reading and writing the index's binary files: raw little-endian typed arrays, checked against
 * the manifest's size and CRC-32 when read. Arrays are read into SharedArrayBuffers so that
 * worker threads score against them without copies.
 */
import { closeSync, openSync, readSync, fstatSync, writeSync, fsyncSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { PlaitError } from '../errors/index.js';
import type { FileEntry } from './manifest.js';

type ArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/** Streams typed-array chunks to a file, keeping a running CRC-32 and size. */
export class ArrayFileWriter {
  private fd: number;
  private crc = 0;
  private size = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  append(view: ArrayBufferView): void {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.crc = crc32(bytes, this.crc);
    this.size += bytes.length;
  }

  close(): FileEntry {
    fsyncSync(this.fd);
    closeSync(this.fd);
    return { bytes: this.size, crc32: this.crc >>> 0 };
  }
}

export function writeArrayFile(path: string, view: ArrayBufferView): FileEntry {
  const w = new ArrayFileWriter(path);
  w.append(view);
  return w.close();
}

/** CRC-32 and size of an existing file (streamed). */
export function fileEntry(path: string): FileEntry {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let crc = 0;
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      crc = crc32(buf.subarray(0, n), crc);
      size += n;
    }
    return { bytes: size, crc32: crc >>> 0 };
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole binary file into a SharedArrayBuffer-backed typed array, verifying size and CRC. */
export function readArrayFile<T extends ArrayBufferView>(path: string, Ctor: ArrayCtor<T>, expected: FileEntry, name: string): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} is missing (${path})`, file: name }, { cause });
  }
  try {
    const size = fstatSync(fd).size;
    if (size !== expected.bytes) {
      throw new PlaitError('INDEX_CORRUPT', {
        message: `${name} has ${size} bytes but the manifest says ${expected.bytes} (truncated or overwritten)`,
        file: name,
      });
    }
    if (size % Ctor.BYTES_PER_ELEMENT !== 0) throw new PlaitError('INDEX_CORRUPT', { message: `${name} size is not a whole number of elements`, file: name });
    const shared = new SharedArrayBuffer(size);
    const bytes = new Uint8Array(shared);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, Math.min(size - off, 1 << 26), off);
      if (n === 0) break;
      off += n;
    }
    const crc = crc32(bytes) >>> 0;
    if (crc !== expected.crc32) {
      throw new PlaitError('INDEX_CORRUPT', { message: `${name} fails its checksum (CRC-32 ${crc} ≠ ${expected.crc32})`, file: name });
    }
    return new Ctor(shared, 0, size / Ctor.BYTES_PER_ELEMENT);
  } finally {
    closeSync(fd);
  }
}

/** Writes a small file atomically: temp file, fsync, rename (the one copy lives in util/). */
export { writeFileAtomic } from '../util/write-file-atomic.js';

export function readJsonFile(path: string, name: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new PlaitError('INDEX_NOT_FOUND', { message: `no ${name} at ${path}`, path }, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} is not valid JSON (${path})`, path }, { cause });
  }
}
