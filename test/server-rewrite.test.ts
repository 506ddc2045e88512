/**
 * Query rewriting through the server (issue 26): the search and explain routes take `rewrite`
 * ({spelling, rm3, prf}) and answer with the rewrites applied, as the library reports them; the
 * late side of a served search encodes the corrected text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QueryRewriter } from '../src/index.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-server-rewrite-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('search: rewrite.spelling corrects the query, reports it, and finds what the correct query finds', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const right = await postJson(url, { query: 'why does bread rise', top_k: 3, mode: 'late' });
  const wrong = await postJson(url, { query: 'why does braed rise', top_k: 3, mode: 'late', rewrite: { spelling: true } });
  assert.equal(wrong.status, 200, JSON.stringify(wrong.body));
  const result = wrong.body.results[0];
  assert.deepEqual(result.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  // The late side scored the corrected text: the same documents and scores as the correct query.
  assert.deepEqual(result.hits.map((h: { doc_id: string }) => h.doc_id), right.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id));
  assert.ok(Math.abs(result.hits[0].score - right.body.results[0].hits[0].score) < 1e-5);
  assert.equal(right.body.results[0].rewrites, undefined);
  const off = await postJson(url, { query: 'why does braed rise', top_k: 3, rewrite: null });
  assert.equal(off.status, 200);
  assert.equal(off.body.results[0].rewrites, undefined);
});

test('search: rm3 and prf report their expansions; a pipeline with an rm3 stage runs; unknown rewrite fields are refused', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const rm3 = await postJson(url, { query: 'how do planes stay in the air', mode: 'hybrid', top_k: 5, rewrite: { rm3: true, prf: true } });
  assert.equal(rm3.status, 200, JSON.stringify(rm3.body));
  assert.deepEqual(rm3.body.results[0].rewrites.map((r: { kind: string }) => r.kind).sort(), ['prf', 'rm3']);
  const piped = await postJson(url, { query: 'why does bread rise', pipeline: 'rm3:10 > late:3' });
  assert.equal(piped.status, 200, JSON.stringify(piped.body));
  assert.equal(piped.body.results[0].hits[0].doc_id, 'bread-yeast');
  const bad = await postJson(url, { query: 'bread', rewrite: { spellling: true } });
  assert.equal(bad.status, 400);
});

test('explain: rewrite.spelling explains the corrected query and lists the rewrite', async () => {
  const r = await postJson(`${server.url}/v1/indexes/sample/explain`, { query: 'why does braed rise', doc_id: 'bread-yeast', mode: 'hybrid', rewrite: { spelling: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  assert.ok(r.body.bm25.terms.some((t: { term: string; tf: number }) => t.term === 'bread' && t.tf > 0));
});

test('search: each query is rewritten once per request (the engine passes its rewrites to the library), in every mode', async () => {
  const url = `${server.url}/v1/indexes/sample/search`;
  const original = QueryRewriter.prototype.rewrite;
  let calls = 0;
  QueryRewriter.prototype.rewrite = function (this: QueryRewriter, ...args: Parameters<QueryRewriter['rewrite']>) {
    calls++;
    return original.apply(this, args);
  };
  try {
    for (const mode of ['late', 'hybrid', 'bm25']) {
      calls = 0;
      // Texts new to this test (no cached results), two per request.
      const r = await postJson(url, { queries: [`why does braed rise ${mode}`, `how do bactreia spread ${mode}`], top_k: 3, mode, rewrite: { spelling: true } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(calls, 2, `${mode}: ${calls} rewrites for 2 queries`);
      assert.deepEqual(r.body.results[0].rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }], mode);
      assert.deepEqual(r.body.results[1].rewrites, [{ kind: 'spelling', from: 'bactreia', to: 'bacteria' }], mode);
    }
  } finally {
    QueryRewriter.prototype.rewrite = original;
  }
});

test('searchEncodedBatch: given rewrites are used and reported as given; one per query or INVALID_ARGUMENT', async () => {
  const rw = sample.index.rewrite('why does braed rise', { rewrite: { spelling: true } });
  assert.ok(rw !== null);
  // Given with the text of another query: BM25 searches the rewrite's terms, and the report is the rewrite's.
  const [r] = await sample.index.searchEncodedBatch(['zzzz'], [], { mode: 'bm25', topK: 1, rewrite: { spelling: true }, rewritten: [rw] });
  assert.deepEqual(r!.rewrites, [{ kind: 'spelling', from: 'braed', to: 'bread' }]);
  assert.equal(r!.hits[0]?.docId, 'bread-yeast');
  await assert.rejects(sample.index.searchEncodedBatch(['a', 'b'], [], { mode: 'bm25', rewritten: [rw] }), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
});
