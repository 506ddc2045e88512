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
 * Measured on the 1M MS MARCO-shaped index (bench/plaid-stages.ts; bench/RESULTS.md, "1M goal"):
 * 32-token queries keep ~22 centroids (9.6k IVF entries) against 7.7k candidates × 70 tokens at
 * k = 10 (18.5k candidates at k = 100), so stage 2 reads ~55× (k = 100: ~135×) fewer entries.
 * `prunedInteractionScores` takes whichever path reads fewer entries; both give the same bits as
 * the native `centroidInteraction` kernel (float32 sums in token order; a passage with no kept
 * token scores 0), which test/centroid-pruned-interaction.test.ts checks against it.
 */
import type { Kernels } from '../kernels/types.js';
import type { DeadlineCheck, EncodedQuery, ScoringArrays } from './plaid.js';

/** Per-thread slot map pid → candidate slot + 1 (0: not a candidate), cleared after each use. */
let slots = new Int32Array(0);
/** Per-thread candidates × qLen running maxima (reused: a fresh zeroed array a query costs a page fault a 4 KiB). */
let maxima = new Float32Array(0);

/** Sum of the IVF list lengths of the kept centroids (the IVF path's reads). */
export function keptIvfEntries(a: Pick<ScoringArrays, 'ivfOffsets' | 'nCentroids'>, keep: Uint8Array): number {
  let n = 0;
  for (let c = 0; c < a.nCentroids; c++) if (keep[c] !== 0) n += a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!;
  return n;
}

/** Tokens of the given passages (the codes path's reads). */
export function candidateTokens(a: Pick<ScoringArrays, 'doclens'>, pids: Int32Array): number {
  let n = 0;
  for (let i = 0; i < pids.length; i++) n += a.doclens[pids[i]!]!;
  return n;
}

/**
 * Stage-2 scores of `pids` (sorted unique candidate pids) from the IVF lists of the kept centroids:
 * out[j] = Σ_i w_i · max{S[c, i] : keep[c] = 1, pids[j] ∈ ivf[c]} (float32, i ascending), 0 when
 * no kept centroid lists pids[j]. s: K × qLen centroid scores; keep: K bytes. Shapes as
 * `Kernels.centroidInteraction`.
 */
export function ivfPrunedInteraction(a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, keep: Uint8Array, check?: DeadlineCheck): Float32Array {
  const qLen = q.length;
  const n = pids.length;
  const out = new Float32Array(n);
  if (qLen === 0 || n === 0) return out;
  const nPassages = a.doclens.length;
  if (slots.length < nPassages) slots = new Int32Array(nPassages);
  const slotOf = slots;
  for (let j = 0; j < n; j++) slotOf[pids[j]!] = j + 1;
  if (maxima.length < n * qLen) maxima = new Float32Array(n * qLen);
  const best = maxima.subarray(0, n * qLen).fill(-Infinity);
  const touched = new Uint8Array(n);
  try {
    let sinceCheck = 0;
    for (let c = 0; c < a.nCentroids; c++) {
      if (keep[c] === 0) continue;
      // A subarray per kept centroid: integer indexes in the loop (the offsets are doubles).
      const list = a.ivf.subarray(a.ivfOffsets[c]!, a.ivfOffsets[c + 1]!);
      const row = s.subarray(c * qLen, (c + 1) * qLen);
      for (let e = 0; e < list.length; e++) {
        const slot = slotOf[list[e]!]!;
        if (slot === 0) continue;
        const j = slot - 1;
        touched[j] = 1;
        const b = j * qLen;
        for (let i = 0; i < qLen; i++) {
          const v = row[i]!;
          if (v > best[b + i]!) best[b + i] = v;
        }
      }
      sinceCheck += list.length;
      if (check !== undefined && sinceCheck >= CHECK_EVERY) {
        sinceCheck = 0;
        check();
      }
    }
  } finally {
    for (let j = 0; j < n; j++) slotOf[pids[j]!] = 0;
  }
  const w = q.weights;
  for (let j = 0; j < n; j++) {
    if (touched[j] === 0) continue;
    let total = 0;
    const b = j * qLen;
    for (let i = 0; i < qLen; i++) total = Math.fround(total + (w !== null ? Math.fround(w[i]! * best[b + i]!) : best[b + i]!));
    out[j] = total;
  }
  return out;
}

/** IVF entries between deadline checks (about the codes path's chunk of work). */
const CHECK_EVERY = 1 << 16;

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
  if (keptIvfEntries(a, keep) < candidateTokens(a, pids)) return ivfPrunedInteraction(a, s, q, pids, keep, check);
  return codesPath(a, s, q, pids, keep, kernels, check);
}
