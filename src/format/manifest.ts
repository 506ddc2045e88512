/**
 * The index manifest (`manifest.json`): format version, the model that built the index (search
 * refuses another), codec parameters, counts, build settings, and the size and CRC-32 of every
 * file. It is written last, so a folder without a valid manifest is never an index.
 *
 * Format 2 (this one) stores the per-token arrays (codes, residuals) in passage-aligned segment
 * files of bounded size, so that no file or typed array approaches V8's 4 GiB typed-array limit
 * (Node 20) however large the corpus, and each segment can be memory-mapped on its own. Offsets
 * that can pass 2^31 (the IVF offsets) are 64-bit on disk. Format 1 (one codes.i32 and one
 * residuals.u8 file) is refused with INDEX_VERSION: rebuild the index.
 */
import type { ModelInfo, ModelSpec } from '../encoder/types.js';
import type { Nbits } from '../codec/residual-codec.js';
import { TERNARY_NBITS } from '../kernels/validate.js';
import type { IndexCalibration } from './calibration-record.js';
import { checkObject, checkShape, checkNumber, checkString } from '../errors/index.js';

export const FORMAT_NAME = 'plait-index';
/** Bump on any change to a file's layout; readers refuse other versions. 2: segmented codes/residuals, 64-bit IVF offsets. */
export const FORMAT_VERSION = 2;
/**
 * The format version of an index whose codec is ternary (nbits = TERNARY_NBITS, issue 22): one past
 * FORMAT_VERSION, so that a reader older than the codec refuses it with INDEX_VERSION instead of
 * misreading its residuals. Indexes with the bucket codecs (nbits 1, 2, 4, 8) keep FORMAT_VERSION;
 * this reader reads both (`formatVersionFor`).
 */
export const TERNARY_FORMAT_VERSION = FORMAT_VERSION + 1;

/** The format version an index with residual width `nbits` is written with and must carry. */
export function formatVersionFor(nbits: number): number {
  return nbits === TERNARY_NBITS ? TERNARY_FORMAT_VERSION : FORMAT_VERSION;
}
export const MANIFEST_FILE = 'manifest.json';

/** The index's whole-index files, by role. Binary files are raw little-endian arrays of the named type. */
export const INDEX_FILES = {
  centroids: 'centroids.f32', // K × dim float32, L2-normalised
  doclens: 'doclens.i32', // tokens per passage, by pid
  ivf: 'ivf.i32', // for each centroid, its sorted unique pids, concatenated
  ivfOffsets: 'ivf-offsets.i64', // K + 1 int64 offsets into ivf.i32
  docstore: 'docs.sqlite', // documents, passages, BM25 (FTS5), token document frequencies
} as const;

export type IndexFileRole = keyof typeof INDEX_FILES;

/** Per-token arrays, stored segment by segment (passages never straddle two segments). */
export type SegmentRole = 'codes' | 'residuals';

/** File name of segment `i` of a per-token array: codes.0000.i32 (int32 centroid ids), residuals.0000.u8 (dim·nbits/8 bytes a token; ceil(dim/5) for ternary). */
export function segmentFileName(role: SegmentRole, i: number): string {
  checkString('role', role, 'a segment role ("codes" or "residuals")');
  checkNumber('i', i, 'a segment number');
  const n = String(i).padStart(4, '0');
  return role === 'codes' ? `codes.${n}.i32` : `residuals.${n}.u8`;
}

export interface FileEntry {
  bytes: number;
  crc32: number;
  /**
   * A file its own engine changes in place across generations: the document store from schema 4
   * (SQLite in WAL mode, changed by each living-index write in one SQLite transaction). Once a
   * write changed it, `bytes` and `crc32` are 0 and not checked (SQLite's journal keeps the file
   * whole); which commit the file holds is the store's own commit record
   * (`IndexManifest.docstoreCommit`, docstore/store-commit.ts). A build's store is born in place
   * and listed with its size and CRC-32 as built, checked like any file until the first write
   * lists it with zeros (`inPlaceUnchecked`).
   */
  inPlace?: true;
}

/** Whether a listed file is changed in place and so has no size or CRC-32 to check (FileEntry.inPlace). */
export function inPlaceUnchecked(entry: FileEntry): boolean {
  checkObject('entry', entry, 'a manifest FileEntry');
  return entry.inPlace === true && entry.bytes === 0 && entry.crc32 === 0;
}

