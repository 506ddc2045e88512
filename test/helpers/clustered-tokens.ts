/**
 * Token vectors shaped like real embeddings for the code-scoring tests: unit rows, and unit tokens
 * clustered near centroids (normalize(c + 0.6 · unit noise)).
 */

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
