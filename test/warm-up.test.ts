/**
 * The first query's one-time setup paid before it (polish5, src/search/warm-up.ts): `warmUp()` and
 * `openIndex(…, { warmUp: true })` quantise the int8 centroids on the calling thread and run the
 * warm-up on every worker of a pool (one task a worker, at a barrier: a pool's single warm-up query
 * used to reach one worker only); a plain `openIndex` stays lazy; a warmed index warms each new
 * generation before serving it; the server's warm-up calls it. Sample corpus, bundled model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openIndex } from '../src/index.js';
import { SearchPool } from '../src/search/search-pool.js';
import { quantisedCentroidsCached } from '../src/search/centroid-quantisation.js';
import { arriveAndWait, warmUpRows } from '../src/search/warm-up.js';
import { WARM_UP_DEFAULTS } from '../src/config/defaults.js';
import type { ServedIndex } from '../src/server/index.js';
import { buildSample, serve, type SampleIndex } from './helpers/server-fixture.js';
import { join } from 'node:path';
import { cpSync } from 'node:fs';

let sample: SampleIndex;

before(async () => {
  sample = await buildSample('plait-warm-up-');
});

after(async () => {
  await sample?.dispose();
});

test('open stays lazy; warmUp quantises the centroids on this thread, and a search finds them so', async () => {
  const index = await openIndex(sample.path);
  try {
    assert.equal(quantisedCentroidsCached(index.scoringArrays.centroids), false, 'open does no search setup');
    await index.warmUp({ encoder: false });
    assert.equal(quantisedCentroidsCached(index.scoringArrays.centroids), true);
    // The warm-up's query and a user's query share the setup: the same hits as a cold index's.
    const cold = await openIndex(sample.path);
    try {
      const query = 'why does bread dough rise with yeast';
      assert.deepEqual((await index.search(query, { mode: 'hybrid', topK: 5 })).hits, (await cold.search(query, { mode: 'hybrid', topK: 5 })).hits);
    } finally {
      await cold.close();
    }
  } finally {
    await index.close();
  }
});

test('openIndex({ warmUp: true }) returns a warmed index, and a warmed index warms each new generation before serving it', async () => {
  const path = join(sample.dir, 'living');
  cpSync(sample.path, path, { recursive: true });
  const warmed = await openIndex(path, { warmUp: true });
  const lazy = await openIndex(path);
  try {
    assert.equal(quantisedCentroidsCached(warmed.scoringArrays.centroids), true);
    await warmed.add([{ docId: 'warm-new', title: '', text: 'a freshly added document about sourdough starters' }]);
    // A new generation loads new arrays: warmed before the swap, so they are quantised already.
    assert.equal(quantisedCentroidsCached(warmed.scoringArrays.centroids), true);
    assert.equal(await lazy.refresh(), true);
    assert.equal(quantisedCentroidsCached(lazy.scoringArrays.centroids), false, 'an index never warmed stays lazy');
    assert.equal((await warmed.search('sourdough starters', { mode: 'late', topK: 1 })).hits[0]!.docId, 'warm-new');
  } finally {
    await warmed.close();
    await lazy.close();
  }
});

// Piscina hands tasks to idle workers, so on a pool whose workers are all up the tasks spread anyway;
// the barrier (tested on its own below) is what makes it certain while workers are still starting.
test('a pool warms every worker: one warm-up task each, on distinct threads', async () => {
  for (const threads of [1, 3]) {
    const pool = new SearchPool(sample.index.scoringArrays, threads);
    try {
      const ids = await pool.warmUp();
      assert.equal(ids.length, threads);
      assert.equal(new Set(ids).size, threads, `thread ids ${ids.join(', ')}`);
    } finally {
      await pool.close();
    }
  }
});

test('the barrier: every party waits for the last; a party alone goes on after the timeout', () => {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  counter[0] = 2; // two others arrived already
  arriveAndWait(counter, 3, 1000);
  assert.equal(counter[0], 3);
  const alone = new Int32Array(new SharedArrayBuffer(4));
  const t = performance.now();
  arriveAndWait(alone, 2, 50);
  assert.ok(performance.now() - t >= 45, 'waited for the timeout');
  assert.equal(alone[0], 1);
});

test('the warm-up query: the first WARM_UP_DEFAULTS.queryTokens centroids; none for an empty index', () => {
  const a = sample.index.scoringArrays;
  const rows = warmUpRows(a)!;
  assert.equal(rows.length, Math.min(WARM_UP_DEFAULTS.queryTokens, a.nCentroids));
  assert.deepEqual(rows.vectors, a.centroids.subarray(0, rows.length * a.dim));
  assert.equal(warmUpRows({ ...a, nCentroids: 0, centroids: new Float32Array(0) }), null);
  assert.equal(warmUpRows({ ...a, doclens: new Int32Array(0) }), null);
});

test("the server's warm-up warms each index up (every scoring thread), then serves", async () => {
  let warmUps = 0;
  const index = sample.index;
  const spy: ServedIndex = {
    path: index.path,
    manifest: index.manifest,
    encoder: () => index.encoder(),
    resolveSearch: (o) => index.resolveSearch(o),
    searchEncodedBatch: (q, e, o) => index.searchEncodedBatch(q, e, o),
    close: () => index.close(),
    warmUp: async (o) => {
      warmUps++;
      await index.warmUp(o);
    },
  };
  const server = await serve(sample, {}, spy);
  try {
    assert.equal(warmUps, 1);
    assert.equal(quantisedCentroidsCached(index.scoringArrays.centroids), true);
  } finally {
    await server.close();
  }
});

test('warmUp on a closed index is refused with INDEX_CLOSED', async () => {
  const index = await openIndex(sample.path);
  await index.close();
  await assert.rejects(index.warmUp(), (e: unknown) => (e as { code?: string }).code === 'INDEX_CLOSED');
});
