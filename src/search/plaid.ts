/**
 * PLAID retrieval over passages (Santhanam et al. 2022, "PLAID"), as in stanford-futuredata/ColBERT:
 *  1. candidate generation: query tokens × centroids (int8 codes by default, centroid-quantisation.ts); each
 *     token's top nIvfProbe centroids (shortlist re-ranked in float32, ProbeRescore); union of their IVF lists;
 *  2. centroid interaction with pruning (centroids whose best query score < threshold ignored) → top ndocs;
 *  3. centroid interaction without pruning → top ndocs/4;
 *  4. exact MaxSim of the survivors: on the stored codes (q·centroid from stage 1 + q·residual from a
 *     per-query lookup table, src/codec/code-scorer.ts), or on the decompressed residuals.
 * Within a cost rule (usesProbedTokens) plait's defaults replace stages 2–3 with probed-token ranking
 * (probed-token-interaction.ts, PlaidParams.interactionScoring): centroid estimates from the IVF cut
 * the candidates to probedTokenDepth · ndocs, which are ranked with their probed tokens' residuals.
 * Pure functions over typed arrays, so the same code runs on the main thread and in workers.
 *
 * Deadlines: the long loops (centroid interaction, exact scoring, exhaustive scans) run in chunks
 * of SEARCH_DEFAULTS.deadlineCheckEvery passages and call an optional `check()` between chunks,
 * which throws to stop the search (see deadline.ts). Chunking costs nothing measurable: a chunk
 * is thousands of passages per kernel call.
 */
import type { Kernels } from '../kernels/types.js';
import { typescriptKernels } from '../kernels/typescript-kernels.js';
import { CANDIDATE_DEFAULTS, SEARCH_DEFAULTS, effectiveNdocs, type CentroidScoring, type PlaidParams } from '../config/defaults.js';
import { centroidScoresInt8, int8Supported } from './centroid-quantisation.js';
import type { IndexData, IndexSegment } from '../format/index-reader.js';
import { probedTokenRanking } from './probed-token-interaction.js';
import { prunedInteractionScores } from './centroid-pruned-interaction.js';
import { Scratch } from '../util/scratch.js';
import { exactScoringMethod, prepareCodeQuery, scoreOnCodes, supportsCodeScoring, type CodeQuery, type CodeScoringMethod, type ExactScoringMethod } from '../codec/code-scorer.js';

/** Called between chunks of a long loop; throws to stop it (TIMEOUT, ABORTED, INDEX_CLOSED). */
export type DeadlineCheck = () => void;

/** Runs fn over [0, n) in chunks, calling check before each chunk (and so stopping within one chunk of a deadline). */
function chunked(n: number, check: DeadlineCheck | undefined, fn: (from: number, to: number) => void): void {
  if (check === undefined) {
    fn(0, n);
    return;
  }
  const step = SEARCH_DEFAULTS.deadlineCheckEvery;
  for (let from = 0; from < n; from += step) {
    check();
    fn(from, Math.min(n, from + step));
  }
  check();
}

/** The arrays of an index that scoring needs (all shareable between threads, possibly memory-mapped). */
export interface ScoringArrays {
  dim: number;
  nbits: number;
  nCentroids: number;
  centroids: Float32Array;
  weights: Float32Array;
  doclens: Int32Array;
  /** First token row of each passage within its segment. */
  tokenStarts: Int32Array;
  /** Codes and residuals in passage-aligned segments, ascending firstPid (one for most indexes). */
  segments: IndexSegment[];
  ivf: Int32Array;
  /** K + 1 offsets into `ivf` (doubles: exact past 2^31). */
  ivfOffsets: Float64Array;
  /** Living index: deleted passages (bit pid set), kept out of candidate generation (scratchMarks). */
  tombstones?: Uint8Array | null;
  /** Arithmetic of stage 1's centroid scores (default CANDIDATE_DEFAULTS.centroidScoring). */
  centroidScoring?: CentroidScoring;
}

/** A loaded generation's arrays, as the scorers (this thread's and the pool's workers') read them. */
export function scoringArraysOf(data: IndexData): ScoringArrays {
  return {
    dim: data.manifest.dim,
    nbits: data.manifest.nbits,
    nCentroids: data.codec.nCentroids,
    centroids: data.centroids,
    weights: data.codec.weights,
    doclens: data.doclens,
    tokenStarts: data.tokenStarts,
    segments: data.segments,
    ivf: data.ivf,
    ivfOffsets: data.ivfOffsets,
    tombstones: data.tombstones,
  };
}

