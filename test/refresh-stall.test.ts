/**
 * A warmed index's refresh onto the next generation after a write (refresh-15) does its work on the
 * calling thread in short steps, and takes over what the served generation derived from unchanged
 * bytes instead of deriving it again (src/search/generation-carry.ts): `plait serve` answered /health
 * 0.3–0.9 s late after each write on scifact before (bench/write-stall.ts; bench/RESULTS.md,
 * "Refresh off the serving thread's critical path").
 *
 * The index below has many small documents (DOCS), so that the refresh's table loads are long: BM25's
 * length table (one row a document) and the query-token IDF table were read in one block each. The
 * bound (BOUND_MS) is ≥ 10× below the before-figure on the loaded 2-core dev machine (before: see
 * BOUND_MS); the carried tables give the same hits as an index opened afresh.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { updateIndex, type EncodedDocument } from '../src/mutate/index-updater.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { quantisedCentroidsCached } from '../src/search/centroid-quantisation.js';

/** Documents of one short passage each: the refresh's per-document tables are what this index makes long. */
const DOCS = Number(process.env['REFRESH_STALL_DOCS'] ?? 30000);
/** The event loop's longest stall allowed during a delete's refresh, ms (before: see the file header). */
const BOUND_MS = Number(process.env['REFRESH_STALL_BOUND_MS'] ?? 100);

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

/** The event loop's max delay (ms) while `op` runs (the histogram's timer armed before it and fired after it). */
async function maxDelay<T>(op: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((r) => setTimeout(r, 5));
  const value = await op();
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { value, ms: h.max / 1e6 };
}

test('the refresh after a delete keeps the caller\'s event loop running, its tables carried; the hits are those of an index opened afresh', async (t) => {
  const served = index.scoringArrays;
  const { value, ms } = await maxDelay(() => index.delete([ids[0]!, ids[1]!]));
  t.diagnostic(`event loop max delay during the delete and its refresh: ${ms.toFixed(1)} ms (${DOCS} documents)`);
  assert.equal(value.deleted, 2);
  assert.notEqual(index.scoringArrays, served, 'a new generation is served');
  assert.equal(quantisedCentroidsCached(index.scoringArrays.centroids), true, 'the new generation is warmed (its int8 centroids carried)');
  assert.ok(ms < BOUND_MS, `the event loop stood still ${ms.toFixed(0)} ms during the refresh (bound ${BOUND_MS} ms)`);
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
