/**
 * Synthetic late-interaction data: unit vectors drawn around random cluster centres, and passages
 * of varying length built from them. Stands in for encoder output where a test or benchmark
 * measures the engine's own code (k-means, codec, PLAID, kernels), not a model.
 */
import { Random } from '../../src/util/random.js';
import { normalizeRows } from '../../src/util/vectors.js';
import type { TokenEmbeddings } from '../../src/encoder/types.js';

export interface SyntheticOptions {
  dim: number;
  clusters: number;
  /** Noise scale around a cluster centre (per dimension, before normalisation). */
  spread: number;
  seed: number;
}

export class SyntheticVectors {
  readonly centres: Float32Array;
  private readonly rng: Random;

  constructor(readonly o: SyntheticOptions) {
    this.rng = new Random(o.seed);
    this.centres = new Float32Array(o.clusters * o.dim);
    for (let i = 0; i < this.centres.length; i++) this.centres[i] = this.rng.normal();
    normalizeRows(this.centres, o.clusters, o.dim);
  }

  /** n unit vectors, each near a random centre. */
  vectors(n: number): Float32Array {
    const { dim, clusters, spread } = this.o;
    const out = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = this.rng.int(clusters) * dim;
      for (let d = 0; d < dim; d++) out[i * dim + d] = this.centres[c + d]! + spread * this.rng.normal();
    }
    normalizeRows(out, n, dim);
    return out;
  }

  /** A passage of `len` tokens with token ids in [0, vocab). */
  passage(len: number, vocab = 1000): TokenEmbeddings {
    const tokenIds = new Int32Array(len);
    for (let i = 0; i < len; i++) tokenIds[i] = this.rng.int(vocab);
    return { vectors: this.vectors(len), length: len, tokenIds };
  }

  /** Uniform integer length in [lo, hi]. */
  length(lo: number, hi: number): number {
    return lo + this.rng.int(hi - lo + 1);
  }
}