/**
 * PLAID's per-thread scratch marks (one byte per passage) with the deleted passages pre-marked:
 * `ivfUnion` never emits a marked pid and resets only the pids it emitted, so deleted passages
 * stay out of every candidate list (they take no ndocs slot) without a per-search cost.
 */
export function scratchMarks(a: ScoringArrays, mark: Uint8Array = new Uint8Array(a.doclens.length)): Uint8Array {
  const t = a.tombstones;
  if (t !== null && t !== undefined) for (let pid = 0; pid < mark.length; pid++) if ((t[pid >> 3]! & (1 << (pid & 7))) !== 0) mark[pid] = 1;
  return mark;
}

/** Index of the segment holding `pid` (segments are contiguous pid ranges). */
export function segmentOf(a: ScoringArrays, pid: number): number {
  let lo = 0;
  let hi = a.segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a.segments[mid]!.firstPid <= pid) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

type SegmentScorer = (seg: IndexSegment, starts: Int32Array, lens: Int32Array, n: number, out: Float32Array) => void;

/**
 * Scores arbitrary pids segment by segment: the kernels see one segment's codes/residuals with
 * segment-local token starts; results come back in the order of `pids`.
 */
function scoreBySegment(a: ScoringArrays, pids: Int32Array, score: SegmentScorer): Float32Array {
  const n = pids.length;
  const out = new Float32Array(n);
  if (a.segments.length === 1) {
    const { starts, lens } = gather(a, pids);
    score(a.segments[0]!, starts, lens, n, out);
    return out;
  }
  const segOf = new Int32Array(n);
  const count = new Int32Array(a.segments.length);
  for (let i = 0; i < n; i++) count[(segOf[i] = segmentOf(a, pids[i]!))]!++;
  a.segments.forEach((seg, si) => {
    const m = count[si]!;
    if (m === 0) return;
    const where = new Int32Array(m);
    const starts = new Int32Array(m);
    const lens = new Int32Array(m);
    for (let i = 0, j = 0; i < n; i++) {
      if (segOf[i] !== si) continue;
      where[j] = i;
      starts[j] = a.tokenStarts[pids[i]!]!;
      lens[j++] = a.doclens[pids[i]!]!;
    }
    const part = new Float32Array(m);
    score(seg, starts, lens, m, part);
    for (let j = 0; j < m; j++) out[where[j]!] = part[j]!;
  });
  return out;
}

export interface EncodedQuery {
  vectors: Float32Array;
  length: number;
  /** Per-token weights (IDF), or null for plain MaxSim. */
  weights: Float32Array | null;
}

export interface PassageHits {
  pids: Int32Array;
  scores: Float32Array;
}

export interface PlaidTimings {
  candidatesMs: number;
  pruneMs: number;
  interactionMs: number;
  exactMs: number;
  candidates: number;
}

/**
 * Centroid scores laid out K × qLen (row c = centroid c against each query token): on int8 codes
 * (centroid-quantisation.ts) unless `a.centroidScoring` is 'float32' or the width does not suit
 * the int8 kernel.
 */
export function centroidScores(a: ScoringArrays, q: EncodedQuery, kernels: Kernels, out?: Float32Array, rowMax?: Float32Array): Float32Array {
  const k = a.nCentroids;
  const qLen = q.length;
  if (usesInt8(a)) {
    return centroidScoresInt8(a.centroids, k, a.dim, q.vectors, qLen, kernels, out, rowMax);
  }
  rowMax?.fill(Infinity); // the float32 path computes no maxima: +∞ reads every row
  const s = out ?? new Float32Array(k * qLen);
  if (qLen > SHORT_QUERY) {
    // Centroids as the kernel's packed left operand, the query rows streamed: writes K × qLen directly.
    kernels.matmulTransB(a.centroids, k, q.vectors, qLen, a.dim, s);
    return s;
  }
  // A short query (the bundled model's queries are not padded) fills one 16-lane panel: keep it in
  // registers and stream the centroids, then transpose the small qLen × K result in L1-sized tiles.
  // Measured on wordnet-scale (9-token queries, K = 16,384, 512 d): 14.1 → 8.2 ms per search.
  const t = new Float32Array(qLen * k);
  kernels.matmulTransB(q.vectors, qLen, a.centroids, k, a.dim, t);
  const TILE = 256;
  for (let c0 = 0; c0 < k; c0 += TILE) {
    const c1 = Math.min(k, c0 + TILE);
    for (let i = 0; i < qLen; i++) {
      const row = i * k;
      for (let c = c0; c < c1; c++) s[c * qLen + i] = t[row + c]!;
    }
  }
  return s;
}

