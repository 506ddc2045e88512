/**
 * Token-level explanations of late interaction: for one query and one passage, which document
 * token each query token matched (MaxSim's argmax), the similarity, the query token's weight (IDF
 * when weighting is on) and its contribution. The similarities are those of the exact stage that
 * search ran (exactScoringMethod(): PLAIT_EXACT_SCORING, else EXACT_SCORING_DEFAULTS.method, as the
 * index's width runs it — describeExactStage): fast-scan's own at 1, 2 and 4 bits by default, the
 * ternary byte table on a ternary index, the int16 byte tables under 'codes' and 'codes-normalized',
 * decompression under 'decompress' and at 8 bits. They come from the search's own kernel, so the
 * contributions, summed in float32 in the kernel's order, are the score search gave the passage
 * (test/explain-exact-stage.test.ts checks every width and method). Token texts and offsets come
 * from the model's own tokenizer (`Encoder.rows`), whose row layout is the encoder's: ColBERT's
 * [CLS]/marker/[SEP]/[MASK] rows are labelled by role, and the [MASK] rows of query augmentation,
 * which carry real weight, show what they matched.
 */
import { PlaitError } from '../errors/index.js';
import type { Encoder, RowToken, TokenRole } from '../encoder/types.js';
import { MAXSIM_EMPTY_TOKEN, type Kernels } from '../kernels/types.js';
import type { Bm25TermMatch } from '../docstore/index.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import { centroidScores, usesInt8, type EncodedQuery, type ScoringArrays } from './plaid.js';
import { centroidScoresInt8Rows, quantiseQuery, type QuantisedQuery } from './centroid-quantisation.js';
import {
  exactScoringMethod,
  fastScanSimilarities,
  prepareCodeQuery,
  scoreOnCodes,
  supportsCodeScoring,
  supportsFastScan,
  type CodeQuery,
  type ExactScoringMethod,
  type FastScanCodeQuery,
} from '../codec/code-scorer.js';
import type { HybridParts } from './search-result.js';
import type { IndexSegment } from '../format/index-reader.js';

/** One side of a match: the token's text, its role, and [start, end) UTF-16 offsets (-1 for special tokens). */
export interface ExplainedToken {
  /** Row in the encoded query or passage (0-based). */
  row: number;
  /** The covered text for content tokens; the vocabulary's token text for special tokens. */
  text: string;
  role: TokenRole;
  start: number;
  end: number;
}

export interface TokenMatch {
  query: ExplainedToken;
  /** The passage token with the highest similarity; null when the passage has no tokens. */
  match: ExplainedToken | null;
  /**
   * The two tokens' similarity as the exact stage scored it: their cosine (about [-1, 1]; 'codes'
   * drops the norm, so it may pass 1 by the residual's quantisation), -9999 when the passage has no token.
   */
  similarity: number;
  /** The query token's weight: its IDF weight with weighting on, else 1. */
  weight: number;
  /** weight × similarity; the contributions sum to `lateScore`. */
  contribution: number;
}

export interface Explanation {
  query: string;
  docId: string;
  pid: number;
  /** The passage's text and its [start, end) in the document's indexed text (title, newline, text). */
  passage: { text: string; start: number; end: number };
  /** Late-interaction score of the passage: Σ contributions (raw MaxSim, weighted when idf is on). */
  lateScore: number;
  idfWeighting: boolean;
  /** One entry per query row, in query order. */
  tokens: TokenMatch[];
  /** The BM25 terms of the query and what each added to the document's BM25 score (hybrid and bm25 modes). */
  bm25: { score: number; terms: Bm25TermMatch[] } | null;
  /** The fused score's parts when the document is in the hybrid result list of this query; null otherwise. */
  fusion: (HybridParts & { score: number; rank: number }) | null;
  /** The query rewrites applied (ExplainOptions.rewrite): the late side explained the rewritten text, BM25 the rewritten terms. */
  rewrites: QueryRewrite[];
  /**
   * Set when the query has more content tokens than the model keeps (ModelInfo.queryWindow): only
   * its first are explained, as search searches only them (SearchResult.truncated). Absent otherwise.
   */
  truncated?: true;
}

