/**
 * ColBERTv2 residual compression. A token vector v is stored as the id of its nearest centroid c
 * plus its residual r = v − c with each dimension quantised to `nbits` bits: bucket cutoffs are
 * the quantiles of held-out residual values at i/2^nbits, bucket weights (the reconstruction
 * values) the quantiles at (i + 0.5)/2^nbits. Decompression is c + weights[bucket], L2-normalised.
 * At 1 bit the two weights are each side's mean residual instead (oneBitMeanWeights, measured).
 *
 * nbits = TERNARY_NBITS (1.6) selects the ternary codec (issue 22): three levels {−a, 0, +a}
 * fitted by ./ternary-fit.ts, five dimensions a byte (src/kernels/ternary-kernels.ts), the same
 * cutoffs/weights arrays (2 and 3 long) and the same kernels' entry points.
 */
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';
import { PlaitError, invalidArgument, checkInstance, checkNumber } from '../errors/index.js';
import { quantileSorted } from '../util/vectors.js';
import { fitTernary } from './ternary-fit.js';

// One set of residual widths for the whole engine (the kernels, the codec, the index format).
export { SUPPORTED_NBITS, TERNARY_NBITS, checkNbits, type Nbits } from '../kernels/validate.js';
import { TERNARY_NBITS, codecLevels, residualRowBytes, type Nbits } from '../kernels/validate.js';

export interface CompressedVectors {
  codes: Int32Array;
  residuals: Uint8Array;
}

export interface ResidualCodecState {
  dim: number;
  nbits: Nbits;
  centroids: Float32Array;
  cutoffs: Float32Array;
  weights: Float32Array;
}

/** Bytes of packed residual per token: dim·nbits/8, or ceil(dim/5) for ternary (nbits = TERNARY_NBITS). */
export function residualBytes(dim: number, nbits: number): number {
  checkNumber('dim', dim, 'a dimension');
  checkNumber('nbits', nbits, 'an nbits value');
  return residualRowBytes(dim, nbits);
}

/**
 * 1-bit weights (issue 22): the mean residual on each side of the cutoff (the median), the
 * reconstruction values of least squared error for that cutoff (a Lloyd–Max step), instead of
 * ColBERTv2's quantiles at 1/4 and 3/4, which for near-Laplacian residuals shrink every one to
 * about ln 2 ≈ 0.69 of its side's mean. The stored bits do not change, only the two weights.
 * Measured with the bundled model, same embeddings and bits (bench/codecs.ts; bench/RESULTS.md,
 * "Codecs below 2 bits"): nDCG@10 +0.0007 … +0.0042 over the quartile weights in all twelve cells
 * of two runs (cranfield, cisi × PLAID, exhaustive, PLAID on codes; none significant alone),
 * closing most of 1-bit's gap to 2-bit on cranfield (−0.0007 instead of −0.0039, PLAID).
 * @param sorted the held-out residual values, ascending
 */
function oneBitMeanWeights(sorted: Float32Array, cutoff: number, weights: Float32Array): void {
  // Bucket 1 holds x >= cutoff (the kernels' rule: the number of cutoffs <= x).
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < cutoff) lo = mid + 1;
    else hi = mid;
  }
  let below = 0;
  let above = 0;
  for (let i = 0; i < lo; i++) below += sorted[i]!;
  for (let i = lo; i < sorted.length; i++) above += sorted[i]!;
  // An empty side keeps its quantile weight.
  if (lo > 0) weights[0] = below / lo;
  if (lo < sorted.length) weights[1] = above / (sorted.length - lo);
}

export class ResidualCodec implements ResidualCodecState {
  readonly nCentroids: number;
  readonly bytesPerToken: number;

  constructor(
    readonly dim: number,
    readonly nbits: Nbits,
    readonly centroids: Float32Array,
    readonly cutoffs: Float32Array,
    readonly weights: Float32Array,
    private readonly kernels: Kernels = getKernels(),
  ) {
    checkNumber('dim', dim, 'a dimension (a positive multiple of 8)');
    checkInstance('centroids', centroids, Float32Array);
    checkInstance('cutoffs', cutoffs, Float32Array);
    checkInstance('weights', weights, Float32Array);
    if (dim % 8 !== 0) throw new PlaitError('DIMENSION_MISMATCH', { message: `dim must be a multiple of 8, got ${dim}`, expected: 'multiple of 8', received: dim });
    if (centroids.length % dim !== 0) throw new PlaitError('DIMENSION_MISMATCH', { expected: `a multiple of ${dim}`, received: centroids.length });
    const nb = codecLevels(nbits);
    if (cutoffs.length !== nb - 1 || weights.length !== nb) {
      throw new PlaitError('INDEX_CORRUPT', { message: `codec for nbits=${nbits} needs ${nb - 1} cutoffs and ${nb} weights` });
    }
    this.nCentroids = centroids.length / dim;
    this.bytesPerToken = residualBytes(dim, nbits);
  }