/**
 * Per-thread K × qLen buffer for `plaidSearch`'s centroid scores (a search is synchronous and holds
 * them only while it runs): allocating 16 MiB (K = 131,072 × 32 tokens) zeroed per query cost
 * 7.4 ms at load ~12 against 0.06 ms to reuse it (bench/RESULTS.md, "The 1M goal").
 */
const scoresScratch = new Scratch((n) => new Float32Array(n));
/** Per-thread K row maxima of those scores (see Kernels.centroidScoresInt8's rowMax). */
const rowMaxScratch = new Scratch((n) => new Float32Array(n));

/** The query whose scores scoresScratch holds: set by each plaidSearch on this thread. */
let stage1Of: { q: EncodedQuery; scores: Float32Array } | null = null;

/**
 * The K × qLen centroid scores the last plaidSearch on this thread computed, when that search was
 * for `q` (the same object), else null: highlights read the hits' rows there instead of computing
 * them again (explain.ts; ~2 ms a scifact query). Valid until the next plaidSearch on the thread,
 * which overwrites the scratch (and names its own query): read them synchronously.
 */
export function lastCentroidScores(q: EncodedQuery): Float32Array | null {
  return stage1Of !== null && stage1Of.q === q ? stage1Of.scores : null;
}

/** Queries up to this many tokens take the query-panel path in `centroidScores` (one 16-lane group). */
const SHORT_QUERY = 16;

/**
 * Float32 re-ranking of each token's probe shortlist, for int8 centroid scores: probeAndMask takes
 * each token's best nIvfProbe + `extra` centroids by the int8 scores, re-scores them against the
 * float32 query and centroids, and probes the best nIvfProbe of those — the cells float32 scores
 * would probe unless one of them ranks below nIvfProbe + extra by int8 (bench/RESULTS.md,
 * "Candidate generation on int8": the share that changes). The K × qLen scores stay as they are.
 */
export interface ProbeRescore {
  centroids: Float32Array;
  vectors: Float32Array;
  dim: number;
  extra: number;
}

/** The float32 re-ranking for this index and query when stage 1 runs on int8 (see centroidScores), else undefined. */
export function probeRescoreFor(a: ScoringArrays, q: EncodedQuery): ProbeRescore | undefined {
  if (!usesInt8(a)) return undefined;
  return { centroids: a.centroids, vectors: q.vectors, dim: a.dim, extra: CANDIDATE_DEFAULTS.probeRescoreExtra };
}

/** Whether stage 1 scores the centroids on int8 codes (centroidScores' int8 path). */
export function usesInt8(a: ScoringArrays): boolean {
  return (a.centroidScoring ?? CANDIDATE_DEFAULTS.centroidScoring) === 'int8' && int8Supported(a.dim);
}

/** Keeps each token's best p of its pp shortlisted centroids by float32 score (ties: lower id), in `out` (qLen × p). */
function rescoreShortlist(wide: Int32Array, pp: number, p: number, qLen: number, r: ProbeRescore, kernels: Kernels, out: Int32Array): void {
  const rows = new Float32Array(pp * r.dim);
  const scores = new Float32Array(pp);
  const order = new Int32Array(pp);
  for (let i = 0; i < qLen; i++) {
    let n = 0;
    for (let j = 0; j < pp; j++) {
      const c = wide[i * pp + j]!;
      if (c < 0) break;
      rows.set(r.centroids.subarray(c * r.dim, (c + 1) * r.dim), n * r.dim);
      n++;
    }
    kernels.matmulTransB(r.vectors.subarray(i * r.dim, (i + 1) * r.dim), 1, rows.subarray(0, n * r.dim), n, r.dim, scores);
    for (let j = 0; j < n; j++) order[j] = j;
    const ids = wide.subarray(i * pp, i * pp + n);
    const sorted = Array.from(order.subarray(0, n)).sort((x, y) => scores[y]! - scores[x]! || ids[x]! - ids[y]!);
    for (let j = 0; j < p; j++) out[i * p + j] = j < n ? ids[sorted[j]!]! : -1;
  }
}

