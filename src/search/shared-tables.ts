/**
 * What an index's scoring threads derive from its arrays and now share instead of each deriving
 * its own (search-15): stage 1's int8 centroids (centroid-quantisation.ts) and, per segment, the
 * exact stage's token-norm cache (codec/code-scorer.ts). The arrays themselves were shared already
 * (SharedArrayBuffers, or files each worker maps again: format/shared-arrays.ts); these tables had
 * been computed by every worker on its first query, in its own memory.
 *
 * A pool (search-pool.ts) makes the tables empty, in SharedArrayBuffers, gives them to its workers
 * with the arrays at their creation and takes them for the calling thread too; the first thread that
 * needs a table fills it (util/shared-once.ts) with the code that filled the private copies, so the
 * bits are the same. Measured on scifact (16,384 × 512 centroids, 3.07M tokens), per worker before:
 * 8.1 MiB of int8 centroids and 0.1–1.5 s to quantise them, 11.7 MiB of norm cache
 * (bench/worker-start.ts; bench/RESULTS.md, "Scoring workers' start, shared tables").
 * Not shared: the scratch marks (one byte a passage, written by each search), the stage-1 score
 * scratch (written by each search) and the centroid norms of 'codes-normalized' (64 KiB, not the
 * default method).
 */
import { sharedTokenInverseNorms, useSharedTokenInverseNorms, type SharedTokenInverseNorms } from '../codec/code-scorer.js';
import { sharedQuantisedCentroids, useSharedQuantisedCentroids, type SharedQuantisedCentroids } from './centroid-quantisation.js';
import { usesInt8, type ScoringArrays } from './plaid.js';
import { PlaitError } from '../errors/index.js';

export interface SharedScoringTables {
  /** Stage 1's int8 centroids; null when stage 1 does not run on int8 (usesInt8). */
  quantised: SharedQuantisedCentroids | null;
  /** The token-norm cache of each segment, in `ScoringArrays.segments`' order. */
  inverseNorms: SharedTokenInverseNorms[];
}

/** Empty shared tables for an index's arrays (no memory is touched until a thread fills one). */
export function sharedScoringTables(a: ScoringArrays): SharedScoringTables {
  return {
    quantised: usesInt8(a) ? sharedQuantisedCentroids(a.nCentroids, a.dim) : null,
    inverseNorms: a.segments.map((s) => sharedTokenInverseNorms(s.codes.length)),
  };
}

/**
 * Shared tables for a living index's next generation `a` that take over the served generation's
 * (`prev`, its pool's) where the input bytes did not change (search/generation-carry.ts): the same
 * int8 centroids object when the codec is the same, the same norm-cache object for each unchanged
 * segment (`same[i]`: the served generation's index of next segment i, or -1); empty ones for the
 * rest. Nothing is copied: both generations' threads read the one table, whose bits are the same
 * for both (the same bytes in, the same code).
 */
export function carriedScoringTables(a: ScoringArrays, prev: SharedScoringTables, sameCodec: boolean, same: readonly number[]): SharedScoringTables {
  const fresh = sharedScoringTables(a);
  if (!sameCodec) return fresh;
  const q = prev.quantised;
  return {
    quantised: fresh.quantised !== null && q !== null && q.bytes.length === fresh.quantised.bytes.length && q.scales.length === fresh.quantised.scales.length ? q : fresh.quantised,
    inverseNorms: fresh.inverseNorms.map((t, i) => {
      const j = same[i] ?? -1;
      const old = j >= 0 ? prev.inverseNorms[j] : undefined;
      return old !== undefined && old.values.length === t.values.length ? old : t;
    }),
  };
}

/**
 * Makes this thread read `t` for the arrays `a` (this thread's view of the index: a worker's own
 * mapped arrays over the same files) instead of deriving its own copies.
 * @throws PlaitError INTERNAL when `t` was made for arrays of another shape (a programming error)
 */
export function useSharedScoringTables(a: ScoringArrays, t: SharedScoringTables): void {
  if (t.inverseNorms.length !== a.segments.length) throw new PlaitError('INTERNAL', { message: `shared tables for ${t.inverseNorms.length} segments, arrays with ${a.segments.length}` });
  if (t.quantised !== null) useSharedQuantisedCentroids(a.centroids, t.quantised);
  a.segments.forEach((s, i) => useSharedTokenInverseNorms(s.residuals, t.inverseNorms[i]!));
}