/** One segment: passages [firstPid, firstPid + passages) and their tokens' codes and residuals. */
export interface SegmentEntry {
  /**
   * Name stem of the segment's files when a living-index write made it (`codes.<stem>.i32`,
   * `residuals.<stem>.u8`, e.g. stem "g0003.0000"); absent for a build's segments, named by position.
   */
  stem?: string;
  firstPid: number;
  passages: number;
  tokens: number;
  codes: FileEntry;
  residuals: FileEntry;
}

export interface BuildSettings {
  split: boolean;
  window: number;
  stride: number;
  kmeansIters: number;
  seed: number;
  sampledPassages: number;
  kmeansVectors: number;
  /** Largest residual segment file, in bytes, the build was asked for (FORMAT_DEFAULTS.segmentBytes). */
  segmentBytes: number;
  /** How compression assigned tokens to centroids (absent in indexes built before it was recorded: exact). */
  centroidAssignment?: CentroidAssignmentRecord;
  /**
   * The JSONL field names the build was given (`--id-field`, `--text-field`, `--title-field`,
   * `metadataField`), only those given; `plait add` and `addCorpus` read a JSONL input with them
   * unless told otherwise (corpus/recorded-fields.ts). Absent: the defaults, or a build before it was recorded.
   */
  corpusFields?: CorpusFieldNames;
}

/** JSONL field names of a corpus (CorpusReaderOptions' four), as a manifest records them. */
export interface CorpusFieldNames {
  idField?: string;
  textField?: string;
  titleField?: string;
  metadataField?: string;
}

/**
 * The compression pass's nearest-centroid assignment (src/indexer/two-level-assign.ts): `method`
 * is what ran, `requested` what the build asked for ('auto' picks by K and by the agreement it
 * measures); for two-level, the coarse cells C and the cells searched per token. `agreement`: share
 * of the held-out sample vectors two-level put on brute force's centroid (at the probe used; for an
 * 'auto' build that fell back to exact, at the largest probe tried). `assignMs`: wall time of the
 * pass's assignment calls.
 */
export type CentroidAssignmentRecord =
  | { method: 'exact'; requested: 'exact' | 'two-level' | 'auto'; assignMs?: number; checked?: { nCoarse: number; probe: number; agreement: number } }
  | { method: 'two-level'; requested: 'exact' | 'two-level' | 'auto'; nCoarse: number; probe: number; agreement?: number; planMs?: number; assignMs?: number };

export interface IndexManifest {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  createdAt: string;
  buildMs: number;
  model: ModelInfo;
  /** How to load that model again (search re-creates the query encoder from it). */
  modelSpec: ModelSpec;
  dim: number;
  /** Residual width: 1, 2, 4 or 8 bits (bucket codec), or TERNARY_NBITS = 1.6 (ternary codec, formatVersion TERNARY_FORMAT_VERSION). */
  nbits: Nbits;
  counts: { documents: number; passages: number; tokens: number; centroids: number };
  codec: { cutoffs: number[]; weights: number[]; avgResidual: number };
  settings: BuildSettings;
  files: Record<IndexFileRole, FileEntry>;
  /** PLAID settings measured for this index by `plait calibrate` (absent: plait's defaults, `plaidDefaultsFor`). */
  calibration?: IndexCalibration;
  /**
   * Documents a `skipInvalid` build left out, by kind (the corpus report's keys: `emptyText`,
   * `malformed`, `missingId`, `duplicateId`, `notUtf8`...); only kinds with a count. Absent in
   * indexes built before it was recorded and in builds from embeddings.
   */
  skipped?: Record<string, number>;
  /** Passage-aligned segments of codes and residuals, in pid order. */
  segments: SegmentEntry[];
  /**
   * Living index (src/mutate/): the generation this manifest commits (0 or absent: the build),
   * the file name of each whole-index role a write replaced (absent role: INDEX_FILES' name),
   * the deleted-passage bitmap, and the drift figures. Absent in an index never written to.
   */
  generation?: number;
  /**
   * A random id written by every commit (index-transaction.ts), a rebuild and a calibration record
   * included: readers compare it to notice a new commit (`commitIdOf`). Absent in older indexes.
   */
  commit?: string;
  /** The commit id of the last commit that changed the indexed content (not only the calibration record). */
  contentCommit?: string;
  fileNames?: Partial<Record<IndexFileRole, string>>;
  /**
   * The commit id of the last commit that changed an in-place document store (`files.docstore.inPlace`):
   * the store's own commit record holds that commit's whole manifest, written in the same SQLite
   * transaction as the change. A reader checks that the store it opened holds this commit (absent:
   * a store with no record). See docs/ARCHITECTURE.md, "The document store, changed in place".
   */
  docstoreCommit?: string;
  /** Bit pid (byte pid >> 3, bit pid & 7) set when the passage's document was deleted or replaced. */
  tombstones?: { file: string; entry: FileEntry; passages: number; deleted: number };
  /** Living index: doclens/IVF deltas of adds since the base arrays were last written (in pid order). */
  deltas?: ArraysDelta[];
  drift?: DriftFigures;
  /**
   * Cluster replica (issue 24, src/cluster/log-applier.ts): the JetStream write-log stream this
   * index applies and the last stream sequence whose entries this commit contains. Recorded in the
   * same commit as the entries' effect, so after any crash the index knows exactly where to resume.
   * Absent in an index that never applied a write log.
   */
  appliedLog?: AppliedLog;
  /**
   * Written by plait versions before the index transaction (the previous generation's files, kept one
   * write longer); read only to clean those files up, never written now.
   */
  retained?: string[];
}