/** Each query token's best `cells` centroids by the scores, best first (ties: lower id; -1 pads), qLen × cells. */
export interface Shortlist {
  ids: Int32Array;
  cells: number;
}

/**
 * Centroids probed per query token: ncells, raised for short queries to ⌈nIvfProbeTotal / qLen⌉
 * (query-length-aware probing, PlaidParams.nIvfProbeTotal), at most the centroid count. Two
 * settings with the same count probe the same cells (calibration's replay shares their work).
 */
export function probesPerToken(nCentroids: number, qLen: number, nIvfProbe: number, nIvfProbeTotal?: number): number {
  const perToken = nIvfProbeTotal === undefined || qLen === 0 ? nIvfProbe : Math.max(nIvfProbe, Math.ceil(nIvfProbeTotal / qLen));
  return Math.min(perToken, nCentroids);
}

/**
 * One pass over the K × qLen scores: each query token's top nIvfProbe centroids, and the pruning
 * mask keep[c] = max_i S[c, i] >= threshold. With a `margin` (plait's relative rule, see
 * PlaidParams.centroidScoreMargin) a second pass also keeps every centroid within `margin` of some
 * token's own best centroid score: keep[c] |= max_i (S[c, i] − best_i) >= −margin. With `rescore`
 * (int8 scores in `s`) each token's probes are its best nIvfProbe by float32 among its best
 * nIvfProbe + rescore.extra by `s`; the mask and the margin's best_i stay on `s`. With `rowMax`
 * (each row's maximum of `s`, from centroidScoresInt8) both passes skip rows that cannot matter:
 * the same results (test/centroid-scores-int8.test.ts). With `wideCells` beyond the shortlist that one
 * pass keeps each token's best `wideCells` instead (`wide`, by `s`), the shortlist its head: the same
 * probes, and probed-token ranking's estimate cells without a second pass (bench/RESULTS.md, part F).
 */
export function probeAndMask(
  s: Float32Array,
  nCentroids: number,
  qLen: number,
  nIvfProbe: number,
  threshold: number,
  margin?: number,
  nIvfProbeTotal?: number,
  kernels: Kernels = typescriptKernels,
  rescore?: ProbeRescore,
  rowMax?: Float32Array,
  wideCells?: number,
): { probed: Int32Array; keep: Uint8Array; wide?: Shortlist } {
  const p = probesPerToken(nCentroids, qLen, nIvfProbe, nIvfProbeTotal);
  const bestIds = new Int32Array(qLen * p);
  const keep = new Uint8Array(nCentroids);
  // One pass over K × qLen scores, in the kernels (at K = 131,072 and 32 tokens the TypeScript loop
  // took 12–15 ms of a 34 ms search; bench/RESULTS.md, 1M passages).
  const pp = rescore === undefined ? p : Math.min(nCentroids, p + rescore.extra);
  // Each token's best centroid by the scores in `s` (the margin rule's reference), at stride `top`.
  let top = p;
  let topIds = bestIds;
  // One pass for a longer list as well (probed-token ranking's estimate cells): its head is the shortlist.
  const m = wideCells === undefined || p === 0 ? pp : Math.min(nCentroids, Math.max(pp, Math.floor(wideCells)));
  let wide: Shortlist | undefined;
  if (m > pp) {
    wide = { ids: new Int32Array(qLen * m), cells: m };
    kernels.probeCentroids(s, nCentroids, qLen, m, threshold, wide.ids, keep, rowMax);
    topIds = pp > p ? new Int32Array(qLen * pp) : bestIds;
    for (let i = 0; i < qLen; i++) topIds.set(wide.ids.subarray(i * m, i * m + pp), i * pp);
    top = pp;
    if (pp > p) rescoreShortlist(topIds, pp, p, qLen, rescore!, kernels, bestIds);
  } else if (pp > p && p > 0) {
    topIds = new Int32Array(qLen * pp);
    top = pp;
    kernels.probeCentroids(s, nCentroids, qLen, pp, threshold, topIds, keep, rowMax);
    rescoreShortlist(topIds, pp, p, qLen, rescore!, kernels, bestIds);
  } else kernels.probeCentroids(s, nCentroids, qLen, p, threshold, bestIds, keep, rowMax);
  if (margin !== undefined && p > 0) {
    const floor = new Float32Array(qLen);
    for (let i = 0; i < qLen; i++) floor[i] = (topIds[i * top]! < 0 ? -Infinity : s[topIds[i * top]! * qLen + i]!) - margin;
    // In the kernels: at K = 131,072 × 32 tokens with nothing above the threshold the TypeScript loop took 13–58 ms.
    kernels.keepWithinMargin(s, nCentroids, qLen, floor, keep, rowMax);
  }
  return wide === undefined ? { probed: bestIds, keep } : { probed: bestIds, keep, wide };
}

