/**
 * ColBERT-PRF for late interaction (Wang, Macdonald, Tonellotto & Ounis, "Pseudo-Relevance Feedback
 * for Multiple Representation Dense Retrieval", ICTIR 2021), on the index's own structures:
 *
 *   ColBERT-PRF clusters the token embeddings of the first pass's top `fbDocs` documents with
 *   k-means, weights each cluster centroid by the IDF of its nearest vocabulary token, and appends
 *   the `fbEmbeddings` highest-weighted centroids to the query, each scored by MaxSim times β·σ.
 *
 * Here the clustering is the one the index already has: every stored token carries its PLAID
 * centroid (its code), so the feedback passages' codes name the clusters their tokens fall in
 * without a k-means per query, and a centroid's IDF is read from the IVF — ln(N / df(c)) with
 * df(c) the passages holding a token in cell c (the passage-level analogue of ColBERT-PRF's token
 * IDF). A centroid is chosen by count × IDF (how much of the feedback it explains, discounted
 * where it is everywhere), as the paper's clusters are chosen among clusters of feedback tokens
 * only; the chosen centroids' weights are β·IDF normalised to mean β, so β sets the expansion's
 * share whatever the index's IDF range. Defaults (PRF_DEFAULTS): fbDocs 3, fbEmbeddings 10 (the
 * paper's fb = 3, fe = 10) and β measured in bench/RESULTS.md ("Query rewriting").
 *
 * The second pass searches with the expanded query (PLAID and exact MaxSim alike), so documents
 * the first pass missed can be found, as in the paper's "ColBERT-PRF Ranker".
 */

import type { ResolvedPrf } from '../rewrite/prf-options.js';
import { segmentOf, type EncodedQuery, type ScoringArrays } from './plaid.js';

export interface PrfExpansion {
  query: EncodedQuery;
  /** The appended centroids and their weights, in query-row order after the original rows. */
  centroids: Int32Array;
  weights: Float32Array;
}

/**
 * The query with expansion embeddings appended, from the feedback passages `pids` (the first pass's
 * best passages, best first); null when they hold no token.
 */
export function colbertPrf(a: ScoringArrays, q: EncodedQuery, pids: readonly number[], params: ResolvedPrf): PrfExpansion | null {
  const counts = new Map<number, number>();
  for (const pid of pids.slice(0, params.fbDocs)) {
    const seg = a.segments[segmentOf(a, pid)]!;
    const start = a.tokenStarts[pid]!;
    const len = a.doclens[pid]!;
    for (let t = start; t < start + len; t++) {
      const c = seg.codes[t]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  if (counts.size === 0) return null;
  const n = a.doclens.length;
  const idf = (c: number): number => Math.log(n / Math.max(1, a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!));
  const chosen = [...counts]
    .map(([c, count]) => ({ c, idf: idf(c), score: count * idf(c) }))
    .filter((x) => x.idf > 0)
    .sort((x, y) => y.score - x.score || x.c - y.c)
    .slice(0, params.fbEmbeddings);
  if (chosen.length === 0) return null;
  const meanIdf = chosen.reduce((s, x) => s + x.idf, 0) / chosen.length;
  const dim = a.dim;
  const length = q.length + chosen.length;
  const vectors = new Float32Array(length * dim);
  vectors.set(q.vectors.subarray(0, q.length * dim));
  const weights = new Float32Array(length);
  if (q.weights === null) weights.fill(1, 0, q.length);
  else weights.set(q.weights.subarray(0, q.length));
  const centroids = Int32Array.from(chosen, (x) => x.c);
  const expWeights = Float32Array.from(chosen, (x) => (params.beta * x.idf) / meanIdf);
  chosen.forEach((x, i) => {
    vectors.set(a.centroids.subarray(x.c * dim, (x.c + 1) * dim), (q.length + i) * dim);
    weights[q.length + i] = expWeights[i]!;
  });
  return { query: { vectors, length, weights }, centroids, weights: expWeights };
}
