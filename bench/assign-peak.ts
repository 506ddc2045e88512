/**
 * Is k-means slow because of its kernel? assignNearest's GFLOP/s at a build's shapes (512-d bundled
 * model; 4,096 and 8,192 centroids; one thread) against the core's fp32 FMA peak measured in the
 * same run by the addon's peakFlops(). Both in this process's CPU time (one busy thread), best of
 * three windows, so that a shared machine's waiting does not count.
 *
 * Run: `node dist/bench/assign-peak.js [vectors]` (default 4,096). Figures: bench/RESULTS.md,
 * "k-means iterations".
 */
import { mulberry32 } from '../src/util/random.js';
import { nativeKernels } from '../src/kernels/index.js';
import { loadNativeKernels } from '../src/kernels/native-loader.js';
import { isMain, machine } from './common.js';

const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function unitRows(rand: () => number, n: number, dim: number): Float32Array {
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const x = rand() - 0.5;
      v[i * dim + d] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < dim; d++) v[i * dim + d]! *= inv;
  }
  return v;
}

export function run(n = 4096): object {
  const k = nativeKernels();
  const peak = loadNativeKernels().measurePeak;
  if (k === null || peak === undefined) throw new Error('the native kernels (with peakFlops) are needed');
  const rand = mulberry32(7);
  const dim = 512;
  const vectors = unitRows(rand, n, dim);
  const rows = [];
  const peakBefore = peak(0.5);
  for (const nCentroids of [4096, 8192]) {
    const centroids = unitRows(rand, nCentroids, dim);
    const codes = new Int32Array(n);
    let best = 0;
    for (let w = 0; w < 3; w++) {
      const t = cpuS();
      k.assignNearest(vectors, n, centroids, nCentroids, dim, codes);
      best = Math.max(best, (2 * n * nCentroids * dim) / (cpuS() - t));
    }
    rows.push({ nCentroids, dim, vectors: n, gflops: +(best / 1e9).toFixed(1) });
  }
  const peakAfter = peak(0.5);
  const peakGflops = Math.max(peakBefore.flopsPerSecond, peakAfter.flopsPerSecond) / 1e9;
  return { machine: machine(), simd: peakBefore.simd, peakGflops: +peakGflops.toFixed(1), rows: rows.map((r) => ({ ...r, shareOfPeak: +(r.gflops / peakGflops).toFixed(2) })) };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(run(process.argv[2] === undefined ? undefined : Number(process.argv[2])), null, 2));
