/**
 * Two-level (approximate) nearest-centroid assignment vs brute force (issue 9): the compression
 * pass assigns every token to its nearest of K centroids (10M vectors × 32,768 centroids: 424 s of
 * a 614 s build). Two-level: group the K centroids under C coarse centroids (k-means over the
 * centroids), score a vector against the C coarse ones, then only against the fine centroids under
 * its best `probe` coarse cells: C + probe·K/C dot products instead of K.
 *
 * Measures, on real token vectors of an index (decompressed: centroid + residual, renormalised)
 * and on one thread each: time of both, the share of vectors whose centroid changes, and the mean
 * inner-product loss. Run: `node dist/bench/centroid-assignment.js <indexPath> [vectors=100000]`.
 * Reads format 1 (codes.i32/residuals.u8) and format 2 (segment 0) indexes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getKernels } from '../src/kernels/index.js';
import { trainKmeans } from '../src/indexer/kmeans.js';
import { isMain, machine } from './common.js';

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** Two-level assignment; returns codes (and best scores). */
export function twoLevelAssign(vectors: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, coarse: Float32Array, nCoarse: number, probe: number): { codes: Int32Array; scores: Float32Array } {
  const kernels = getKernels();
  // Fine centroids grouped by their nearest coarse centroid (contiguous blocks).
  const owner = new Int32Array(k);
  kernels.assignNearest(centroids, k, coarse, nCoarse, dim, owner);
  const order = Int32Array.from(owner.keys()).sort((a, b) => owner[a]! - owner[b]! || a - b);
  const grouped = new Float32Array(k * dim);
  order.forEach((c, i) => grouped.set(centroids.subarray(c * dim, (c + 1) * dim), i * dim));
  const start = new Int32Array(nCoarse + 1);
  for (let c = 0; c < k; c++) start[owner[c]! + 1]!++;
  for (let c = 0; c < nCoarse; c++) start[c + 1]! += start[c]!;
  // Best `probe` coarse cells per vector.
  const s = new Float32Array(n * nCoarse);
  kernels.matmulTransB(vectors, n, coarse, nCoarse, dim, s);
  const members: number[][] = Array.from({ length: nCoarse }, () => []);
  for (let i = 0; i < n; i++) {
    const top = kernels.topK(s.subarray(i * nCoarse, (i + 1) * nCoarse), nCoarse, probe);
    for (const c of top) members[c]!.push(i);
  }
  const codes = new Int32Array(n).fill(-1);
  const scores = new Float32Array(n).fill(-Infinity);
  for (let c = 0; c < nCoarse; c++) {
    const m = members[c]!;
    const kk = start[c + 1]! - start[c]!;
    if (m.length === 0 || kk === 0) continue;
    const v = new Float32Array(m.length * dim);
    m.forEach((i, j) => v.set(vectors.subarray(i * dim, (i + 1) * dim), j * dim));
    const cc = new Int32Array(m.length);
    const cs = new Float32Array(m.length);
    kernels.assignNearest(v, m.length, grouped.subarray(start[c]! * dim, start[c + 1]! * dim), kk, dim, cc, cs);
    m.forEach((i, j) => {
      if (cs[j]! > scores[i]!) {
        scores[i] = cs[j]!;
        codes[i] = order[start[c]! + cc[j]!]!;
      }
    });
  }
  return { codes, scores };
}

async function run(path: string, nWanted: number): Promise<object> {
  const kernels = getKernels();
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { dim: number; nbits: number; codec: { weights: number[] }; counts: { centroids: number } };
  const dim = manifest.dim;
  const centroids = f32(join(path, 'centroids.f32'));
  const k = manifest.counts.centroids;
  const v1 = existsSync(join(path, 'codes.i32'));
  const codesB = readFileSync(join(path, v1 ? 'codes.i32' : 'codes.0000.i32'));
  const residuals = new Uint8Array(readFileSync(join(path, v1 ? 'residuals.u8' : 'residuals.0000.u8')));
  const allCodes = new Int32Array(codesB.buffer, codesB.byteOffset, codesB.byteLength / 4);
  // Every step-th token, so the vectors span the corpus.
  const total = allCodes.length;
  const n = Math.min(nWanted, total);
  const step = Math.max(1, Math.floor(total / n));
  const bpt = (dim * manifest.nbits) / 8;
  const codes = new Int32Array(n);
  const res = new Uint8Array(n * bpt);
  for (let i = 0; i < n; i++) {
    codes[i] = allCodes[i * step]!;
    res.set(residuals.subarray(i * step * bpt, (i * step + 1) * bpt), i * bpt);
  }
  const vectors = new Float32Array(n * dim);
  kernels.decompress(codes, res, n, dim, centroids, Float32Array.from(manifest.codec.weights), manifest.nbits, vectors);

  let t = performance.now();
  const brute = new Int32Array(n);
  const bruteScores = new Float32Array(n);
  kernels.assignNearest(vectors, n, centroids, k, dim, brute, bruteScores);
  const bruteMs = performance.now() - t;
  const runs: object[] = [];
  for (const nCoarse of [Math.round(Math.sqrt(k)), 2 * Math.round(Math.sqrt(k))]) {
    t = performance.now();
    const coarse = await trainKmeans(centroids, k, dim, nCoarse, { iters: 4, seed: 1, kernels });
    const coarseMs = performance.now() - t;
    for (const probe of [4, 8, 16]) {
      t = performance.now();
      const two = twoLevelAssign(vectors, n, centroids, k, dim, coarse, nCoarse, probe);
      const ms = performance.now() - t;
      let same = 0;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        if (two.codes[i] === brute[i]) same++;
        loss += bruteScores[i]! - two.scores[i]!;
      }
      runs.push({ nCoarse, probe, coarseTrainMs: coarseMs, ms, speedup: bruteMs / ms, sameCentroid: same / n, meanInnerProductLoss: loss / n });
    }
  }
  return { benchmark: 'centroid-assignment', machine: machine(), kernels: kernels.name, index: path, dim, centroids: k, vectors: n, bruteMs, runs };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(await run(process.argv[2] ?? 'bench-msmarco', Number(process.argv[3] ?? 100_000)), null, 2));
