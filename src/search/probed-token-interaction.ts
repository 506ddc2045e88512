/**
 * PLAID's ranking of candidates by probed-token scores (PlaidParams.interactionScoring
 * 'probed-tokens'; issue 22). ColBERT ranks candidates twice by centroid interaction,
 * CI(P) = Σ_i w_i · max_j S[c_j, i] (S: the K × qLen centroid scores, c_j: document token j's
 * centroid) — pruned to ndocs, then in full to ndocs/4 — so the residual, much of a token's score
 * with the bundled model, is ignored until exact scoring, and short queries lose documents there
 * (bench/RESULTS.md, "Where ColBERT's defaults lose documents"). Here, as in WARP (Scheerer et al.
 * 2025, "implicit decompression" of the tokens WARP_SELECT retrieved), the tokens that candidate
 * generation retrieved are scored with their residuals:
 *
 *   score(P) = Σ_{i matched in P} w_i · max_{j ∈ P, c_j ∈ probed_i} (S[c_j, i] + q_i · r_j)
 *            + Σ_{i not matched}   w_i · m_i(P)
 *
 * where probed_i is query token i's probed cells (its top cells by S), S[c, i] + q_i · r_j the
 * similarity on the codes (src/codec/code-scorer.ts 'fastscan': nibble tables, divided by the
 * token's ‖c + r‖ as ColBERT's decompression normalises; 'codes', the int16 table without a norm,
 * where fast-scan does not fit the width), and m_i(P) the missing-similarity estimate: P's best
 * centroid score for i, max_j S[c_j, i], when P has a token in one of i's best
 * CANDIDATE_DEFAULTS.estimateCells cells, else the last of those cells' score (an upper bound of
 * it — WARP's imputation, at a cut deep enough that few candidates need it).
 *
 * Two stages (part E, bench/RESULTS.md "Candidate generation (issue 22, part E)"):
 *  a. m_i(P) for every candidate from the IVF (centroidEstimates): each token's best cells walked
 *     best first, so the first cell whose list holds P gives P's best centroid. Σ_i w_i m_i(P) is
 *     ColBERT's full centroid interaction wherever the estimates are exact, without reading a
 *     candidate's codes (the kernels' pass over ~870k codes took 4 ms a scifact keyword query);
 *     the best `depth` candidates by it go on (probedTokenDepth · ndocs: 1,024 at k = 10).
 *  b. Their matched pairs on the codes: one pass over their codes, one code similarity per (query
 *     token, document token in its probed cells) pair, scored with that query token's own lane of
 *     the query's fast-scan tables (a pair costs one table lane, not qLen). Part F (bench/RESULTS.md,
 *     "Keyword cost"): scan and scores in one native call (Kernels.probedPairScores) instead of a scan
 *     and one fast-scan call a query token (1.89× → 1.44× ColBERT's keyword cost on cisi with the
 *     other steps of part F); the same bits.
 * Measured on scifact's keyword queries: WARP's constant imputation (the last probed cell's score
 * for every unmatched candidate) lost 102 of 1,000 top-10 slots against 9 here; a depth of 256 / 512 /
 * 1,024 / every candidate lost 37 / 16 / 10 / 9 (`node dist/bench/candidate-losses.js scifact …`).
 * With every cell probed, every token is matched and score(P) is MaxSim on the codes
 * (test/plaid-probed-tokens.test.ts).
 */
import type { Kernels } from '../kernels/types.js';
import type { IndexSegment } from '../format/index-reader.js';
import { prepareCodeQuery, scoreOnCodes, supportsFastScan, tokenInverseNormsCache, type CodeQuery, type FastScanCodeQuery } from '../codec/code-scorer.js';
import { CANDIDATE_DEFAULTS } from '../config/defaults.js';
import { segmentOf, type DeadlineCheck, type EncodedQuery, type ScoringArrays, type Shortlist } from './plaid.js';
import { Scratch } from '../util/scratch.js';
import { checkShape } from '../errors/index.js';

/** Query tokens that probed each cell: `head[c]` is the first slot (i · p + j) or -1, `next[slot]` the next one. */
interface ProbeLists {
  head: Int32Array;
  next: Int32Array;
  perToken: number;
}

/** Per-thread probe lists (K heads, qLen × p links), refilled with -1 by every search. */
const headScratch = new Scratch((n) => new Int32Array(n));
const nextScratch = new Scratch((n) => new Int32Array(n));

