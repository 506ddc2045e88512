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
 *
 * Three steps, so that a cluster's coordinator (src/cluster/cluster-index.ts) runs the same code as
 * one index: `prfCodeCounts` (on the index holding the feedback passages: each shard counts its
 * own), `choosePrfCentroids` (counts, cell sizes and N summed over the whole corpus → centroids and
 * weights; run once, where the sums are), `appendPrfRows` (on the index that searches: every shard
 * of a cluster holds the same codebook, so the chosen centroids travel as ids, not vectors).
 */

import { plural } from '../util/plural.js';
import { invalidArgument, checkInstance, checkObject, checkShape, checkFunction, checkMap, checkArray } from '../errors/index.js';
import type { ResolvedPrf } from '../rewrite/prf-options.js';
import { segmentOf, type EncodedQuery, type ScoringArrays } from './plaid.js';

/** The centroids ColBERT-PRF appends to a query, and each one's weight (in query-row order after the original rows). */
export interface PrfRows {
  centroids: Int32Array;
  weights: Float32Array;
}

export interface PrfExpansion extends PrfRows {
  query: EncodedQuery;
}

/**
 * How many tokens of the passages `pids` fall in each centroid cell (their codes): centroid → count.
 * @param pids passages of this index (the first pass's feedback, best first; at most fbDocs of them).
 */
export function prfCodeCounts(a: ScoringArrays, pids: readonly number[]): Map<number, number> {
  checkShape('a', a, 'a ScoringArrays (an open index\'s arrays)', ['doclens', 'nCentroids']);
  checkArray('pids', pids, 'an array of pids');
  const counts = new Map<number, number>();
  for (const pid of pids) {
    const seg = a.segments[segmentOf(a, pid)]!;
    const start = a.tokenStarts[pid]!;
    const len = a.doclens[pid]!;
    for (let t = start; t < start + len; t++) {
      const c = seg.codes[t]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * The centroids to append and their weights (see the file header): among the cells the feedback
 * tokens fall in (`counts`), the `fbEmbeddings` best by count × ln(n / df(c)) (ties: lower id
 * first), cells with IDF ≤ 0 left out; weights β·IDF normalised to mean β. Null when none is left.
 * @param cellDf df(c): passages holding a token in cell c (IVF list length; a cluster sums its shards').
 * @param n passages of the corpus (a cluster sums its shards').
 */
export function choosePrfCentroids(counts: ReadonlyMap<number, number>, cellDf: (c: number) => number, n: number, params: ResolvedPrf): PrfRows | null {
  checkMap('counts', counts, 'a Map of centroid to count (from prfCodeCounts)');
  checkFunction('cellDf', cellDf, 'a function (centroid) => document frequency');
  checkObject('params', params, 'resolved PRF settings');
  const idf = (c: number): number => Math.log(n / Math.max(1, cellDf(c)));
  const chosen = [...counts]
    .map(([c, count]) => ({ c, idf: idf(c), score: count * idf(c) }))
    .filter((x) => x.idf > 0)
    .sort((x, y) => y.score - x.score || x.c - y.c)
    .slice(0, params.fbEmbeddings);
  if (chosen.length === 0) return null;
  const meanIdf = chosen.reduce((s, x) => s + x.idf, 0) / chosen.length;
  return { centroids: Int32Array.from(chosen, (x) => x.c), weights: Float32Array.from(chosen, (x) => (params.beta * x.idf) / meanIdf) };
}

/**
 * `q` with one row per chosen centroid appended: the centroid's vector from `centroids`
 * (nCentroids × dim, row-major), weighted by its PRF weight; the original rows keep their weights
 * (1 when `q` has none).
 * @throws PlaitError INVALID_ARGUMENT when a centroid id is outside the codebook or the lengths differ.
 */
export function appendPrfRows(q: EncodedQuery, centroids: Float32Array, dim: number, rows: PrfRows): EncodedQuery {
  checkShape('q', q, 'an EncodedQuery', ['vectors']);
  checkInstance('centroids', centroids, Float32Array);
  checkObject('rows', rows, 'PrfRows (from choosePrfCentroids)');
  const nCentroids = centroids.length / dim;
  if (rows.weights.length !== rows.centroids.length) throw invalidArgument('prf.weights', `one weight per appended centroid (${rows.centroids.length})`, rows.weights.length);
  for (const c of rows.centroids) if (!(c >= 0 && c < nCentroids)) throw invalidArgument('prf.centroids', `centroid ids in [0, ${nCentroids - 1}]`, c);
  const length = q.length + rows.centroids.length;
  const vectors = new Float32Array(length * dim);
  vectors.set(q.vectors.subarray(0, q.length * dim));
  const weights = new Float32Array(length);
  if (q.weights === null) weights.fill(1, 0, q.length);
  else weights.set(q.weights.subarray(0, q.length));
  rows.centroids.forEach((c, i) => {
    vectors.set(centroids.subarray(c * dim, (c + 1) * dim), (q.length + i) * dim);
    weights[q.length + i] = rows.weights[i]!;
  });
  return { vectors, length, weights };
}

/**
 * The query with expansion embeddings appended, from the feedback passages `pids` (the first pass's
 * best passages, best first); null when they hold no token.
 */
export function colbertPrf(a: ScoringArrays, q: EncodedQuery, pids: readonly number[], params: ResolvedPrf): PrfExpansion | null {
  const counts = prfCodeCounts(a, pids.slice(0, params.fbDocs));
  const rows = choosePrfCentroids(counts, (c) => a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!, a.doclens.length, params);
  return rows === null ? null : { ...rows, query: appendPrfRows(q, a.centroids, a.dim, rows) };
}

/** How a search reports the expansion among its rewrites: the feedback passages used, and each appended centroid with its weight. */
export function prfRewrite(rows: PrfRows, feedbackPassages: number): { kind: 'prf'; from: string; to: string } {
  return { kind: 'prf', from: plural(feedbackPassages, 'feedback passage'), to: Array.from(rows.centroids, (c, i) => `c${c}^${rows.weights[i]!.toFixed(3)}`).join(' ') };
}

/** The passages holding a token in each centroid cell (IVF list lengths), c → df(c); with `a.doclens.length`, what a cluster's coordinator sums over its shards. */
export function prfCellSizes(a: ScoringArrays): Int32Array {
  checkShape('a', a, 'a ScoringArrays (an open index\'s arrays)', ['doclens', 'nCentroids']);
  const out = new Int32Array(a.nCentroids);
  for (let c = 0; c < out.length; c++) out[c] = a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!;
  return out;
}
