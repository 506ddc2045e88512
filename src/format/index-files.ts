/**
 * Reading and writing the index's binary files: raw little-endian typed arrays, checked against
 * the manifest's size (always) and CRC-32 (when asked) when opened. Arrays are memory-mapped when
 * the native addon is there (no copy; RSS grows with the pages touched), else read into
 * SharedArrayBuffers; either way worker threads score against them without copies.
 */
import { closeSync, openSync, readSync, statSync, writeSync, fsyncSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { PlaitError } from '../errors/index.js';
import { inPlaceUnchecked, type FileEntry } from './manifest.js';

type ArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/** Streams typed-array chunks to a file, keeping a running CRC-32 and size. */
export class ArrayFileWriter {
  private fd: number;
  private crc = 0;
  private size = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Bytes appended so far. */
  get bytes(): number {
    return this.size;
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

export type ArrayCtorOf<T> = ArrayCtor<T>;

/** Where each memory-mapped buffer comes from, so that a worker thread can map the same file. */
const mappedFiles = new WeakMap<ArrayBufferLike, string>();

/** The file a typed array is mapped from, or null when it lives in ordinary (or shared) memory. */
export function mappedFileOf(view: ArrayBufferView): string | null {
  return mappedFiles.get(view.buffer) ?? null;
}

export interface OpenArrayOptions {
  /** Maps the file (native addon) instead of reading it; absent → read into a SharedArrayBuffer. */
  mapFile?: ((path: string) => ArrayBuffer) | undefined;
  /** Verify the CRC-32 too (reads every byte); sizes are always checked. */
  crc: boolean;
}

function corruptSize(name: string, size: number, expected: number): PlaitError {
  return new PlaitError('INDEX_CORRUPT', {
    message: `${name} has ${size} bytes but the manifest says ${expected} (truncated or overwritten)`,
    file: name,
  });
}

function checkCrc(bytes: Uint8Array, expected: FileEntry, name: string): void {
  const crc = crc32(bytes) >>> 0;
  if (crc !== expected.crc32) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} fails its checksum (CRC-32 ${crc} ≠ ${expected.crc32})`, file: name });
  }
}

/** Size of a listed file, checked against the manifest (INDEX_CORRUPT when missing or different). */
export function checkFileSize(path: string, expected: FileEntry, name: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} is missing (${path})`, file: name }, { cause });
  }
  if (inPlaceUnchecked(expected)) return; // changed in place by SQLite: existence is all the manifest can say
  if (size !== expected.bytes) throw corruptSize(name, size, expected.bytes);
}

/** Streams a listed file through CRC-32 and compares size and checksum with the manifest. */
export function verifyFile(path: string, expected: FileEntry, name: string): void {
  checkFileSize(path, expected, name);
  if (inPlaceUnchecked(expected)) return;
  const actual = fileEntry(path);
  if (actual.bytes !== expected.bytes) throw corruptSize(name, actual.bytes, expected.bytes);
  if (actual.crc32 !== expected.crc32) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} fails its checksum (CRC-32 ${actual.crc32} ≠ ${expected.crc32})`, file: name });
  }
}

/**
 * Opens a binary file as a typed array, checking its size against the manifest (and its CRC-32
 * when asked). With `mapFile` the array is a view over the memory-mapped file (no copy, pages load
 * on first touch); without it the file is read into a SharedArrayBuffer, so that worker threads
 * score against it without copies. A missing or truncated file is INDEX_CORRUPT naming it.
 */
export function openArrayFile<T extends ArrayBufferView>(path: string, Ctor: ArrayCtor<T>, expected: FileEntry, name: string, o: OpenArrayOptions): T {
  checkFileSize(path, expected, name);
  const size = expected.bytes;
  if (size % Ctor.BYTES_PER_ELEMENT !== 0) throw new PlaitError('INDEX_CORRUPT', { message: `${name} size is not a whole number of elements`, file: name });
  if (o.mapFile !== undefined && size > 0) {
    let buffer: ArrayBuffer;
    try {
      buffer = o.mapFile(path);
    } catch (cause) {
      throw new PlaitError('INDEX_CORRUPT', { message: `${name} cannot be mapped (${(cause as Error).message})`, file: name }, { cause });
    }
    if (buffer.byteLength !== size) throw corruptSize(name, buffer.byteLength, size);
    if (o.crc) checkCrc(new Uint8Array(buffer), expected, name);
    mappedFiles.set(buffer, path);
    return new Ctor(buffer, 0, size / Ctor.BYTES_PER_ELEMENT);
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${name} is missing (${path})`, file: name }, { cause });
  }
  try {
    const shared = new SharedArrayBuffer(size);
    const bytes = new Uint8Array(shared);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, Math.min(size - off, 1 << 26), off);
      if (n === 0) throw corruptSize(name, off, size);
      off += n;
    }
    if (o.crc) checkCrc(bytes, expected, name);
    return new Ctor(shared, 0, size / Ctor.BYTES_PER_ELEMENT);
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole binary file into a SharedArrayBuffer-backed typed array, verifying size and CRC. */
export function readArrayFile<T extends ArrayBufferView>(path: string, Ctor: ArrayCtor<T>, expected: FileEntry, name: string): T {
  return openArrayFile(path, Ctor, expected, name, { crc: true });
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
