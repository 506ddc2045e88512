/**
 * HTTP error bodies speak the API's case: every key of an error answer — `details` and whatever it
 * nests, on every route and in Cohere's shape too — is snake_case, as the rest of the HTTP JSON is,
 * while the library's PlaitError keeps camelCase (`details.expectedWaitMs` in the library,
 * `details.expected_wait_ms` over HTTP). Values are never renamed: a field name a detail quotes
 * (`"topK"`) comes back as it was. Before, `errorBody` passed the library's `details` through as
 * they were: a 503's `maxInFlightTokens`, a 413's `maxBodyBytes`, a 400's `unknownField`.
 *
 * Two walks on a real server: every code of the HTTP_STATUS table, thrown by the served index with
 * camelCase details (nested objects and objects in arrays), answered by the server's error handler;
 * and one real refusal per route family (search, explain, encode, writes, indexes, Cohere's and
 * TEI's rerank, an unknown route, a wrong media type), each checked for the snake_case key it carries.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PlaitError, type ErrorCode } from '../src/index.js';
import { HTTP_STATUS } from '../src/server/http-errors.js';
import type { RunningServer, ServedIndex } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { plaitError } from './helpers/error-shape.js';

let sample: SampleIndex;
let server: RunningServer;
const MAX_BODY = 4096;
const RAISE = 'raise ';

/** The library's details every raised error carries: camelCase keys at three depths, and camelCase values. */
const LIBRARY_DETAILS = {
  expectedWaitMs: 1500,
  name: 'topK',
  nestedDetail: { innerKey: 2, listOfThings: [{ itemKey: 'keepMeCamel' }, 'plainValue'] },
};
const HTTP_DETAILS = {
  expected_wait_ms: 1500,
  name: 'topK',
  nested_detail: { inner_key: 2, list_of_things: [{ item_key: 'keepMeCamel' }, 'plainValue'] },
};

before(async () => {
  sample = await buildSample('plait-http-error-case-');
  // The sample index, except that a query "raise CODE" throws that PlaitError from inside the index,
  // as a library failure reaches the server.
  const index = sample.index;
  const raising: ServedIndex = {
    path: index.path,
    manifest: index.manifest,
    encoder: () => index.encoder(),
    resolveSearch: (o) => index.resolveSearch(o),
    searchEncodedBatch: async (queries, embeddings, options) => {
      const q = queries[0] ?? '';
      if (q.startsWith(RAISE)) throw new PlaitError(q.slice(RAISE.length) as ErrorCode, { message: 'raised by the test index', ...LIBRARY_DETAILS });
      return index.searchEncodedBatch(queries, embeddings, options);
    },
    close: () => index.close(),
  };
  server = await serve(sample, { maxBodyBytes: MAX_BODY }, raising);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

/** Every object key anywhere in `v`, with its path, that is not snake_case (holds a capital letter). */
function camelKeys(v: unknown, at = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => camelKeys(x, `${at}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [...(/[A-Z]/.test(k) ? [`${at}.${k}`] : []), ...camelKeys(x, `${at}.${k}`)]);
}

test('every code of the HTTP status table, thrown by the library with camelCase details, answers snake_case keys with the values untouched', async () => {
  const codes = Object.keys(HTTP_STATUS) as ErrorCode[];
  assert.ok(codes.length > 40, 'the whole table is walked');
  for (const code of codes) {
    const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query: `${RAISE}${code}` });
    const status = HTTP_STATUS[code];
    assert.equal(r.status, status, `${code}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code);
    assert.deepEqual(camelKeys(r.body), [], `${code}: ${JSON.stringify(r.body)}`);
    const fault = status >= 500 && status !== 503 && status !== 504 && status !== 507;
    // A fault answers only its code and the request id; every other answer carries the details.
    if (fault) assert.equal(r.body.error.details, undefined, code);
    else assert.deepEqual(r.body.error.details, HTTP_DETAILS, code);
    // The server itself still reads the library's camelCase: OVERLOADED's Retry-After is its expectedWaitMs
    // (1,500 ms: 2 s), as it says no retryAfterMs (admission's refusals do).
    if (code === 'OVERLOADED') assert.equal(r.headers.get('retry-after'), '2');
  }
});

test('the library keeps camelCase details: the PlaitError the server translated is unchanged', () => {
  const e = new PlaitError('OVERLOADED', { message: 'x', ...LIBRARY_DETAILS });
  assert.deepEqual(e.details, LIBRARY_DETAILS);
  assert.deepEqual(e.toJSON().details, LIBRARY_DETAILS);
});