/** Label a row: content tokens show the text they cover, special tokens their vocabulary text. */
function explainRow(rows: readonly RowToken[], i: number, text: string, encoder: Encoder): ExplainedToken {
  const r = rows[i]!;
  const label = r.role === 'content' && r.start >= 0 ? text.slice(r.start, r.end) : encoder.tokenText(r.id);
  return { row: i, text: label, role: r.role, start: r.start, end: r.end };
}

/**
 * What the exact stage prepares once per query (its centroid scores, its code-scoring tables), kept
 * across the passages of one query: highlights score up to topK passages of a query. On the int8
 * path the centroid scores are computed row by row as passages read them (a passage reads ~100 of
 * K = 16,384 rows) into the thread's row scratch; on the float32 path whole, once. One cache belongs
 * to one query and one generation's arrays.
 */
export interface ExactQueryCache {
  /** K × qLen computed whole (the float32 path, or given by the caller): used as it is. */
  scores?: Float32Array;
  /** Int8 path: this cache's stamp on the rows of the thread's row scratch it computed. */
  stamp?: number;
  /** Int8 path: the query quantised once. */
  quantised?: QuantisedQuery;
  fastScan?: FastScanCodeQuery;
  codes?: CodeQuery;
}

/**
 * The thread's K × qLen buffer of centroid-score rows on the int8 path, and for each row the stamp of
 * the cache (ExactQueryCache.stamp) that last wrote it: a row is a cache's only while it holds that
 * cache's stamp, so caches may interleave (a row another cache overwrote is computed again), and no
 * query allocates K × qLen floats (1.7 MB on scifact, whose first touches cost ~1.3 ms of page
 * faults a query). A new qLen re-lays the same buffer (every stamp cleared; queries of different
 * lengths follow each other, and a buffer a length was that allocation again), a longer one grows it:
 * at most K × queryMaxlen floats a thread.
 */
let rowScratch: { k: number; qLen: number; buffer: Float32Array; scores: Float32Array; stamps: Uint32Array } | null = null;
let nextStamp = 1;

/**
 * The query's centroid scores as far as rows [start, start + len) of `codes` read them. On the int8
 * path only those rows are computed (the kernel's rows are independent, so each is the bits
 * centroidScores gives it): a scifact passage reads ~100 of K = 16,384 rows, and the whole matrix was
 * ~4 ms a query, a third of highlights' cost after the native similarity kernel (bench/RESULTS.md,
 * "Search highlights"). The float32 path (matmul, blocked by shape) computes the whole matrix once.
 * The array returned is valid until the next call (another cache may overwrite the scratch's rows).
 */
function passageCentroidScores(a: ScoringArrays, kernels: Kernels, q: EncodedQuery, codes: Int32Array, start: number, len: number, cache: ExactQueryCache): Float32Array {
  if (cache.scores !== undefined) return cache.scores;
  if (!usesInt8(a)) return (cache.scores = centroidScores(a, q, kernels));
  const k = a.nCentroids;
  const qLen = q.length;
  if (rowScratch === null || rowScratch.k !== k) {
    const buffer = new Float32Array(k * qLen);
    rowScratch = { k, qLen, buffer, scores: buffer, stamps: new Uint32Array(k) };
  } else if (rowScratch.qLen !== qLen) {
    if (rowScratch.buffer.length < k * qLen) rowScratch.buffer = new Float32Array(k * qLen);
    rowScratch.qLen = qLen;
    rowScratch.scores = rowScratch.buffer.subarray(0, k * qLen);
    rowScratch.stamps.fill(0);
  }
  if (cache.stamp === undefined) {
    if (nextStamp === 0xffffffff) {
      rowScratch.stamps.fill(0);
      nextStamp = 1;
    }
    cache.stamp = nextStamp++;
  }
  const { scores, stamps } = rowScratch;
  const stamp = cache.stamp;
  const missing: number[] = [];
  for (let r = start; r < start + len; r++) {
    const c = codes[r]!;
    if (c >= 0 && c < k && stamps[c] !== stamp) {
      stamps[c] = stamp;
      missing.push(c);
    }
  }
  if (missing.length === 0) return scores;
  const ids = Int32Array.from(missing);
  const quantised = (cache.quantised ??= quantiseQuery(q.vectors, qLen, a.dim));
  const rows = centroidScoresInt8Rows(a.centroids, k, a.dim, quantised, qLen, kernels, ids);
  for (let r = 0; r < ids.length; r++) {
    const to = ids[r]! * qLen;
    const from = r * qLen;
    for (let i = 0; i < qLen; i++) scores[to + i] = rows[from + i]!;
  }
  return scores;
}