/** Query tokens of weight 0 (IDF of special tokens) get no list: their pairs could not change a score. */
function probeLists(nCentroids: number, probed: Int32Array, qLen: number, weights: Float32Array | null): ProbeLists {
  const perToken = qLen === 0 ? 0 : probed.length / qLen;
  const head = headScratch.take(nCentroids).fill(-1);
  const next = nextScratch.take(probed.length).fill(-1);
  for (let slot = 0; slot < probed.length; slot++) {
    const c = probed[slot]!;
    if (c < 0 || (weights !== null && weights[(slot / perToken) | 0] === 0)) continue;
    next[slot] = head[c]!;
    head[c] = slot;
  }
  return { head, next, perToken };
}

/**
 * Per-stage wall time of probedTokenRanking in ms, summed over calls while `on` (bench/keyword-stages.ts
 * splits a keyword query's cost with it; off, a stage costs one branch). Stages: 'walk' (the estimate
 * walk, and its cells where probeAndMask did not give them), 'cut' (the depth cut), 'lists' (probe
 * lists and the query's tables), 'score' (the pairs on the codes; where fast-scan does not fit the
 * width, 'pairs' is the pair scan before it), 'fold' (the final sums).
 */
export const probedTokenClock: { on: boolean; ms: Record<string, number> } = { on: false, ms: {} };

/** Adds the time since t0 to `stage` when the clock is on; returns now (or 0 when off). */
function lap(stage: string, t0: number): number {
  if (!probedTokenClock.on) return 0;
  const now = performance.now();
  probedTokenClock.ms[stage] = (probedTokenClock.ms[stage] ?? 0) + now - t0;
  return now;
}

/** The candidates probed-token ranking scored (stage b), in the order of the given pids, and their scores. */
export interface ProbedTokenRanking {
  pids: Int32Array;
  scores: Float32Array;
  /**
   * The query's fast-scan tables the pairs were scored with (all qLen tokens; prepareCodeQuery with
   * 'fastscan'), for the exact stage to reuse; absent where fast-scan does not fit the index's width.
   */
  codeQuery?: FastScanCodeQuery;
}

/**
 * Probed-token ranking of the given candidates (see the module header): the best `depth` of them by
 * their centroid estimates (all when there are no more), scored by probed tokens.
 * @param s K × qLen centroid scores of stage 1 (row c = centroid c)
 * @param probed qLen × p probed cells (probeAndMask's `probed`; -1 pads a token with fewer)
 * @param pids candidate passages (any order)
 * @param depth candidates kept for pair scoring (≥ 1)
 * @param estimateCells cells a query token's estimates walk (at least its probed cells)
 * @param rowMax each row's maximum of `s` (centroidScores' rowMax), to skip rows in the walk's
 *   choice of cells (the same cells; see Kernels.probeCentroids), or undefined to read every row
 * @param wide each token's best cells by `s` as probeAndMask's one pass found them (at least as many
 *   as the walk needs), so the walk takes their head instead of choosing them again
 */
