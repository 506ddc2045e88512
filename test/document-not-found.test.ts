/**
 * A missing document is a 404 with a stable code (DOCUMENT_NOT_FOUND), as every search API answers
 * one: `POST …/explain` with a doc_id the index does not hold (it had been 400 INVALID_INPUT), the
 * library's explain and stored rerank, and `plait explain` (exit 2, the code in its JSON error). A
 * pid outside the index stays a 400 (a malformed target, not a missing document); a pid of a deleted
 * document is a missing document. Delete of an unknown id stays a no-op, counted and said (`missing`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isPlaitError } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { PLAIT_BIN } from './helpers/cli.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-not-found-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

const explain = (body: Record<string, unknown>): ReturnType<typeof postJson> => postJson(`${server.url}/v1/indexes/sample/explain`, { query: 'why does bread rise', ...body });

test('HTTP explain: an unknown doc_id is 404 DOCUMENT_NOT_FOUND naming it (it was 400 INVALID_INPUT); a pid outside the index stays 400', async () => {
  for (const docId of ['no-such-doc', 12345]) {
    const r = await explain({ doc_id: docId });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'DOCUMENT_NOT_FOUND');
    assert.equal(r.body.error.details.doc_id, String(docId));
    assert.match(r.body.error.message, new RegExp(`the index holds no document "${docId}"`));
  }
  const pid = await explain({ pid: 1_000_000 });
  assert.equal(pid.status, 400);
  assert.equal(pid.body.error.code, 'INVALID_INPUT');
  const known = await explain({ doc_id: 'bread-yeast' });
  assert.equal(known.status, 200, JSON.stringify(known.body));
});

test('a deleted document: explain by doc_id or by its passage is 404; the delete of an unknown id is a counted no-op', async () => {
  const before = await explain({ doc_id: 'bread-yeast' });
  const pid = before.body.pid as number;
  const del = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { doc_ids: ['bread-yeast', 'never-there'] });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.equal(del.body.deleted, 1);
  assert.deepEqual(del.body.missing, ['never-there']);
  const byId = await explain({ doc_id: 'bread-yeast' });
  assert.equal(byId.status, 404);
  assert.equal(byId.body.error.code, 'DOCUMENT_NOT_FOUND');
  const byPid = await explain({ pid });
  assert.equal(byPid.status, 404, JSON.stringify(byPid.body));
  assert.equal(byPid.body.error.code, 'DOCUMENT_NOT_FOUND');
  const again = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { doc_ids: ['bread-yeast'] });
  assert.equal(again.status, 200);
  assert.equal(again.body.deleted, 0);
  assert.deepEqual(again.body.missing, ['bread-yeast']);
});

test('library and CLI: explain and stored rerank of an unknown id are DOCUMENT_NOT_FOUND (exit 2)', async () => {
  await assert.rejects(sample.index.explain('bread', 'nope'), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND') && e.details?.['docId'] === 'nope');
  await assert.rejects(sample.index.rerank('bread', ['coffee-roasting', 'nope']), (e) => isPlaitError(e, 'DOCUMENT_NOT_FOUND'));
  const cli = spawnSync(process.execPath, [PLAIT_BIN, 'explain', sample.path, 'bread', 'nope', '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 2, cli.stderr);
  assert.equal((JSON.parse(cli.stderr) as { error: { code: string } }).error.code, 'DOCUMENT_NOT_FOUND');
});