/**
 * The exact stage's similarity of every (query row, passage row) pair of the passage at rows
 * [start, start + len) of `seg`: qLen × len floats, query-row-major, each bit for bit the value the
 * stage's kernel takes the maximum of. Fast-scan has a kernel for it (fastScanSimilarities); the
 * other methods run their own MaxSim kernel on the passage's rows as len one-token documents, once
 * per query row with that row's weight 1 and the others 0 (Σ_i w_i · max_j then is the one
 * similarity, exactly: the other terms are zeros).
 */
function exactSimilarities(a: ScoringArrays, kernels: Kernels, q: EncodedQuery, seg: IndexSegment, start: number, len: number, method: ExactScoringMethod, cache: ExactQueryCache): Float32Array {
  const scores = (): Float32Array => passageCentroidScores(a, kernels, q, seg.codes, start, len, cache);
  if (method === 'fastscan' && supportsFastScan(a)) {
    const fq = (cache.fastScan ??= prepareCodeQuery(a, q.vectors, q.length, kernels, 'fastscan') as FastScanCodeQuery);
    return fastScanSimilarities(a, fq, scores(), seg.codes, seg.residuals, start, len, kernels);
  }
  const out = new Float32Array(q.length * len);
  const starts = Int32Array.from({ length: len }, (_, j) => start + j);
  const lens = new Int32Array(len).fill(1);
  const onCodes = method !== 'decompress' && supportsCodeScoring(a.nbits);
  const s = onCodes ? scores() : null;
  const cq = onCodes ? (cache.codes ??= prepareCodeQuery(a, q.vectors, q.length, kernels, method)) : null;
  const oneHot = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    oneHot.fill(0);
    oneHot[i] = 1;
    const row = out.subarray(i * len, (i + 1) * len);
    if (s !== null && cq !== null) scoreOnCodes(a, cq, s, seg.codes, seg.residuals, starts, lens, len, method === 'codes-normalized', kernels, row, oneHot);
    else kernels.maxsimCompressed(q.vectors, q.length, a.dim, seg.codes, seg.residuals, starts, lens, len, a.centroids, a.weights, a.nbits, row, oneHot);
  }
  return out;
}

/** One query row's MaxSim against a passage: the argmax passage row and what it adds to the score. */
export interface RowMaxSim {
  /** The passage row with the highest similarity (the first of equal ones); -1 when the passage has no tokens. */
  arg: number;
  /** The exact stage's similarity at `arg` (MAXSIM_EMPTY_TOKEN when the passage has no tokens). */
  similarity: number;
  /** The query row's weight: its IDF weight with weighting on, else 1. */
  weight: number;
  /** weight × similarity, rounded to float32 as the kernels round it. */
  contribution: number;
}

/**
 * The per-row MaxSim of `q` against passage `pid` on the similarities of the exact stage in use
 * (exactSimilarities), and their float32 sum in the kernels' order: `lateScore` is the score search
 * gave the passage, bit for bit. The one implementation explain (explainLate) and search highlights
 * (highlights.ts) read; `cache` keeps the query's exact-stage setup across the passages of one query.
 * @throws PlaitError INVALID_INPUT when no segment holds `pid`.
 */