export function probedTokenRanking(
  a: ScoringArrays,
  q: EncodedQuery,
  s: Float32Array,
  probed: Int32Array,
  pids: Int32Array,
  depth: number,
  kernels: Kernels,
  check?: DeadlineCheck,
  estimateCells: number = CANDIDATE_DEFAULTS.estimateCells,
  rowMax?: Float32Array,
  wide?: Shortlist,
): ProbedTokenRanking {
  const qLen = q.length;
  const n = pids.length;
  if (n === 0 || qLen === 0) return { pids, scores: new Float32Array(n) };
  const perToken = probed.length / qLen;
  let t = probedTokenClock.on ? performance.now() : 0;
  // ci: the centroid interaction the estimates give, Σ_i w_i · m_i(P), ranks the candidates for the depth cut.
  const { est, ci } = estimatesAndInteraction(a, s, q, pids, Math.max(estimateCells, perToken), kernels, rowMax, wide);
  t = lap('walk', t);
  check?.();
  const w = q.weights;
  // In the candidates' order (ascending pids from ivfUnion), so later ties break as without the cut.
  const where = n > depth ? depthCut(ci, n, depth) : null;
  const kept = where === null ? pids : gatherPids(pids, where);
  t = lap('cut', t);
  const lists = probeLists(a.nCentroids, probed, qLen, w);
  // One table build for the whole query: the pairs read token i's lane, the exact stage reuses it.
  const codeQuery = supportsFastScan(a) ? (prepareCodeQuery(a, q.vectors, qLen, kernels, 'fastscan') as FastScanCodeQuery) : undefined;
  const queries = codeQuery === undefined ? tokenQueries(a, q, kernels) : null;
  t = lap('lists', t);
  // Best similarity on the codes among the matched tokens, per (kept passage, query token); -∞ where none.
  const e = new Float32Array(kept.length * qLen).fill(-Infinity);
  for (const [si, docs] of groupBySegment(a, kept)) {
    if (lists.perToken === 0) break;
    const seg = a.segments[si]!;
    if (codeQuery !== undefined) {
      // Part F: scan and score in one native call (Kernels.probedPairScores), the same bits as scorePairs.
      const cq = codeQuery;
      kernels.probedPairScores(s, qLen, cq.tables, cq.scales, cq.offsets, seg.codes, seg.residuals, a.dim, a.nbits, a.tokenStarts, a.doclens, kept, docs, lists.head, lists.next, lists.perToken, tokenInverseNormsCache(seg.residuals, seg.codes.length), a.centroids, a.weights, e);
      t = lap('score', t);
    } else {
      const pairs = matchedPairs(a, seg, kept, docs, lists, kernels);
      t = lap('pairs', t);
      scorePairs(a, q, s, probed, queries!, seg, pairs, kernels, e);
      t = lap('score', t);
    }
    check?.();
  }
  const scores = new Float32Array(kept.length);
  for (let x = 0, at = 0; x < kept.length; x++) {
    const d = where === null ? x : where[x]!;
    let total = ci[d]!;
    // Matched tokens replace their estimate by their best similarity on the codes.
    for (let i = 0; i < qLen; i++, at++) if (e[at]! > -Infinity) total += (w === null ? 1 : w[i]!) * (e[at]! - est[i * n + d]!);
    scores[x] = total;
  }
  lap('fold', t);
  return codeQuery === undefined ? { pids: kept, scores } : { pids: kept, scores, codeQuery };
}

/**
 * Probed-token scores of every given passage (no depth cut; see the module header).
 * @returns one score per passage, in the order of `pids`
 */
export function probedTokenScores(
  a: ScoringArrays,
  q: EncodedQuery,
  s: Float32Array,
  probed: Int32Array,
  pids: Int32Array,
  kernels: Kernels,
  check?: DeadlineCheck,
  estimateCells: number = CANDIDATE_DEFAULTS.estimateCells,
): Float32Array {
  checkShape('a', a, 'a ScoringArrays (an open index\'s arrays)', ['doclens', 'nCentroids']);
  checkShape('q', q, 'an EncodedQuery', ['vectors']);
  return probedTokenRanking(a, q, s, probed, pids, Math.max(1, pids.length), kernels, check, estimateCells).scores;
}

/** Per-thread scratch of the walk's cell lists (qLen × cells) and probeCentroids' unused keep mask (K bytes). */
const topScratch = new Scratch((n) => new Int32Array(n));
const keepScratch = new Scratch((n) => new Uint8Array(n));

/**
 * Each passage's best centroid score per query token, max_{j ∈ P} S[c_j, i], read from the IVF of
 * the token's best `cells` cells walked best first (P in ivf[c] ⇔ P has a token in c, so the first
 * cell that lists P is P's best): exact for every passage with a token among them. A passage with
 * none gets the last walked cell's score, an upper bound of its best (WARP's imputation, Scheerer et
 * al. 2025, at a cut deep enough that few passages need it). qLen × n, row i = query token i
 * (-∞ in the row of a token of weight 0: it gets no walk, its term cannot change a score).
 */
export function centroidEstimates(a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, cells: number, kernels: Kernels): Float32Array {
  return estimatesAndInteraction(a, s, q, pids, cells, kernels).est;
}

/**
 * centroidEstimates and ci[d] = Σ_i w_i · est[i·n + d] (float32, token order), from one
 * Kernels.centroidEstimateWalk: native where the addon loads (part E's "native walk",
 * bench/RESULTS.md), else its TypeScript twin, with the same bits.
 */
