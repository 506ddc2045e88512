/**
 * Opens an index folder: reads and validates the manifest (format name and version), then opens
 * every binary file as a typed array — memory-mapped when the native addon is loaded (opening
 * costs milliseconds and no copy; RSS grows with the pages a search touches, and every worker
 * thread mapping the same files shares their page cache), else read into SharedArrayBuffers (the
 * TypeScript fallback, PLAIT_KERNELS=ts).
 *
 * Integrity: every file the manifest lists, the document store included, is checked for size on
 * every open; CRC-32s are checked too when the listed files total at most
 * FORMAT_DEFAULTS.verifyOnOpenMaxBytes (or `verify: 'full'`), because a CRC pass reads every byte
 * (and would fault a mapped index wholly into memory). `verifyIndex` runs the full pass on demand.
 * A truncated, overwritten or missing file fails with INDEX_CORRUPT naming it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FORMAT_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { ResidualCodec, TERNARY_NBITS, checkNbits, residualBytes } from '../codec/residual-codec.js';
import type { Kernels } from '../kernels/types.js';
import { FORMAT_NAME, FORMAT_VERSION, TERNARY_FORMAT_VERSION, MANIFEST_FILE, listedFiles, roleFileName, segmentFile, type ArraysDelta, type FileEntry, type IndexManifest } from './manifest.js';
import { checkFileSize, openArrayFile, readJsonFile, releaseMappedFiles, verifyFile } from './index-files.js';
import { readCommitRecord } from '../docstore/store-commit.js';

/** One passage-aligned segment: passages [firstPid, firstPid + passages); token rows are segment-local. */
export interface IndexSegment {
  firstPid: number;
  passages: number;
  codes: Int32Array;
  residuals: Uint8Array;
}

export interface IndexData {
  path: string;
  manifest: IndexManifest;
  codec: ResidualCodec;
  centroids: Float32Array;
  doclens: Int32Array;
  /** First token row of each passage within its segment (prefix sums of doclens, restarting per segment). */
  tokenStarts: Int32Array;
  /** Codes and residuals, segment by segment, in pid order. */
  segments: IndexSegment[];
  ivf: Int32Array;
  /** K + 1 offsets into `ivf` (64-bit on disk; exact as doubles up to 2^53). */
  ivfOffsets: Float64Array;
  /** Deleted passages (living index): bit pid set when deleted; null when none ever were. */
  tombstones: Uint8Array | null;
  /** Whether the large arrays are memory-mapped (native addon) or read into memory. */
  mapped: boolean;
  /** What was verified on open: sizes of every listed file, or sizes and CRC-32s. */
  verified: 'sizes' | 'crc';
}

export type VerifyMode = 'auto' | 'sizes' | 'full';

export interface LoadIndexOptions {
  /**
   * 'auto' (default): sizes always, CRC-32s when the listed files total at most
   * FORMAT_DEFAULTS.verifyOnOpenMaxBytes; 'full': always CRC-32s; 'sizes': never.
   */
  verify?: VerifyMode;
}

/** LoadIndexOptions' keys (verifyIndex takes the same): `{ verfy: 'full' }` used to check sizes only, without a word. */
const LOAD_INDEX_OPTION_KEYS = { verify: true } as const satisfies OptionKeys<LoadIndexOptions>;

/** loadIndexData's options: LoadIndexOptions and whether worker threads will map its files. */
export interface LoadIndexDataOptions extends LoadIndexOptions {
  /**
   * Keep a descriptor of each mapped file for worker threads to map (index-files.ts,
   * mappedSourceOf), valid after a writer unlinks it; the caller closes them with
   * releaseMappedFiles when no worker of this generation can start any more. Default false.
   */
  descriptors?: boolean;
}
const LOAD_INDEX_DATA_OPTION_KEYS = { ...LOAD_INDEX_OPTION_KEYS, descriptors: true } as const satisfies OptionKeys<LoadIndexDataOptions>;

/**
 * The committed manifest of the index at `path`: `manifest.json`, or — when its document store is
 * changed in place and already holds a newer commit (a writer between its SQLite commit and the
 * manifest's rename, or killed there) — the manifest in the store's commit record
 * (docstore/store-commit.ts): SQLite's commit is the commit point, the rename its publication.
 * @throws PlaitError INDEX_NOT_FOUND, INDEX_CORRUPT (not a manifest), INDEX_VERSION.
 */
