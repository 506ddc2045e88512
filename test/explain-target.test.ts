/**
 * `PlaitIndex.explain(query, target)` takes a docId string or `{ pid }` (trial6): any other target is
 * INVALID_ARGUMENT naming `target`, before the query is encoded. `{ docId: 'x' }` (the HTTP body's
 * shape, in camelCase) was read as a pid and refused as INVALID_INPUT "no passage undefined (the
 * index has 40)". Sample corpus, bundled model, in-process encoder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, PlaitError, type PlaitIndex } from '../src/index.js';
import { SAMPLE } from './helpers/server-fixture.js';

let dir: string;
let index: PlaitIndex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-explain-target-'));
  await buildIndex(SAMPLE, { index: join(dir, 'sample'), encoderOptions: { threads: 0 } });
  index = await openIndex(join(dir, 'sample'), { workers: 0, encoderOptions: { threads: 0 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('explain refuses a target that is neither a docId nor { pid } with INVALID_ARGUMENT naming target', async () => {
  for (const target of [{ docId: 'bread-yeast' }, null, ['bread-yeast']] as unknown[]) {
    await assert.rejects(
      index.explain('why does bread rise', target as string),
      (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT' && /Expected a docId \(string\) or \{ pid \} for target but received/.test(e.message),
      JSON.stringify(target),
    );
  }
});

test('a docId and { pid } still explain the same passage; a missing document is DOCUMENT_NOT_FOUND, a pid outside the index INVALID_INPUT', async () => {
  const byId = await index.explain('why does bread rise', 'bread-yeast');
  const byPid = await index.explain('why does bread rise', { pid: byId.pid });
  assert.equal(byPid.lateScore, byId.lateScore);
  await assert.rejects(index.explain('why does bread rise', 'no-such-doc'), (e: unknown) => e instanceof PlaitError && e.code === 'DOCUMENT_NOT_FOUND');
  await assert.rejects(index.explain('why does bread rise', { pid: 9999 }), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_INPUT' && /no passage 9999 \(the index has 40\)/.test(e.message));
});

test('an integer docId is its decimal text, as the writes store `docId: 5` (trial 12: explain(q, 5) was "Expected a docId (string)")', async () => {
  const added = await index.add([{ docId: 1962, text: 'why bread rises: yeast makes carbon dioxide in the dough' }]);
  assert.equal(added.added, 1);
  const byNumber = await index.explain('why does bread rise', 1962);
  assert.equal(byNumber.docId, '1962');
  assert.equal(byNumber.lateScore, (await index.explain('why does bread rise', '1962')).lateScore);
  // A number that names no document is not found, as its text is; a fraction names no id.
  await assert.rejects(index.explain('why does bread rise', 3), (e: unknown) => e instanceof PlaitError && e.code === 'DOCUMENT_NOT_FOUND');
  await assert.rejects(index.explain('why does bread rise', 1.5), (e: unknown) => e instanceof PlaitError && e.code === 'INVALID_ARGUMENT');
});
