/**
 * Two-level (approximate) nearest-centroid assignment vs brute force (issue 9), with the indexer's
 * own implementation (src/indexer/two-level-assign.ts): the compression pass assigns every token
 * to its nearest of K centroids (10M vectors × 32,768 centroids: 424 s of a 614 s build).
 * Two-level scores C coarse centroids, then the fine centroids of the best `probe` cells:
 * C + probe·K/C dot products instead of K.
 *
 * Prints, per (C, probe), on one thread each: time of brute force and of two-level (plus building
 * the coarse level once), the speed-up, the share of vectors whose centroid is unchanged and the
 * mean inner-product loss.
 *
 *   node dist/bench/centroid-assignment.js index <indexPath> [vectors=50000]
 *       real token vectors of an index, decompressed (centroid + residual, renormalised; they lie
 *       near their centroid by construction, so agreement is flattered), against its centroids.
 *   node dist/bench/centroid-assignment.js encode <corpus.jsonl> <indexPath> [passages=300] [K]
 *       true token vectors: the first passages of a corpus encoded afresh with the bundled model
 *       (the index must be a bundled-model index of it), against that index's centroids; with K,
 *       against K centroids trained instead (2 k-means iterations over up to 2^18 of the index's
 *       decompressed vectors), to see real vectors at a larger K than the corpus gives.
 *   node dist/bench/centroid-assignment.js synthetic <K> [vectors=50000] [flat|topics]
 *       128-d vectors around K centres with the MS MARCO-shaped benchmark's spread (cosine ≈ 0.83
 *       to the centre), the centres used as the centroids (what k-means estimates; training K =
 *       131,072 here would take hours). `flat`: centres drawn independently, as
 *       bench/msmarco-shaped.ts draws them (no structure above the clusters); `topics`: centres
 *       drawn around sqrt(K) topics (cosine ≈ 0.7 to their topic), as real token embeddings group
 *       by subject. Both by default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { assignTwoLevel, buildTwoLevelPlan } from '../src/indexer/two-level-assign.js';
import { trainKmeans } from '../src/indexer/kmeans.js';
import { ParallelAssigner } from '../src/indexer/parallel-assign.js';
import { Random } from '../src/util/random.js';
import { normalizeRows } from '../src/util/vectors.js';
import { isMain, machine } from './common.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { indexText } from '../src/indexer/index-text.js';

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

interface Case {
  label: string;
  vectors: Float32Array;
  n: number;
  centroids: Float32Array;
  k: number;
  dim: number;
}

/** Every step-th token of a format-2 index (segment 0), decompressed. */
function fromIndex(path: string, nWanted: number, kernels: Kernels): Case {
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { dim: number; nbits: number; codec: { weights: number[] }; counts: { centroids: number } };
  const dim = manifest.dim;
  const centroids = f32(join(path, 'centroids.f32'));
  const k = manifest.counts.centroids;
  const codesB = readFileSync(join(path, 'codes.0000.i32'));
  const residuals = new Uint8Array(readFileSync(join(path, 'residuals.0000.u8')));
  const allCodes = new Int32Array(codesB.buffer, codesB.byteOffset, codesB.byteLength / 4);
  const n = Math.min(nWanted, allCodes.length);
  const step = Math.max(1, Math.floor(allCodes.length / n));
  const bpt = (dim * manifest.nbits) / 8;
  const codes = new Int32Array(n);
  const res = new Uint8Array(n * bpt);
  for (let i = 0; i < n; i++) {
    codes[i] = allCodes[i * step]!;
    res.set(residuals.subarray(i * step * bpt, (i * step + 1) * bpt), i * bpt);
  }
  const vectors = new Float32Array(n * dim);
  kernels.decompress(codes, res, n, dim, centroids, Float32Array.from(manifest.codec.weights), manifest.nbits, vectors);
  return { label: `${path} (decompressed)`, vectors, n, centroids, k, dim };
}

/** The first `nPassages` documents of a JSONL corpus, encoded (each to the model's window), against the index's centroids. */
async function encoded(corpus: string, path: string, nPassages: number, kWanted: number | null, kernels: Kernels): Promise<Case> {
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { dim: number; counts: { centroids: number } };
  const texts = readFileSync(corpus, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, nPassages)
    .map((l) => {
      const d = JSON.parse(l) as { title?: string; text?: string };
      return indexText(d.title ?? '', d.text ?? '');
    })
    .filter((t) => t.trim() !== '');
  const encoder = await createEncoder({ family: 'use-lite' }, { threads: 1 });
  try {
    const embs = await encoder.encodeDocuments(texts);
    const n = embs.reduce((a, e) => a + e.length, 0);
    const vectors = new Float32Array(n * manifest.dim);
    let row = 0;
    for (const e of embs) {
      vectors.set(e.vectors, row * manifest.dim);
      row += e.length;
    }
    if (kWanted === null) return { label: `${corpus}: ${texts.length} passages encoded, centroids of ${path}`, vectors, n, centroids: f32(join(path, 'centroids.f32')), k: manifest.counts.centroids, dim: manifest.dim };
    const train = fromIndex(path, 1 << 18, kernels);
    const assigner = new ParallelAssigner(kernels, 2);
    try {
      const centroids = await trainKmeans(train.vectors, train.n, train.dim, kWanted, { iters: 2, seed: 7, kernels, assign: assigner.assign });
      return { label: `${corpus}: ${texts.length} passages encoded, K = ${kWanted} trained on ${train.n} vectors of ${path}`, vectors, n, centroids, k: kWanted, dim: manifest.dim };
    } finally {
      await assigner.close();
    }
  } finally {
    await encoder.close();
  }
}

