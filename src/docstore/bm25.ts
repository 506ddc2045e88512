/**
 * BM25 (Robertson & Walker; the Lucene/Anserini variant), the scoring behind `DocStoreReader.bm25`
 * and query-token IDF weights:
 *
 *   idf(t)      = ln(1 + (N − df + 0.5) / (df + 0.5))          (never negative)
 *   score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d| / avgdl))
 *
 * with N documents (passages, for token IDF), df the number containing t, tf the count of t in d,
 * |d| the document's length in terms. Defaults k1 = 0.9, b = 0.4 (Anserini's BEIR settings).
 * English stop words are dropped from queries by default (see bm25-terms.ts).
 */

import { DOCSTORE_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import { ENGLISH_STOPWORDS } from './bm25-terms.js';

export interface Bm25Params {
  k1: number;
  b: number;
}

export const DEFAULT_BM25: Bm25Params = { k1: DOCSTORE_DEFAULTS.bm25K1, b: DOCSTORE_DEFAULTS.bm25B };

/** Options of a BM25 query; all optional. */
export interface Bm25Options {
  /** Term-frequency saturation (default 0.9). */
  k1?: number;
  /** Length normalisation in [0, 1] (default 0.4). */
  b?: number;
  /** Query stop words: true (default) for English, false for none, or a set of folded terms. */
  stopwords?: boolean | ReadonlySet<string>;
}

export interface ResolvedBm25Options extends Bm25Params {
  stopwords: ReadonlySet<string> | null;
}

export function resolveBm25Options(options: Bm25Options = {}): ResolvedBm25Options {
  const k1 = options.k1 ?? DEFAULT_BM25.k1;
  const b = options.b ?? DEFAULT_BM25.b;
  if (!(Number.isFinite(k1) && k1 >= 0)) throw invalidArgument('k1', 'a non-negative number', k1);
  if (!(Number.isFinite(b) && b >= 0 && b <= 1)) throw invalidArgument('b', 'a number in [0, 1]', b);
  const { stopwords = true } = options;
  return { k1, b, stopwords: stopwords === true ? ENGLISH_STOPWORDS : stopwords === false ? null : stopwords };
}

/** BM25's idf: ln(1 + (n − df + 0.5) / (df + 0.5)). */
export function bm25Idf(df: number, n: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** One term's contribution to a document's score, without the idf factor. */
export function bm25TermWeight(tf: number, docLength: number, avgLength: number, params: Bm25Params): number {
  const norm = params.k1 * (1 - params.b + (params.b * docLength) / avgLength);
  return (tf * (params.k1 + 1)) / (tf + norm);
}