/** Sorted unique pids in the IVF lists of the given centroids. */
export function ivfUnion(a: ScoringArrays, centroidIds: Int32Array, mark: Uint8Array): Int32Array {
  let total = 0;
  const seenC = new Set<number>();
  for (const c of centroidIds) {
    if (c < 0 || seenC.has(c)) continue;
    seenC.add(c);
    total += a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!;
  }
  const out = new Int32Array(total);
  let n = 0;
  // 2 marks the union's pids, apart from the deleted passages' 1 (scratchMarks).
  for (const c of seenC) {
    for (let j = a.ivfOffsets[c]!, end = a.ivfOffsets[c + 1]!; j < end; j++) {
      const pid = a.ivf[j]!;
      if (mark[pid] === 0) {
        mark[pid] = 2;
        out[n++] = pid;
      }
    }
  }
  if (n * UNION_SCAN_RATIO < mark.length) {
    const pids = out.subarray(0, n).sort();
    for (const pid of pids) mark[pid] = 0;
    return pids;
  }
  // A union that is a large share of the index comes out ascending from one pass over the marks.
  let m = 0;
  for (let pid = 0; pid < mark.length; pid++) {
    if (mark[pid] === 2) {
      mark[pid] = 0;
      out[m++] = pid;
    }
  }
  return out.subarray(0, m);
}

/**
 * ivfUnion lists its pids by a pass over the per-passage marks rather than a sort when the union
 * holds at least 1/UNION_SCAN_RATIO of the passages: a byte a passage against ~log2(n) comparisons a
 * pid (cisi keyword queries, ~1,400 of 3,157 passages: bench/RESULTS.md, part F).
 */
const UNION_SCAN_RATIO = 16;

function gather(a: ScoringArrays, pids: Int32Array): { starts: Int32Array; lens: Int32Array } {
  const starts = new Int32Array(pids.length);
  const lens = new Int32Array(pids.length);
  for (let i = 0; i < pids.length; i++) {
    starts[i] = a.tokenStarts[pids[i]!]!;
    lens[i] = a.doclens[pids[i]!]!;
  }
  return { starts, lens };
}

export function selectTop(kernels: Kernels, pids: Int32Array, scores: Float32Array, k: number): PassageHits {
  const idx = kernels.topK(scores, pids.length, k);
  const outPids = new Int32Array(idx.length);
  const outScores = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    outPids[i] = pids[idx[i]!]!;
    outScores[i] = scores[idx[i]!]!;
  }
  return { pids: outPids, scores: outScores };
}

/** Exact MaxSim of the query against the given passages (decompression fused with scoring), checking the deadline every chunk. */
export function exactScores(a: ScoringArrays, q: EncodedQuery, pids: Int32Array, kernels: Kernels, check?: DeadlineCheck): Float32Array {
  const out = new Float32Array(pids.length);
  chunked(pids.length, check, (from, to) => {
    const part = scoreBySegment(a, pids.subarray(from, to), (seg, starts, lens, n, o) =>
      kernels.maxsimCompressed(q.vectors, q.length, a.dim, seg.codes, seg.residuals, starts, lens, n, a.centroids, a.weights, a.nbits, o, q.weights),
    );
    out.set(part, from);
  });
  return out;
}

/**
 * Exact scores of the given passages by the exact-stage method in use (PLAID's stage 4, hybrid's
 * BM25-only passages): on the codes, with the query's centroid scores computed here, or decompressed.
 */
export function exactScoresBy(a: ScoringArrays, q: EncodedQuery, pids: Int32Array, kernels: Kernels, check?: DeadlineCheck, exact: ExactScoringMethod = exactScoringMethod()): Float32Array {
  if (exact === 'decompress' || !supportsCodeScoring(a.nbits) || pids.length === 0) return exactScores(a, q, pids, kernels, check);
  return exactScoresOnCodes(a, q, centroidScores(a, q, kernels), pids, exact, kernels, check);
}

