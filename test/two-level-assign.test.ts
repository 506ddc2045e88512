/**
 * Two-level nearest-centroid assignment (src/indexer/two-level-assign.ts, issue 9): exact against
 * brute force when every coarse cell is searched, equal to a plain-loop oracle at any probe, close
 * to brute force on clustered data at the default probe, the same through the worker threads, and
 * end to end through buildIndexFromEmbeddings (manifest record, identical files at probe = C,
 * PLAID against exhaustive search on a two-level index).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TWO_LEVEL_ASSIGN_DEFAULTS } from '../src/config/defaults.js';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { trainKmeans } from '../src/indexer/kmeans.js';
import { ParallelAssigner } from '../src/indexer/parallel-assign.js';
import { assignTwoLevel, buildTwoLevelPlan, chooseAssignment, resolveCentroidAssignment, settleProbe, type TwoLevelPlan } from '../src/indexer/two-level-assign.js';
import { getKernels, nativeKernels, typescriptKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { readManifest } from '../src/format/index-reader.js';
import { segmentFileName, INDEX_FILES } from '../src/format/manifest.js';
import { openIndex } from '../src/search/plait-index.js';
import { isPlaitError } from '../src/errors/index.js';
import { Random } from '../src/util/random.js';
import { normalizeRows } from '../src/util/vectors.js';
import { sourceOf, syntheticModel, syntheticPassages } from '../fixtures/synthetic-index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import type { EmbeddingsBuildOptions } from '../src/indexer/build-from-embeddings.js';
import { compressPassages } from '../src/indexer/compress-passages.js';

const kernelSets: [string, Kernels][] = [['typescript', typescriptKernels]];
const native = nativeKernels();
if (native !== null) kernelSets.push([native.name, native]);

/**
 * Unit vectors clustered at two scales (topics, and clusters within a topic), as token embeddings
 * are (tokens of one subject lie near each other), and K centroids trained on them, as a build has
 * them. Two-level assignment relies on that structure: over centres drawn uniformly at random
 * (no topics) the coarse centroids carry no information (bench/RESULTS.md).
 */
async function clustered(n: number, k: number, dim: number, seed: number): Promise<{ vectors: Float32Array; centroids: Float32Array }> {
  const rng = new Random(seed);
  const around = (base: Float32Array, nBase: number, m: number, spread: number): Float32Array => {
    const out = new Float32Array(m * dim);
    for (let i = 0; i < m; i++) {
      const b = rng.int(nBase) * dim;
      for (let d = 0; d < dim; d++) out[i * dim + d] = base[b + d]! + spread * rng.normal();
    }
    normalizeRows(out, m, dim);
    return out;
  };
  const nTopics = Math.max(1, Math.round(Math.sqrt(k)));
  const topics = around(new Float32Array(dim), 1, nTopics, 1);
  // Noise norms: a centre 1.0 from its topic (cosine ≈ 0.7), a vector 0.8 from its centre (≈ 0.78).
  const centres = around(topics, nTopics, 4 * k, 1.0 / Math.sqrt(dim));
  const train = around(centres, 4 * k, 8 * k, 0.8 / Math.sqrt(dim));
  const centroids = await trainKmeans(train, 8 * k, dim, k, { iters: 4, seed, kernels: getKernels() });
  return { vectors: around(centres, 4 * k, n, 0.8 / Math.sqrt(dim)), centroids };
}

/** Plain-loop oracle: best `probe` coarse cells by score (lower cell on ties), best fine centroid among their members (lower id on ties). */
function oracle(plan: TwoLevelPlan, centroids: Float32Array, vectors: Float32Array, n: number): Int32Array {
  const { dim, nCoarse, probe, starts, fineIds } = plan;
  const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number): number => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += a[ao + d]! * b[bo + d]!;
    return s;
  };
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cs = Array.from({ length: nCoarse }, (_, c) => ({ c, s: dot(vectors, i * dim, plan.coarse, c * dim) }));
    cs.sort((a, b) => b.s - a.s || a.c - b.c);
    let best = -Infinity;
    let bestId = 0;
    for (const { c } of cs.slice(0, probe)) {
      for (let r = starts[c]!; r < starts[c + 1]!; r++) {
        const id = fineIds[r]!;
        const s = dot(vectors, i * dim, centroids, id * dim);
        if (s > best || (s === best && id < bestId)) {
          best = s;
          bestId = id;
        }
      }
    }
    out[i] = bestId;
  }
  return out;
}

