/**
 * Token vectors shaped like real embeddings for the code-scoring tests: unit rows, unit tokens
 * clustered near centroids (normalize(c + 0.6 · unit noise)), and a whole case (a fitted codec,
 * documents on its codes, a query and its centroid scores).
 */
import { mulberry32 as rng } from '../../src/util/random.js';
import { typescriptKernels } from '../../src/kernels/index.js';
import { ResidualCodec } from '../../src/codec/residual-codec.js';
import type { Nbits } from '../../src/kernels/validate.js';

/** `rows` random unit vectors of `dim` floats. */
export function unitRows(rand: () => number, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let t = 0; t < dim; t++) n += (out[r * dim + t] = rand() * 2 - 1) ** 2;
    for (let t = 0; t < dim; t++) out[r * dim + t] = out[r * dim + t]! / Math.sqrt(n);
  }
  return out;
}

/** Unit tokens near random centroids (of the first k), normalize(c + 0.6 · unit noise), as real embeddings cluster. */
export function nearCentroids(rand: () => number, centroids: Float32Array, k: number, rows: number, dim: number): Float32Array {
  const noise = unitRows(rand, rows, dim);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const c = Math.floor(rand() * k);
    let n = 0;
    for (let t = 0; t < dim; t++) n += (out[r * dim + t] = centroids[c * dim + t]! + 0.6 * noise[r * dim + t]!) ** 2;
    for (let t = 0; t < dim; t++) out[r * dim + t] = out[r * dim + t]! / Math.sqrt(n);
  }
  return out;
}

/** A code-scoring case: a codec of width N, documents compressed with it, a query and its K × qLen centroid scores. */
export interface CodeCase<N extends Nbits> {
  dim: number;
  nbits: N;
  qLen: number;
  q: Float32Array;
  qWeights: Float32Array | null;
  codec: ResidualCodec;
  codes: Int32Array;
  residuals: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  s: Float32Array;
}

/** A random codec over k centroids, nDocs documents of 1..maxLen tokens (document 3 empty), a query (weighted: w_i in [0.5, 1.5)). */
export function makeCodeCase<N extends Nbits>(seed: number, dim: number, nbits: N, qLen: number, weighted: boolean, k = 12, nDocs = 9, maxLen = 7): CodeCase<N> {
  const rand = rng(seed);
  const centroids = unitRows(rand, k, dim);
  const codec = ResidualCodec.fit(centroids, dim, nbits, nearCentroids(rand, centroids, k, 300, dim), typescriptKernels);
  const lens = Int32Array.from({ length: nDocs }, (_, d) => (d === 3 ? 0 : 1 + Math.floor(rand() * maxLen)));
  const starts = new Int32Array(nDocs);
  let rows = 0;
  for (let d = 0; d < nDocs; d++) {
    starts[d] = rows;
    rows += lens[d]!;
  }
  const { codes, residuals } = codec.compress(nearCentroids(rand, centroids, k, rows, dim), rows);
  const q = unitRows(rand, qLen, dim);
  const s = new Float32Array(k * qLen);
  typescriptKernels.matmulTransB(centroids, k, q, qLen, dim, s);
  const qWeights = weighted ? Float32Array.from({ length: qLen }, () => 0.5 + rand()) : null;
  return { dim, nbits, qLen, q, qWeights, codec, codes, residuals, starts, lens, s };
}
