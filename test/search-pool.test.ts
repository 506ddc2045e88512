import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { isPlaitError } from '../src/errors/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from './helpers/synthetic-index.js';

const DIM = 32;
let dir: string;
let plain: PlaitIndex;
let pooled: PlaitIndex;
let queries: TokenEmbeddings[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-pool-'));
  const data = syntheticPassages(800, DIM, 5, 512, 0.2);
  queries = Array.from({ length: 12 }, () => data.gen.passage(32));
  await buildSynthetic(join(dir, 'idx'), data.passages, DIM);
  plain = await openIndex(join(dir, 'idx'));
  pooled = await openIndex(join(dir, 'idx'), { workers: 2 });
});

after(async () => {
  await plain?.close();
  await pooled?.close();
  rmSync(dir, { recursive: true, force: true });
});

const texts = (): string[] => queries.map(() => '');

test('scoring on worker threads gives the same results as on the calling thread', async () => {
  for (const options of [{ mode: 'late' as const, topK: 10 }, { mode: 'late' as const, topK: 10, exhaustive: true }, { mode: 'late' as const, topK: 150 }]) {
    const a = await plain.searchEncodedBatch(texts(), queries, options);
    const b = await pooled.searchEncodedBatch(texts(), queries, options);
    assert.deepEqual(
      b.map((r) => r.hits),
      a.map((r) => r.hits),
    );
    // Stage timings travel back from the workers.
    if (options.exhaustive !== true) assert.ok(b[0]!.timings.candidates! > 0);
  }
});

test('an aborted batch rejects with ABORTED and the pool keeps working', async () => {
  const ac = new AbortController();
  const pending = pooled.searchEncodedBatch(texts(), queries, { mode: 'late', exhaustive: true, signal: ac.signal });
  ac.abort();
  await assert.rejects(pending, (e) => isPlaitError(e, 'ABORTED'));
  const pre = new AbortController();
  pre.abort();
  assert.throws(() => plain.searchEncoded('', queries[0]!, { signal: pre.signal }), (e) => isPlaitError(e, 'ABORTED'));
  const ok = await pooled.searchEncodedBatch(texts(), queries, { mode: 'late', topK: 5 });
  assert.equal(ok.length, queries.length);
});

test('a deadline that passes rejects with TIMEOUT; a bad one is refused', async () => {
  const many = Array.from({ length: 40 }, (_, i) => queries[i % queries.length]!);
  await assert.rejects(
    pooled.searchEncodedBatch(many.map(() => ''), many, { mode: 'late', exhaustive: true, timeoutMs: 1 }),
    (e) => isPlaitError(e, 'TIMEOUT'),
  );
  await assert.rejects(pooled.searchEncodedBatch(texts(), queries, { timeoutMs: -5 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
});

test('closing an index with a pool stops its workers; the index refuses further searches', async () => {
  const idx = await openIndex(join(dir, 'idx'), { workers: 1 });
  await idx.searchEncodedBatch([''], [queries[0]!], { mode: 'late' });
  await idx.close();
  await assert.rejects(idx.searchEncodedBatch([''], [queries[0]!]), (e) => isPlaitError(e, 'INDEX_CLOSED'));
});