function estimatesAndInteraction(
  a: ScoringArrays,
  s: Float32Array,
  q: EncodedQuery,
  pids: Int32Array,
  cells: number,
  kernels: Kernels,
  rowMax?: Float32Array,
  wide?: Shortlist,
): { est: Float32Array; ci: Float32Array } {
  const qLen = q.length;
  const n = pids.length;
  const est = new Float32Array(qLen * n);
  const ci = new Float32Array(n);
  const m = Math.min(Math.max(1, Math.floor(cells)), a.nCentroids);
  let top: Int32Array;
  if (wide !== undefined && wide.cells === m) top = wide.ids;
  else if (wide !== undefined && wide.cells > m) {
    top = topScratch.take(qLen * m);
    for (let i = 0; i < qLen; i++) top.set(wide.ids.subarray(i * wide.cells, i * wide.cells + m), i * m);
  } else {
    top = topScratch.take(qLen * m);
    kernels.probeCentroids(s, a.nCentroids, qLen, m, 0, top, keepScratch.take(a.nCentroids), rowMax);
  }
  kernels.centroidEstimateWalk(s, qLen, top, m, a.ivfOffsets, a.ivf, a.doclens.length, pids, q.weights, est, ci);
  return { est, ci };
}

/**
 * One single-token code query per query token, so a pair costs one lane of the kernel, not qLen:
 * built in one call and split (fast-scan quantises each token's tables alone, so a token's slice
 * is the table a one-token query would get; the int16 table's lanes are per token too).
 */
function tokenQueries(a: ScoringArrays, q: EncodedQuery, kernels: Kernels): CodeQuery[] {
  const qLen = q.length;
  if (!supportsFastScan(a)) return Array.from({ length: qLen }, (_, i) => prepareCodeQuery(a, q.vectors.subarray(i * a.dim, (i + 1) * a.dim), 1, kernels));
  const all = prepareCodeQuery(a, q.vectors, qLen, kernels, 'fastscan') as FastScanCodeQuery;
  const nBytes = all.tables.length / (32 * qLen);
  return Array.from({ length: qLen }, (_, i) => {
    const tables = new Uint8Array(nBytes * 32);
    for (let b = 0; b < nBytes; b++) tables.set(all.tables.subarray((b * qLen + i) * 32, (b * qLen + i + 1) * 32), b * 32);
    return { kind: 'fastscan', qLen: 1, tables, scales: all.scales.slice(i, i + 1), offsets: all.offsets.slice(i, i + 1) };
  });
}

/** Per-thread K-float column of S for one query token (only its probed cells' entries are written and read). */
const columnScratch = new Scratch((n) => new Float32Array(n));

/** Indices into `pids` grouped by the segment holding each passage (one segment, the usual case: 0 … n − 1). */
function groupBySegment(a: ScoringArrays, pids: Int32Array): Map<number, Int32Array> {
  if (a.segments.length === 1) {
    const all = new Int32Array(pids.length);
    for (let d = 0; d < all.length; d++) all[d] = d;
    return new Map([[0, all]]);
  }
  const groups = new Map<number, number[]>();
  for (let d = 0; d < pids.length; d++) {
    const si = segmentOf(a, pids[d]!);
    let g = groups.get(si);
    if (g === undefined) groups.set(si, (g = []));
    g.push(d);
  }
  return new Map([...groups].map(([si, g]) => [si, Int32Array.from(g)]));
}

/** Per-thread copy of the estimates' interaction the depth cut selects in. */
const cutScratch = new Scratch((n) => new Float32Array(n));

/**
 * The indices of the best `depth` of ci[0 … n) (0 < depth < n), ascending: the set of
 * Kernels.topK(ci, n, depth) (ties: lower index; NaN below every number), which part E took and
 * sorted. A quickselect of the depth-th best value on a copy, then one pass in index order: on cisi's
 * keyword queries (~1,400 candidates, depth 1,024) 0.20 → 0.03 ms (bench/RESULTS.md, part F).
 */