  /**
   * Fits cutoffs and weights on held-out vectors (not used to train the centroids), as ColBERTv2 does:
   * quantiles over all residual values of all dimensions together. `heldoutCodes`: the vectors'
   * nearest centroids when the caller has them already (a build assigns them on its workers).
   */
  static fit(centroids: Float32Array, dim: number, nbits: Nbits, heldout: Float32Array, kernels: Kernels = getKernels(), heldoutCodes?: Int32Array): ResidualCodec {
    checkInstance('centroids', centroids, Float32Array);
    checkNumber('dim', dim, 'a dimension (a positive multiple of 8)');
    checkInstance('heldout', heldout, Float32Array);
    const n = heldout.length / dim;
    const k = centroids.length / dim;
    let codes = heldoutCodes;
    if (codes === undefined) {
      codes = new Int32Array(n);
      kernels.assignNearest(heldout, n, centroids, k, dim, codes);
    }
    const values = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = codes[i]! * dim;
      for (let d = 0; d < dim; d++) values[i * dim + d] = heldout[i * dim + d]! - centroids[c + d]!;
    }
    return ResidualCodec.fromResiduals(centroids, dim, nbits, values, kernels);
  }

  /**
   * The same fit from the held-out residual values themselves (vector − its nearest centroid, every
   * dimension; any order, sorted here in place), for a caller that can turn its held-out vectors
   * into residuals where they lie instead of holding a second copy (a build, issue 9).
   */
  static fromResiduals(centroids: Float32Array, dim: number, nbits: Nbits, values: Float32Array, kernels: Kernels = getKernels()): ResidualCodec {
    checkInstance('centroids', centroids, Float32Array);
    checkNumber('dim', dim, 'a dimension (a positive multiple of 8)');
    checkInstance('values', values, Float32Array);
    if (nbits === TERNARY_NBITS) {
      const { cutoffs, weights } = fitTernary(values);
      return new ResidualCodec(dim, nbits, centroids, cutoffs, weights, kernels);
    }
    values.sort();
    const nb = 1 << nbits;
    const cutoffs = new Float32Array(nb - 1);
    const weights = new Float32Array(nb);
    for (let i = 1; i < nb; i++) cutoffs[i - 1] = quantileSorted(values, i / nb);
    for (let i = 0; i < nb; i++) weights[i] = quantileSorted(values, (i + 0.5) / nb);
    if (nbits === 1) oneBitMeanWeights(values, cutoffs[0]!, weights);
    return new ResidualCodec(dim, nbits, centroids, cutoffs, weights, kernels);
  }

  /** Nearest centroid and packed residual for n vectors. */
  compress(vectors: Float32Array, n: number): CompressedVectors {
    this.checkLength(vectors, n);
    const codes = new Int32Array(n);
    this.kernels.assignNearest(vectors, n, this.centroids, this.nCentroids, this.dim, codes);
    return { codes, residuals: this.packResiduals(vectors, n, codes) };
  }

  /** Same as `compress`, with the assignment (the expensive part) done by the given, e.g. parallel, function. */
  async compressWith(assign: (v: Float32Array, n: number, c: Float32Array, k: number, dim: number, codes: Int32Array) => Promise<void>, vectors: Float32Array, n: number): Promise<CompressedVectors> {
    this.checkLength(vectors, n);
    const codes = new Int32Array(new SharedArrayBuffer(n * 4));
    await assign(vectors, n, this.centroids, this.nCentroids, this.dim, codes);
    return { codes, residuals: this.packResiduals(vectors, n, codes) };
  }

  private checkLength(vectors: Float32Array, n: number): void {
    if (vectors.length < n * this.dim) throw new PlaitError('DIMENSION_MISMATCH', { expected: n * this.dim, received: vectors.length });
  }

  private packResiduals(vectors: Float32Array, n: number, codes: Int32Array): Uint8Array {
    const residuals = new Uint8Array(n * this.bytesPerToken);
    this.kernels.compress(vectors, n, this.dim, this.centroids, codes, this.cutoffs, this.nbits, residuals);
    return residuals;
  }

  /** Reconstructs n L2-normalised vectors. */
  decompress(codes: Int32Array, residuals: Uint8Array, n: number, out = new Float32Array(n * this.dim)): Float32Array {
    this.kernels.decompress(codes, residuals, n, this.dim, this.centroids, this.weights, this.nbits, out);
    return out;
  }
}
