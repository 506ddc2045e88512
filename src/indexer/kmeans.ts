/**
 * Seeded spherical k-means over L2-normalised token vectors, as ColBERTv2 trains its centroids
 * (it runs faiss k-means, then normalises the centroids; assignment is by inner product).
 * Initialisation: k distinct sampled vectors. Empty clusters are re-seeded from random vectors.
 * The assignment step, the hot loop, is the `assignNearest` kernel.
 */
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { invalidArgument } from '../errors/index.js';
import { Random } from '../util/random.js';
import { normalizeRows } from '../util/vectors.js';
import type { AssignFn } from './parallel-assign.js';

export interface KmeansOptions {
  iters: number;
  seed: number;
  kernels?: Kernels;
  /** Assignment step (default: the kernels' assignNearest on this thread; builds pass a parallel one). */
  assign?: AssignFn;
  /** Called after each iteration with the mean best inner product (a convergence signal). */
  onIteration?: (iter: number, meanScore: number) => void;
}

/** ColBERTv2's centroid count: K = 2^floor(log2(16·sqrt(estimated tokens))), at most the sample size. */
export function centroidCount(estimatedTokens: number, sampleVectors: number): number {
  const k = 2 ** Math.floor(Math.log2(16 * Math.sqrt(Math.max(1, estimatedTokens))));
  return Math.max(1, Math.min(k, sampleVectors));
}

export async function trainKmeans(vectors: Float32Array, n: number, dim: number, k: number, options: KmeansOptions): Promise<Float32Array> {
  if (!Number.isInteger(k) || k < 1 || k > n) throw invalidArgument('k', `an integer in [1, ${n}]`, k);
  if (!Number.isInteger(options.iters) || options.iters < 0) throw invalidArgument('kmeansIters', 'a non-negative integer', options.iters);
  const kernels = options.kernels ?? getKernels();
  const assign: AssignFn =
    options.assign ??
    (async (v, nv, c, kk, d, codes, scores) => {
      kernels.assignNearest(v, nv, c, kk, d, codes, scores);
    });
  const rng = new Random(options.seed);
  const centroids = new Float32Array(new SharedArrayBuffer(k * dim * 4));
  const init = rng.sampleDistinct(n, k);
  for (let c = 0; c < k; c++) centroids.set(vectors.subarray(init[c]! * dim, (init[c]! + 1) * dim), c * dim);
  normalizeRows(centroids, k, dim);

  const codes = new Int32Array(new SharedArrayBuffer(n * 4));
  const scores = new Float32Array(new SharedArrayBuffer(n * 4));
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  for (let iter = 0; iter < options.iters; iter++) {
    await assign(vectors, n, centroids, k, dim, codes, scores);
    sums.fill(0);
    counts.fill(0);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = codes[i]!;
      counts[c]!++;
      total += scores[i]!;
      const vo = i * dim;
      const so = c * dim;
      for (let d = 0; d < dim; d++) sums[so + d]! += vectors[vo + d]!;
    }
    for (let c = 0; c < k; c++) {
      const so = c * dim;
      if (counts[c] === 0) {
        // Re-seed an empty cluster from a random vector so that no centroid is wasted.
        const r = rng.int(n) * dim;
        for (let d = 0; d < dim; d++) centroids[so + d] = vectors[r + d]!;
      } else {
        for (let d = 0; d < dim; d++) centroids[so + d] = sums[so + d]!;
      }
    }
    normalizeRows(centroids, k, dim);
    options.onIteration?.(iter, total / n);
  }
  return centroids;
}
