/**
 * The calibration record kept in the manifest (`calibration`, optional): the PLAID settings that
 * `plait calibrate` measured and chose for this index, per k bucket, with their fidelity and cost.
 * Search takes its PLAID defaults from here when the record exists (see `calibratedPlaidParams`);
 * the record is committed like any change to the folder (index-transaction.ts): under the write lock,
 * on top of the last commit, as a new generation with a new commit id (so servers pick it up).
 */
import { plural } from '../util/plural.js';
import { PlaitError, checkObject, checkNonEmptyString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { PlaidParams } from '../config/defaults.js';
import type { IndexManifest } from './manifest.js';
import { contentCommitOf, IndexTransaction, type TransactionOptions } from './index-transaction.js';

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
  if (calibration !== undefined) checkObject('calibration', calibration, 'an IndexCalibration or undefined');
  if (calibration === undefined || !Array.isArray(calibration.buckets)) return null;
  const bucket = calibration.buckets.find((b) => b.maxTopK === null || topK <= b.maxTopK);
  if (bucket === undefined) return null;
  const { ndocs } = bucket.params;
  return { ...bucket.params, ndocs: bucket.maxTopK === null ? Math.max(ndocs, 4 * topK) : ndocs };
}

/** Options of `writeCalibration`. */
export interface WriteCalibrationOptions extends Pick<TransactionOptions, 'onOp' | 'lock'> {
  /**
   * `contentCommitOf` the manifest the record measured: when the index's content has changed
   * since (any commit but a calibration record), the record is refused with INDEX_CHANGED.
   */
  measured?: string;
}
const WRITE_CALIBRATION_OPTION_KEYS = { onOp: true, lock: true, measured: true } as const satisfies OptionKeys<WriteCalibrationOptions>;

/**
 * Stores a calibration record in the index's manifest (replacing any earlier one; null removes it)
 * as one transaction: the committed manifest is read under the write lock, changed in that one
 * field and committed (new generation and commit id; no other file changes).
 * @throws PlaitError INDEX_LOCKED (another writer), INDEX_CHANGED (the content `measured` is not
 * the committed one any more), INDEX_NOT_FOUND / INDEX_CORRUPT.
 */
export function writeCalibration(indexPath: string, calibration: IndexCalibration | null, options: WriteCalibrationOptions = {}): IndexManifest {
  checkOptionKeys(options, WRITE_CALIBRATION_OPTION_KEYS, 'writeCalibration option');
  checkNonEmptyString('indexPath', indexPath, 'an index folder path');
  const tx = IndexTransaction.begin(indexPath, { onOp: options.onOp, lock: options.lock });
  try {
    const base = tx.current;
    if (options.measured !== undefined && contentCommitOf(base) !== options.measured) {
      throw new PlaitError('INDEX_CHANGED', {
        message: `${indexPath} changed while it was calibrated (now generation ${base.generation ?? 0}, ${plural(base.counts.documents, 'document')}); calibrate again`,
        path: indexPath,
        generation: base.generation ?? 0,
      });
    }
    const { calibration: _old, ...rest } = base;
    return tx.commit(calibration === null ? rest : { ...rest, calibration }, { content: false });
  } finally {
    tx.close();
  }
}