/**
 * Exact scores of the given passages on their stored codes (src/codec/code-scorer.ts): `s` is the
 * query's K × qLen centroid scores from candidate generation; `exact` the code-scoring method
 * ('codes', 'codes-normalized' or 'fastscan'); `prepared`, when given, the query's tables as
 * prepareCodeQuery(a, q.vectors, q.length, kernels, exact) builds them (probed-token ranking's, reused).
 * Checks the deadline every chunk.
 */
export function exactScoresOnCodes(
  a: ScoringArrays,
  q: EncodedQuery,
  s: Float32Array,
  pids: Int32Array,
  exact: CodeScoringMethod,
  kernels: Kernels,
  check?: DeadlineCheck,
  prepared?: CodeQuery,
): Float32Array {
  const out = new Float32Array(pids.length);
  if (pids.length === 0) return out;
  const normalize = exact === 'codes-normalized';
  const cq = prepared ?? prepareCodeQuery(a, q.vectors, q.length, kernels, exact);
  chunked(pids.length, check, (from, to) => {
    const part = scoreBySegment(a, pids.subarray(from, to), (seg, starts, lens, n, o) =>
      scoreOnCodes(a, cq, s, seg.codes, seg.residuals, starts, lens, n, normalize, kernels, o, q.weights),
    );
    out.set(part, from);
  });
  return out;
}

/** Centroid-interaction scores (approximate MaxSim from the K × qLen centroid scores) of the given passages (keep: the pruning mask, or null). */
export function interactionScores(a: ScoringArrays, s: Float32Array, q: EncodedQuery, pids: Int32Array, keep: Uint8Array | null, kernels: Kernels, check?: DeadlineCheck): Float32Array {
  const out = new Float32Array(pids.length);
  chunked(pids.length, check, (from, to) => {
    out.set(
      scoreBySegment(a, pids.subarray(from, to), (seg, starts, lens, n, o) => kernels.centroidInteraction(s, q.length, seg.codes, starts, lens, n, keep, o, q.weights)),
      from,
    );
  });
  return out;
}

/**
 * Centroid-interaction scores of every passage of the index, segment by segment (calibration
 * replays PLAID's stages 2 and 3 from these; keep: the pruning mask, or null).
 */
export function allInteractionScores(a: ScoringArrays, s: Float32Array, q: EncodedQuery, keep: Uint8Array | null, kernels: Kernels): Float32Array {
  const out = new Float32Array(a.doclens.length);
  for (const seg of a.segments) {
    const lo = seg.firstPid;
    const hi = seg.firstPid + seg.passages;
    if (lo >= hi) continue;
    kernels.centroidInteraction(s, q.length, seg.codes, a.tokenStarts.subarray(lo, hi), a.doclens.subarray(lo, hi), hi - lo, keep, out.subarray(lo, hi), q.weights);
  }
  return out;
}

/** Exact scores of every passage of the index, checking the deadline every chunk (exhaustive search on the calling thread). */
export function exhaustiveScores(a: ScoringArrays, q: EncodedQuery, kernels: Kernels, check?: DeadlineCheck): Float32Array {
  return exhaustiveRange(a, q, 0, a.doclens.length, kernels, check);
}

/**
 * Exact scores for every passage in [from, to), segment by segment, checking the deadline every
 * chunk; on the codes when `exact` says so (the same scores PLAID's stage 4 gives, so PLAID and
 * exhaustive search agree on a passage's score whichever method is in use).
 */
