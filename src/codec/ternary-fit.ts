/**
 * Fits the ternary codec's levels (issue 22; packing and kernels in src/kernels/ternary-kernels.ts):
 * every residual dimension becomes one of {−a, 0, +a}, one global pair (threshold t, scale a) for
 * all dimensions, as ColBERTv2's bucket codec shares its cutoffs and weights. Stored as the bucket
 * codec's arrays: cutoffs [−t, t], weights [−a, 0, a].
 *
 * The fit is Lloyd–Max for a symmetric three-level quantiser with its middle level pinned at 0, on
 * held-out residual values r (every dimension, pooled): alternately a = mean of |r| over |r| > t
 * (the centroid of the outer cells) and t = a/2 (the nearest-level boundary between 0 and a), from
 * Ternary Weight Networks' start t = 0.7 · mean |r| (Li, Zhang & Liu, 2016, arXiv:1605.04711),
 * until t stops moving. Each step lowers the mean squared error, so it converges. For a Laplacian
 * of scale b (ColBERT residuals are near one) the fixed point is t = b, a = 2b: 1 − 1/e ≈ 63% of the
 * values land on 0 (test/codec-ternary.test.ts checks it).
 *
 * Quality against the bucket codecs (nDCG@10, sizes, paired tests): bench/RESULTS.md, "Codecs below
 * 2 bits"; re-measure with `npx tsx bench/codecs.ts`.
 */
import { checkInstance } from '../errors/index.js';

/** Iterations after which the fit stops even if t still moves (it settles in well under 50 on real residuals). */
const MAX_ITERATIONS = 100;

export interface TernaryLevels {
  /** [−t, t]: a residual x is trit 0 below −t, 2 from t up, else 1. */
  cutoffs: Float32Array;
  /** [−a, 0, a]: the reconstruction value of each trit. */
  weights: Float32Array;
}

/**
 * Fits t and a on held-out residual values (any order; left as they are: the fit sorts a copy of |r|).
 * @param values residual values r = v − centroid, every dimension of every held-out vector
 * @returns cutoffs [−t, t] and weights [−a, 0, a]; all zero for an empty or all-zero input
 */
export function fitTernary(values: Float32Array): TernaryLevels {
  checkInstance('values', values, Float32Array);
  const n = values.length;
  const abs = new Float64Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(values[i]!);
  abs.sort();
  // suffix[i] = Σ abs[i..n): the mean above a threshold is one lookup after a binary search.
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + abs[i]!;
  const meanAbove = (t: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (abs[mid]! > t) hi = mid;
      else lo = mid + 1;
    }
    return lo < n ? suffix[lo]! / (n - lo) : 0;
  };
  let t = n > 0 ? (0.7 * suffix[0]!) / n : 0;
  let a = meanAbove(t);
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const next = a / 2;
    if (next === t) break;
    t = next;
    a = meanAbove(t);
  }
  return { cutoffs: Float32Array.of(-t, t), weights: Float32Array.of(-a, 0, a) };
}