export function lateMaxSim(a: ScoringArrays, kernels: Kernels, q: EncodedQuery, pid: number, cache: ExactQueryCache = {}): { rows: RowMaxSim[]; lateScore: number } {
  const len = a.doclens[pid]!;
  const start = a.tokenStarts[pid]!;
  // The segment holding the passage (segments are ascending pid ranges; token starts are segment-local).
  const seg = a.segments.find((g) => pid >= g.firstPid && pid < g.firstPid + g.passages);
  if (seg === undefined) throw new PlaitError('INVALID_INPUT', { message: `no passage ${pid}`, pid });
  const sims = len > 0 ? exactSimilarities(a, kernels, q, seg, start, len, exactScoringMethod(), cache) : new Float32Array(0);
  const rows: RowMaxSim[] = [];
  let lateScore = 0;
  for (let i = 0; i < q.length; i++) {
    let best = -Infinity;
    let arg = -1;
    for (let j = 0; j < len; j++) {
      const dot = sims[i * len + j]!;
      // Strictly greater: the first of equal rows wins, and a NaN never does (as in the kernels).
      if (dot > best) {
        best = dot;
        arg = j;
      }
    }
    const weight = q.weights === null ? 1 : q.weights[i]!;
    // A passage without tokens scores ColBERT's -9999 per query token, as the kernels do.
    const similarity = arg < 0 ? MAXSIM_EMPTY_TOKEN : best;
    // Float32 sums in the kernels' order (w_i · best_i rounded, then added, i ascending), so
    // lateScore is the search score bit for bit, not only to 1e-5.
    const contribution = q.weights !== null ? Math.fround(weight * similarity) : similarity;
    lateScore = Math.fround(lateScore + contribution);
    rows.push({ arg, similarity, weight, contribution });
  }
  return { rows, lateScore };
}

/**
 * The per-token MaxSim of `q` against passage `pid` (lateMaxSim), labelled: query rows from
 * `queryRows`, passage rows from `passageRows` (the tokenizer's layout of `passageText`).
 * @throws PlaitError INTERNAL when the tokenizer's row layout disagrees with the stored row count.
 */
export function explainLate(
  a: ScoringArrays,
  kernels: Kernels,
  encoder: Encoder,
  q: EncodedQuery,
  query: { text: string; rows: readonly RowToken[] },
  pid: number,
  passage: { text: string; rows: readonly RowToken[] },
): { tokens: TokenMatch[]; lateScore: number } {
  checkRowLayout(a, q, query.rows, pid, passage.rows);
  const { rows, lateScore } = lateMaxSim(a, kernels, q, pid);
  const tokens = rows.map((r, i): TokenMatch => ({
    query: explainRow(query.rows, i, query.text, encoder),
    match: r.arg < 0 ? null : explainRow(passage.rows, r.arg, passage.text, encoder),
    similarity: r.similarity,
    weight: r.weight,
    contribution: r.contribution,
  }));
  return { tokens, lateScore };
}

/**
 * The tokenizer's rows must be the encoder's: one per encoded query row, one per stored passage row.
 * @throws PlaitError INTERNAL when they are not.
 */
export function checkRowLayout(a: ScoringArrays, q: EncodedQuery, queryRows: readonly RowToken[], pid: number, passageRows: readonly RowToken[]): void {
  if (queryRows.length !== q.length) {
    throw new PlaitError('INTERNAL', { message: `the tokenizer lays out ${queryRows.length} query rows but the encoder returned ${q.length}` });
  }
  const len = a.doclens[pid];
  if (len !== undefined && passageRows.length !== len) {
    throw new PlaitError('INTERNAL', { message: `passage ${pid} has ${len} stored token rows but its text tokenizes to ${passageRows.length}` });
  }
}
