/**
 * A warmed index's refresh onto the next generation after a write (refresh-15) does its work on the
 * calling thread in short steps, and takes over what the served generation derived from unchanged
 * bytes instead of deriving it again (src/search/generation-carry.ts): `plait serve` answered /health
 * 0.3–0.9 s late after each write on scifact before (bench/write-stall.ts; bench/RESULTS.md,
 * "Refresh off the serving thread's critical path").
 *
 * The index below has many small documents (DOCS), so that the refresh's table loads are long: BM25's
 * length table (one row a document) was read in one block. The stall is counted in CPU time (see
 * stall()): on the loaded 2-core dev machine the wall time of one stall moves 10–200 ms with the load
 * whatever the code does. Before: 37–49 ms of CPU in one block (94–225 ms of wall time); after:
 * 4–7 ms (9–52 ms of wall time); the bound, 15 ms, sits ≥ 2.5× from each (a 10× margin to the
 * before-figure would need ~10× the documents: ~25 s of CPU to build). The carried tables give the
 * same hits, scores to the bit, as an index opened afresh. ≈ 3 s of CPU, most of it the build.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { updateIndex, type EncodedDocument } from '../src/mutate/index-updater.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { quantisedCentroidsCached } from '../src/search/centroid-quantisation.js';
import type { SearchPool } from '../src/search/search-pool.js';
import type { SharedScoringTables } from '../src/search/shared-tables.js';

/** Documents of one short passage each: the refresh's per-document tables are what this index makes long. */
const DOCS = Number(process.env['REFRESH_STALL_DOCS'] ?? 50000);
/** The longest stall allowed during a delete's refresh, ms of CPU (before: 37–49; after: 4–7; see the file header). */
const BOUND_MS = Number(process.env['REFRESH_STALL_BOUND_MS'] ?? 15);

let dir: string;
let path: string;
let index: PlaitIndex;
let gen: ReturnType<typeof syntheticPassages>['gen'];
const ids = Array.from({ length: DOCS }, (_, i) => `s${i}`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-refresh-stall-'));
  path = join(dir, 'idx');
  const built = syntheticPassages(64, 32, 11);
  gen = built.gen;
  await buildSynthetic(path, built.passages, 32);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega'];
  const docs: EncodedDocument[] = ids.map((docId, i) => ({ doc: { docId, title: '', text: `${words[i % 5]!} w${i}` }, passages: [{ start: 0, end: 0 }], embeddings: [gen.passage(2)] }));
  updateIndex(path, { add: docs }, { autoCompactShare: 1 });
  index = await openIndex(path, { workers: 0 });
  await index.warmUp({ encoder: false });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The event loop's longest stall while `op` runs, in wall time and in this process's CPU time: a
 * 1 ms timer's gaps, each with the CPU the process spent during it. On the loaded 2-core machine a
 * gap's wall time also counts the time the process waited for a core (100 ms and more at load 15,
 * whatever the code does); its CPU time is the work that held the loop (other threads are idle
 * here: no workers, the write committed before).
 */
async function stall<T>(op: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  let wallMs = 0;
  let cpuMs = 0;
  let t = performance.now();
  let c = process.cpuUsage();
  const tick = setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(c);
    wallMs = Math.max(wallMs, now - t);
    cpuMs = Math.max(cpuMs, (used.user + used.system) / 1000);
    t = now;
    c = process.cpuUsage();
  }, 1);
  try {
    await new Promise((r) => setTimeout(r, 5));
    const value = await op();
    await new Promise((r) => setTimeout(r, 5));
    return { value, wallMs, cpuMs };
  } finally {
    clearInterval(tick);
  }
}

test('the refresh after a delete holds the caller\'s event loop only in short steps, its tables carried; the hits are those of an index opened afresh', async (t) => {
  const served = index.scoringArrays;
  // Another writer (here: this thread, before measuring) deletes; the refresh onto its generation is what is measured.
  assert.equal(updateIndex(path, { delete: [ids[0]!, ids[1]!] }).deleted, 2);
  const { value, wallMs, cpuMs } = await stall(() => index.refresh());
  t.diagnostic(`longest event-loop stall during the refresh: ${cpuMs.toFixed(1)} ms of CPU (${wallMs.toFixed(1)} ms of wall time; ${DOCS} documents)`);
  assert.equal(value, true);
  assert.notEqual(index.scoringArrays, served, 'a new generation is served');
  assert.equal(quantisedCentroidsCached(index.scoringArrays.centroids), true, 'the new generation is warmed (its int8 centroids carried)');
  assert.ok(cpuMs < BOUND_MS, `the refresh held the event loop for ${cpuMs.toFixed(0)} ms of CPU in one step (bound ${BOUND_MS} ms)`);
  // The same hits, scores to the bit, as an index that derived every table itself.
  const fresh = await openIndex(path, { workers: 0 });
  try {
    const queries = [gen.passage(8), gen.passage(8), gen.passage(8)];
    const texts = ['alpha', 'beta w7', 'omega'];
    for (const mode of ['late', 'hybrid', 'bm25'] as const) {
      const a = await index.searchEncodedBatch(texts, queries, { mode, topK: 10 });
      const b = await fresh.searchEncodedBatch(texts, queries, { mode, topK: 10 });
      assert.deepEqual(a.map((r) => r.hits.map((h) => [h.docId, h.score])), b.map((r) => r.hits.map((h) => [h.docId, h.score])), mode);
    }
  } finally {
    await fresh.close();
  }
});

test('with scoring workers, the next generation\'s pool takes over the served pool\'s int8 centroids and each unchanged segment\'s norm cache, and a new segment gets its own', async () => {
  const pooled = await openIndex(path, { workers: 1 });
  await pooled.warmUp({ encoder: false });
  // The pool is internal: its shared tables are what this test is about (shared-tables.ts).
  const tablesOf = (i: PlaitIndex): SharedScoringTables => (i as unknown as { pool: SearchPool }).pool.tables;
  try {
    const served = tablesOf(pooled);
    // An add commits a new segment beside the unchanged ones.
    updateIndex(path, { add: [{ doc: { docId: 'added', title: '', text: 'alpha added' }, passages: [{ start: 0, end: 0 }], embeddings: [gen.passage(3)] }] });
    assert.equal(await pooled.refresh(), true);
    const next = tablesOf(pooled);
    assert.notEqual(next, served, 'a new pool serves the new generation');
    assert.ok(next.quantised !== null && next.quantised === served.quantised, 'the int8 centroids are the served ones, not quantised again');
    assert.equal(next.inverseNorms.length, served.inverseNorms.length + 1);
    served.inverseNorms.forEach((t, i) => assert.equal(next.inverseNorms[i], t, `segment ${i}'s norm cache carried`));
    assert.ok(!served.inverseNorms.includes(next.inverseNorms.at(-1)!), 'the new segment has its own');
    const q = [gen.passage(8)];
    const fresh = await openIndex(path, { workers: 0 });
    try {
      assert.deepEqual((await pooled.searchEncodedBatch(['alpha'], q, { mode: 'late', topK: 10 }))[0]!.hits, (await fresh.searchEncodedBatch(['alpha'], q, { mode: 'late', topK: 10 }))[0]!.hits);
    } finally {
      await fresh.close();
    }
  } finally {
    await pooled.close();
  }
});
