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
  /**
   * Score with these corpus statistics instead of the store's own (a shard of a cluster scoring
   * as the whole corpus would: N, avgdl and df in the formula above); a term missing from `df`
   * takes the store's own df.
   */
  corpus?: Bm25CorpusStats;
}

/** BM25's corpus statistics: documents (N), their mean length in terms (avgdl), df by term. */
export interface Bm25CorpusStats {
  documents: number;
  avgLength: number;
  df: Readonly<Record<string, number>>;
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

/**
 * Per-reader score accumulator for BM25 queries: one Float64Array(nDocuments) allocated once and
 * reused (only the touched entries are reset after each query), and a bounded top-k selection
 * (a size-k min-heap, O(m log k) for m matching documents) instead of sorting every match.
 * Not reentrant: a reader scores one query at a time (better-sqlite3 is synchronous).
 * Measured (1M documents, a 3-term query with 255k postings, k = 100, this 2-core machine):
 * 715 → 97 ms per query against the per-query Float64Array and full sort of every match; the
 * script is the accumulation loop alone, postings in memory (SQLite reads excluded).
 */
export class Bm25Accumulator {
  private scores: Float64Array;
  private touched: Int32Array;
  private nTouched = 0;

  constructor(nDocuments: number) {
    this.scores = new Float64Array(nDocuments);
    this.touched = new Int32Array(Math.min(nDocuments, 1024));
  }

  /** Adds `value` (> 0) to document `doc`'s score. */
  add(doc: number, value: number): void {
    if (this.scores[doc] === 0) {
      if (this.nTouched === this.touched.length) {
        const grown = new Int32Array(Math.min(this.scores.length, this.touched.length * 2) || 1);
        grown.set(this.touched);
        this.touched = grown;
      }
      this.touched[this.nTouched++] = doc;
    }
    this.scores[doc]! += value;
  }

  /** The documents scored since the last takeTop/reset: every document holding a query term (that the query let in). */
  get touchedCount(): number {
    return this.nTouched;
  }

  /**
   * The k best documents (highest score, ties to the lower doc), best first; resets the
   * accumulator for the next query.
   */
  takeTop(k: number): Array<{ doc: number; score: number }> {
    const s = this.scores;
    const size = Math.min(k, this.nTouched);
    // heap[0] is the worst kept document.
    const heap = new Int32Array(size);
    let n = 0;
    const worse = (a: number, b: number): boolean => s[a]! < s[b]! || (s[a] === s[b] && a > b);
    const siftDown = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && worse(heap[l]!, heap[m]!)) m = l;
        if (r < n && worse(heap[r]!, heap[m]!)) m = r;
        if (m === i) return;
        const t = heap[i]!;
        heap[i] = heap[m]!;
        heap[m] = t;
        i = m;
      }
    };
    for (let j = 0; j < this.nTouched; j++) {
      const doc = this.touched[j]!;
      if (n < size) {
        let i = n++;
        heap[i] = doc;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!worse(heap[i]!, heap[p]!)) break;
          const t = heap[i]!;
          heap[i] = heap[p]!;
          heap[p] = t;
          i = p;
        }
      } else if (size > 0 && worse(heap[0]!, doc)) {
        heap[0] = doc;
        siftDown(0);
      }
    }
    const out = Array.from(heap.subarray(0, n), (doc) => ({ doc, score: s[doc]! }));
    out.sort((a, b) => b.score - a.score || a.doc - b.doc);
    for (let j = 0; j < this.nTouched; j++) s[this.touched[j]!] = 0;
    this.nTouched = 0;
    return out;
  }

  /** Forgets a query that failed half-way. */
  reset(): void {
    for (let j = 0; j < this.nTouched; j++) this.scores[this.touched[j]!] = 0;
    this.nTouched = 0;
  }
}
