/**
 * Deletes and compactions do not freeze the thread that calls them (mutate/write-thread.ts): the
 * index transaction runs on the write thread, so the caller's event loop — a server's searches and
 * probes — keeps running. Before, `PlaitIndex.delete` ran it synchronously: on the index below (2,000
 * documents of 3,000 characters, whose FTS5 deletes are the cost, then the automatic compaction) the
 * event loop stood still for the whole write, 1.1–1.8 s on a loaded 2-core machine; the bound here is
 * 150 ms (≥ 10× margin; after: 35–90 ms, the refresh onto the new generation, which stays on the
 * calling thread). Also: a search started during the delete answers; errors keep their code and
 * details across the thread; no transaction of these writes runs on the calling thread
 * (observeTransactions there sees none), where before each did.
 * bench/write-stall.ts measures the same on scifact; bench/RESULTS.md "Writes off the calling thread".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { updateIndex, type EncodedDocument } from '../src/mutate/index-updater.js';
import { IndexTransaction, observeTransactions } from '../src/format/index-transaction.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { quantisedCentroidsOf } from '../src/search/centroid-quantisation.js';
import type { UpdateResult } from '../src/mutate/index-updater.js';

/** Long documents: the delete's cost is SQLite's FTS5 delete of each one's indexed text (two FTS tables). */
const DOCS = 2000;
const CHARS = 3000;
/** The event loop's longest stall allowed during the delete, ms (before: 1.1–1.8 s on this index; after: 35–90 ms, the refresh onto the new generation, on a loaded 2-core machine). */
const BOUND_MS = 150;

let dir: string;
let path: string;
let index: PlaitIndex;
const ids = Array.from({ length: DOCS }, (_, i) => `long-${i}`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-write-stall-'));
  path = join(dir, 'idx');
  const { passages, gen } = syntheticPassages(64, 32, 7);
  await buildSynthetic(path, passages, 32);
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega'.split(' ');
  const text = (i: number): string => {
    let s = '';
    for (let k = i + 1; s.length < CHARS; ) {
      k = (Math.imul(k, 1103515245) + 12345) & 0x7fffffff;
      s += `${words[k % words.length]!}${k % 97} `;
    }
    return s;
  };
  const docs: EncodedDocument[] = ids.map((docId, i) => ({ doc: { docId, title: '', text: text(i), metadata: { half: i % 2 } }, passages: [{ start: 0, end: 0 }], embeddings: [gen.passage(4)] }));
  updateIndex(path, { add: docs }, { autoCompactShare: 1 });
  index = await openIndex(path, { workers: 0 });
  // BM25's first search builds its tables (~100 ms here): paid now, so that the figure below is the write's.
  await index.search('alpha beta', { mode: 'bm25', topK: 3 });
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

test('a delete of 1,600 long documents and the compaction it triggers keep the caller\'s event loop running; a search during it answers', async (t) => {
  const begun: string[] = [];
  const stop = observeTransactions((e) => begun.push(e.phase));
  try {
    let searched: { generation: number; hits: number } | null = null;
    const { value, ms } = await maxDelay(async () => {
      const del = index.delete(ids.slice(0, 1600)); // 80% of the documents: an automatic compaction follows
      // A search started while the write runs is answered (before, it could not start until the write returned).
      const s = await index.search('alpha beta', { mode: 'bm25', topK: 3 });
      searched = { generation: s.generation ?? -1, hits: s.hits.length };
      return del;
    });
    t.diagnostic(`event loop max delay during the delete: ${ms.toFixed(1)} ms`);
    assert.deepEqual([value.deleted, value.compacted], [1600, true]);
    assert.ok(ms < BOUND_MS, `the event loop stood still ${ms.toFixed(0)} ms during the delete (bound ${BOUND_MS} ms)`);
    assert.deepEqual(begun, [], 'no transaction ran on the calling thread');
    assert.ok(searched !== null);
    assert.equal(index.manifest.counts.documents, DOCS + 64 - 1600);
    const after = await index.search('alpha beta', { mode: 'bm25', topK: 3 });
    assert.ok(after.hits.every((h) => !ids.slice(0, 1600).includes(h.docId)), 'the deleted documents are gone once the delete resolved');
  } finally {
    stop();
  }
});

test('a filter delete and a compaction run off the calling thread, and their errors keep code and details', async () => {
  const begun: string[] = [];
  const stop = observeTransactions((e) => begun.push(e.phase));
  try {
    const r: UpdateResult = await index.delete({ filter: { half: 1, doc_id: { $in: ids.slice(1600, 1700) } } });
    assert.equal(r.deleted, 50);
    const m = await index.compact();
    assert.deepEqual([m.tombstones, m.counts.documents], [undefined, DOCS + 64 - 1650]);
    assert.deepEqual(begun, [], 'no transaction ran on the calling thread');
  } finally {
    stop();
  }
  // Another writer holds the lock: INDEX_LOCKED from the write thread, whole.
  const holder = IndexTransaction.begin(path);
  try {
    await assert.rejects(index.delete([ids[1900]!]), (e: unknown) => (e as { code?: string }).code === 'INDEX_LOCKED' && (e as { details?: Record<string, unknown> }).details !== undefined);
    await assert.rejects(index.compact(), (e: unknown) => (e as { code?: string }).code === 'INDEX_LOCKED');
  } finally {
    holder.close();
  }
  await assert.rejects(index.delete({ filter: { $where: 'x' } as never }), (e: unknown) => (e as { code?: string }).code === 'INVALID_FILTER');
  // A signal aborted before the call: nothing written, the signal's reason (TIMEOUT for AbortSignal.timeout).
  await assert.rejects(index.delete([ids[1900]!], { signal: AbortSignal.abort() }), (e: unknown) => (e as { code?: string }).code === 'ABORTED');
  assert.equal((await index.delete([ids[1900]!])).deleted, 1);
});

test('int8 centroids are quantised once for equal centroids (a refresh loads the same ones again), and again for other values', () => {
  const a = Float32Array.from({ length: 8 * 16 }, (_, i) => Math.sin(i));
  const qa = quantisedCentroidsOf(a, 8, 16);
  assert.equal(quantisedCentroidsOf(Float32Array.from(a), 8, 16), qa, 'an equal copy reuses the codes');
  const b = Float32Array.from(a);
  b[5] = 0.25;
  const qb = quantisedCentroidsOf(b, 8, 16);
  assert.notEqual(qb, qa);
  assert.notDeepEqual(qb.bytes, qa.bytes);
});

// On the write thread, two writes of one process had raced for the folder's lock: the second was
// refused INDEX_LOCKED, "being written by another process" (a fresh user's trial: 4 runs of 4). They
// were never concurrent while each ran synchronously; they now queue (write-thread.ts serialWrite).
test('writes started together by one process queue for the folder instead of refusing each other', async () => {
  const settled = await Promise.allSettled([index.delete([ids[1950]!]), index.delete([ids[1951]!]), index.compact(), index.delete({ filter: { doc_id: { $in: [ids[1952]!, ids[1953]!] } } }), index.compact()]);
  assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code?: string }).code)), ['ok', 'ok', 'ok', 'ok', 'ok']);
  const deleted = settled.slice(0, 4).filter((_, i) => i !== 2).map((s) => (s as PromiseFulfilledResult<UpdateResult>).value.deleted);
  assert.deepEqual(deleted, [1, 1, 2]);
  assert.equal((await index.search('alpha', { mode: 'bm25', topK: 5 })).hits.some((h) => [ids[1950], ids[1951], ids[1952], ids[1953]].includes(h.docId)), false);
});