export function readManifest(path: string): IndexManifest {
  if (!existsSync(path)) throw new PlaitError('INDEX_NOT_FOUND', { message: `no index at ${path}`, path });
  const m = checkManifest(readJsonFile(join(path, MANIFEST_FILE), 'index manifest'), join(path, MANIFEST_FILE), path);
  if (m.files.docstore.inPlace !== true) return m;
  const record = readCommitRecord(join(path, roleFileName(m, 'docstore')));
  if (record === null) return m;
  let stored: IndexManifest;
  try {
    stored = checkManifest(JSON.parse(record), `the commit record of ${roleFileName(m, 'docstore')}`, path);
  } catch {
    return m; // a record this plait cannot read is never newer than what manifest.json says
  }
  return (stored.generation ?? 0) > (m.generation ?? 0) ? stored : m;
}

function checkManifest(value: unknown, where: string, path: string): IndexManifest {
  const m = value as Partial<IndexManifest> | null;
  if (m === null || typeof m !== 'object' || m.format !== FORMAT_NAME) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${where} is not a plait index manifest`, path });
  }
  // A ternary index carries TERNARY_FORMAT_VERSION (manifest.ts), a bucket-codec index FORMAT_VERSION.
  if (m.formatVersion !== FORMAT_VERSION && !(m.formatVersion === TERNARY_FORMAT_VERSION && m.nbits === TERNARY_NBITS)) {
    throw new PlaitError('INDEX_VERSION', {
      message: `index format version ${String(m.formatVersion)}; this plait reads version ${FORMAT_VERSION} (${TERNARY_FORMAT_VERSION} for a ternary index; rebuild the index with this version)`,
      path,
    });
  }
  if (m.nbits === TERNARY_NBITS && m.formatVersion !== TERNARY_FORMAT_VERSION) {
    throw new PlaitError('INDEX_CORRUPT', { message: `manifest says nbits ${TERNARY_NBITS} (ternary) but format version ${String(m.formatVersion)}, not ${TERNARY_FORMAT_VERSION}`, path });
  }
  for (const key of ['model', 'counts', 'codec', 'files', 'dim', 'nbits', 'segments'] as const) {
    if (m[key] === undefined) throw new PlaitError('INDEX_CORRUPT', { message: `manifest lacks "${key}"`, path });
  }
  return m as IndexManifest;
}

/**
 * Base arrays followed by a living index's deltas (manifest.ts `ArraysDelta`), merged into shared
 * memory: doclens concatenated, each centroid's list the base's then each delta's in order. Costs
 * one pass over the IVF at open; WRITE_COST_DEFAULTS bounds the deltas' share.
 */
function mergeDeltas(
  deltas: readonly ArraysDelta[],
  baseDoclens: Int32Array,
  baseIvf: Int32Array,
  baseOffsets: Float64Array,
  K: number,
  nPassages: number,
  expect: (ok: boolean, what: string) => void,
  open: (d: ArraysDelta) => { doclens: Int32Array; ivf: Int32Array; offsets: Float64Array },
): { doclens: Int32Array; ivf: Int32Array; ivfOffsets: Float64Array } {
  const parts = deltas.map(open);
  const doclens = new Int32Array(new SharedArrayBuffer(nPassages * 4));
  expect(baseDoclens.length <= nPassages, 'doclens');
  doclens.set(baseDoclens);
  let pid = baseDoclens.length;
  let entries = baseIvf.length;
  deltas.forEach((d, i) => {
    expect(d.firstPid === pid && parts[i]!.doclens.length === d.passages && pid + d.passages <= nPassages, `delta ${i} pid range`);
    doclens.set(parts[i]!.doclens, pid);
    pid += d.passages;
    entries += parts[i]!.ivf.length;
  });
  const ivf = new Int32Array(new SharedArrayBuffer(entries * 4));
  const ivfOffsets = new Float64Array(new SharedArrayBuffer((K + 1) * 8));
  let o = 0;
  for (let c = 0; c < K; c++) {
    ivfOffsets[c] = o;
    ivf.set(baseIvf.subarray(baseOffsets[c]!, baseOffsets[c + 1]!), o);
    o += baseOffsets[c + 1]! - baseOffsets[c]!;
    for (const p of parts) {
      ivf.set(p.ivf.subarray(p.offsets[c]!, p.offsets[c + 1]!), o);
      o += p.offsets[c + 1]! - p.offsets[c]!;
    }
  }
  ivfOffsets[K] = o;
  return { doclens, ivf, ivfOffsets };
}

/** Total bytes of every file the manifest lists. */
export function listedBytes(m: IndexManifest): number {
  return listedFiles(m).reduce((s, f) => s + f.entry.bytes, 0);
}

/**
 * Checks every listed file against the manifest: sizes always, CRC-32s (streamed, so memory stays
 * flat) under the same rule as opening ('auto': when the files total at most
 * FORMAT_DEFAULTS.verifyOnOpenMaxBytes; 'full': always). Returns what was checked (an in-place
 * store with its size now, file and WAL); throws INDEX_CORRUPT naming the first bad file
 * (INDEX_NOT_FOUND / INDEX_VERSION from the manifest).
 */
export function verifyIndex(
  path: string,
  options: LoadIndexOptions = {},
): { manifest: IndexManifest; files: Array<{ name: string; bytes: number }>; verified: 'sizes' | 'crc' } {
  checkOptionKeys(options, LOAD_INDEX_OPTION_KEYS, 'verifyIndex option');
  const manifest = readManifest(path);
  const files = listedFiles(manifest);
  const crc = wantsCrc(manifest, options.verify ?? 'auto');
  for (const f of files) {
    if (crc) verifyFile(join(path, f.name), f.entry, f.name);
    else checkFileSize(join(path, f.name), f.entry, f.name);
  }
  return { manifest, files: files.map((f) => ({ name: f.name, bytes: listedFileBytes(path, f) })), verified: crc ? 'crc' : 'sizes' };
}

/**
 * Bytes on disk of one listed file: the manifest's figure, except for an in-place document store,
 * whose size the manifest cannot know (SQLite changes it): its file and WAL as they are now.
 */
export function listedFileBytes(dir: string, f: { name: string; entry: FileEntry }): number {
  return f.entry.inPlace === true ? sizeOf(join(dir, f.name)) + sizeOf(join(dir, `${f.name}-wal`)) : f.entry.bytes;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function wantsCrc(manifest: IndexManifest, verify: VerifyMode): boolean {
  if (verify !== 'auto' && verify !== 'sizes' && verify !== 'full') throw invalidArgument('verify', '"auto", "sizes" or "full"', verify);
  return verify === 'full' || (verify === 'auto' && listedBytes(manifest) <= FORMAT_DEFAULTS.verifyOnOpenMaxBytes);
}

export function loadIndexData(path: string, kernels?: Kernels, options: LoadIndexDataOptions = {}): IndexData {
  checkOptionKeys(options, LOAD_INDEX_DATA_OPTION_KEYS, 'loadIndexData option');
  // The arrays opened before a failure (a file a writer unlinked meanwhile: the reader retries on the
  // next manifest) give back their descriptors now, not when they are collected.
  const opened: ArrayBufferView[] = [];
  let data: IndexData;
  try {
    data = loadOpened(path, kernels, options, opened);
  } catch (e) {
    releaseMappedFiles(opened);
    throw e;
  }
  // Arrays merged into others (a living index's deltas, its base doclens and ivf) reach no worker.
  releaseMappedFiles(opened, data);
  return data;
}

function loadOpened(path: string, kernels: Kernels | undefined, options: LoadIndexDataOptions, opened: ArrayBufferView[]): IndexData {
  const manifest = readManifest(path);
  const crc = wantsCrc(manifest, options.verify ?? 'auto');
  const mapFile = kernels?.mapFile;
  const o = { crc, mapFile, descriptors: options.descriptors === true, opened };
  const f = manifest.files;
  const file = (name: string): string => join(path, name);
  // File names come from the manifest: a living index's later generations name their own files.
  const names = { docstore: roleFileName(manifest, 'docstore'), centroids: roleFileName(manifest, 'centroids'), doclens: roleFileName(manifest, 'doclens'), ivf: roleFileName(manifest, 'ivf'), ivfOffsets: roleFileName(manifest, 'ivfOffsets') };
  // The document store is opened by SQLite, not here, but it is a listed file like the others.
  if (crc) verifyFile(file(names.docstore), f.docstore, names.docstore);
  else checkFileSize(file(names.docstore), f.docstore, names.docstore);
  const centroids = openArrayFile(file(names.centroids), Float32Array, f.centroids, names.centroids, o);
  const { dim, counts } = manifest;
  const nbits = checkNbits(manifest.nbits);
  const bytesPerToken = residualBytes(dim, nbits);
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new PlaitError('INDEX_CORRUPT', { message: `${what} does not match the manifest`, path });
  };
  expect(centroids.length === counts.centroids * dim, 'centroids');
  const K = counts.centroids;
  const openIvf = (ivfName: string, ivfEntry: FileEntry, offName: string, offEntry: FileEntry): { ivf: Int32Array; offsets: Float64Array } => {
    const ivf = openArrayFile(file(ivfName), Int32Array, ivfEntry, ivfName, o);
    const offsets64 = openArrayFile(file(offName), BigInt64Array, offEntry, offName, { crc });
    expect(offsets64.length === K + 1, `${offName} (ivf offsets)`);
    // Offsets as doubles (exact to 2^53): read as two 32-bit halves, much faster than BigInt → Number.
    const offsets = new Float64Array(new SharedArrayBuffer(offsets64.length * 8));
    const halves = new Uint32Array(offsets64.buffer, offsets64.byteOffset, offsets64.length * 2);
    for (let c = 0; c < offsets64.length; c++) offsets[c] = halves[2 * c + 1]! * 4294967296 + halves[2 * c]!;
    expect(offsets[0] === 0 && offsets[K] === ivf.length, `${offName} (ivf offsets)`);
    return { ivf, offsets };
  };
  let doclens: Int32Array = openArrayFile(file(names.doclens), Int32Array, f.doclens, names.doclens, o);
  let { ivf, offsets: ivfOffsets }: { ivf: Int32Array; offsets: Float64Array } = openIvf(names.ivf, f.ivf, names.ivfOffsets, f.ivfOffsets);
  const deltas = manifest.deltas ?? [];
  if (deltas.length > 0) ({ doclens, ivf, ivfOffsets } = mergeDeltas(deltas, doclens, ivf, ivfOffsets, K, counts.passages, expect, (d) => ({ doclens: openArrayFile(file(d.doclens.file), Int32Array, d.doclens.entry, d.doclens.file, o), ...openIvf(d.ivf.file, d.ivf.entry, d.ivfOffsets.file, d.ivfOffsets.entry) })));
  expect(doclens.length === counts.passages, 'doclens');

  const segments: IndexSegment[] = [];
  const tokenStarts = new Int32Array(new SharedArrayBuffer(doclens.length * 4));
  let pid = 0;
  let tokens = 0;
  manifest.segments.forEach((s, i) => {
    expect(s.firstPid === pid && s.passages >= 0 && pid + s.passages <= doclens.length, `segment ${i} pid range`);
    expect(s.codes.bytes === s.tokens * 4 && s.residuals.bytes === s.tokens * bytesPerToken, `segment ${i} sizes`);
    const codesName = segmentFile(s, 'codes', i);
    const residualsName = segmentFile(s, 'residuals', i);
    const codes = openArrayFile(file(codesName), Int32Array, s.codes, codesName, o);
    const residuals = openArrayFile(file(residualsName), Uint8Array, s.residuals, residualsName, o);
    let t = 0;
    for (let p = s.firstPid, end = s.firstPid + s.passages; p < end; p++) {
      tokenStarts[p] = t;
      t += doclens[p]!;
    }
    expect(t === s.tokens, `sum of doclens in segment ${i}`);
    segments.push({ firstPid: s.firstPid, passages: s.passages, codes, residuals });
    pid += s.passages;
    tokens += t;
  });
  expect(pid === counts.passages, 'segments pid ranges');
  expect(tokens === counts.tokens, 'sum of doclens');
  let tombstones: Uint8Array | null = null;
  if (manifest.tombstones !== undefined) {
    const t = manifest.tombstones;
    tombstones = openArrayFile(file(t.file), Uint8Array, t.entry, t.file, { crc });
    expect(t.passages === counts.passages && tombstones.length === Math.ceil(counts.passages / 8), 'tombstones');
  }
  const codec = new ResidualCodec(dim, nbits, centroids, Float32Array.from(manifest.codec.cutoffs), Float32Array.from(manifest.codec.weights), kernels);
  return { path, manifest, codec, centroids, doclens, tokenStarts, segments, ivf, ivfOffsets, tombstones, mapped: mapFile !== undefined, verified: crc ? 'crc' : 'sizes' };
}