test('one real refusal per route family: every error body is snake_case, and carries the snake_case key of its detail', async () => {
  const big = JSON.stringify({ query: 'x', texts: ['a'.repeat(MAX_BODY)], documents: [{ doc_id: 'd', text: 'a'.repeat(MAX_BODY) }] });
  const post = async (path: string, body: unknown, contentType = 'application/json') => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { message?: string; error: { code: string; details?: Record<string, unknown> } } };
  };
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as { message?: string; error: { code: string; details?: Record<string, unknown> } } };
  };
  // [what, answer, status, code, the snake_case detail key it must carry (or null: none to name)]
  const cases: [string, Awaited<ReturnType<typeof post>>, number, string, string | null][] = [
    ['search: unknown field', await post('/v1/indexes/sample/search', { query: 'bread', topK: 3 }), 400, 'INVALID_ARGUMENT', 'unknown_field'],
    ['search: enum', await post('/v1/indexes/sample/search', { query: 'bread', mode: 'fast' }), 400, 'INVALID_ARGUMENT', 'allowed_values'],
    ['search: body too large', await post('/v1/indexes/sample/search', big), 413, 'QUERY_TOO_LARGE', 'max_body_bytes'],
    ['explain: unknown field', await post('/v1/indexes/sample/explain', { query: 'bread', doc_id: 'x', docId: 'x' }), 400, 'INVALID_ARGUMENT', 'unknown_field'],
    ['encode: body too large', await post('/v1/encode', big), 413, 'ENCODE_TOO_LARGE', 'max_body_bytes'],
    ['encode: enum', await post('/v1/encode', { texts: ['a'], kind: 'passage' }), 400, 'INVALID_ARGUMENT', 'allowed_values'],
    ['documents: body too large', await post('/v1/indexes/sample/documents', big), 413, 'WRITE_TOO_LARGE', 'max_body_bytes'],
    ['documents/delete: unknown field', await post('/v1/indexes/sample/documents/delete', { docIds: ['a'] }), 400, 'INVALID_ARGUMENT', 'unknown_field'],
    ['indexes: unknown index', await get('/v1/indexes/nope'), 404, 'INDEX_NOT_FOUND', null],
    ['cohere v1 rerank: body too large', await post('/v1/rerank', big), 413, 'QUERY_TOO_LARGE', 'max_body_bytes'],
    ['cohere v2 rerank: body too large', await post('/v2/rerank', big), 413, 'QUERY_TOO_LARGE', 'max_body_bytes'],
    // TEI answers a refused field 422 (Validation).
    ['tei rerank: enum', await post('/rerank', { query: 'q', texts: ['a'], truncation_direction: 'Middle' }), 422, 'INVALID_ARGUMENT', 'allowed_values'],
    ['tei rerank: body too large', await post('/rerank', big), 413, 'QUERY_TOO_LARGE', 'max_body_bytes'],
    ['media type', await post('/v1/indexes/sample/search', '{"query":"bread"}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', null],
    ['unknown route', await get('/v1/nothing-here'), 404, 'NOT_FOUND', null],
  ];
  for (const [what, r, status, code, key] of cases) {
    // TEI's route answers TEI's shape, plait's fields at its top level (helpers/error-shape.ts).
    const e = plaitError(r.body);
    assert.deepEqual([r.status, e.code], [status, code], `${what}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(camelKeys(r.body), [], `${what}: ${JSON.stringify(r.body)}`);
    if (key !== null) assert.ok(e.details !== undefined && key in e.details, `${what} carries details.${key}: ${JSON.stringify(r.body)}`);
  }
  // Values stay as they came: the unknown field is named as the client spelt it, camelCase and all.
  assert.equal(cases[0]![1].body.error.details?.['unknown_field'], 'topK');
  assert.equal(cases[0]![1].body.error.details?.['suggestion'], 'top_k');
  // Cohere's shape keeps its top-level message beside the snake_case error.
  assert.equal(typeof cases[9]![1].body.message, 'string');
});

test('the OpenAPI document says error details are snake_case', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { properties: { error: { properties: { details: { description?: string } } } } } }> }> }>> };
  const search = doc.paths['/v1/indexes/{name}/search']!['post']!.responses['4XX'] ?? doc.paths['/v1/indexes/{name}/search']!['post']!.responses['4xx'];
  assert.ok(search !== undefined, Object.keys(doc.paths['/v1/indexes/{name}/search']!['post']!.responses).join());
  const details = search.content['application/json']!.schema.properties.error.properties.details;
  assert.match(details.description ?? '', /snake_case/);
  const rerank = doc.paths['/v1/rerank']!['post']!.responses['4XX'] ?? doc.paths['/v1/rerank']!['post']!.responses['4xx'];
  assert.match(rerank!.content['application/json']!.schema.properties.error.properties.details.description ?? '', /snake_case/);
});
