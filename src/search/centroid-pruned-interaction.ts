/**
 * PLAID's pruned centroid interaction (stage 2) read from the inverted file instead of the codes
 * (issue 22, 1M passages). Stage 2 scores each candidate passage by Σ_i max over its tokens whose
 * centroid survived pruning (keep[c] = 1) of S[c, i]; a passage's set of kept centroids is exactly
 * the kept centroids whose IVF list holds it (the IVF maps each centroid to the sorted unique
 * passages that have a token with that code), so the same scores come from the few kept
 * centroids' lists instead of every candidate's codes:
 *
 *   codes path: Σ over candidates of doclen token reads (random passages: a cache miss or more each)
 *   IVF path:   Σ over kept centroids of |ivf[c]| entries, each one qLen-wide max into its passage's row
 *
 * Measured on the 1M MS MARCO-shaped index (bench/plaid-stages.ts; bench/RESULTS.md, "The 1M goal"):
 * 32-token queries keep ~22 centroids (9.6k IVF entries) against 7.7k candidates × 70 tokens at
 * k = 10 (18.5k candidates at k = 100), so stage 2 reads ~55× (k = 100: ~135×) fewer entries.
 * `prunedInteractionScores` takes whichever path reads fewer entries; both give the same bits as
 * the native `centroidInteraction` kernel (float32 sums in token order; a passage with no kept
 * token scores 0), which test/centroid-pruned-interaction.test.ts checks against it.
 */
import type { Kernels } from '../kernels/types.js';
import type { DeadlineCheck, EncodedQuery, ScoringArrays } from './plaid.js';

/**
 * The kept centroids (ascending ids) of a K-byte pruning mask, scanned four bytes at a time: the mask
 * is mostly zeros (~22 of 131,072 kept on the 1M shape) and a byte loop over it cost 2.2 ms a query
 * at load ~13.
 */
export function keptCentroids(keep: Uint8Array): Int32Array {
  return keptWithin(keep, null, Infinity)!;
}

/**
 * `keptCentroids`, stopping (null) once the kept centroids' IVF lists reach `maxEntries` entries, so
 * a mask that keeps most centroids (a calibration's threshold −1) costs no full list of them.
 */
function keptWithin(keep: Uint8Array, ivfOffsets: Float64Array | null, maxEntries: number): Int32Array | null {
  const ids: number[] = [];
  let entries = 0;
  const add = (c: number): boolean => {
    ids.push(c);
    if (ivfOffsets !== null) entries += ivfOffsets[c + 1]! - ivfOffsets[c]!;
    return entries < maxEntries;
  };
  const aligned = keep.byteOffset % 4 === 0 ? keep.length >> 2 : 0;
  const words = aligned > 0 ? new Uint32Array(keep.buffer, keep.byteOffset, aligned) : new Uint32Array(0);
  for (let w = 0; w < aligned; w++) {
    if (words[w] === 0) continue;
    for (let c = w * 4; c < w * 4 + 4; c++) if (keep[c] !== 0 && !add(c)) return null;
  }
  for (let c = aligned * 4; c < keep.length; c++) if (keep[c] !== 0 && !add(c)) return null;
  return Int32Array.from(ids);
}

/** Sum of the IVF list lengths of the given centroids (the IVF path's reads). */
export function ivfEntriesOf(a: Pick<ScoringArrays, 'ivfOffsets'>, centroids: Int32Array): number {
  let n = 0;
  for (const c of centroids) n += a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!;
  return n;
}

/** Tokens of the given passages (the codes path's reads). */
export function candidateTokens(a: Pick<ScoringArrays, 'doclens'>, pids: Int32Array): number {
  let n = 0;
  for (let i = 0; i < pids.length; i++) n += a.doclens[pids[i]!]!;
  return n;
}

/**
 * Stage-2 scores of `pids` (strictly ascending candidate pids, as ivfUnion gives them) from the IVF
 * lists of the `kept` centroids (keptCentroids of the pruning mask): out[j] = Σ_i w_i · max{S[c, i] :
 * c kept, pids[j] ∈ ivf[c]} (float32, i ascending), 0 when no kept centroid lists pids[j]
 * (`Kernels.ivfInteraction`, on the kept lists gathered here: ~10k entries on the 1M shape).
 * s: K × qLen centroid scores.
 */
export function ivfPrunedInteraction(a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, kept: Int32Array, kernels: Kernels, check?: DeadlineCheck): Float32Array {
  const out = new Float32Array(pids.length);
  const bounds = new Int32Array(kept.length + 1);
  const entries = new Int32Array(ivfEntriesOf(a, kept));
  for (let k = 0, e = 0; k < kept.length; k++) {
    const c = kept[k]!;
    const list = a.ivf.subarray(a.ivfOffsets[c]!, a.ivfOffsets[c + 1]!);
    entries.set(list, e);
    e += list.length;
    bounds[k + 1] = e;
  }
  check?.();
  kernels.ivfInteraction(s, q.length, kept, bounds, entries, pids, out, q.weights);
  return out;
}

/**
 * Stage-2 pruned centroid interaction of `pids` by the cheaper of the two equal computations:
 * the IVF lists of the kept centroids when they hold fewer entries than the candidates have
 * tokens, else `codesPath` (the codes kernel, plaid.ts interactionScores).
 */
export function prunedInteractionScores(
  a: ScoringArrays,
  s: Float32Array,
  q: EncodedQuery,
  pids: Int32Array,
  keep: Uint8Array,
  kernels: Kernels,
  codesPath: (a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, keep: Uint8Array, kernels: Kernels, check?: DeadlineCheck) => Float32Array,
  check?: DeadlineCheck,
): Float32Array {
  const kept = keptWithin(keep, a.ivfOffsets, candidateTokens(a, pids));
  if (kept !== null) return ivfPrunedInteraction(a, s, q, pids, kept, kernels, check);
  return codesPath(a, s, q, pids, keep, kernels, check);
}
