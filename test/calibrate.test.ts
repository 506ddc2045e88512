/**
 * Calibration of PLAID settings: the grid replay returns exactly what plaidSearch returns; the
 * choice is the cheapest point reaching the target on every kind of query; a calibrated synthetic
 * index reaches the target on held-out queries where ColBERT's defaults do not; search uses the
 * stored settings unless the caller overrides them; the budget is honoured by counting work.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { getKernels } from '../src/kernels/index.js';
import { plaidSearch, probeAndMask, type EncodedQuery } from '../src/search/plaid.js';
import { CALIBRATION_DEFAULTS, PLAID_LIMITS, effectiveNdocs, plaidDefaultsFor, type PlaidParams } from '../src/config/defaults.js';
import { PlaidReplayer } from '../src/calibrate/plaid-replay.js';
import { chooseSettings, FidelityTally } from '../src/calibrate/choose-settings.js';
import { calibrateIndex } from '../src/calibrate/calibrate-index.js';
import { calibrationLines } from '../src/cli/commands/calibrate-command.js';
import { drawPseudoQueries, isContentWord, queryLogSample } from '../src/calibrate/pseudo-queries.js';
import { calibratedPlaidParams, type IndexCalibration } from '../src/format/calibration-record.js';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';
import { isPlaitError } from '../src/errors/index.js';
import type { Encoder, TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticModel, syntheticPassages } from '../fixtures/synthetic-index.js';
import { Random } from '../src/util/random.js';

const DIM = 32;
let dir: string;
let passages: TokenEmbeddings[];
let encoder: Encoder;

/**
 * A query-side encoder for the synthetic index: "p<pid> n<tokens> s<seed>" encodes as `tokens`
 * noisy copies of passage pid's token vectors — a query about that passage, short or long.
 */
function syntheticEncoder(): Encoder {
  const encodeOne = (text: string): TokenEmbeddings => {
    const m = /^p(\d+) n(\d+) s(\d+)$/.exec(text);
    if (m === null) throw new Error(`not a synthetic query: ${text}`);
    const target = passages[Number(m[1])]!;
    const n = Number(m[2]);
    const rng = new Random(Number(m[3]));
    const v = new Float32Array(n * DIM);
    for (let i = 0; i < n; i++) {
      const j = rng.int(target.length);
      let norm = 0;
      for (let k = 0; k < DIM; k++) {
        const x = target.vectors[j * DIM + k]! + 0.35 * rng.normal();
        v[i * DIM + k] = x;
        norm += x * x;
      }
      for (let k = 0; k < DIM; k++) v[i * DIM + k]! /= Math.sqrt(norm);
    }
    return { vectors: v, length: n, tokenIds: new Int32Array(n) };
  };
  return {
    info: syntheticModel(DIM),
    spec: { family: 'colbert-onnx', dir: '/nonexistent' },
    encodeQueries: async (texts) => texts.map(encodeOne),
    encodeDocuments: async () => {
      throw new Error('documents are not encoded here');
    },
    tokenize: () => ({ ids: new Int32Array(0), offsets: new Int32Array(0) }),
    rows: () => [],
    tokenText: (id) => String(id),
    close: async () => {},
  };
}

/** Query texts about random passages, a third of them 2–3 tokens long (the hard, short kind). */
function queryTexts(n: number, seed: number): string[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, (_, i) => `p${rng.int(passages.length)} n${i % 3 === 0 ? 2 + rng.int(2) : 4 + rng.int(12)} s${seed * 1000 + i}`);
}

