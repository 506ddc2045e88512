/**
 * The calibration record kept in the manifest (`calibration`, optional): the PLAID settings that
 * `plait calibrate` measured and chose for this index, per k bucket, with their fidelity and cost.
 * Search takes its PLAID defaults from here when the record exists (see `calibratedPlaidParams`);
 * the record is written into an existing manifest through a temporary file and a rename.
 */
import { join } from 'node:path';
import { PlaitError } from '../errors/index.js';
import type { PlaidParams } from '../config/defaults.js';
import { MANIFEST_FILE, type IndexManifest } from './manifest.js';
import { readJsonFile, writeFileAtomic } from './index-files.js';

/** One bucket's choice: settings, what they measured, and ColBERT's defaults measured alike. */
export interface CalibratedBucket {
  /** The bucket holds topK ≤ maxTopK (null: every larger topK). */
  maxTopK: number | null;
  /** The k whose top-k fidelity was measured for this bucket. */
  k: number;
  /** Chosen settings. For the open bucket, search uses ndocs = max(ndocs, 4·topK), ColBERT's rule. */
  params: PlaidParams;
  /** Share of the exhaustive top-k found, pooled over all pseudo-queries. */
  fidelity: number;
  /** The same share per kind of pseudo-query (keyword, title, span, log). */
  fidelityByKind: Record<string, number>;
  /** Median of the measured PLAID time per query, ms (stages 1–4; encoding excluded). */
  p50Ms: number;
  /** Estimated PLAID time per query, ms (the replay's work-based estimate the choice and the ceiling use); absent in older records. */
  estMs?: number;
  /** Whether every kind reached the target; false: the most faithful grid point is stored. */
  reached: boolean;
  /** Whether the cost ceiling changed the choice (a costlier point would have been chosen without it); absent in older records. */
  capped?: boolean;
  /** The defaults for this bucket (plaidDefaultsFor; ColBERT's in records before issue 22), measured on the same queries. */
  defaults: { params: PlaidParams; fidelity: number; fidelityByKind: Record<string, number>; p50Ms: number; estMs?: number };
}

export interface IndexCalibration {
  createdAt: string;
  /** Fidelity target (share of the exhaustive top-k). */
  target: number;
  /**
   * What every kind of calibration query had to reach: target + headroom · (1 − target), so that
   * the choice still holds for queries calibration did not see (CALIBRATION_DEFAULTS.headroom).
   * Absent in records written before headroom existed (they required `target` itself).
   */
  required?: number;
  /** Where the queries came from: sampled from the corpus, or a user's query log. */
  source: 'corpus' | 'query-log';
  /** Queries measured, in all and per kind. */
  queries: number;
  queriesByKind: Record<string, number>;
  /** Grid points replayed per query. */
  gridPoints: number;
  /** Wall time of the calibration, ms, and whether the time budget cut the query sample. */
  costMs: number;
  budgetMs: number;
  truncated: boolean;
  /** The cost ceiling the choice obeyed (null: none); absent in records written before it existed. */
  costCeiling?: { maxCostRatio: number | null; maxLatencyMs: number | null };
  /** Index size when calibrated: documents added since make the record stale. */
  documents: number;
  passages: number;
  buckets: CalibratedBucket[];
}

/**
 * The calibrated PLAID settings for a topK, or null without a record (search then uses ColBERT's
 * defaults, `plaidDefaultsFor`). In the open bucket ndocs grows with topK as ColBERT's does.
 */
export function calibratedPlaidParams(calibration: IndexCalibration | undefined, topK: number): PlaidParams | null {
  if (calibration === undefined || !Array.isArray(calibration.buckets)) return null;
  const bucket = calibration.buckets.find((b) => b.maxTopK === null || topK <= b.maxTopK);
  if (bucket === undefined) return null;
  const { ndocs } = bucket.params;
  return { ...bucket.params, ndocs: bucket.maxTopK === null ? Math.max(ndocs, 4 * topK) : ndocs };
}

/**
 * Stores a calibration record in the index's manifest (replacing any earlier one; null removes it):
 * the manifest is re-read, changed in that one field, and written through a temporary file and a
 * rename, so a reader sees the old manifest or the new one, never half of one.
 */
export function writeCalibration(indexPath: string, calibration: IndexCalibration | null): IndexManifest {
  const path = join(indexPath, MANIFEST_FILE);
  const manifest = readJsonFile(path, 'index manifest') as IndexManifest | null;
  if (manifest === null || typeof manifest !== 'object') throw new PlaitError('INDEX_CORRUPT', { message: `${path} is not a plait index manifest`, path });
  if (calibration === null) delete manifest.calibration;
  else manifest.calibration = calibration;
  writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
