/**
 * Scoring workers share the tables derived from an index (search-15, src/search/shared-tables.ts):
 * the int8 centroids and the token-norm cache are filled once, by the first thread that needs
 * them, for a pool's workers and the calling thread alike — each worker had quantised the
 * centroids and filled a norm cache of its own. The answers are the same bits with 0, 1 and 4
 * workers (a differential test), and the once-cell holds its contract (util/shared-once.ts).
 * Synthetic index (32-d, 2 bits: int8 stage 1, fast-scan exact stage), built once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { SearchPool } from '../src/search/search-pool.js';
import { quantiseCentroids, quantisedCentroidsOf } from '../src/search/centroid-quantisation.js';
import { tokenInverseNormsCache } from '../src/codec/code-scorer.js';
import { onceCell, onceFills, onceReady, runOnce } from '../src/util/shared-once.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';

const DIM = 32;
let dir: string;
let path: string;
let plain: PlaitIndex;
let queries: TokenEmbeddings[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-shared-tables-'));
  const data = syntheticPassages(600, DIM, 7, 256, 0.2);
  queries = Array.from({ length: 8 }, () => data.gen.passage(24));
  path = join(dir, 'idx');
  await buildSynthetic(path, data.passages, DIM);
  plain = await openIndex(path);
});

after(async () => {
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a pool of 3 workers and the calling thread quantise the centroids once and fill one norm cache a segment', async () => {
  const index = await openIndex(path);
  const pool = new SearchPool(index.scoringArrays, 3);
  try {
    const t = pool.tables;
    assert.ok(t.quantised !== null, 'stage 1 runs on int8 at 32 d');
    assert.equal(onceFills(t.quantised.once), 0, 'nothing is derived before a thread needs it');
    // Every worker runs PLAID once (at a barrier, so all three need the tables at about once).
    const ids = await pool.warmUp();
    assert.equal(new Set(ids).size, 3);
    assert.equal(onceFills(t.quantised.once), 1, 'one quantisation for three workers');
    for (const cell of t.inverseNorms) assert.ok(onceFills(cell.once) <= 1);
    assert.equal(onceFills(t.inverseNorms[0]!.once), 1, 'the exact stage filled the norm cache once');
    // The calling thread reads the same memory, and the same bytes a private quantisation gives.
    const a = index.scoringArrays;
    const mine = quantisedCentroidsOf(a.centroids, a.nCentroids, a.dim);
    assert.equal(mine.bytes.buffer, t.quantised.bytes.buffer);
    assert.equal(onceFills(t.quantised.once), 1, 'the calling thread found it filled');
    const fresh = quantiseCentroids(a.centroids, a.nCentroids, a.dim);
    assert.deepEqual(mine.bytes, fresh.bytes);
    assert.deepEqual(mine.scales, fresh.scales);
    const seg = a.segments[0]!;
    assert.equal(tokenInverseNormsCache(seg.residuals, seg.codes.length), t.inverseNorms[0]!.values);
  } finally {
    await pool.close();
    await index.close();
  }
});

test('the same hits and scores, bit for bit, with 0, 1 and 4 workers (PLAID, a deep k, exhaustive)', async () => {
  const texts = queries.map(() => '');
  const runs = [{ mode: 'late' as const, topK: 10 }, { mode: 'late' as const, topK: 120 }, { mode: 'late' as const, topK: 10, exhaustive: true }];
  const expected = [];
  for (const options of runs) expected.push((await plain.searchEncodedBatch(texts, queries, options)).map((r) => r.hits));
  for (const workers of [1, 4]) {
    const pooled = await openIndex(path, { workers });
    try {
      for (const [i, options] of runs.entries()) {
        const got = (await pooled.searchEncodedBatch(texts, queries, options)).map((r) => r.hits);
        assert.deepEqual(got, expected[i], `${workers} workers, ${JSON.stringify(options)}`);
        assert.ok(got[0]!.length > 0 && typeof got[0]![0]!.score === 'number');
      }
    } finally {
      await pooled.close();
    }
  }
});

test('the once-cell: one fill; a fill that throws leaves it empty for the next; a fill that never ends is given up', () => {
  const cell = onceCell();
  let runs = 0;
  assert.throws(() => runOnce(cell, () => {
    runs++;
    throw new Error('boom');
  }, 0), /boom/);
  assert.equal(onceReady(cell), false);
  assert.equal(runOnce(cell, () => void runs++, 0), true);
  assert.equal(runOnce(cell, () => void runs++, 0), true);
  assert.equal(runs, 2);
  assert.equal(onceFills(cell), 1);
  // Another thread filling (state 1) and never finishing: the caller is told to use its own copy.
  const stuck = onceCell();
  Atomics.store(stuck, 0, 1);
  assert.equal(runOnce(stuck, () => assert.fail('not while another fills'), 5), false);
  // The main thread never blocks its event loop on another thread's fill, whatever the wait asked.
  const t0 = performance.now();
  assert.equal(runOnce(stuck, () => assert.fail('not while another fills'), 60_000), false);
  assert.ok(performance.now() - t0 < 5_000, `the main thread waited ${performance.now() - t0} ms`);
});