export function exhaustiveRange(a: ScoringArrays, q: EncodedQuery, from: number, to: number, kernels: Kernels, check?: DeadlineCheck, exact: ExactScoringMethod = exactScoringMethod()): Float32Array {
  const out = new Float32Array(to - from);
  const onCodes = exact !== 'decompress' && supportsCodeScoring(a.nbits) && to > from;
  const s = onCodes ? centroidScores(a, q, kernels) : null;
  const cq = onCodes ? prepareCodeQuery(a, q.vectors, q.length, kernels, exact) : null;
  chunked(to - from, check, (f, t) => {
    for (const seg of a.segments) {
      const lo = Math.max(from + f, seg.firstPid);
      const hi = Math.min(from + t, seg.firstPid + seg.passages);
      if (lo >= hi) continue;
      const starts = a.tokenStarts.subarray(lo, hi);
      const lens = a.doclens.subarray(lo, hi);
      const o = out.subarray(lo - from, hi - from);
      if (s !== null && cq !== null) scoreOnCodes(a, cq, s, seg.codes, seg.residuals, starts, lens, hi - lo, exact === 'codes-normalized', kernels, o, q.weights);
      else kernels.maxsimCompressed(q.vectors, q.length, a.dim, seg.codes, seg.residuals, starts, lens, hi - lo, a.centroids, a.weights, a.nbits, o, q.weights);
    }
  });
  return out;
}

/**
 * Exhaustive search that keeps only the best `keep` passages of [from, to) (ties: lower pid), so a
 * worker answers with a top-k rather than a score per passage. Scored in blocks of
 * EXHAUSTIVE_BLOCK passages, so memory stays bounded by the block and `keep`.
 */
export function exhaustiveTopRange(a: ScoringArrays, q: EncodedQuery, from: number, to: number, keep: number, kernels: Kernels, check?: DeadlineCheck): PassageHits {
  let bestPids = new Int32Array(0);
  let bestScores = new Float32Array(0);
  for (let b = from; b < to; b += EXHAUSTIVE_BLOCK) {
    const e = Math.min(to, b + EXHAUSTIVE_BLOCK);
    const scores = exhaustiveRange(a, q, b, e, kernels, check);
    const n = bestPids.length + (e - b);
    const allPids = new Int32Array(n);
    const allScores = new Float32Array(n);
    allPids.set(bestPids);
    allScores.set(bestScores);
    for (let i = 0; i < e - b; i++) allPids[bestPids.length + i] = b + i;
    allScores.set(scores, bestPids.length);
    // Candidates stay in ascending pid order, so the kernel's lower-index tie rule is lower pid.
    const top = selectTop(kernels, allPids, allScores, keep);
    const order = Int32Array.from(top.pids.keys()).sort((x, y) => top.pids[x]! - top.pids[y]!);
    bestPids = Int32Array.from(order, (i) => top.pids[i]!);
    bestScores = Float32Array.from(order, (i) => top.scores[i]!);
  }
  return selectTop(kernels, bestPids, bestScores, keep);
}

/** Passages scored per block by `exhaustiveTopRange`. */
const EXHAUSTIVE_BLOCK = 1 << 16;

/**
 * IVF entries the centroid estimates of probed-token ranking would walk for a query of `qLen`
 * tokens: qLen · estimateCells · (IVF entries / K), the index's mean list length standing in for the
 * query's cells (probed-token-interaction.ts centroidEstimates).
 */
export function probedTokenWalk(a: ScoringArrays, qLen: number): number {
  return a.nCentroids === 0 ? 0 : (qLen * CANDIDATE_DEFAULTS.estimateCells * a.ivf.length) / a.nCentroids;
}

/**
 * Whether candidates are ranked by probed-token scores instead of stages 2–3
 * (probed-token-interaction.ts): asked for, an index width with code scoring, and a query whose
 * estimate walk (probedTokenWalk) is within CANDIDATE_DEFAULTS.probedTokensMaxWalk (longer queries
 * on indexes with long IVF lists keep ColBERT's stages, which read only the kept cells' lists).
 */
export function usesProbedTokens(a: ScoringArrays, q: EncodedQuery, params: PlaidParams): boolean {
  return params.interactionScoring === 'probed-tokens' && supportsCodeScoring(a.nbits) && probedTokenWalk(a, q.length) <= CANDIDATE_DEFAULTS.probedTokensMaxWalk;
}

/**
 * Candidates that probed-token ranking scores by probed tokens: the best CANDIDATE_DEFAULTS.probedTokenDepth
 * · ndocs by centroid estimates, and never fewer than the nExact passages it must return.
 */
export function probedTokenDepth(ndocs: number, nExact: number): number {
  return Math.max(nExact, Math.ceil(CANDIDATE_DEFAULTS.probedTokenDepth * ndocs));
}

/**
 * Passages PLAID scores exactly: `nExact` when given, else ColBERT's ndocs/4 — times
 * CANDIDATE_DEFAULTS.probedTokenExact under probed-token ranking, whose near misses sit just past
 * ndocs/4 (ranks 64–95 of scifact's, cisi's and cranfield's lost keyword top-10: bench/RESULTS.md,
 * part E).
 */
