/**
 * The index manifest (`manifest.json`): format version, the model that built the index (search
 * refuses another), codec parameters, counts, build settings, and the size and CRC-32 of every
 * file. It is written last, so a folder without a valid manifest is never an index.
 */
import type { ModelInfo, ModelSpec } from '../encoder/types.js';
import type { Nbits } from '../codec/residual-codec.js';
import type { IndexCalibration } from './calibration-record.js';

export const FORMAT_NAME = 'plait-index';
/** Bump on any change to a file's layout; readers refuse other versions. */
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** The index's files, by role. Binary files are raw little-endian arrays of the named type. */
export const INDEX_FILES = {
  centroids: 'centroids.f32', // K × dim float32, L2-normalised
  doclens: 'doclens.i32', // tokens per passage, by pid
  codes: 'codes.i32', // centroid id per token, passages in pid order
  residuals: 'residuals.u8', // dim·nbits/8 bytes per token, same order as codes
  ivf: 'ivf.i32', // for each centroid, its sorted unique pids, concatenated
  ivfOffsets: 'ivf-offsets.i32', // K + 1 offsets into ivf.i32
  docstore: 'docs.sqlite', // documents, passages, BM25 (FTS5), token document frequencies
} as const;

export type IndexFileRole = keyof typeof INDEX_FILES;

export interface FileEntry {
  bytes: number;
  crc32: number;
}

export interface BuildSettings {
  split: boolean;
  window: number;
  stride: number;
  kmeansIters: number;
  seed: number;
  sampledPassages: number;
  kmeansVectors: number;
}

export interface IndexManifest {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  createdAt: string;
  buildMs: number;
  model: ModelInfo;
  /** How to load that model again (search re-creates the query encoder from it). */
  modelSpec: ModelSpec;
  dim: number;
  nbits: Nbits;
  counts: { documents: number; passages: number; tokens: number; centroids: number };
  codec: { cutoffs: number[]; weights: number[]; avgResidual: number };
  settings: BuildSettings;
  files: Record<IndexFileRole, FileEntry>;
  /** PLAID settings measured for this index by `plait calibrate` (absent: ColBERT's defaults). */
  calibration?: IndexCalibration;
  /**
   * Documents a `skipInvalid` build left out, by kind (the corpus report's keys: `emptyText`,
   * `malformed`, `missingId`, `duplicateId`, `notUtf8`...); only kinds with a count. Absent in
   * indexes built before it was recorded and in builds from embeddings.
   */
  skipped?: Record<string, number>;
}
