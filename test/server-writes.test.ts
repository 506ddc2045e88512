/**
 * Writes over HTTP (issue 24): add/upsert and delete routes on a served sample index (bundled
 * model). A write answers after its commit with the generation and commit id, and the very next
 * search sees it; a document written over HTTP scores exactly as the same document added through
 * the library (PlaitIndex.add, the oracle); bounds and bad bodies get their codes; concurrent
 * writes are serialised, not refused; the OpenAPI document lists the routes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex, readManifest, commitIdOf } from '../src/index.js';
import { CLUSTER_WRITE_DEFAULTS } from '../src/config/defaults.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;
let base: string;
let pristine: string;

before(async () => {
  sample = await buildSample('plait-server-writes-');
  // A copy of the index as built: the oracle replays the same writes through the library.
  pristine = join(sample.dir, 'pristine');
  cpSync(sample.path, pristine, { recursive: true });
  server = await serve(sample);
  base = `${server.url}/v1/indexes/sample`;
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

const NEW_DOCS = [
  { doc_id: 'volcano-glass', title: 'Obsidian', text: 'Obsidian is volcanic glass that forms when lava cools too fast for crystals to grow; knapped edges are sharper than steel scalpels.', metadata: { topic: 'geology', year: 2021 } },
  { doc_id: 'bee-dance', text: 'Honey bees tell their hive mates where flowers are with a waggle dance: the angle gives the direction and the duration the distance.', metadata: { topic: 'biology', year: 2019 } },
];

async function search(query: string, extra: Record<string, unknown> = {}): Promise<{ doc_id: string; score: number; text?: string }[]> {
  const r = await postJson(`${base}/search`, { query, top_k: 5, exhaustive: true, include_text: true, ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.results[0].hits;
}

test('an add answers after the commit with the generation (named as search answers name it), its number and commit id, and the next search sees it', async () => {
  const r = await postJson(`${base}/documents`, { documents: NEW_DOCS });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const m = readManifest(sample.path);
  const searched = await postJson(`${base}/search`, { query: 'volcanic glass', top_k: 1 });
  assert.equal(typeof searched.body.generation, 'string');
  assert.deepEqual(r.body, { index: 'sample', committed: true, generation: searched.body.generation, generation_number: m.generation, commit: commitIdOf(m), added: 2, replaced: 0, unchanged: 0, deleted: 0, missing: [], compacted: false });
  assert.equal(r.body.generation_number, 1);
  assert.equal((await search('volcanic glass sharper than a scalpel'))[0]!.doc_id, 'volcano-glass');
  assert.equal((await search('waggle dance of honey bees', { filter: { topic: 'biology' } }))[0]!.doc_id, 'bee-dance');
  const info = (await (await fetch(base)).json()) as { manifest: { counts: { documents: number } } };
  assert.equal(info.manifest.counts.documents, 42);
});

test('a document written over HTTP scores exactly as the same document added through the library', async () => {
  const oracle = await openIndex(pristine, { workers: 1, encoderOptions: { threads: 1 } });
  try {
    await oracle.add(NEW_DOCS.map((d) => ({ docId: d.doc_id, title: d.title ?? '', text: d.text, metadata: d.metadata })));
    for (const q of ['volcanic glass sharper than a scalpel', 'how bees find flowers', 'roasting coffee beans']) {
      const expected = (await oracle.search(q, { topK: 5, exhaustive: true })).hits.map((h) => [h.docId, h.score]);
      const got = (await search(q)).map((h) => [h.doc_id, h.score]);
      assert.deepEqual(got, expected, q);
    }
  } finally {
    await oracle.close();
  }
});

test('an upsert replaces; no_replace refuses an indexed id and writes nothing', async () => {
  const r = await postJson(`${base}/documents`, { documents: [{ doc_id: 'bee-dance', text: 'Bumblebees do not dance; they leave scent marks on the flowers they have emptied.' }] });
  assert.equal(r.status, 200);
  assert.equal(r.body.replaced, 1);
  assert.equal(r.body.added, 0);
  const hit = (await search('bumblebees leave scent marks'))[0]!;
  assert.equal(hit.doc_id, 'bee-dance');
  assert.match(hit.text!, /scent marks/);
  const before = readManifest(sample.path).generation;
  // A conflict with the index's state, not a malformed body: 409 naming the id, its place and the
  // option — found before the encoding (the encoder's busy time does not move).
  const busy = async (): Promise<number> => (await server.engine.metrics.encoderBusy.get()).values.reduce((s, v) => s + v.value, 0);
  const busyBefore = await busy();
  const refused = await postJson(`${base}/documents`, { documents: [{ doc_id: 'fresh-one', text: 'a new document' }, { doc_id: 'bee-dance', text: 'x y z' }], no_replace: true });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'DOCUMENT_EXISTS');
  assert.equal(refused.body.error.message, 'Document exists: "bee-dance" (documents[1]) is already in the index, and no_replace refuses to replace it');
  assert.deepEqual(refused.body.error.details, { id: 'bee-dance', option: 'no_replace', field: 'documents[1]' });
  assert.equal(await busy(), busyBefore, 'a refused write is not encoded');
  assert.equal(readManifest(sample.path).generation, before);
  // The same id twice in one request is the body's own fault: 400 DUPLICATE_ID, with or without no_replace.
  for (const noReplace of [true, false]) {
    const twice = await postJson(`${base}/documents`, { documents: [{ doc_id: 'twin', text: 'one' }, { doc_id: 'twin', text: 'two' }], no_replace: noReplace });
    assert.equal(twice.status, 400);
    assert.equal(twice.body.error.code, 'DUPLICATE_ID');
  }
  assert.equal(readManifest(sample.path).generation, before);
});

test('deletes by id (absent ids listed) and by metadata filter', async () => {
  const r = await postJson(`${base}/documents/delete`, { doc_ids: ['bee-dance', 'no-such-doc'] });
  assert.equal(r.status, 200);
  assert.equal(r.body.deleted, 1);
  assert.deepEqual(r.body.missing, ['no-such-doc']);
  assert.ok(!(await search('bumblebees leave scent marks')).some((h) => h.doc_id === 'bee-dance'));
  const f = await postJson(`${base}/documents/delete`, { filter: { topic: 'geology' } });
  assert.equal(f.status, 200);
  assert.equal(f.body.deleted, 1);
  assert.ok(!(await search('volcanic glass')).some((h) => h.doc_id === 'volcano-glass'));
  // Nothing to delete: nothing committed, the current generation answered.
  const none = await postJson(`${base}/documents/delete`, { doc_ids: ['no-such-doc'] });
  assert.equal(none.status, 200);
  assert.equal(none.body.committed, false);
  assert.equal(none.body.generation, f.body.generation);
  assert.equal(none.body.generation_number, f.body.generation_number);
});

test('concurrent writes are serialised: each commits its own generation', async () => {
  const g0 = readManifest(sample.path).generation!;
  const rs = await Promise.all(
    [0, 1, 2, 3].map((i) => postJson(`${base}/documents`, { documents: [{ doc_id: `parallel-${i}`, text: `parallel document number ${i} about kites and wind` }] })),
  );
  assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200]);
  assert.deepEqual(rs.map((r) => r.body.generation_number).sort(), [g0 + 1, g0 + 2, g0 + 3, g0 + 4]);
  // Each answer names its own served generation (taken before the next queued write refreshed it).
  assert.equal(new Set(rs.map((r) => r.body.generation)).size, 4);
  const last = rs.find((r) => r.body.generation_number === g0 + 4)!;
  assert.equal((await postJson(`${base}/search`, { query: 'kites and wind', top_k: 1 })).body.generation, last.body.generation);
  const del = await postJson(`${base}/documents/delete`, { doc_ids: [0, 1, 2, 3].map((i) => `parallel-${i}`) });
  assert.equal(del.body.deleted, 4);
});

test('bounds and bad bodies: 413 past the document and byte limits, 400 for what a write cannot take, 404 for an unknown index', async () => {
  const many = Array.from({ length: CLUSTER_WRITE_DEFAULTS.maxDocuments + 1 }, (_, i) => ({ doc_id: `m${i}`, text: 'short' }));
  const tooMany = await postJson(`${base}/documents`, { documents: many });
  assert.equal(tooMany.status, 413);
  // A write is not a query: its 413s are WRITE_TOO_LARGE, for documents, ids and bytes alike.
  assert.equal(tooMany.body.error.code, 'WRITE_TOO_LARGE');
  assert.equal(tooMany.body.error.details.limit, CLUSTER_WRITE_DEFAULTS.maxDocuments);
  const ids = await postJson(`${base}/documents/delete`, { doc_ids: Array.from({ length: CLUSTER_WRITE_DEFAULTS.maxDeleteIds + 1 }, (_, i) => `x${i}`) });
  assert.deepEqual([ids.status, ids.body.error.code, ids.body.error.details.field], [413, 'WRITE_TOO_LARGE', 'doc_ids']);
  const tooBig = await postJson(`${base}/documents`, { documents: [{ doc_id: 'big', text: 'a '.repeat(600_000) }] });
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.body.error.code, 'WRITE_TOO_LARGE');
  const cases: [unknown, number, string][] = [
    [{ documents: [] }, 400, 'INVALID_ARGUMENT'],
    [{ documents: [{ doc_id: '', text: 'x' }] }, 400, 'INVALID_ARGUMENT'],
    [{ documents: [{ doc_id: 'a', text: '   ' }] }, 400, 'EMPTY_TEXT'],
    // A tab or white space at an end of an id: refused by every door, as the corpus reader refuses it
    // (spaces inside an id are accepted everywhere: test/document-ids.test.ts).
    [{ documents: [{ doc_id: 'a b ', text: 'x' }] }, 400, 'INVALID_ID'],
    [{ documents: [{ doc_id: 'ok', text: 'x' }, { doc_id: 'tab\tid', text: 'y' }] }, 400, 'INVALID_ID'],
    [{ documents: [{ doc_id: 'a', text: 'x', colour: 'red' }] }, 400, 'INVALID_ARGUMENT'],
    [{ documents: [{ doc_id: 'a', text: 'x' }, { doc_id: 'a', text: 'y' }] }, 400, 'DUPLICATE_ID'],
    [{ documents: [{ doc_id: 'a', text: 'x', metadata: [1] }] }, 400, 'INVALID_ARGUMENT'],
    ['{"documents":[{"doc_id":"a","text":"\\ud800"}]}', 400, 'TEXT_NOT_UTF8'],
  ];
  const g = readManifest(sample.path).generation;
  for (const [body, status, code] of cases) {
    const r = await postJson(`${base}/documents`, body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.body.error.code, code, JSON.stringify(body));
  }
  for (const [body, code] of [[{}, 'INVALID_ARGUMENT'], [{ filter: { year: { $near: 3 } } }, 'INVALID_FILTER'], [{ doc_ids: 'a' }, 'INVALID_ARGUMENT']] as const) {
    const r = await postJson(`${base}/documents/delete`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, code);
  }
  // wait_ms is a coordinator's (its replicas apply after the answer): a single index answers after the commit, so it is refused, not ignored.
  for (const [route, body] of [['documents', { documents: [{ doc_id: 'w', text: 'x' }], wait_ms: 1000 }], ['documents/delete', { doc_ids: ['bee-dance'], wait_ms: 1000 }]] as const) {
    const r = await postJson(`${base}/${route}`, body);
    assert.deepEqual([r.status, r.body.error.code, r.body.error.details?.field], [400, 'INVALID_ARGUMENT', 'body/wait_ms'], JSON.stringify(r.body));
    assert.match(r.body.error.message, /wait_ms is for a cluster coordinator/);
  }
  assert.equal(readManifest(sample.path).generation, g, 'no refused write committed anything');
  const unknown = await postJson(`${server.url}/v1/indexes/nope/documents`, { documents: [{ doc_id: 'a', text: 'x' }] });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'INDEX_NOT_FOUND');
});

test('a write past its deadline before the commit answers 504 and commits nothing', async () => {
  const g = readManifest(sample.path).generation;
  // Enough text that encoding takes many ONNX runs (tens of ms even on an idle machine): with one
  // short document the run could finish inside the 1 ms timer's first poll and answer 200 (seen in CI
  // under load), a race the test must not depend on.
  const words = 'a document whose encoding takes far longer than one millisecond with this many words in it'.split(' ');
  const documents = Array.from({ length: 48 }, (_, i) => ({ doc_id: i === 0 ? 'too-late' : `too-late-${i}`, text: Array.from({ length: 180 }, (_, j) => words[(i + j) % words.length]).join(' ') }));
  const r = await postJson(`${base}/documents`, { documents, timeout_ms: 1 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'TIMEOUT');
  // The work behind the 504 stops at the commit's deadline check; the next write goes through after it.
  const next = await postJson(`${base}/documents/delete`, { doc_ids: ['too-late'] });
  assert.equal(next.status, 200);
  assert.equal(next.body.committed, false, 'the late document was never committed');
  assert.equal(readManifest(sample.path).generation, g);
});

test('the OpenAPI document lists the write routes with their bodies', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
  const add = doc.paths['/v1/indexes/{name}/documents'].post;
  assert.deepEqual(add.requestBody.content['application/json'].schema.required, ['documents']);
  assert.ok(doc.paths['/v1/indexes/{name}/documents/delete'].post.responses['200']);
});