for (const [name, kernels] of kernelSets) {
  test(`${name}: assignNearestRows equals assignNearest on the gathered rows (repeats, any order, sizes around the panel width); a bad row is INVALID_ARGUMENT`, async () => {
    const dim = 40;
    const k = 70;
    const { vectors, centroids } = await clustered(300, k, dim, 5);
    for (const nRows of [0, 1, 31, 32, 33, 97]) {
      const rows = Int32Array.from({ length: nRows }, (_, i) => (i * 7919 + (i % 3)) % 300);
      const gathered = new Float32Array(nRows * dim);
      rows.forEach((r, i) => gathered.set(vectors.subarray(r * dim, (r + 1) * dim), i * dim));
      const want = new Int32Array(nRows);
      const wantS = new Float32Array(nRows);
      kernels.assignNearest(gathered, nRows, centroids, k, dim, want, wantS);
      const got = new Int32Array(nRows).fill(-1);
      const gotS = new Float32Array(nRows);
      kernels.assignNearestRows(vectors, rows, nRows, centroids, k, dim, got, gotS);
      assert.deepEqual(got, want, `nRows = ${nRows}`);
      assert.deepEqual(gotS, wantS, `nRows = ${nRows}`);
    }
    for (const bad of [-1, 300]) {
      assert.throws(
        () => kernels.assignNearestRows(vectors, Int32Array.of(0, bad), 2, centroids, k, dim, new Int32Array(2)),
        (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT',
        `row ${bad}`,
      );
    }
  });
}

test('the plan holds every fine centroid once, in contiguous blocks per non-empty coarse cell', async () => {
  const dim = 16;
  const k = 200;
  const { centroids } = await clustered(10, k, dim, 3);
  const plan = await buildTwoLevelPlan(centroids, k, dim, 14, 3, { seed: 1, kernels: getKernels() });
  assert.ok(plan.nCoarse >= 1 && plan.nCoarse <= 14);
  assert.equal(plan.starts[0], 0);
  assert.equal(plan.starts[plan.nCoarse], k);
  assert.deepEqual([...plan.fineIds].sort((a, b) => a - b), Array.from({ length: k }, (_, i) => i));
  for (let c = 0; c < plan.nCoarse; c++) assert.ok(plan.starts[c + 1]! > plan.starts[c]!, `cell ${c} is empty`);
  for (let r = 0; r < k; r++) assert.deepEqual(plan.fine.subarray(r * dim, (r + 1) * dim), centroids.subarray(plan.fineIds[r]! * dim, (plan.fineIds[r]! + 1) * dim));
});

for (const [name, kernels] of kernelSets) {
  test(`${name}: with probe = C the codes and scores are brute force's, at sizes around the panel width`, async () => {
    const dim = 24;
    const k = 300;
    const { vectors, centroids } = await clustered(1061, k, dim, 7);
    const plan = await buildTwoLevelPlan(centroids, k, dim, 17, 1_000, { seed: 2, kernels });
    assert.equal(plan.probe, plan.nCoarse);
    for (const n of [1, 31, 32, 33, 1061]) {
      const want = new Int32Array(n);
      const wantS = new Float32Array(n);
      kernels.assignNearest(vectors, n, centroids, k, dim, want, wantS);
      const got = new Int32Array(n);
      const gotS = new Float32Array(n);
      assignTwoLevel(plan, kernels, vectors, n, got, gotS);
      assert.deepEqual(got, want, `n = ${n}`);
      assert.deepEqual(gotS, wantS, `n = ${n}`);
    }
  });

  test(`${name}: at any probe the codes equal the plain-loop oracle`, async () => {
    const dim = 20;
    const k = 256;
    const n = 700;
    const { vectors, centroids } = await clustered(n, k, dim, 9);
    for (const probe of [1, 2, 5]) {
      const plan = await buildTwoLevelPlan(centroids, k, dim, 16, probe, { seed: 3, kernels });
      const got = new Int32Array(n);
      assignTwoLevel(plan, kernels, vectors, n, got);
      assert.deepEqual(got, oracle(plan, centroids, vectors, n), `probe ${probe}`);
    }
  });
}

test('a tie between cells goes to the lower centroid id, as in brute force; a NaN vector gets code 0', async () => {
  // Centroid 0 = (0, 1), centroid 1 = (1, 0): the vector (1, 1)/√2 scores exactly the same on both.
  const centroids = Float32Array.of(0, 1, 1, 0, -1, 0, 0, -1);
  const plan = await buildTwoLevelPlan(centroids, 4, 2, 4, 4, { seed: 1, kernels: getKernels(), iters: 0 });
  const v = Float32Array.of(Math.SQRT1_2, Math.SQRT1_2, NaN, NaN);
  const brute = new Int32Array(2);
  getKernels().assignNearest(v, 2, centroids, 4, 2, brute);
  const got = new Int32Array(2).fill(-1);
  assignTwoLevel(plan, getKernels(), v, 2, got);
  assert.deepEqual([...got], [0, 0]);
  assert.deepEqual(got, brute);
});

test('at the default probe, >= 99% of clustered vectors keep brute force\'s centroid, and the worker threads give the single-thread codes', async () => {
  const dim = 64;
  const k = 1024;
  const n = 6000;
  const { vectors, centroids } = await clustered(n, k, dim, 13);
  const kernels = getKernels();
  const choice = chooseAssignment(resolveCentroidAssignment({ centroidAssignment: 'two-level' }), k);
  assert.equal(choice.method, 'two-level');
  if (choice.method !== 'two-level') return;
  assert.equal(choice.probe, TWO_LEVEL_ASSIGN_DEFAULTS.probe);
  const plan = await buildTwoLevelPlan(centroids, k, dim, choice.nCoarse, choice.probe, { seed: 4, kernels });
  const brute = new Int32Array(n);
  kernels.assignNearest(vectors, n, centroids, k, dim, brute);
  const single = new Int32Array(n);
  assignTwoLevel(plan, kernels, vectors, n, single);
  let same = 0;
  for (let i = 0; i < n; i++) if (single[i] === brute[i]) same++;
  assert.ok(same / n >= 0.99, `same centroid ${(same / n).toFixed(4)}`);
  assert.ok(same < n || plan.probe === plan.nCoarse, 'the approximation was exercised (some vector moved)');
  const assigner = new ParallelAssigner(kernels, 2);
  try {
    const parallel = new Int32Array(new SharedArrayBuffer(n * 4));
    await assigner.twoLevel(plan)(vectors, n, centroids, k, dim, parallel);
    assert.deepEqual(parallel, single);
    await assert.rejects(assigner.twoLevel(plan)(vectors, n, centroids, k - 1, dim, parallel));
  } finally {
    await assigner.close();
  }
});

test("'auto' doubles the probe until the measured agreement reaches the bar, and gives up past the largest probe", async () => {
  const measured: number[] = [];
  const table: Record<number, number> = { 16: 0.97, 32: 0.985, 64: 0.992, 128: 0.999 };
  const at = async (p: number): Promise<number> => {
    measured.push(p);
    return table[p]!;
  };
  assert.deepEqual(await settleProbe(16, 90, 0.989, at), { probe: 64, agreement: 0.992, accepted: true });
  assert.deepEqual(measured, [16, 32, 64]);
  measured.length = 0;
  assert.deepEqual(await settleProbe(16, 45, 0.989, at), { probe: 32, agreement: 0.985, accepted: false });
  assert.deepEqual(measured, [16, 32]);
  measured.length = 0;
  assert.deepEqual(await settleProbe(16, 90, 0.96, at), { probe: 16, agreement: 0.97, accepted: true });
  assert.deepEqual(measured, [16]);
});

test('invalid assignment options are INVALID_ARGUMENT, before any work', async () => {
  const bad: Partial<EmbeddingsBuildOptions>[] = [
    { centroidAssignment: 'fast' as never },
    { coarseProbe: 0 },
    { coarseProbe: 2.5 },
    { coarseCentroids: 0 },
    { coarseCentroids: Number.NaN },
  ];
  for (const o of bad) {
    let read = 0;
    const source = { nPassages: 3, dim: 8, vocabSize: 0, embed: async (): Promise<TokenEmbeddings[]> => { read++; return []; } };
    await assert.rejects(
      buildIndexFromEmbeddings(source, { index: join(tmpdir(), 'plait-never-built'), model: syntheticModel(8), modelSpec: { family: 'colbert-onnx', dir: '/nonexistent' }, ...o }),
      (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT',
      JSON.stringify(o),
    );
    assert.equal(read, 0);
  }
  assert.equal(chooseAssignment(resolveCentroidAssignment({ centroidAssignment: 'auto' }), TWO_LEVEL_ASSIGN_DEFAULTS.autoMinCentroids / 2).method, 'exact');
  assert.equal(chooseAssignment(resolveCentroidAssignment({ centroidAssignment: 'auto' }), TWO_LEVEL_ASSIGN_DEFAULTS.autoMinCentroids).method, 'two-level');
});

describeEndToEnd();

function describeEndToEnd(): void {
  const DIM = 32;
  let dir: string;
  let passages: TokenEmbeddings[];
  let queries: TokenEmbeddings[];
  const build = async (name: string, o: Partial<EmbeddingsBuildOptions>): Promise<string> => {
    const path = join(dir, name);
    await buildIndexFromEmbeddings(sourceOf(passages, DIM), { index: path, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/nonexistent' }, docId: (pid) => `d${pid}`, ...o });
    return path;
  };
  const file = (path: string, f: string): Buffer => readFileSync(join(path, f));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plait-two-level-'));
    const data = syntheticPassages(600, DIM, 31, 256, 0.2);
    passages = data.passages;
    queries = Array.from({ length: 20 }, () => data.gen.passage(32));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("end to end: 'auto' keeps two-level when the held-out vectors agree enough, and falls back to exact after doubling the probe when they do not", async () => {
    const run = async (minAgreement: number): Promise<{ record: unknown; codes: Buffer }> => {
      const d = mkdtempSync(join(dir, 'auto-'));
      const c = await compressPassages(d, sourceOf(passages, DIM), {
        nbits: 2,
        seed: 12345,
        kernels: getKernels(),
        assignment: { ...resolveCentroidAssignment({ centroidAssignment: 'auto', coarseCentroids: 32, coarseProbe: 2 }), autoMinCentroids: 2, minAgreement },
        progress: () => {},
        checkAbort: () => {},
      });
      c.writer.finishArrays();
      return { record: c.centroidAssignment, codes: readFileSync(join(d, segmentFileName('codes', 0))) };
    };
    const kept = (await run(0.5)).record as { method: string; probe: number; agreement: number };
    assert.equal(kept.method, 'two-level', JSON.stringify(kept));
    assert.equal(kept.probe, 2);
    assert.ok(kept.agreement >= 0.5 && kept.agreement < 1, JSON.stringify(kept));
    // Unreachable bar: probes 2, 4, 8 (= 32/4) are tried, then exact, with the same codes as an exact build.
    const fell = await run(1.01);
    const rec = fell.record as { method: string; checked?: { probe: number; agreement: number } };
    assert.equal(rec.method, 'exact', JSON.stringify(rec));
    assert.ok(rec.checked !== undefined && rec.checked.probe === 8 && rec.checked.agreement > kept.agreement, JSON.stringify(rec));
    const exact = await build('exact-for-auto', { centroidAssignment: 'exact' });
    assert.deepEqual(fell.codes, file(exact, segmentFileName('codes', 0)));
  });

  test('end to end: a two-level build records its assignment, equals the exact build at probe = C, and PLAID matches exhaustive search on it', async () => {
    const exact = await build('exact', { centroidAssignment: 'exact' });
    const all = await build('all-cells', { centroidAssignment: 'two-level', coarseCentroids: 12, coarseProbe: 12 });
    const two = await build('two-level', { centroidAssignment: 'two-level', coarseCentroids: 32 });
    const me = readManifest(exact);
    const ma = readManifest(all);
    const m2 = readManifest(two);
    assert.equal(me.settings.centroidAssignment?.method, 'exact');
    const ra = ma.settings.centroidAssignment;
    assert.ok(ra?.method === 'two-level' && ra.agreement === 1, JSON.stringify(ra));
    const rec = m2.settings.centroidAssignment;
    assert.ok(rec !== undefined && rec.method === 'two-level' && rec.requested === 'two-level', JSON.stringify(rec));
    assert.ok(rec.nCoarse > 2 && rec.nCoarse <= 32 && rec.probe === TWO_LEVEL_ASSIGN_DEFAULTS.probe, JSON.stringify(rec));
    // Same k-means (assignment does not touch it), so probe = C gives byte-identical codes and residuals.
    assert.deepEqual(file(all, INDEX_FILES.centroids), file(exact, INDEX_FILES.centroids));
    assert.deepEqual(file(all, segmentFileName('codes', 0)), file(exact, segmentFileName('codes', 0)));
    assert.deepEqual(file(all, segmentFileName('residuals', 0)), file(exact, segmentFileName('residuals', 0)));
    // The default probe of 32 cells moves some tokens, but few.
    const ce = new Int32Array(file(exact, segmentFileName('codes', 0)).buffer.slice(0));
    const c2 = new Int32Array(file(two, segmentFileName('codes', 0)).buffer.slice(0));
    let same = 0;
    for (let i = 0; i < ce.length; i++) if (ce[i] === c2[i]) same++;
    assert.ok(same < ce.length && same / ce.length > 0.8, `same centroid ${same} / ${ce.length}`);
    // The agreement the build measured on its held-out vectors predicts the whole index's.
    assert.ok(rec.agreement !== undefined && Math.abs(rec.agreement - same / ce.length) < 0.05, `held-out agreement ${rec.agreement}, index ${same / ce.length}`);

    // PLAID's fidelity to exhaustive search on the two-level index is that of the exact index.
    const fidelity = async (path: string): Promise<number> => {
      const idx = await openIndex(path);
      try {
        const texts = queries.map(() => '');
        // ColBERT's k ≤ 100 settings (ncells 2, threshold 0.45, ndocs 1,024): the k ≤ 10 ones miss
        // 13% on the exact index of this small synthetic corpus.
        const plaid = await idx.searchEncodedBatch(texts, queries, { mode: 'late', topK: 10, nIvfProbe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 });
        const full = await idx.searchEncodedBatch(texts, queries, { mode: 'late', topK: 10, exhaustive: true });
        let found = 0;
        for (let q = 0; q < queries.length; q++) {
          const want = new Set(full[q]!.hits.map((h) => h.docId));
          assert.equal(full[q]!.hits.length, 10);
          found += plaid[q]!.hits.filter((h) => want.has(h.docId)).length;
        }
        return found / (10 * queries.length);
      } finally {
        await idx.close();
      }
    };
    const fe = await fidelity(exact);
    const f2 = await fidelity(two);
    assert.ok(f2 >= 0.95 && f2 >= fe - 0.02, `PLAID top-10 fidelity: two-level ${f2}, exact ${fe}`);
  });
}

test('CLI: plait index --centroid-assignment two-level --coarse-probe 2 builds two-level and plait info says so; a bad mode or probe is refused before any work', () => {
  const bin = fileURLToPath(new URL('../../bin/plait.js', import.meta.url));
  const sample = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'plait-two-level-cli-'));
  const plait = (...args: string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  try {
    const built = plait('index', sample, '--index', join(dir, 'two'), '--threads', '1', '--quiet', '--centroid-assignment', 'two-level', '--coarse-probe', '2');
    assert.equal(built.code, 0, built.stderr);
    const manifest = readManifest(join(dir, 'two'));
    const rec = manifest.settings.centroidAssignment;
    assert.ok(rec?.method === 'two-level' && rec.probe === 2 && rec.nCoarse === Math.round(Math.sqrt(manifest.counts.centroids)), JSON.stringify(rec));
    assert.match(plait('info', join(dir, 'two')).stdout, /tokens assigned two-level \(\d+ coarse cells, probe 2, \d+\.\d% agreement\)/);
    const badMode = plait('index', sample, '--index', join(dir, 'bad'), '--centroid-assignment', 'fast');
    assert.notEqual(badMode.code, 0);
    assert.match(badMode.stderr, /centroid-assignment/);
    const badProbe = plait('index', sample, '--index', join(dir, 'bad'), '--coarse-probe', '0');
    assert.notEqual(badProbe.code, 0);
    assert.match(badProbe.stderr, /--coarse-probe/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