/** A file a manifest names directly, with its size and CRC-32. */
export interface NamedFile {
  file: string;
  entry: FileEntry;
}

/**
 * The doclens and IVF lists of passages [firstPid, firstPid + passages), added by one write after
 * the base arrays (`files.doclens`, `files.ivf`, `files.ivfOffsets`, which cover the pids before
 * the first delta). Readers merge them at open: doclens concatenated; each centroid's list is the
 * base's followed by each delta's (pids only grow, so lists stay sorted).
 */
export interface ArraysDelta {
  firstPid: number;
  passages: number;
  doclens: NamedFile;
  /** K + 1 int64 offsets into `ivf`, as the base's. */
  ivfOffsets: NamedFile;
  ivf: NamedFile;
}

/** A position in a write log: stream name and the last applied stream sequence (JetStream's, from 1). */
export interface AppliedLog {
  stream: string;
  sequence: number;
}

/**
 * How far tokens sit from their centroids: mean |residual| per dimension (|v − c| against the
 * assigned centroid), of the build's held-out tokens and of the tokens added since the build.
 */
export interface DriftFigures {
  /** The build's own figure (`codec.avgResidual`, over its held-out tokens). */
  buildMeanDistance: number;
  /**
   * Tokens added by every write since the build, replaced and deleted ones included: the weight of
   * `addedMeanDistance`, a running mean (a token's distance is not kept, so a delete cannot take it out).
   */
  addedTokens: number;
  addedMeanDistance: number;
  /**
   * Tokens of the added passages still indexed: added, and not replaced or deleted since (compaction
   * keeps it). Absent in a manifest whose first write came from a plait that did not count it.
   */
  liveAddedTokens?: number;
  /** First pid of the passages added since the build (below it: the build's); compaction renumbers it with the pids. */
  addedFrom?: number;
}

/** File name of a whole-index role in this manifest's generation. */
export function roleFileName(m: Pick<IndexManifest, 'fileNames'>, role: IndexFileRole): string {
  return m.fileNames?.[role] ?? INDEX_FILES[role];
}

/** File name of segment `i`'s codes or residuals in this manifest. */
export function segmentFile(s: SegmentEntry, role: SegmentRole, i: number): string {
  if (s.stem === undefined) return segmentFileName(role, i);
  return role === 'codes' ? `codes.${s.stem}.i32` : `residuals.${s.stem}.u8`;
}

/** Every file the manifest lists, with its expected size and CRC (the manifest itself excluded). */
export function listedFiles(m: IndexManifest): Array<{ name: string; entry: FileEntry }> {
  checkShape('m', m, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  const out: Array<{ name: string; entry: FileEntry }> = (Object.keys(INDEX_FILES) as IndexFileRole[]).map((role) => ({ name: roleFileName(m, role), entry: m.files[role] }));
  m.segments.forEach((s, i) => {
    out.push({ name: segmentFile(s, 'codes', i), entry: s.codes });
    out.push({ name: segmentFile(s, 'residuals', i), entry: s.residuals });
  });
  if (m.tombstones !== undefined) out.push({ name: m.tombstones.file, entry: m.tombstones.entry });
  for (const d of m.deltas ?? []) for (const f of [d.doclens, d.ivfOffsets, d.ivf]) out.push({ name: f.file, entry: f.entry });
  return out;
}
