/**
 * A search's one-time setup, paid before the first user query (`PlaitIndex.warmUp`, `openIndex(…,
 * { warmUp: true })`, the server's warm-up). Each thread that scores an index sets up, on its first
 * search: the int8 centroids of stage 1 (centroid-quantisation.ts, K × dim rounded in JavaScript),
 * the exact stage's per-segment norm cache (code-scorer.ts), the scratch buffers and the JIT of the
 * scoring code; the document store reads BM25's document lengths and builds its query tokenizer.
 * Measured on scifact (K = 16,384 × 512 d, 24k passages): the quantisation alone is ~95 ms, a first
 * late query 110–450 ms against 12–30 ms for the next ones, a first BM25 query 75 ms against 3 ms
 * (bench/first-query.ts; bench/RESULTS.md, "First query after open (polish5)").
 *
 * The warm-up runs PLAID on a query made of the index's first centroids (unit vectors, like query
 * tokens): the same code, kernels and caches as a user's query, with no model needed. `openIndex`
 * does not warm up unless asked: a caller that reads metadata (`plait info`) would pay for nothing.
 */
import { WARM_UP_DEFAULTS, SEARCH_DEFAULTS, plaidDefaultsFor } from '../config/defaults.js';
import type { Kernels } from '../kernels/types.js';
import { plaidSearch, type EncodedQuery, type ScoringArrays } from './plaid.js';

/** The text of the warm-up query's BM25 side (a word that is no stop word, so BM25 reads its tables). */
export const WARM_UP_TEXT = 'warm up the index';

/**
 * The warm-up query's rows: the index's first min(WARM_UP_DEFAULTS.queryTokens, K) centroids
 * (qLen × dim floats); null for an index without centroids or passages (nothing to set up).
 */
export function warmUpRows(a: ScoringArrays): { vectors: Float32Array; length: number } | null {
  const length = Math.min(WARM_UP_DEFAULTS.queryTokens, a.nCentroids);
  if (length === 0 || a.doclens.length === 0) return null;
  return { vectors: a.centroids.slice(0, length * a.dim), length };
}

/** Runs PLAID once on the warm-up query on this thread, with `mark` (this thread's scratch marks, left as found). */
export function warmUpScoring(a: ScoringArrays, kernels: Kernels, mark: Uint8Array): void {
  const rows = warmUpRows(a);
  if (rows === null) return;
  const q: EncodedQuery = { vectors: rows.vectors, length: rows.length, weights: null };
  plaidSearch(a, q, plaidDefaultsFor(SEARCH_DEFAULTS.topK), kernels, mark);
}

/**
 * A barrier for the pool's warm-up: each of `parties` tasks arrives and waits (Atomics.wait) until
 * all have, so no worker can take two warm-up tasks while another takes none; after `timeoutMs` a
 * task goes on alone (a worker that never came up must not hang the others).
 * @param counter one Int32 in a SharedArrayBuffer, 0 before the first arrival
 */
export function arriveAndWait(counter: Int32Array, parties: number, timeoutMs: number): void {
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
  const until = performance.now() + timeoutMs;
  for (let seen = Atomics.load(counter, 0); seen < parties; seen = Atomics.load(counter, 0)) {
    const left = until - performance.now();
    if (left <= 0) return;
    Atomics.wait(counter, 0, seen, left);
  }
}
