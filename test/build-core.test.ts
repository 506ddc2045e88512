import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIvf } from '../src/indexer/index-writer.js';
import { sampleSize } from '../src/indexer/compress-passages.js';
import { centroidCount, trainKmeans } from '../src/indexer/kmeans.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { typescriptKernels } from '../src/kernels/index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { isPlaitError } from '../src/errors/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_DEFAULTS } from '../src/config/defaults.js';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { sourceOf, syntheticModel, syntheticPassages } from '../fixtures/synthetic-index.js';

test('IVF lists each centroid\'s unique pids in ascending order', () => {
  // pid 0: codes [2, 0, 2]; pid 1: [1]; pid 2: []; pid 3: [0, 0, 1]
  const codes = Int32Array.from([2, 0, 2, 1, 0, 0, 1]);
  const doclens = Int32Array.from([3, 1, 0, 3]);
  const { ivf, offsets } = buildIvf(codes, doclens, 4);
  assert.deepEqual(Array.from(offsets), [0, 2, 4, 5, 5]);
  assert.deepEqual(Array.from(ivf), [0, 3, 1, 3, 0]);
});

test('ColBERT sample size and centroid count formulas', () => {
  assert.equal(sampleSize(10), 10);
  assert.equal(sampleSize(1_000_000), 1 + Math.floor(16 * Math.sqrt(120e6)));
  // 16·sqrt(1e6) = 16000 → 2^13 = 8192
  assert.equal(centroidCount(1e6, 1e9), 8192);
  assert.equal(centroidCount(1e6, 100), 100);
  assert.equal(centroidCount(0, 10), 10);
  assert.equal(centroidCount(0, 100), 16);
});

test('k-means is deterministic for a seed, and its centroids are unit vectors', async () => {
  const gen = new SyntheticVectors({ dim: 16, clusters: 8, spread: 0.2, seed: 3 });
  const v = gen.vectors(500);
  const a = await trainKmeans(v, 500, 16, 8, { iters: 5, seed: 7, kernels: typescriptKernels });
  const b = await trainKmeans(v, 500, 16, 8, { iters: 5, seed: 7, kernels: typescriptKernels });
  const c = await trainKmeans(v, 500, 16, 8, { iters: 5, seed: 8, kernels: typescriptKernels });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (let k = 0; k < 8; k++) {
    let s = 0;
    for (let d = 0; d < 16; d++) s += a[k * 16 + d]! ** 2;
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
});

test('k-means improves the mean inner product to the nearest centroid over its iterations', async () => {
  const gen = new SyntheticVectors({ dim: 32, clusters: 16, spread: 0.3, seed: 5 });
  const v = gen.vectors(2000);
  const scores: number[] = [];
  await trainKmeans(v, 2000, 32, 16, { iters: 6, seed: 1, kernels: typescriptKernels, onIteration: (_, s) => scores.push(s) });
  assert.ok(scores[scores.length - 1]! >= scores[0]! - 1e-6, `scores ${scores.join(', ')}`);
  await assert.rejects(trainKmeans(v, 2000, 32, 0, { iters: 1, seed: 1 }), (e) => isPlaitError(e, "INVALID_ARGUMENT"));
});

test('residual codec: reconstruction error shrinks as nbits grows', async () => {
  const dim = 64;
  const gen = new SyntheticVectors({ dim, clusters: 32, spread: 0.3, seed: 11 });
  const train = gen.vectors(3000);
  const centroids = await trainKmeans(train, 3000, dim, 32, { iters: 4, seed: 2, kernels: typescriptKernels });
  const heldout = gen.vectors(500);
  const test = gen.vectors(400);
  const errors: number[] = [];
  for (const nbits of [1, 2, 4] as const) {
    const codec = ResidualCodec.fit(centroids, dim, nbits, heldout, typescriptKernels);
    assert.equal(codec.cutoffs.length, (1 << nbits) - 1);
    for (let i = 1; i < codec.cutoffs.length; i++) assert.ok(codec.cutoffs[i]! >= codec.cutoffs[i - 1]!);
    const { codes, residuals } = codec.compress(test, 400);
    assert.equal(residuals.length, (400 * dim * nbits) / 8);
    const back = codec.decompress(codes, residuals, 400);
    let err = 0;
    for (let i = 0; i < test.length; i++) err += (test[i]! - back[i]!) ** 2;
    errors.push(Math.sqrt(err / 400));
  }
  assert.ok(errors[0]! > errors[1]! && errors[1]! > errors[2]!, `errors ${errors.join(', ')}`);
  assert.ok(errors[2]! < 0.2, `4-bit error ${errors[2]}`);
});

test('a build runs ColBERT\'s 4 k-means iterations by default, whatever the sample size, and records them', async () => {
  // Before: samples under 200k vectors (every newcomer's corpus) ran 10, which cost 2.3× the k-means
  // CPU for no measurable nDCG@10 (bench/RESULTS.md, "k-means iterations"); this ~4k-vector build was one.
  const dir = mkdtempSync(join(tmpdir(), 'plait-kmeans-default-'));
  try {
    const dim = 16;
    const { passages } = syntheticPassages(200, dim, 3, 16, 0.3);
    const built = await buildIndexFromEmbeddings(sourceOf(passages, dim), { index: join(dir, 'idx'), model: syntheticModel(dim), modelSpec: { family: 'colbert-onnx', dir: '/nonexistent' } });
    assert.ok(built.manifest.settings.kmeansVectors < 200_000);
    assert.equal(built.manifest.settings.kmeansIters, 4);
    assert.equal(BUILD_DEFAULTS.kmeansIters, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
