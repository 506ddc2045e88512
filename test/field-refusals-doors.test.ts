/**
 * Fields as a newcomer writes them, over HTTP and in the library (trial 12). Before:
 * POST /documents with `{"_id": "n1", …}` or `{"docs": […]}` answered only "must have required
 * property 'doc_id'" (ajv names the missing field before the unknown one), and `"year": 2020` beside
 * the text "must NOT have additional properties (year)" without saying where it goes; the library's
 * `index.add([{ docId, text, year: 2020 }])` stored the document without its year, silently, and
 * `{ _id: 'n1', … }` was "Expected a non-empty string or an integer for documents[0].docId but
 * received undefined". A highlights object with a typo (`preTag`) or a bad `snippet_chars` was
 * "body/highlights must be boolean" (ajv's first anyOf branch), and highlights beside a pipeline
 * were refused because "its stages use plait's PLAID settings". A delete by a filter with a typo
 * (`{"shelv": …}`) or a number where text is stored answered `deleted: 0` without a word, where the
 * same filter on a search says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import type { RunningServer } from '../src/server/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { runPlait } from './helpers/cli.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-field-refusals-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('POST /documents names the field a missing one was sent as, and where a document\'s own fields go', async () => {
  const url = `${server.url}/v1/indexes/sample/documents`;
  const cases: [unknown, RegExp, string | undefined][] = [
    [{ documents: [{ _id: 'n1', text: 'x' }] }, /must have required property 'doc_id'; it has "_id": did you mean "doc_id"\?$/, 'doc_id'],
    [{ documents: [{ docId: 'n1', text: 'x' }] }, /it has "docId": did you mean "doc_id"\?$/, 'doc_id'],
    [{ documents: [{ doc_id: 'n1', content: 'x' }] }, /must have required property 'text'; it has "content": did you mean "text"\?$/, 'text'],
    [{ docs: [{ doc_id: 'n1', text: 'x' }] }, /must have required property 'documents'; it has "docs": did you mean "documents"\?$/, 'documents'],
    [{ documents: [{ doc_id: 'n1', text: 'x', year: 2020 }] }, /\(year\); a document's own fields go under "metadata": \{"metadata": \{"year": …\}\}$/, undefined],
  ];
  for (const [body, message, suggestion] of cases) {
    const r = await postJson(url, body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT');
    assert.match(r.body.error.message, message, JSON.stringify(body));
    assert.equal(r.body.error.details.suggestion, suggestion, JSON.stringify(body));
  }
  // Nothing was written by any of them.
  assert.equal((await sample.index.search('x', { topK: 50, mode: 'bm25', filter: { doc_id: 'n1' } })).hits.length, 0);
});

test('index.add refuses a key that is not a document field (naming docId / text, or metadata) instead of dropping it', async () => {
  const cases: [object, RegExp, string | undefined][] = [
    [{ _id: 'n2', text: 'x' }, /documents\[0\] has "_id": .*did you mean "docId"\?/, 'docId'],
    [{ doc_id: 'n2', text: 'x' }, /did you mean "docId"\?/, 'docId'],
    [{ docId: 'n2', body: 'x' }, /did you mean "text"\?/, 'text'],
    [{ docId: 'n2', text: 'x', year: 2020 }, /documents\[0\] has "year", which is not a document field .*metadata: \{ "year": … \}/, undefined],
  ];
  for (const [doc, message, suggestion] of cases) {
    await assert.rejects(sample.index.add([doc as never]), (e: unknown) => {
      assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'), String(e));
      assert.match(e.message, message);
      assert.equal(e.details?.['suggestion'], suggestion);
      return true;
    });
  }
  // The four fields (and a key left undefined) are a document as before.
  const r = await sample.index.add([{ docId: 'n2', title: undefined, text: 'lentils simmer slowly', metadata: { year: 2020 } }]);
  assert.equal(r.added, 1);
  assert.deepEqual((await sample.index.search('lentils', { topK: 1, mode: 'bm25', includeText: true, filter: { year: 2020 } })).hits.map((h) => h.docId), ['n2']);
});

test('a field of several shapes (highlights: true or options) is refused for what is wrong inside it, not for the first shape', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const cases: [unknown, RegExp][] = [
    [{ highlights: { preTag: '<mark>' } }, /body\/highlights must NOT have additional properties \(preTag\); did you mean "pre_tag"\?/],
    [{ highlights: { snippet_chars: 0 } }, /Expected an integer in \[\d+, \d+\] for body\/highlights\/snippet_chars but received 0/],
    [{ highlights: 'yes' }, /body\/highlights must be boolean or object$/],
    [{ rewrite: { synonyms: [1] } }, /body\/rewrite\/synonyms\/0 must be string$/],
  ];
  for (const [extra, message] of cases) {
    const r = await postJson(url, { query: 'bread', top_k: 1, mode: 'bm25', ...(extra as object) });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error.message, message, JSON.stringify(extra));
    assert.doesNotMatch(r.body.error.message, /must be boolean$/, JSON.stringify(extra));
  }
  // The options shape still works.
  const ok = await postJson(url, { query: 'bread', top_k: 1, mode: 'bm25', highlights: { pre_tag: '[', post_tag: ']' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('highlights beside a pipeline are refused for their own reason, not PLAID settings', async () => {
  const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', pipeline: 'bm25:10 > late:2', highlights: true });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.error.message, /highlights cannot apply with pipeline: a pipeline's hits are ranked by several stages/);
  assert.doesNotMatch(r.body.error.message, /PLAID/);
});

test('a delete whose filter matches nothing says why, at every door (HTTP warnings, library filterWarnings, plait delete)', async () => {
  await sample.index.add([{ docId: 'shelved', text: 'porridge oats soaked overnight', metadata: { shelf: '12' } }]);
  const http = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { filter: { shelv: '12' } });
  assert.equal(http.status, 200, JSON.stringify(http.body));
  assert.equal(http.body.deleted, 0);
  assert.deepEqual(http.body.warnings.map((w: { code: string; suggestion?: string }) => [w.code, w.suggestion]), [['FILTER_FIELD_UNKNOWN', 'shelf']]);
  const lib = await sample.index.delete({ filter: { shelf: 12 } });
  assert.equal(lib.deleted, 0);
  assert.deepEqual(lib.filterWarnings?.map((w) => [w.code, w.askedType, w.storedTypes]), [['FILTER_TYPE_MISMATCH', 'number', ['string']]]);
  const cli = runPlait(sample.dir, ['delete', sample.path, '--filter', '{"shelf": 12}']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /^plait: no document passes --filter: filter field "shelf" is given a number \(12\) .*\[FILTER_TYPE_MISMATCH\]$/m);
  // A delete that matched says nothing of the kind.
  const done = await postJson(`${server.url}/v1/indexes/sample/documents/delete`, { filter: { shelf: '12' } });
  assert.equal(done.body.deleted, 1, JSON.stringify(done.body));
  assert.equal(done.body.warnings, undefined);
});
