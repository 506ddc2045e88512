/**
 * RM3 pseudo-relevance feedback for BM25 (Lavrenko & Croft's relevance model RM1, interpolated with
 * the original query as in Abdul-Jaleel et al., "UMass at TREC 2004"), the way Anserini's
 * `-rm3` runs it (its Rm3Reranker), which is the reference BEIR and MS MARCO baselines use:
 *
 *   1. BM25 retrieves the query's top `fbDocs` documents with scores s(d);
 *   2. each document's term vector (title + text, tokenised and stemmed by the store's own SQLite
 *      tokenizer, stop words and pure numbers dropped) is L1-normalised: p(t|d) = tf(t,d) / Σ tf;
 *   3. the relevance model p(t|R) ∝ Σ_d s(d) · p(t|d) keeps its `fbTerms` heaviest terms and is
 *      L1-normalised;
 *   4. the expanded query is λ · q + (1 − λ) · p(·|R), where q is the original query's term weights
 *      L1-normalised and λ = `originalQueryWeight`;
 *   5. BM25 runs again with the expanded query's weights as query-term weights.
 * Defaults (RM3_DEFAULTS) are Anserini's: fbDocs 10, fbTerms 10, λ 0.5.
 */

import { RM3_DEFAULTS, RM3_LIMITS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import type { Bm25Query, DocStoreReader } from '../docstore/docstore-reader.js';

export interface Rm3Options {
  /** Feedback documents (default 10). */
  fbDocs?: number;
  /** Expansion terms kept (default 10). */
  fbTerms?: number;
  /** λ, the original query's share in [0, 1] (default 0.5). */
  originalQueryWeight?: number;
}

export type ResolvedRm3 = Required<Rm3Options>;

export function resolveRm3(options: Rm3Options | true): ResolvedRm3 {
  const o = options === true ? {} : options;
  const fbDocs = o.fbDocs ?? RM3_DEFAULTS.fbDocs;
  const fbTerms = o.fbTerms ?? RM3_DEFAULTS.fbTerms;
  const originalQueryWeight = o.originalQueryWeight ?? RM3_DEFAULTS.originalQueryWeight;
  if (!Number.isInteger(fbDocs) || fbDocs < 1 || fbDocs > RM3_LIMITS.maxFbDocs) throw invalidArgument('rm3.fbDocs', `an integer in [1, ${RM3_LIMITS.maxFbDocs}]`, fbDocs);
  if (!Number.isInteger(fbTerms) || fbTerms < 1 || fbTerms > RM3_LIMITS.maxFbTerms) throw invalidArgument('rm3.fbTerms', `an integer in [1, ${RM3_LIMITS.maxFbTerms}]`, fbTerms);
  if (typeof originalQueryWeight !== 'number' || !(originalQueryWeight >= 0 && originalQueryWeight <= 1)) throw invalidArgument('rm3.originalQueryWeight', 'a number in [0, 1]', originalQueryWeight);
  return { fbDocs, fbTerms, originalQueryWeight };
}

const NUMBER = /^\p{N}+$/u;

/** A feedback document's term counts (stop words, pure numbers and one-character terms left out) and their sum. */
export interface FeedbackTerms {
  tf: Map<string, number>;
  total: number;
}

/**
 * Step 2's counts of each stored document (title + text, tokenised by the store), aligned with
 * `docIds` (null for an unknown one). A cluster's shard answers its feedback documents with them.
 */
export function feedbackTerms(reader: Pick<DocStoreReader, 'getDocuments' | 'queryTokens'>, docIds: readonly number[] | readonly string[], stopwords: ReadonlySet<string> | null): (FeedbackTerms | null)[] {
  return reader.getDocuments(docIds).map((doc) => {
    if (doc === null) return null;
    const tf = new Map<string, number>();
    let total = 0;
    for (const t of reader.queryTokens(`${doc.title}\n${doc.text}`)) {
      if ((stopwords?.has(t.word) ?? false) || NUMBER.test(t.term) || t.term.length < 2) continue;
      tf.set(t.term, (tf.get(t.term) ?? 0) + 1);
      total++;
    }
    return { tf, total };
  });
}

/**
 * Steps 3–4: the expanded query from the feedback documents' BM25 scores and term counts (in
 * BM25 order); the query itself when there is no feedback document.
 */
export function rm3Combine(query: Bm25Query, feedback: readonly { score: number; terms: FeedbackTerms | null }[], params: ResolvedRm3): Bm25Query {
  if (feedback.length === 0) return query;
  const relevance = new Map<string, number>();
  for (const { score, terms } of feedback) {
    if (terms === null || terms.total === 0) continue;
    for (const [term, n] of terms.tf) relevance.set(term, (relevance.get(term) ?? 0) + (score * n) / terms.total);
  }
  const kept = [...relevance].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, params.fbTerms);
  const keptSum = kept.reduce((s, [, w]) => s + w, 0);
  let querySum = 0;
  for (const w of query.terms.values()) querySum += w;
  const lambda = params.originalQueryWeight;
  const terms = new Map<string, number>();
  for (const [term, w] of query.terms) terms.set(term, (lambda * w) / querySum);
  if (keptSum > 0) for (const [term, w] of kept) terms.set(term, (terms.get(term) ?? 0) + ((1 - lambda) * w) / keptSum);
  return { terms, tokens: query.tokens };
}

/** The expanded BM25 query (terms with weights), or the query itself when BM25 finds nothing. */
export function rm3Expand(reader: DocStoreReader, query: Bm25Query, params: ResolvedRm3, stopwords: ReadonlySet<string> | null): Bm25Query {
  const feedback = reader.bm25(query, params.fbDocs);
  const terms = feedbackTerms(reader, feedback.map((h) => h.docRowid), stopwords);
  return rm3Combine(query, feedback.map((h, i) => ({ score: h.score, terms: terms[i]! })), params);
}
