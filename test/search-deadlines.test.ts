/**
 * Deadlines, aborts and close() on every search path (issue 8, items 14, 17, 27). Behaviour only:
 * a kernel wrapper counts the passages and queries actually scored and, where a test needs the
 * work to outlast a deadline, spins for a fixed time per call so that "the deadline is shorter
 * than the work" holds on any machine. No assertion reads a clock.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { getKernels, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { SEARCH_DEFAULTS } from '../src/config/defaults.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic } from '../fixtures/synthetic-index.js';
import { SearchPool } from '../src/search/search-pool.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';

const DIM = 16;
/** More passages than two deadline-check chunks, so that stopping early is visible. */
const N_PASSAGES = 3 * SEARCH_DEFAULTS.deadlineCheckEvery + 100;
let dir: string;
let path: string;
let queries: TokenEmbeddings[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-deadline-'));
  path = join(dir, 'idx');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.3, seed: 9 });
  const passages = Array.from({ length: N_PASSAGES }, () => gen.passage(gen.length(2, 4)));
  queries = Array.from({ length: 200 }, () => gen.passage(8));
  await buildSynthetic(path, passages, DIM);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** The real kernels, counting passages given to exact scoring (decompressed or on the codes) and query×centroid products, spinning `slowMs` per exact-scoring call and matmul, and each matmul until `matmulsSpinUntil`'s time (performance.now()). */
function counting(slowMs = 0): { kernels: Kernels; scored: () => number; matmuls: () => number; onExact: (f: () => void) => void; matmulsSpinUntil: (t: number) => void } {
  const base = getKernels();
  let scored = 0;
  let matmuls = 0;
  let matmulSpinEnd = 0;
  let hook: (() => void) | null = null;
  const kernels: Kernels = {
    ...base,
    maxsimCompressed: (...args: Parameters<Kernels['maxsimCompressed']>) => {
      scored += args[7];
      hook?.();
      spin(slowMs);
      return base.maxsimCompressed(...args);
    },
    // The exact stage on the codes (EXACT_SCORING_DEFAULTS.method 'fastscan'; 'codes') counts the same.
    maxsimFastScan: (...args: Parameters<Kernels['maxsimFastScan']>) => {
      scored += args[11];
      hook?.();
      spin(slowMs);
      return base.maxsimFastScan(...args);
    },
    maxsimCodes: (...args: Parameters<Kernels['maxsimCodes']>) => {
      scored += args[10];
      hook?.();
      spin(slowMs);
      return base.maxsimCodes(...args);
    },
    matmulTransB: (...args: Parameters<Kernels['matmulTransB']>) => {
      matmuls++;
      spin(slowMs);
      while (performance.now() < matmulSpinEnd);
      return base.matmulTransB(...args);
    },
  };
  return { kernels, scored: () => scored, matmuls: () => matmuls, onExact: (f) => (hook = f), matmulsSpinUntil: (t) => (matmulSpinEnd = t) };
}

test('exhaustive search on the calling thread stops at its deadline', async () => {
  const control = counting();
  const idx = await openIndex(path, { kernels: control.kernels });
  const full = await idx.searchEncodedBatch([''], [queries[0]!], { mode: 'late', exhaustive: true });
  assert.equal(full[0]!.hits.length, 10);
  assert.equal(control.scored(), N_PASSAGES);
  await idx.close();

  const slow = counting(20);
  const timed = await openIndex(path, { kernels: slow.kernels });
  await assert.rejects(timed.searchEncodedBatch([''], [queries[0]!], { mode: 'late', exhaustive: true, timeoutMs: 5 }), (e) => isPlaitError(e, 'TIMEOUT'));
  // At most one chunk ran past the deadline; the scan stopped there.
  assert.ok(slow.scored() <= SEARCH_DEFAULTS.deadlineCheckEvery, `${slow.scored()} passages scored`);
  await timed.close();
});

test('searchEncoded honours timeoutMs inside PLAID', async () => {
  // One search first, at full speed, does the index's lazy first-use work (norm caches, the first
  // page faults). Then the timed search has 1 s before its deadline for what precedes stage 1 (about
  // a millisecond of work), and stage 1's first matmul spins until 2 s after the call began, so
  // that stage 1 always outlasts the deadline: the synchronous call reads its clock within 1 s of
  // ours. (With 20 ms matmuls against a 5 ms deadline, a loaded CI machine once spent the 5 ms
  // before the first matmul: "0 matmuls"; 150 ms against 60 ms still left a loaded machine's
  // scheduler a 60 ms window.)
  const slow = counting(0);
  const idx = await openIndex(path, { kernels: slow.kernels });
  assert.equal(idx.searchEncoded('', queries[1]!, { mode: 'late' }).hits.length, 10);
  const warm = { matmuls: slow.matmuls(), scored: slow.scored() };
  const timeoutMs = 1000;
  slow.matmulsSpinUntil(performance.now() + 2 * timeoutMs);
  assert.throws(() => idx.searchEncoded('', queries[0]!, { mode: 'late', timeoutMs }), (e) => isPlaitError(e, 'TIMEOUT'));
  // Stopped after stage 1, before any exact scoring. Stage 1 makes one float32 matmul (the centroid
  // scores), or with int8 centroid scores (the default) one per query token for the shortlist's
  // float32 re-ranking (plaid.ts probeRescoreFor).
  const matmuls = slow.matmuls() - warm.matmuls;
  assert.ok(matmuls >= 1 && matmuls <= queries[0]!.length, `${matmuls} matmuls for ${queries[0]!.length} query tokens`);
  assert.equal(slow.scored(), warm.scored);
  const ok = idx.searchEncoded('', queries[0]!, { mode: 'late' });
  assert.equal(ok.hits.length, 10);
  await idx.close();
});

