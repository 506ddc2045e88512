/**
 * `PlaitIndex.close()` while a write of that handle is in flight (trial6): a write resolves exactly
 * when it committed. Closed while an add still encodes, the add rejects with INDEX_CLOSED (it was
 * ABORTED "the encoder was closed before this batch ran", the encoder's own reason) and nothing is
 * committed; closed after the commit, while the handle refreshes onto the new generation, the write
 * resolves with its result (it rejected with INDEX_CLOSED although the generation was on disk).
 * Sample corpus (40 one-passage documents), bundled model, one encoder thread, one scoring worker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type PlaitIndex } from '../src/index.js';
import { SAMPLE } from './helpers/server-fixture.js';

let dir: string;
let built: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-close-write-'));
  built = join(dir, 'built');
  await buildIndex(SAMPLE, { index: built, encoderOptions: { threads: 1 } });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the built index, opened warm with one worker (a refresh then warms the new generation there). */
async function openCopy(name: string): Promise<{ path: string; index: PlaitIndex }> {
  const path = join(dir, name);
  cpSync(built, path, { recursive: true });
  return { path, index: await openIndex(path, { warmUp: true, workers: 1, encoderOptions: { threads: 1 } }) };
}

const generationOnDisk = (path: string): number => (JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { generation?: number }).generation ?? 0;
const code = (e: unknown): string | undefined => (e as { code?: string }).code;

/** Makes `index` close itself the moment a write's commit is done and the handle starts serving it. */
function closeOnRefresh(index: PlaitIndex): { calls: number } {
  const seen = { calls: 0 };
  const refresh = index.refresh.bind(index);
  index.refresh = async () => {
    seen.calls++;
    void index.close();
    return refresh();
  };
  return seen;
}

test('close() while an add encodes: the add rejects with INDEX_CLOSED and commits nothing', async () => {
  const { path, index } = await openCopy('encoding');
  const text = Array.from({ length: 300 }, (_, i) => `word${i % 53} bread yeast dough`).join(' ');
  const docs = Array.from({ length: 24 }, (_, i) => ({ docId: `long-${i}`, title: '', text }));
  const outcome = index.add(docs).then(() => 'resolved', code);
  await new Promise((r) => setImmediate(r));
  await index.close();
  assert.equal(await outcome, 'INDEX_CLOSED');
  assert.equal(generationOnDisk(path), 0, 'nothing committed');
  const reopened = await openIndex(path);
  try {
    assert.equal(reopened.info.counts.documents, 40);
  } finally {
    await reopened.close();
  }
});

test('close() after an add committed: the add resolves with the generation that is on disk', async () => {
  const { path, index } = await openCopy('committed-add');
  const seen = closeOnRefresh(index);
  const r = await index.add([{ docId: 'new-one', title: '', text: 'Sourdough rises with wild yeast.' }]);
  assert.equal(seen.calls, 1, 'closed during the refresh after the commit');
  assert.deepEqual([r.added, r.generation, generationOnDisk(path)], [1, 1, 1]);
  await assert.rejects(index.search('bread'), (e) => code(e) === 'INDEX_CLOSED', 'the handle stays closed');
  const reopened = await openIndex(path);
  try {
    assert.equal((await reopened.search('sourdough wild yeast', { mode: 'bm25', topK: 1 })).hits[0]?.docId, 'new-one');
  } finally {
    await reopened.close();
  }
});

test('close() after a delete or a compaction committed: each resolves with its result', async () => {
  const { path, index } = await openCopy('committed-delete');
  closeOnRefresh(index);
  const r = await index.delete(['bread-yeast']);
  assert.deepEqual([r.deleted, r.generation, generationOnDisk(path)], [1, 1, 1]);
  const other = await openIndex(path, { warmUp: true, workers: 1 });
  closeOnRefresh(other);
  const m = await other.compact();
  assert.deepEqual([m.generation, generationOnDisk(path), m.counts.documents], [2, 2, 39]);
});
