/**
 * Inputs shared by test/centroid-scores-int8.test.ts and the child processes it starts under
 * PLAIT_SIMD: `digest()` hashes the int8 centroid scores of fixed random inputs on the kernels
 * this process loaded and prints which int8 path ran.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../src/util/random.js';
import { getKernels, kernelsStatus, type Kernels } from '../../src/kernels/index.js';
import { centroidScoresInt8 } from '../../src/search/centroid-quantisation.js';

/** Unit rows with uniform components, from a seed. */
export function randomRows(seed: number, n: number, dim: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (x[i * dim + d] = r() * 2 - 1) ** 2;
    for (let d = 0; d < dim; d++) x[i * dim + d]! /= Math.sqrt(norm);
  }
  return x;
}

/** (centroids, query tokens, dim) around the 16-token chunk, the 8- and 4-centroid blocks and odd widths. */
export const SIZES: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 4],
  [7, 5, 8],
  [8, 16, 128],
  [9, 17, 128],
  [15, 15, 132],
  [16, 31, 128],
  [17, 32, 128],
  [33, 33, 96],
  [100, 6, 512],
];

export function run(kernels: Kernels, k: number, qLen: number, dim: number, rowMax?: Float32Array): Float32Array {
  return centroidScoresInt8(randomRows(k + 1000 * dim, k, dim), k, dim, randomRows(qLen + 7 * dim, qLen, dim), qLen, kernels, undefined, rowMax);
}

export function bytesOf(x: Float32Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

/** sha256 of every SIZES output (scores, then row maxima) on `kernels`. */
export function hashOf(kernels: Kernels): string {
  const h = createHash('sha256');
  for (const [k, qLen, dim] of SIZES) {
    const rowMax = new Float32Array(k);
    h.update(bytesOf(run(kernels, k, qLen, dim, rowMax)));
    h.update(bytesOf(rowMax));
  }
  return h.digest('hex');
}

/** "<int8 path> <sha256>" for this process's kernels. */
export function digest(): string {
  return `${kernelsStatus().intDotPath} ${hashOf(getKernels())}`;
}
