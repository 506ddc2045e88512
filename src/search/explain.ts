/**
 * Token-level explanations of late interaction: for one query and one passage, which document
 * token each query token matched (MaxSim's argmax), the similarity, the query token's weight (IDF
 * when weighting is on) and its contribution; the contributions sum to the passage's score as
 * search computes it (decompressed residuals, the same weights), which test/explain.test.ts checks
 * to 1e-5 (under the default 'fastscan' exact stage the similarities are fast-scan's own, from
 * src/codec/code-scorer.ts; under 'codes' and 'codes-normalized' they stay decompressed, so they
 * differ from those methods' scores by the dropped or approximated norm). Token texts and offsets come from the model's own tokenizer (`Encoder.rows`), whose row
 * layout is the encoder's: ColBERT's [CLS]/marker/[SEP]/[MASK] rows are labelled by role, and the
 * [MASK] rows of query augmentation, which carry real weight, show what they matched.
 */
import { PlaitError } from '../errors/index.js';
import type { Encoder, RowToken, TokenRole } from '../encoder/types.js';
import { MAXSIM_EMPTY_TOKEN, type Kernels } from '../kernels/types.js';
import { residualBytes } from '../codec/residual-codec.js';
import type { Bm25TermMatch } from '../docstore/index.js';
import type { QueryRewrite } from '../rewrite/query-rewriter.js';
import { centroidScores, type EncodedQuery, type ScoringArrays } from './plaid.js';
import { exactScoringMethod, fastScanSimilarities, prepareCodeQuery, supportsFastScan, type FastScanCodeQuery } from '../codec/code-scorer.js';
import type { HybridParts } from './search-result.js';

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
  /** Cosine similarity of the two (decompressed) token vectors, in [-1, 1] (-9999 when the passage has no token). */
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
}

/** Label a row: content tokens show the text they cover, special tokens their vocabulary text. */
function explainRow(rows: readonly RowToken[], i: number, text: string, encoder: Encoder): ExplainedToken {
  const r = rows[i]!;
  const label = r.role === 'content' && r.start >= 0 ? text.slice(r.start, r.end) : encoder.tokenText(r.id);
  return { row: i, text: label, role: r.role, start: r.start, end: r.end };
}

/**
 * The per-token MaxSim of `q` against passage `pid`: decompresses the passage's rows and, for each
 * query row, finds the best one. Query rows are labelled from `queryRows`, passage rows from
 * `passageRows` (the tokenizer's layout of `passageText`).
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
  const dim = a.dim;
  const len = a.doclens[pid]!;
  const start = a.tokenStarts[pid]!;
  if (query.rows.length !== q.length) {
    throw new PlaitError('INTERNAL', { message: `the tokenizer lays out ${query.rows.length} query rows but the encoder returned ${q.length}` });
  }
  if (passage.rows.length !== len) {
    throw new PlaitError('INTERNAL', { message: `passage ${pid} has ${len} stored token rows but its text tokenizes to ${passage.rows.length}` });
  }
  const docVecs = new Float32Array(len * dim);
  const bytes = residualBytes(dim, a.nbits);
  // The segment holding the passage (segments are ascending pid ranges; token starts are segment-local).
  const seg = a.segments.find((g) => pid >= g.firstPid && pid < g.firstPid + g.passages);
  if (seg === undefined) throw new PlaitError('INVALID_INPUT', { message: `no passage ${pid}`, pid });
  // Under the 'fastscan' exact stage the similarities are the kernel's own (table-quantised q·r over
  // the exact norm), so the contributions sum to the search score; otherwise decompressed.
  const fast = len > 0 && exactScoringMethod() === 'fastscan' && supportsFastScan(a);
  const sims = fast ? fastScanSimilarities(a, prepareCodeQuery(a, q.vectors, q.length, kernels, 'fastscan') as FastScanCodeQuery, centroidScores(a, q, kernels), seg.codes, seg.residuals, start, len) : null;
  if (!fast) kernels.decompress(seg.codes.subarray(start, start + len), seg.residuals.subarray(start * bytes, (start + len) * bytes), len, dim, a.centroids, a.weights, a.nbits, docVecs);
  const tokens: TokenMatch[] = [];
  let lateScore = 0;
  for (let i = 0; i < q.length; i++) {
    let best = -Infinity;
    let arg = -1;
    for (let j = 0; j < len; j++) {
      let dot = 0;
      if (sims !== null) dot = sims[i * len + j]!;
      else for (let d = 0; d < dim; d++) dot += q.vectors[i * dim + d]! * docVecs[j * dim + d]!;
      // Strictly greater: the first of equal rows wins, and a NaN never does (as in the kernels).
      if (dot > best) {
        best = dot;
        arg = j;
      }
    }
    const weight = q.weights === null ? 1 : q.weights[i]!;
    // A passage without tokens scores ColBERT's -9999 per query token, as the kernels do.
    const similarity = arg < 0 ? MAXSIM_EMPTY_TOKEN : best;
    // Under fast-scan, float32 sums in the kernel's order (w_i · best_i rounded, then added), so
    // lateScore is the search score bit for bit, not only to 1e-5.
    const contribution = sims !== null && q.weights !== null ? Math.fround(weight * similarity) : weight * similarity;
    lateScore = sims !== null ? Math.fround(lateScore + contribution) : lateScore + contribution;
    tokens.push({
      query: explainRow(query.rows, i, query.text, encoder),
      match: arg < 0 ? null : explainRow(passage.rows, arg, passage.text, encoder),
      similarity,
      weight,
      contribution,
    });
  }
  return { tokens, lateScore };
}