export function exactDepth(nExact: number | undefined, ndocs: number, probedTokens: boolean): number {
  if (nExact !== undefined) return nExact;
  const colbert = Math.max(1, Math.floor(ndocs / 4));
  return probedTokens ? Math.ceil(colbert * CANDIDATE_DEFAULTS.probedTokenExact) : colbert;
}

/** The four PLAID stages; returns the ndocs/4 (nExact) survivors with exact scores, best first. */
export function plaidSearch(
  a: ScoringArrays,
  q: EncodedQuery,
  params: PlaidParams,
  kernels: Kernels,
  mark: Uint8Array,
  check?: DeadlineCheck,
  exact: ExactScoringMethod = exactScoringMethod(),
): { hits: PassageHits; timings: PlaidTimings } {
  let t = performance.now();
  check?.();
  // Stage 1 in scratch buffers, with each centroid's row maximum so that the probe and margin passes
  // skip the rows that cannot matter (bench/RESULTS.md, "The 1M goal").
  const rowMax = rowMaxScratch.take(a.nCentroids);
  // Named only once written whole: a search that stopped midway leaves no query's name on the scratch.
  stage1Of = null;
  const s = centroidScores(a, q, kernels, scoresScratch.take(a.nCentroids * q.length), rowMax);
  stage1Of = { q, scores: s };
  // Under probed-token ranking the pruning mask goes unused (stage 2 is skipped): no margin pass for it.
  const probedTokens = usesProbedTokens(a, q, params);
  const margin = probedTokens ? undefined : params.centroidScoreMargin;
  const wideCells = probedTokens ? CANDIDATE_DEFAULTS.estimateCells : undefined;
  const { probed, keep, wide } = probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold, margin, params.nIvfProbeTotal, kernels, probeRescoreFor(a, q), rowMax, wideCells);
  const candidates = ivfUnion(a, probed, mark);
  const t1 = performance.now();

  // Stage 2: pruned centroid interaction → top ndocs (deeper for short queries under ndocsQueryTokens).
  // Skipped under probed-token scoring, which ranks every candidate itself (ranking by centroids is
  // where short queries lose documents: bench/RESULTS.md, "Candidate generation (issue 22, part C)").
  const ndocs = effectiveNdocs(params.ndocs, q.length, params.ndocsQueryTokens);
  let pids = candidates;
  if (!probedTokens && pids.length > ndocs) {
    const approx = prunedInteractionScores(a, s, q, pids, keep, kernels, interactionScores, check);
    pids = selectTop(kernels, pids, approx, ndocs).pids;
  }
  const t2 = performance.now();

  // Stage 3: probed-token ranking of the candidates (their best probedTokenDepth · ndocs by centroid
  // estimates, scored by probed tokens), or full centroid interaction of stage 2's survivors → top nExact.
  const keepN = exactDepth(params.nExact, ndocs, probedTokens);
  // The query's fast-scan tables when probed-token ranking built them: the exact stage's own under 'fastscan'.
  let tables: CodeQuery | undefined;
  if (pids.length > keepN) {
    if (probedTokens) {
      const ranked = probedTokenRanking(a, q, s, probed, pids, probedTokenDepth(ndocs, keepN), kernels, check, undefined, rowMax, wide);
      pids = selectTop(kernels, ranked.pids, ranked.scores, keepN).pids;
      if (exact === 'fastscan') tables = ranked.codeQuery;
    } else pids = selectTop(kernels, pids, interactionScores(a, s, q, pids, null, kernels, check), keepN).pids;
  }
  const t3 = performance.now();

  // Stage 4: exact MaxSim, on the codes (widths 1, 2, 4) or on the decompressed residuals.
  const scores =
    exact !== 'decompress' && supportsCodeScoring(a.nbits) ? exactScoresOnCodes(a, q, s, pids, exact, kernels, check, tables) : exactScores(a, q, pids, kernels, check);
  const hits = selectTop(kernels, pids, scores, pids.length);
  const t4 = performance.now();
  t = t1 - t;
  return { hits, timings: { candidatesMs: t, pruneMs: t2 - t1, interactionMs: t3 - t2, exactMs: t4 - t3, candidates: candidates.length } };
}
