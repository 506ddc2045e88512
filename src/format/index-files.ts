/**
 * Reading and writing the index's binary files: raw little-endian typed arrays, checked against
 * the manifest's size (always) and CRC-32 (when asked) when opened. Arrays are memory-mapped when
 * the native addon is there (no copy; RSS grows with the pages touched), else read into
 * SharedArrayBuffers; either way worker threads score against them without copies.
 */
import { closeSync, existsSync, openSync, readSync, statSync, writeSync, fsyncSync, readFileSync } from 'node:fs';
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

/**
 * Where each memory-mapped buffer comes from, so that a worker thread can map the same file: its
 * path, and a descriptor of it opened at the moment it was mapped. A worker maps the descriptor
 * (`/proc/self/fd/<fd>`: threads share the process's descriptors), not the path: a writer in any
 * process unlinks a generation's files at its next commit, and a worker that started after that —
 * a reader's pool just opened or refreshed, a respawned worker — found the path gone (ENOENT: its
 * searches failed with WORKER_FAILED and the pool's unhandled error ended the process; a reader
 * refreshing under another process's writes hit it within 40 adds). The descriptor lives until the
 * generation that mapped the file is retired (`releaseMappedFiles`), or its buffer is collected.
 */
interface MappedFile {
  path: string;
  fd: number | null;
}
const mappedFiles = new WeakMap<ArrayBufferLike, MappedFile>();
const closeOnCollect = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed with its process's teardown
  }
});

/** The folder of per-process descriptor paths, where opening one opens the descriptor's file (unlinked or not): Linux's /proc/self/fd, macOS's and the BSDs' /dev/fd; null elsewhere (workers then map by path). */
const FD_DIR: string | null = existsSync('/proc/self/fd') ? '/proc/self/fd' : existsSync('/dev/fd') ? '/dev/fd' : null;

/** The file a typed array is mapped from, or null when it lives in ordinary (or shared) memory. */
export function mappedFileOf(view: ArrayBufferView): string | null {
  return mappedFiles.get(view.buffer)?.path ?? null;
}

/**
 * The name a worker thread of this process should map a mapped array's file by: its descriptor's
 * (`/proc/self/fd/<fd>`), which stays valid after the file is unlinked, while the descriptor is
 * open; else its path. Null for an array that is not mapped.
 */
export function mappedSourceOf(view: ArrayBufferView): string | null {
  const m = mappedFiles.get(view.buffer);
  if (m === undefined) return null;
  return m.fd !== null && FD_DIR !== null ? `${FD_DIR}/${m.fd}` : m.path;
}

/**
 * Closes the descriptors kept for the mapped arrays in `value` (plain objects and arrays walked),
 * but those of arrays `keep` holds too:
 * called when the generation that mapped them is retired and no worker of it can start any more.
 * The mappings themselves stay until their buffers are collected; workers started later map by
 * path.
 */
export function releaseMappedFiles(value: unknown, keep?: unknown): void {
  const kept = new Set<ArrayBufferLike>();
  if (keep !== undefined) forEachView(keep, (v) => kept.add(v.buffer));
  forEachView(value, (v) => {
    const m = mappedFiles.get(v.buffer);
    if (m === undefined || m.fd === null || kept.has(v.buffer)) return;
    closeOnCollect.unregister(v.buffer);
    closeSync(m.fd);
    m.fd = null;
  });
}

/** Calls `f` on every typed array in `value` (plain objects and arrays walked). */
function forEachView(value: unknown, f: (v: ArrayBufferView) => void): void {
  if (ArrayBuffer.isView(value)) f(value);
  else if (Array.isArray(value)) for (const v of value) forEachView(v, f);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) forEachView(v, f);
}

export interface OpenArrayOptions {
  /** Maps the file (native addon) instead of reading it; absent → read into a SharedArrayBuffer. */
  mapFile?: ((path: string) => ArrayBuffer) | undefined;
  /** Verify the CRC-32 too (reads every byte); sizes are always checked. */
  crc: boolean;
  /** With mapFile: keep a descriptor of the file for worker threads (mappedSourceOf; closed by releaseMappedFiles or when the buffer is collected). */
  descriptors?: boolean;
  /** Each array opened is pushed here (for the caller to release on a later failure). */
  opened?: ArrayBufferView[];
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
    // With descriptors, the file is opened once and mapped through its descriptor, so the mapping and
    // the descriptor kept for workers are the same file whatever a writer renames or unlinks meanwhile.
    let fd: number | null = null;
    let view: T;
    try {
      if (FD_DIR !== null && o.descriptors === true) fd = openSync(path, 'r');
      const buffer = o.mapFile(fd === null ? path : `${FD_DIR}/${fd}`);
      if (buffer.byteLength !== size) throw corruptSize(name, buffer.byteLength, size);
      if (o.crc) checkCrc(new Uint8Array(buffer), expected, name);
      mappedFiles.set(buffer, { path, fd });
      if (fd !== null) closeOnCollect.register(buffer, fd, buffer);
      view = new Ctor(buffer, 0, size / Ctor.BYTES_PER_ELEMENT);
    } catch (cause) {
      if (fd !== null) closeSync(fd);
      if (cause instanceof PlaitError) throw cause;
      // A file gone since its size was checked is INDEX_CORRUPT too: a reader retries on the next manifest.
      throw new PlaitError('INDEX_CORRUPT', { message: `${name} cannot be mapped (${(cause as Error).message})`, file: name }, { cause });
    }
    o.opened?.push(view);
    return view;
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
