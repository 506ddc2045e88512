/**
 * A body sent to the wrong one of an index's routes — a delete's `doc_ids` to the add route, an
 * add's `documents` to the delete route, a rerank's documents to search — had been refused with
 * the field alone ("body must NOT have additional properties (doc_ids)", or "must have required
 * property 'documents'" for `{"doc_ids": […]}`), not the route that takes it. The answer now names
 * that route. Validation runs before an index is looked up, so a real server serving no index
 * answers these (and a coordinator, which serves the same routes and schemas, alike).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../src/server/index.js';
import { postJson, serveNothing } from './helpers/server-fixture.js';

let server: RunningServer;
before(async () => {
  server = await serveNothing();
});
after(async () => {
  await server?.close();
});

test("a delete's body on the add route, an add's on the delete route, a rerank's on search: 400 naming the route that takes the field", async () => {
  const cases: [string, unknown, RegExp][] = [
    ['documents', { doc_ids: ['1'] }, /required property 'documents'; "doc_ids" is a field of POST \/v1\/indexes\/\{name\}\/documents\/delete/],
    ['documents', { documents: [{ doc_id: 'a', text: 'x' }], doc_ids: ['1'] }, /\(doc_ids\); "doc_ids" is a field of POST \/v1\/indexes\/\{name\}\/documents\/delete/],
    ['documents/delete', { documents: [{ doc_id: 'a', text: 'x' }] }, /\(documents\); "documents" is a field of POST \/v1\/indexes\/\{name\}\/documents \(add or replace/],
    ['search', { query: 'x', documents: ['a', 'b'] }, /\(documents\); "documents" is a field of POST \/v1\/rerank/],
    ['documents', { query: 'x' }, /required property 'documents'; "query" is a field of POST \/v1\/indexes\/\{name\}\/search/],
  ];
  for (const [route, body, message] of cases) {
    const r = await postJson(`${server.url}/v1/indexes/any/${route}`, body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'INVALID_ARGUMENT');
    assert.match(r.body.error.message, message, `${route} ${JSON.stringify(body)}`);
  }
  // A field of no other route keeps its own answer: a document's field goes under metadata.
  const own = await postJson(`${server.url}/v1/indexes/any/documents`, { documents: [{ doc_id: 'a', text: 'x', year: 1 }] });
  assert.match(own.body.error.message, /go under "metadata"/);
});