export function depthCut(ci: Float32Array, n: number, depth: number): Int32Array {
  const v = cutScratch.take(n);
  for (let d = 0; d < n; d++) v[d] = ci[d]! !== ci[d]! ? -Infinity : ci[d]!;
  // Hoare quickselect, descending: afterwards v[depth − 1] is the depth-th best value.
  let lo = 0;
  let hi = n - 1;
  const want = depth - 1;
  while (lo < hi) {
    const pivot = v[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i]! > pivot) i++;
      while (v[j]! < pivot) j--;
      if (i <= j) {
        const x = v[i]!;
        v[i++] = v[j]!;
        v[j--] = x;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else break;
  }
  const bar = v[want]!;
  let above = 0;
  for (let d = 0; d < n; d++) if (ci[d]! > bar) above++;
  let ties = depth - above;
  const out = new Int32Array(depth);
  for (let d = 0, m = 0; d < n && m < depth; d++) {
    const x = ci[d]! !== ci[d]! ? -Infinity : ci[d]!;
    if (x > bar || (x === bar && ties-- > 0)) out[m++] = d;
  }
  return out;
}

/** pids[where[x]] for every x. */
function gatherPids(pids: Int32Array, where: Int32Array): Int32Array {
  const out = new Int32Array(where.length);
  for (let x = 0; x < where.length; x++) out[x] = pids[where[x]!]!;
  return out;
}

/** Per-thread pair buffers (token rows, candidate index, similarity; a row of ones as one-token doclens), grown as needed. */
let pairRows = new Int32Array(4096);
let pairDocs = new Int32Array(4096);
let pairSims = new Float32Array(4096);
let pairOnes = new Int32Array(4096).fill(1);

/** One segment's pairs grouped by query token: pairs first[i] … first[i + 1] are token i's (rows, docOf in the per-thread buffers). */
interface Pairs {
  first: Int32Array;
  rows: Int32Array;
  docOf: Int32Array;
}

/**
 * Every (query token, survivor, token row) whose token's cell the query token probed, in one segment
 * (Kernels.probedPairs: native where the addon loads, part E's "native walk" in bench/RESULTS.md).
 */
function matchedPairs(a: ScoringArrays, seg: IndexSegment, pids: Int32Array, docs: Int32Array, lists: ProbeLists, kernels: Kernels): Pairs {
  const qLen = lists.next.length / lists.perToken;
  const first = new Int32Array(qLen + 1);
  let total = kernels.probedPairs(seg.codes, a.tokenStarts, a.doclens, pids, docs, lists.head, lists.next, lists.perToken, qLen, first, pairRows, pairDocs);
  if (total > pairRows.length) {
    const size = Math.max(total, pairRows.length * 2);
    pairRows = new Int32Array(size);
    pairDocs = new Int32Array(size);
    pairSims = new Float32Array(size);
    pairOnes = new Int32Array(size).fill(1);
    total = kernels.probedPairs(seg.codes, a.tokenStarts, a.doclens, pids, docs, lists.head, lists.next, lists.perToken, qLen, first, pairRows, pairDocs);
  }
  return { first, rows: pairRows.subarray(0, total), docOf: pairDocs.subarray(0, total) };
}

/**
 * Each pair's similarity on the codes, S[c_j, i] + q_i · r_j (fast-scan, divided by ‖c + r‖; 'codes'
 * where fast-scan does not fit), folded into e by max: per query token one scoreOnCodes call over its
 * rows as one-token documents, with that token's single-token tables and its column of S.
 */
function scorePairs(a: ScoringArrays, q: EncodedQuery, s: Float32Array, probed: Int32Array, queries: CodeQuery[], seg: IndexSegment, pairs: Pairs, kernels: Kernels, e: Float32Array): void {
  const qLen = q.length;
  const p = probed.length / qLen;
  const { first, rows, docOf } = pairs;
  const col = columnScratch.take(a.nCentroids);
  for (let i = 0; i < qLen; i++) {
    const lo = first[i]!;
    const hi = first[i + 1]!;
    if (hi === lo) continue;
    // Only the token's probed cells are read: its rows all lie in them.
    for (let j = 0; j < p; j++) {
      const c = probed[i * p + j]!;
      if (c >= 0) col[c] = s[c * qLen + i]!;
    }
    const sims = pairSims.subarray(lo, hi);
    scoreOnCodes(a, queries[i]!, col, seg.codes, seg.residuals, rows.subarray(lo, hi), pairOnes.subarray(0, hi - lo), hi - lo, false, kernels, sims, null);
    for (let k = lo; k < hi; k++) {
      const at = docOf[k]! * qLen + i;
      if (sims[k - lo]! > e[at]!) e[at] = sims[k - lo]!;
    }
  }
}