async function openSynthetic(path: string): Promise<PlaitIndex> {
  return openIndex(path, { encoder });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-calibrate-'));
  const data = syntheticPassages(1500, DIM, 7, 1024, 0.15);
  passages = data.passages;
  encoder = syntheticEncoder();
  await buildSynthetic(join(dir, 'idx'), passages, DIM);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function encoded(index: PlaitIndex, texts: string[]): Promise<EncodedQuery[]> {
  const e = await (await index.encoder()).encodeQueries(texts);
  return e.map((x) => ({ vectors: x.vectors, length: x.length, weights: null }));
}

test('the grid replay returns exactly the passages plaidSearch returns, at every grid point', async () => {
  const index = await openSynthetic(join(dir, 'idx'));
  try {
    const kernels = getKernels();
    const grid = {
      nIvfProbe: [1, 2, 8],
      centroidScoreThreshold: [0.6, 0.45, -1],
      ndocs: [16, 64, 256],
      centroidScoreMargin: [null, 0.05],
      nIvfProbeTotal: [null, 16],
      ndocsQueryTokens: [null, 32],
      interactionScoring: [null, 'probed-tokens'] as const,
    };
    const replayer = new PlaidReplayer({ arrays: index.scoringArrays, kernels, pidToDoc: index.docstore.pidToDoc, docSpan: 1500, grid, bucketK: [10, 100] });
    const mark = new Uint8Array(1500);
    let compared = 0;
    for (const q of await encoded(index, queryTexts(6, 3))) {
      replayer.replay(q, (point, survivors, exact) => {
        const real = plaidSearch(index.scoringArrays, q, replayer.points[point]!, kernels, mark).hits;
        const got = [...survivors].map((pid, i) => [pid, exact[i]!] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        const want = [...real.pids].map((pid, i) => [pid, real.scores[i]!] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        assert.deepEqual(got, want, `point ${JSON.stringify(replayer.points[point])}`);
        compared++;
      });
    }
    assert.equal(compared, 6 * 6 * 12 * 6);
  } finally {
    await index.close();
  }
});

test('query-length-aware depth: ndocs × ndocsQueryTokens / qLen for shorter queries, by hand; search validates it', async () => {
  assert.equal(effectiveNdocs(256, 4, 32), 2048);
  assert.equal(effectiveNdocs(256, 5, 32), 1639); // ceil(1638.4)
  assert.equal(effectiveNdocs(256, 32, 32), 256);
  assert.equal(effectiveNdocs(256, 40, 32), 256);
  assert.equal(effectiveNdocs(256, 4, undefined), 256);
  assert.equal(effectiveNdocs(256, 0, 32), 256);
  const index = await openSynthetic(join(dir, 'idx'));
  try {
    const [short] = await encoded(index, ['p7 n2 s99']);
    const kernels = getKernels();
    const mark = new Uint8Array(1500);
    const params = { nIvfProbe: 8, centroidScoreThreshold: -1, ndocs: 64 };
    // Stage 3 keeps ndocs/4 passages: 16 at ColBERT's fixed depth, 16·16 = 256 with the rule at qLen 2.
    assert.equal(plaidSearch(index.scoringArrays, short!, params, kernels, mark).hits.pids.length, 16);
    assert.equal(plaidSearch(index.scoringArrays, short!, { ...params, ndocsQueryTokens: 32 }, kernels, mark).hits.pids.length, 256);
    await assert.rejects(index.search('p7 n2 s99', { ndocsQueryTokens: 0 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /ndocsQueryTokens/.test((e as Error).message));
  } finally {
    await index.close();
  }
});

test('choice: the cheapest point reaching the target on every kind, hand-made', () => {
  const points: PlaidParams[] = [
    { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 256 }, // cheap, 0.90
    { nIvfProbe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 }, // pooled 0.99 but keywords 0.96
    { nIvfProbe: 4, centroidScoreThreshold: 0.4, ndocs: 1024 }, // 0.99 on both kinds, cost 5
    { nIvfProbe: 8, centroidScoreThreshold: 0.3, ndocs: 4096 }, // 1.0, cost 9
  ];
  const tally = new FidelityTally(points.length, 1);
  const est = Float64Array.from([1, 3, 5, 9]);
  // 100 keyword slots and 900 span slots.
  tally.add('keyword', Int32Array.from([90, 96, 99, 100]), Int32Array.from([100]), est);
  tally.add('span', Int32Array.from([810, 894, 891, 900]), Int32Array.from([900]), est);
  const [c] = chooseSettings(points, tally, 0.99);
  assert.equal(c!.point, 2);
  assert.deepEqual(c!.params, points[2]);
  assert.ok(c!.reached);
  assert.equal(c!.fidelity, (99 + 891) / 1000);
  assert.deepEqual(c!.fidelityByKind, { keyword: 0.99, span: 0.99 });
  assert.equal(c!.estMs, 5); // mean over the 2 queries added
  // A higher target only the widest point reaches; an unreachable one takes the most faithful, flagged.
  assert.equal(chooseSettings(points, tally, 0.995)[0]!.point, 3);
  const none = new FidelityTally(2, 1);
  none.add('keyword', Int32Array.from([80, 95]), Int32Array.from([100]), Float64Array.from([1, 2]));
  const [n] = chooseSettings(points.slice(0, 2), none, 0.99);
  assert.equal(n!.point, 1);
  assert.equal(n!.reached, false);
  // Too few queries of a kind: the choice stands but is not trusted.
  assert.equal(chooseSettings(points, tally, 0.99, 5)[0]!.reached, false);
  // Points outside the grid (measured only, as ColBERT's defaults are) are never chosen.
  assert.equal(chooseSettings(points, tally, 0.99, 0, [true, true, false, true])[0]!.point, 3);
  assert.equal(chooseSettings(points.slice(0, 2), none, 0.99, 0, [true, false])[0]!.point, 0);
});

test('calibrated settings by k bucket; ColBERT defaults without a record', () => {
  assert.equal(calibratedPlaidParams(undefined, 10), null);
  const bucket = (maxTopK: number | null, params: PlaidParams) => ({ maxTopK, k: maxTopK ?? 1000, params, fidelity: 1, fidelityByKind: {}, p50Ms: 1, reached: true, defaults: { params, fidelity: 1, fidelityByKind: {}, p50Ms: 1 } });
  const cal = {
    buckets: [bucket(10, { nIvfProbe: 3, centroidScoreThreshold: 0.3, ndocs: 512 }), bucket(100, { nIvfProbe: 5, centroidScoreThreshold: 0.2, ndocs: 2048 }), bucket(null, { nIvfProbe: 9, centroidScoreThreshold: -1, ndocs: 4096 })],
  } as unknown as IndexCalibration;
  assert.deepEqual(calibratedPlaidParams(cal, 1), { nIvfProbe: 3, centroidScoreThreshold: 0.3, ndocs: 512 });
  assert.deepEqual(calibratedPlaidParams(cal, 11), { nIvfProbe: 5, centroidScoreThreshold: 0.2, ndocs: 2048 });
  assert.deepEqual(calibratedPlaidParams(cal, 500), { nIvfProbe: 9, centroidScoreThreshold: -1, ndocs: 4096 });
  // ColBERT's rule for large k: ndocs at least 4·k.
  assert.equal(calibratedPlaidParams(cal, 2000)!.ndocs, 8000);
});

/** Share of the exhaustive top-10 that search at the index's current settings finds. */
async function fidelity(index: PlaitIndex, texts: string[], options: { nIvfProbe?: number; centroidScoreThreshold?: number; ndocs?: number } = {}): Promise<number> {
  const emb = await (await index.encoder()).encodeQueries(texts);
  let found = 0;
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const exact = index.searchEncoded(texts[i]!, emb[i]!, { mode: 'late', topK: 10, exhaustive: true }).hits.map((h) => h.docId);
    const got = new Set(index.searchEncoded(texts[i]!, emb[i]!, { mode: 'late', topK: 10, ...options }).hits.map((h) => h.docId));
    for (const d of exact) {
      total++;
      if (got.has(d)) found++;
    }
  }
  return found / total;
}

test('calibration reaches the target on held-out queries where the defaults do not; search uses it unless overridden', async () => {
  const path = join(dir, 'idx');
  const heldOut = queryTexts(60, 99);
  const index = await openSynthetic(path);
  try {
    const defaults = plaidDefaultsFor(10);
    const before = await fidelity(index, heldOut);
    assert.deepEqual(index.resolveSearch({ topK: 10 }).plaid, defaults);
    // A coarser grid than the default keeps the test short; ColBERT's defaults are added to it.
    const grid = { centroidScoreThreshold: [0.5, 0.3, -1], ndocs: [256, 1024, 4096, 16_384] };
    // headroom 0: this synthetic index tops out near 0.994 on the coarse grid, and the test is about the target itself.
    // No cost ceiling: this test is about reaching the target (the ceiling has its own test below).
    const { calibration } = await calibrateIndex(index, { queries: queryTexts(120, 1), target: 0.99, headroom: 0, budgetS: 600, grid, maxCostRatio: Infinity });
    assert.equal(calibration.source, 'query-log');
    assert.equal(calibration.queries, 120);
    assert.equal(calibration.truncated, false);
    const b10 = calibration.buckets[0]!;
    assert.ok(b10.reached, JSON.stringify(b10));
    assert.equal(calibration.required, 0.99);
    assert.ok(b10.fidelity >= 0.99 && b10.defaults.fidelity < 0.99, JSON.stringify(b10));
    assert.ok(b10.p50Ms > 0 && b10.defaults.p50Ms > 0);
    // The open index uses the new settings at once, and the manifest on disk holds them.
    assert.deepEqual(index.resolveSearch({ topK: 10 }).plaid, b10.params);
    const onDisk = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { calibration: IndexCalibration };
    assert.deepEqual(onDisk.calibration.buckets[0]!.params, b10.params);
    const after = await fidelity(index, heldOut);
    assert.ok(before < 0.99, `defaults on held-out queries: ${before}`);
    assert.ok(after >= 0.99, `calibrated on held-out queries: ${after} (defaults ${before})`);
    // A caller's settings win, field by field.
    const r = index.resolveSearch({ topK: 10, nIvfProbe: 1 }).plaid;
    assert.deepEqual(r, { ...b10.params, nIvfProbe: 1 });
    assert.equal(index.resolveSearch({ topK: 10, centroidScoreMargin: 0.1 }).plaid.centroidScoreMargin, 0.1);
    assert.throws(() => index.resolveSearch({ centroidScoreMargin: -1 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  } finally {
    await index.close();
  }
  // A fresh open reads the record from the manifest.
  const again = await openSynthetic(path);
  try {
    assert.deepEqual(again.resolveSearch({ topK: 50 }).plaid, again.manifest.calibration!.buckets[1]!.params);
  } finally {
    await again.close();
  }
});

test('the budget is honoured by counting work: the clock is read once per unit of work', async () => {
  const index = await openSynthetic(join(dir, 'idx'));
  try {
    const stored = JSON.stringify(index.manifest.calibration);
    const onDisk = readFileSync(join(dir, 'idx', 'manifest.json'), 'utf8');
    let ticks = 0;
    // 1 ms per read, 10 ms budget: 80% (8 ms) for the replay → 7 queries; timing stops at 10 ms.
    const r = await calibrateIndex(index, { queries: queryTexts(50, 5), budgetS: 0.01, clock: () => ticks++, write: false });
    assert.equal(r.work.replayed, 7);
    assert.equal(r.calibration.queries, 7);
    assert.equal(r.calibration.truncated, true);
    // Timing: queries 0–2 always, 3 while under budget (read 9), stop at read 10; 6 settings each.
    assert.equal(r.work.timed, 4 * 6);
    assert.ok(r.calibration.buckets.every((b) => !b.reached), 'too few queries to trust');
    assert.equal(JSON.stringify(index.manifest.calibration), stored, 'write: false leaves the manifest alone');
    assert.equal(readFileSync(join(dir, 'idx', 'manifest.json'), 'utf8'), onDisk);
    await assert.rejects(calibrateIndex(index, { queries: ['p1 n2 s1'], budgetS: 0.001, clock: () => ticks++ }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(calibrateIndex(index, { target: 1.5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(calibrateIndex(index, { headroom: 1 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /headroom/.test((e as Error).message));
    // By default the choice needs target + 0.8 of the miss budget on every kind: 0.998 for 0.99.
    const withHeadroom = await calibrateIndex(index, { queries: queryTexts(8, 6), budgetS: 600, write: false });
    assert.ok(Math.abs(withHeadroom.calibration.required! - 0.998) < 1e-12, String(withHeadroom.calibration.required));
    assert.ok(withHeadroom.calibration.buckets.every((b) => b.fidelity >= 0.998 || !b.reached), JSON.stringify(withHeadroom.calibration.buckets));
  } finally {
    await index.close();
  }
});

test('cost ceiling: the choice stays under maxCostRatio × the defaults and under maxLatencyMs; the record says so', async () => {
  const index = await openSynthetic(join(dir, 'idx'));
  try {
    const queries = queryTexts(30, 3);
    const grid = { centroidScoreThreshold: [0.5, 0.3, -1], ndocs: [256, 1024, 4096, 16_384] };
    const tight = (await calibrateIndex(index, { queries, headroom: 0, budgetS: 600, grid, maxCostRatio: 1.2, write: false })).calibration;
    assert.deepEqual(tight.costCeiling, { maxCostRatio: 1.2, maxLatencyMs: null });
    for (const b of tight.buckets) {
      assert.ok(b.estMs! > 0 && b.defaults.estMs! > 0, JSON.stringify(b));
      assert.ok(b.estMs! <= 1.2 * b.defaults.estMs!, `${b.estMs} vs defaults ${b.defaults.estMs}`);
    }
    const free = (await calibrateIndex(index, { queries, headroom: 0, budgetS: 600, grid, maxCostRatio: Infinity, write: false })).calibration;
    assert.deepEqual(free.costCeiling, { maxCostRatio: null, maxLatencyMs: null });
    assert.ok(free.buckets.every((b) => b.capped === false));
    // A latency ceiling below any grid point's cost leaves only the defaults, which always qualify.
    const floor = (await calibrateIndex(index, { queries, headroom: 0, budgetS: 600, grid, maxLatencyMs: 1e-9, write: false })).calibration;
    assert.deepEqual(floor.costCeiling, { maxCostRatio: CALIBRATION_DEFAULTS.maxCostRatio, maxLatencyMs: 1e-9 });
    assert.deepEqual(floor.buckets.map((b) => b.params), floor.buckets.map((b) => b.defaults.params));
    // The ceiling changed a choice and says so: where the defaults miss the required fidelity and a
    // grid point reaches it (fidelity is counted, not timed, so it is the same in every run), the
    // choice without a ceiling is that point, so the floor's choice (the defaults) is marked capped.
    // (Comparing the free and the tight runs' costs instead failed in CI: each run times the points
    // anew, and which faithful point is cheapest moved between the two runs.)
    const required = floor.required!;
    const missing = free.buckets.map((b) => b.reached && b.defaults.fidelity < required);
    assert.ok(missing.some(Boolean), `the synthetic index should make ColBERT's defaults miss in some bucket: ${JSON.stringify(free.buckets.map((b) => [b.fidelity, b.defaults.fidelity]))}`);
    floor.buckets.forEach((b, i) => {
      if (missing[i]) assert.equal(b.capped, true, JSON.stringify(b));
    });
    await assert.rejects(calibrateIndex(index, { maxCostRatio: 0 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /maxCostRatio/.test((e as Error).message));
    await assert.rejects(calibrateIndex(index, { maxLatencyMs: -5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /maxLatencyMs/.test((e as Error).message));
  } finally {
    await index.close();
  }
});

test('calibration lines say what the choice costs against the defaults, the ceiling, and a measured p50 past it', () => {
  const params = { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 1024 };
  const bucket = (capped: boolean, p50Ms: number) => ({
    maxTopK: 10,
    k: 10,
    params,
    fidelity: 1,
    fidelityByKind: { keyword: 1 },
    p50Ms,
    estMs: 20,
    reached: true,
    capped,
    defaults: { params: plaidDefaultsFor(10), fidelity: 0.9, fidelityByKind: { keyword: 0.9 }, p50Ms: 10, estMs: 10 },
  });
  const record = (b: ReturnType<typeof bucket>): IndexCalibration => ({
    createdAt: 'now',
    target: 0.99,
    source: 'corpus',
    queries: 40,
    queriesByKind: { keyword: 40 },
    gridPoints: 10,
    costMs: 1000,
    budgetMs: 300_000,
    truncated: false,
    documents: 5,
    passages: 5,
    costCeiling: { maxCostRatio: 3, maxLatencyMs: null },
    buckets: [b],
  });
  const within = calibrationLines(record(bucket(false, 25))).join('\n');
  assert.match(within, /chosen costs 2\.0× the defaults \(est\. 20\.0 vs 10\.0 ms\)/);
  assert.doesNotMatch(within, /capped|above the ceiling/);
  assert.match(within, /cost ceiling: 3× the defaults' estimated cost\n/);
  const over = calibrationLines(record(bucket(true, 60))).join('\n');
  assert.match(over, /capped by the cost ceiling \(measured p50 6\.0×, above the ceiling/);
  assert.match(over, /it ruled out costlier settings/);
});

test('pseudo-queries: keyword (2–4 content words), title and span kinds, interleaved and reproducible', () => {
  const path = join(dir, 'docs.sqlite');
  const w = new DocStoreWriter(path);
  const text =
    'The centroid pruning stage drops candidates whose best score is low. Short keyword queries probe few cells of the inverted file. ' +
    'Calibration measures the share of the exhaustive top ten that survives every stage of the engine on this very corpus.';
  for (let i = 0; i < 30; i++) {
    const rowid = w.addDocument({ docId: `d${i}`, title: i % 2 === 0 ? `Late interaction retrieval study ${i}` : '', text });
    w.addPassage(rowid, 0, text.length);
  }
  w.close();
  const store = DocStoreReader.open(path);
  try {
    const qs = drawPseudoQueries(store, { count: 30, seed: 4 });
    assert.equal(qs.length, 30);
    assert.deepEqual(qs.slice(0, 10).map((q) => q.kind), ['keyword', 'scattered', 'head', 'title', 'span', 'keyword', 'scattered', 'head', 'title', 'span']);
    const contentWords = text.split(/[\s.]+/).filter(isContentWord);
    for (const q of qs) {
      const words = q.text.split(/\s+/);
      if (q.kind === 'keyword' || q.kind === 'scattered' || q.kind === 'head') {
        assert.ok(words.length >= 2 && words.length <= 4, q.text);
        assert.ok(words.every(isContentWord), q.text);
        // Every kind keeps the document's word order; a head query is the first content words of a sentence.
        const at = words.map((w) => contentWords.indexOf(w));
        assert.ok(at.every((x) => x >= 0), q.text);
        if (q.kind === 'head') assert.ok(text.split(/(?<=\.)\s+/).some((sentence) => sentence.split(/[\s.]+/).filter(isContentWord).slice(0, words.length).join(' ') === q.text), q.text);
      } else if (q.kind === 'span') assert.ok(words.length >= 6 && words.length <= 20, q.text);
      else assert.match(q.text, /^Late interaction retrieval study \d+$/);
    }
    assert.deepEqual(drawPseudoQueries(store, { count: 30, seed: 4 }), qs);
    assert.notDeepEqual(drawPseudoQueries(store, { count: 30, seed: 5 }), qs);
  } finally {
    store.close();
  }
  // A corpus without titles: the title kind leaves the rotation, the count is still reached.
  const untitled = join(dir, 'untitled.sqlite');
  const u = new DocStoreWriter(untitled);
  for (let i = 0; i < 30; i++) u.addPassage(u.addDocument({ docId: `u${i}`, title: '', text }), 0, text.length);
  u.close();
  const us = DocStoreReader.open(untitled);
  try {
    const qs = drawPseudoQueries(us, { count: 40, seed: 4 });
    assert.equal(qs.length, 40);
    assert.deepEqual(new Set(qs.map((q) => q.kind)), new Set(['keyword', 'scattered', 'head', 'span']));
  } finally {
    us.close();
  }
  const log = queryLogSample(['a b', 'c d', 'a b', '  ', 'e f', 'g h'], { count: 3, seed: 1 });
  assert.equal(log.length, 3);
  assert.equal(new Set(log.map((q) => q.text)).size, 3);
  assert.ok(log.every((q) => q.kind === 'log' && ['a b', 'c d', 'e f', 'g h'].includes(q.text)));
});

test('relative pruning margin and query-level probe minimum, hand-computed', () => {
  // K = 4 centroids × 2 query tokens (row c = centroid c). Token 0 scores high, token 1 low everywhere.
  // Binary fractions, so that the float32 comparisons are exact.
  const s = Float32Array.from([
    0.875, 0.125, // c0: token 0's best
    0.125, 0.375, // c1: token 1's best (0.375 < threshold 0.5)
    0.125, 0.34375, // c2: 1/32 below token 1's best
    0.25, 0.25, // c3: 1/8 below token 1's best
  ]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5).keep], [1, 0, 0, 0]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5, 0).keep], [1, 1, 0, 0]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5, 0.0625).keep], [1, 1, 1, 0]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5, 0.125).keep], [1, 1, 1, 1]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.2, 0).keep], [1, 1, 1, 1]);
  // A query-level probe minimum widens each token's probe: 2 tokens, at least 4 → 2 per token.
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5).probed], [0, 1]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5, undefined, 4).probed], [0, 3, 1, 2]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 1, 0.5, undefined, 3).probed], [0, 3, 1, 2]);
  assert.deepEqual([...probeAndMask(s, 4, 2, 3, 0.5, undefined, 2).probed], [...probeAndMask(s, 4, 2, 3, 0.5).probed]);
  // Probes are unchanged by the margin.
  assert.deepEqual([...probeAndMask(s, 4, 2, 2, 0.5, 0.125).probed], [...probeAndMask(s, 4, 2, 2, 0.5).probed]);
});

// search-15: a grid value a search refuses had been stored as the chosen settings, and every later
// search of the index failed ("Expected a number >= 0 for centroidScoreMargin", an option its caller
// never gave); Infinity is stored as JSON null, which searches refuse too.
test('a grid value a search would refuse is refused before anything is stored, naming grid.<name>', async () => {
  const path = join(dir, 'grid-checked');
  cpSync(join(dir, 'idx'), path, { recursive: true });
  const index = await openSynthetic(path);
  try {
    const onDisk = readFileSync(join(path, 'manifest.json'), 'utf8');
    const bad: [string, Record<string, unknown[]>][] = [
      ['centroidScoreMargin', { centroidScoreMargin: [-1] }],
      ['centroidScoreMargin', { centroidScoreMargin: [Infinity] }],
      ['centroidScoreThreshold', { centroidScoreThreshold: [0.5, Infinity] }],
      ['nIvfProbe', { nIvfProbe: [PLAID_LIMITS.maxCount + 1] }],
      ['ndocs', { ndocs: [] }],
      ['nIvfProbeTotal', { nIvfProbeTotal: [0] }],
      ['ndocsQueryTokens', { ndocsQueryTokens: [1.5] }],
      ['interactionScoring', { interactionScoring: ['bogus'] }],
    ];
    for (const [name, grid] of bad) {
      await assert.rejects(
        calibrateIndex(index, { queries: queryTexts(6, 9), budgetS: 600, grid: grid as never }),
        (e) => isPlaitError(e, 'INVALID_ARGUMENT') && (e as Error).message.includes(`grid.${name}`),
        JSON.stringify(grid, (_, v: unknown) => (v === Infinity ? 'Infinity' : v)),
      );
    }
    assert.equal(readFileSync(join(path, 'manifest.json'), 'utf8'), onDisk, 'nothing stored');
    // A grid of values a search takes is stored, and searches run with it.
    await calibrateIndex(index, { queries: queryTexts(6, 9), budgetS: 600, grid: { centroidScoreMargin: [0, 0.1], ndocsQueryTokens: [null, 16] } });
    const reopened = await openSynthetic(path);
    try {
      assert.ok(reopened.manifest.calibration !== undefined);
      const [q] = await encoded(reopened, queryTexts(1, 10));
      assert.ok((await reopened.searchEncoded('', { ...q!, tokenIds: new Int32Array(q!.length) }, { mode: 'late' })).hits.length > 0);
    } finally {
      await reopened.close();
    }
  } finally {
    await index.close();
  }
});

test('a sample seed outside [0, 2^32 - 1] or not an integer is refused (it had drawn another seed\'s sample)', async () => {
  const index = await openSynthetic(join(dir, 'idx'));
  try {
    for (const seed of [NaN, 1.5, -1, 2 ** 32, 'x']) {
      const seedRefused = (e: unknown): boolean => isPlaitError(e, 'INVALID_ARGUMENT') && /\bseed\b/.test((e as Error).message);
      await assert.rejects(calibrateIndex(index, { seed: seed as number, write: false }), seedRefused, String(seed));
      assert.throws(() => queryLogSample(['a', 'b'], { seed: seed as number }), seedRefused, String(seed));
      assert.throws(() => drawPseudoQueries(index.docstore, { seed: seed as number }), seedRefused, String(seed));
    }
    assert.equal(queryLogSample(['a', 'b', 'c'], { count: 2, seed: CALIBRATION_DEFAULTS.maxSeed }).length, 2);
  } finally {
    await index.close();
  }
});
