/**
 * Seeded spherical k-means over L2-normalised token vectors, as ColBERTv2 trains its centroids
 * (it runs faiss k-means, then normalises the centroids; assignment is by inner product).
 * Initialisation: k distinct sampled vectors. Empty clusters are re-seeded from random vectors.
 * The assignment step, the hot loop, is the `assignNearest` kernel.
 *
 * The training vectors may be one float32 array or any `VectorRows` source (a build reads them
 * from its float16 sample spill on disk: 2^18 × 512-d vectors would be 512 MiB in float32): each
 * pass then reads blocks of KMEANS_BLOCK rows into one reused float32 buffer, so memory is a block.
 */
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { invalidArgument } from '../errors/index.js';
import { Random } from '../util/random.js';
import { normalizeRows } from '../util/vectors.js';
import type { AssignFn } from './parallel-assign.js';
import { fromFloat16 } from '../codec/float16.js';

/** Training vectors read by row range. */
export interface VectorRows {
  /** Writes rows [from, to) as float32 into `out` (at least (to − from)·dim long). */
  read(from: number, to: number, out: Float32Array): void;
}

/** Rows of a row-major float16 matrix. */
export function halfRows(half: Uint16Array, dim: number): VectorRows {
  return { read: (from, to, out) => fromFloat16(half.subarray(from * dim, to * dim), out.subarray(0, (to - from) * dim)) };
}

/** Rows converted to float32 per assignment call when training on half floats. */
const KMEANS_BLOCK = 1 << 15;

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

export async function trainKmeans(vectors: Float32Array | VectorRows, n: number, dim: number, k: number, options: KmeansOptions): Promise<Float32Array> {
  if (!Number.isInteger(k) || k < 1 || k > n) throw invalidArgument('k', `an integer in [1, ${n}]`, k);
  if (!Number.isInteger(options.iters) || options.iters < 0) throw invalidArgument('kmeansIters', 'a non-negative integer', options.iters);
  const kernels = options.kernels ?? getKernels();
  const assign: AssignFn =
    options.assign ??
    (async (v, nv, c, kk, d, codes, scores) => {
      kernels.assignNearest(v, nv, c, kk, d, codes, scores);
    });
  const rng = new Random(options.seed);
  const source = vectors instanceof Float32Array ? null : vectors;
  const f32 = vectors instanceof Float32Array ? vectors : null;
  // Rows [from, to) as float32 (a view for float32 input; read into the shared block otherwise).
  const block = source === null ? null : new Float32Array(new SharedArrayBuffer(Math.min(n, KMEANS_BLOCK) * dim * 4));
  const rows = (from: number, to: number): Float32Array => {
    if (f32 !== null) return f32.subarray(from * dim, to * dim);
    const out = block!.subarray(0, (to - from) * dim);
    source!.read(from, to, out);
    return out;
  };
  const centroids = new Float32Array(new SharedArrayBuffer(k * dim * 4));
  const init = rng.sampleDistinct(n, k);
  for (let c = 0; c < k; c++) centroids.set(rows(init[c]!, init[c]! + 1), c * dim);
  normalizeRows(centroids, k, dim);

  const step = f32 !== null ? Math.max(1, n) : KMEANS_BLOCK;
  const codes = new Int32Array(new SharedArrayBuffer(Math.min(n, step) * 4));
  const scores = new Float32Array(new SharedArrayBuffer(Math.min(n, step) * 4));
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  for (let iter = 0; iter < options.iters; iter++) {
    sums.fill(0);
    counts.fill(0);
    let total = 0;
    for (let from = 0; from < n; from += step) {
      const to = Math.min(n, from + step);
      const v = rows(from, to);
      await assign(v, to - from, centroids, k, dim, codes, scores);
      for (let i = 0; i < to - from; i++) {
        const c = codes[i]!;
        counts[c]!++;
        total += scores[i]!;
        const vo = i * dim;
        const so = c * dim;
        for (let d = 0; d < dim; d++) sums[so + d]! += v[vo + d]!;
      }
    }
    for (let c = 0; c < k; c++) {
      const so = c * dim;
      if (counts[c] === 0) {
        // Re-seed an empty cluster from a random vector so that no centroid is wasted.
        const r = rng.int(n);
        centroids.set(rows(r, r + 1), so);
      } else {
        for (let d = 0; d < dim; d++) centroids[so + d] = sums[so + d]!;
      }
    }
    normalizeRows(centroids, k, dim);
    options.onIteration?.(iter, total / n);
  }
  return centroids;
}