test('a batch on the calling thread stops at its deadline, not after every query', async () => {
  const slow = counting(2);
  const idx = await openIndex(path, { kernels: slow.kernels });
  await assert.rejects(idx.searchEncodedBatch(queries.map(() => ''), queries, { mode: 'late', timeoutMs: 5 }), (e) => isPlaitError(e, 'TIMEOUT'));
  assert.ok(slow.matmuls() < queries.length, `${slow.matmuls()} of ${queries.length} queries ran`);
  await idx.close();
});

test('an AbortSignal fires between the queries of a batch on the calling thread', async () => {
  const slow = counting(1);
  const idx = await openIndex(path, { kernels: slow.kernels });
  const ac = new AbortController();
  // The abort comes from a timer, which only runs if the batch loop yields to the event loop.
  slow.onExact(() => {
    slow.onExact(() => {});
    setTimeout(() => ac.abort(), 0);
  });
  await assert.rejects(idx.searchEncodedBatch(queries.map(() => ''), queries, { mode: 'late', signal: ac.signal }), (e) => isPlaitError(e, 'ABORTED'));
  assert.ok(slow.matmuls() < queries.length, `${slow.matmuls()} of ${queries.length} queries ran`);
  await idx.close();
});

test('close() during searches rejects them with INDEX_CLOSED, on the calling thread and on workers', async () => {
  const local = await openIndex(path);
  const pending = assert.rejects(local.searchEncodedBatch(queries.map(() => ''), queries, { mode: 'late' }), (e) => isPlaitError(e, 'INDEX_CLOSED'));
  await local.close();
  await pending;
  await assert.rejects(local.search('x'), (e) => isPlaitError(e, 'INDEX_CLOSED'));
  await assert.rejects(local.rerank('x', ['d0']), (e) => isPlaitError(e, 'INDEX_CLOSED'));
  assert.throws(() => local.searchEncoded('', queries[0]!), (e) => isPlaitError(e, 'INDEX_CLOSED'));

  const pooled = await openIndex(path, { workers: 1 });
  const inFlight = assert.rejects(
    pooled.searchEncodedBatch(queries.slice(0, 20).map(() => ''), queries.slice(0, 20), { mode: 'late', exhaustive: true }),
    (e) => isPlaitError(e, 'INDEX_CLOSED'),
  );
  await pooled.close();
  await inFlight;
});

test('a pooled batch of many queries sharing one signal prints no MaxListenersExceededWarning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  const idx = await openIndex(path, { workers: 2 });
  try {
    const ac = new AbortController();
    const many = queries.slice(0, 40);
    const res = await idx.searchEncodedBatch(many.map(() => ''), many, { mode: 'late', signal: ac.signal, timeoutMs: 600_000 });
    assert.equal(res.length, 40);
    const ex = await idx.searchEncodedBatch(many.map(() => ''), many, { mode: 'late', exhaustive: true, signal: ac.signal });
    assert.equal(ex.length, 40);
    await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on a later tick
  } finally {
    process.off('warning', onWarning);
    await idx.close();
  }
  assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
});

test('widening to an exhaustive scan runs on the workers when the index has them', async () => {
  const topK = SEARCH_DEFAULTS.maxTopK;
  const options = { mode: 'late' as const, topK, centroidScoreThreshold: 10 };
  // Without workers the widening ends in an exhaustive scan on this thread (every passage scored).
  const alone = counting();
  const a = await openIndex(path, { kernels: alone.kernels });
  const ra = await a.searchEncodedBatch([''], [queries[1]!], options);
  assert.equal(alone.scored() >= N_PASSAGES, true, `${alone.scored()} passages scored on this thread`);
  await a.close();
  // With workers, the same search scores nothing on this thread and returns the same page.
  const here = counting();
  const b = await openIndex(path, { kernels: here.kernels, workers: 1 });
  const rb = await b.searchEncodedBatch([''], [queries[1]!], options);
  assert.equal(here.scored(), 0);
  assert.equal(rb[0]!.hits.length, topK);
  assert.deepEqual(rb[0]!.hits.slice(0, 50), ra[0]!.hits.slice(0, 50));
  await b.close();
});

test('a worker stops a task whose deadline has passed, without any signal from this thread', async () => {
  const idx = await openIndex(path);
  const pool = new SearchPool(idx.scoringArrays, 1);
  try {
    const q = { vectors: queries[0]!.vectors, length: queries[0]!.length, weights: null };
    const past = performance.timeOrigin + performance.now() - 1;
    await assert.rejects(pool.exhaustive(q, undefined, undefined, past), (e) => isPlaitError(e, 'TIMEOUT'));
    await assert.rejects(pool.plaid(q, { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 256 }, undefined, past), (e) => isPlaitError(e, 'TIMEOUT'));
    // Without a deadline the same task completes.
    const all = await pool.exhaustive(q);
    assert.equal(all.scores.length, N_PASSAGES);
  } finally {
    await pool.close();
    await idx.close();
  }
});