/** Noise per dimension of a token around its centre (bench/msmarco-shaped.ts SPREAD): cosine ≈ 0.83 at 128-d. */
const SPREAD = 0.06;

function synthetic(k: number, n: number, shape: 'flat' | 'topics'): Case {
  const dim = 128;
  const rng = new Random(11);
  const around = (base: Float32Array | null, nBase: number, m: number, spread: number): Float32Array => {
    const out = new Float32Array(m * dim);
    for (let i = 0; i < m; i++) {
      const b = base === null ? -1 : rng.int(nBase) * dim;
      for (let d = 0; d < dim; d++) out[i * dim + d] = (b < 0 ? 0 : base![b + d]!) + spread * rng.normal();
    }
    normalizeRows(out, m, dim);
    return out;
  };
  const centroids = shape === 'flat' ? around(null, 0, k, 1) : around(around(null, 0, Math.round(Math.sqrt(k)), 1), Math.round(Math.sqrt(k)), k, 1 / Math.sqrt(dim));
  return { label: `synthetic ${shape}, K = ${k}`, vectors: around(centroids, k, n, SPREAD), n, centroids, k, dim };
}

async function measure(c: Case, kernels: Kernels, grid: { coarsePerSqrtK: number[]; probes: number[] }): Promise<object> {
  const { vectors, n, centroids, k, dim } = c;
  let t = performance.now();
  const brute = new Int32Array(n);
  const bruteScores = new Float32Array(n);
  kernels.assignNearest(vectors, n, centroids, k, dim, brute, bruteScores);
  const bruteMs = performance.now() - t;
  const runs: object[] = [];
  for (const f of grid.coarsePerSqrtK) {
    const nCoarse = Math.round(f * Math.sqrt(k));
    for (const probe of grid.probes) {
      t = performance.now();
      const plan = await buildTwoLevelPlan(centroids, k, dim, nCoarse, probe, { seed: 1, kernels });
      const planMs = performance.now() - t;
      t = performance.now();
      const codes = new Int32Array(n);
      const scores = new Float32Array(n);
      assignTwoLevel(plan, kernels, vectors, n, codes, scores);
      const ms = performance.now() - t;
      // Dot products a vector paid for: C coarse + the sizes of the cells it probed (exact recount).
      const cs = new Float32Array(n * plan.nCoarse);
      kernels.matmulTransB(vectors, n, plan.coarse, plan.nCoarse, dim, cs);
      let scored = 0;
      for (let i = 0; i < n; i++) {
        const top = kernels.topK(cs.subarray(i * plan.nCoarse, (i + 1) * plan.nCoarse), plan.nCoarse, plan.probe);
        for (const c of top) scored += plan.starts[c + 1]! - plan.starts[c]!;
      }
      let same = 0;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        if (codes[i] === brute[i]) same++;
        loss += bruteScores[i]! - scores[i]!;
      }
      const row = { nCoarse: plan.nCoarse, probe, planMs: Math.round(planMs), ms: Math.round(ms), speedup: +(bruteMs / ms).toFixed(2), dotsPerVector: Math.round(plan.nCoarse + scored / n), idealSpeedup: +(k / (plan.nCoarse + scored / n)).toFixed(2), sameCentroid: +(same / n).toFixed(5), meanInnerProductLoss: +(loss / n).toExponential(2) };
      runs.push(row);
      process.stderr.write(`${c.label}: ${JSON.stringify(row)}\n`);
    }
  }
  return { case: c.label, dim, centroids: k, vectors: n, bruteMs: Math.round(bruteMs), runs };
}

async function main(argv: string[]): Promise<object> {
  const kernels = getKernels();
  const grid = { coarsePerSqrtK: (process.env.COARSE_PER_SQRT_K ?? '1,2').split(',').map(Number), probes: (process.env.PROBES ?? '4,8,16').split(',').map(Number) };
  const results: object[] = [];
  if (argv[0] === 'index') {
    results.push(await measure(fromIndex(argv[1]!, Number(argv[2] ?? 50_000), kernels), kernels, grid));
  } else if (argv[0] === 'encode') {
    results.push(await measure(await encoded(argv[1]!, argv[2]!, Number(argv[3] ?? 300), argv[4] === undefined ? null : Number(argv[4]), kernels), kernels, grid));
  } else if (argv[0] === 'synthetic') {
    const k = Number(argv[1] ?? 32_768);
    const n = Number(argv[2] ?? 50_000);
    const shapes = argv[3] === undefined ? (['topics', 'flat'] as const) : [argv[3] as 'flat' | 'topics'];
    for (const shape of shapes) results.push(await measure(synthetic(k, n, shape), kernels, grid));
  } else {
    throw new Error('usage: centroid-assignment.js index <indexPath> [vectors] | encode <corpus.jsonl> <indexPath> [passages] | synthetic <K> [vectors] [flat|topics]');
  }
  return { benchmark: 'centroid-assignment', machine: machine(), kernels: kernels.name, threads: 1, results };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(await main(process.argv.slice(2)), null, 2));
