/**
 * TEI's POST /rerank answers its errors as text-embeddings-inference does, so that TEI's clients
 * read them: `{"error": "<message>", "error_type": "<kind>"}` (TEI router/src/lib.rs ErrorResponse,
 * ErrorType serialised as the variant's name), `error` and `error_type` first, then plait's own
 * `message`, `code`, `details` and `request_id` at the top level. Before, the route answered
 * `{"message": …, "error": {"code", "message", …}}`: a client reading `error` as a string (Python's
 * huggingface_hub, Haystack's TEI ranker, `body.error.includes(…)`) got an object.
 *
 * On real servers (127.0.0.1, random port): every code of the status table raised by the engine's
 * rerank, byte for byte; and each real refusal the route gives (400 validation and empty, 401,
 * 404 of a wrong path ending in /rerank and of TEI's routes plait does not serve, 408, 413 by
 * bytes and by items, 415), each at TEI's status for its kind (router/src/http/server.rs,
 * `From<&ErrorType> for StatusCode`: Empty 400, Validation and Tokenizer 422, Overloaded 429,
 * Backend 424, Unhealthy 503) where TEI's handler answers it, and at plait's (which is TEI's HTTP
 * layer's) where TEI's axum layer does: malformed JSON 400, 401, 404, 413 by bytes, 415; 504 and
 * 408 have no TEI counterpart. Before, every status was plait's: a shed request 503 (TEI 429),
 * a wrong type 400 and too many texts 413 (TEI 422). The OpenAPI document says so too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { PlaitError, type ErrorCode } from '../src/index.js';
import { HTTP_STATUS } from '../src/server/http-errors.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let open: RunningServer;
let keyed: RunningServer;
const MAX_BODY = 8192;
const MAX_DOCS = 5;
const RECEIVE_MS = 1000;
const KEY = 'tei-error-test-key-0123456789';
const RAISE = 'raise ';

before(async () => {
  sample = await buildSample('plait-tei-errors-');
  open = await serve(sample, { maxBodyBytes: MAX_BODY, maxRerankDocuments: MAX_DOCS, receiveTimeoutMs: RECEIVE_MS });
  keyed = await serve(sample, { apiKey: KEY });
  // A query "raise CODE" throws that PlaitError from the engine's rerank, as a library failure reaches the route.
  const engine = open.engine;
  const rerank = engine.rerank.bind(engine);
  engine.rerank = async (model, query, texts, options, signal) => {
    if (query.startsWith(RAISE)) throw new PlaitError(query.slice(RAISE.length) as ErrorCode, { message: 'raised by the test engine', expectedWaitMs: 1500, field: 'texts' });
    return rerank(model, query, texts, options, signal);
  };
});

after(async () => {
  await open?.close();
  await keyed?.close();
  await sample?.dispose();
});

/** The answer's status, headers, raw text and parsed body. */
async function send(url: string, init: RequestInit & { body?: string } = {}): Promise<{ status: number; headers: Headers; text: string; body: Record<string, any> }> {
  const res = await fetch(url, { method: 'POST', ...init, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as Record<string, any> };
}

/** TEI's ErrorResponse prefix and plait's fields after it, in this order, checked on the raw bytes. */
function assertTeiShape(r: { text: string; body: Record<string, any>; headers: Headers }, errorType: string, code: string, what: string): void {
  assert.equal(typeof r.body['error'], 'string', `${what}: error is a string: ${r.text}`);
  assert.ok(r.text.startsWith(`{"error":${JSON.stringify(r.body['error'])},"error_type":"${errorType}",`), `${what}: ${r.text}`);
  assert.equal(r.body['message'], r.body['error'], what);
  assert.equal(r.body['code'], code, `${what}: ${r.text}`);
  const keys = Object.keys(r.body);
  assert.deepEqual(keys, ['error', 'error_type', 'message', 'code', ...(keys.includes('details') ? ['details'] : []), ...(keys.includes('request_id') ? ['request_id'] : [])], what);
}

/** TEI's kind of each plait code, written out here (not read from the server's table). */
function expectedType(code: ErrorCode): string {
  const special: Partial<Record<ErrorCode, string>> = {
    EMPTY_TEXT: 'Empty',
    OVERLOADED: 'Overloaded',
    TIMEOUT: 'Overloaded',
    OFFLINE: 'Unhealthy',
    CLOSED: 'Unhealthy',
    INDEX_CLOSED: 'Unhealthy',
    ABORTED: 'Unhealthy',
    CLUSTER_UNAVAILABLE: 'Unhealthy',
    TOKENIZER_FAILED: 'Tokenizer',
  };
  return special[code] ?? (HTTP_STATUS[code] >= 500 ? 'Backend' : 'Validation');
}

/** TEI's status for each plait code raised in its handler, written out here: its kind's, but where TEI's HTTP layer or plait's own deadline answers. */
function expectedStatus(code: ErrorCode): number {
  const own: Partial<Record<ErrorCode, number>> = { TEXT_NOT_UTF8: 400, TIMEOUT: 504, UNAUTHORIZED: 401, NOT_FOUND: 404, INDEX_NOT_FOUND: 404, DOCUMENT_NOT_FOUND: 404, MODEL_NOT_FOUND: 404, FILE_NOT_FOUND: 404 };
  const byType: Record<string, number> = { Empty: 400, Validation: 422, Tokenizer: 422, Overloaded: 429, Backend: 424, Unhealthy: 503 };
  return own[code] ?? byType[expectedType(code)]!;
}

test('every code of the status table raised on POST /rerank: TEI\'s {error, error_type} byte for byte at TEI\'s status, plait\'s code and request_id kept', async () => {
  const codes = Object.keys(HTTP_STATUS) as ErrorCode[];
  assert.ok(codes.length > 40, 'the whole table is walked');
  for (const code of codes) {
    const r = await send(`${open.url}/rerank`, { body: JSON.stringify({ query: `${RAISE}${code}`, texts: ['a text'] }) });
    const status = HTTP_STATUS[code];
    assert.equal(r.status, expectedStatus(code), `${code}: ${r.text}`);
    const id = r.headers.get('x-request-id')!;
    const fault = status >= 500 && ![503, 504, 507].includes(status);
    // The whole body, byte for byte: a fault carries only its code and the request id (the detail is in the log).
    // The message as the library words it (its code's title first: "Invalid argument: raised by …").
    const message = fault ? `internal error; the server log has the detail under request id ${id}` : new PlaitError(code, { message: 'raised by the test engine' }).message;
    const details = fault ? '' : ',"details":{"expected_wait_ms":1500,"field":"texts"}';
    const type = expectedType(code);
    assert.equal(r.text, `{"error":${JSON.stringify(message)},"error_type":"${type}","message":${JSON.stringify(message)},"code":"${code}"${details},"request_id":"${id}"}`, code);
    if (code === 'OVERLOADED') assert.equal(r.headers.get('retry-after'), '2', 'TEI\'s 429, with plait\'s Retry-After kept');
  }
});

test('real refusals on POST /rerank at TEI\'s statuses: 422 Validation (enum, type, too many texts), 400 (malformed JSON, Empty), 413 by bytes, 415, all in TEI\'s shape', async () => {
  const url = `${open.url}/rerank`;
  const cases: [string, Awaited<ReturnType<typeof send>>, number, string, string][] = [
    ['enum', await send(url, { body: JSON.stringify({ query: 'q', texts: ['a'], truncation_direction: 'Middle' }) }), 422, 'Validation', 'INVALID_ARGUMENT'],
    ['wrong type', await send(url, { body: JSON.stringify({ query: 'q', texts: 'a' }) }), 422, 'Validation', 'INVALID_ARGUMENT'],
    ['malformed JSON', await send(url, { body: '{"query": ' }), 400, 'Validation', 'INVALID_ARGUMENT'],
    ['empty texts', await send(url, { body: JSON.stringify({ query: 'q', texts: [] }) }), 400, 'Empty', 'EMPTY_TEXT'],
    ['too many texts', await send(url, { body: JSON.stringify({ query: 'q', texts: Array.from({ length: MAX_DOCS + 1 }, () => 'a') }) }), 422, 'Validation', 'QUERY_TOO_LARGE'],
    ['too many bytes', await send(url, { body: JSON.stringify({ query: 'q', texts: ['a'.repeat(MAX_BODY)] }) }), 413, 'Validation', 'QUERY_TOO_LARGE'],
    ['media type', await send(url, { body: '{"query":"q","texts":["a"]}', headers: { 'content-type': 'text/plain' } }), 415, 'Validation', 'UNSUPPORTED_MEDIA_TYPE'],
  ];
  for (const [what, r, status, type, code] of cases) {
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assertTeiShape(r, type, code, what);
    assert.equal(r.body['request_id'], r.headers.get('x-request-id'), what);
  }
  // The empty batch's whole answer, byte for byte: TEI's message ("`texts` cannot be empty"); plait had answered 200 [].
  const empty = cases[3]![1];
  assert.equal(empty.text, `{"error":"Empty text: \`texts\` cannot be empty","error_type":"Empty","message":"Empty text: \`texts\` cannot be empty","code":"EMPTY_TEXT","details":{"field":"texts"},"request_id":"${empty.headers.get('x-request-id')}"}`);
  assert.match(cases[4]![1].body['error'], /6 items in texts; the limit is 5/);
  assert.equal(cases[5]![1].body['details'].max_body_bytes, MAX_BODY);
  // A Cohere body is a Cohere or Together client whose base URL is off: Cohere's shape, which it reads
  // (@ai-sdk/togetherai reads error.message; cohere-ai the top-level message).
  const cohere = await send(url, { body: JSON.stringify({ query: 'q', documents: ['a'] }) });
  assert.equal(cohere.status, 400);
  assert.equal(cohere.body['error'].code, 'INVALID_ARGUMENT');
  assert.equal(cohere.body['message'], cohere.body['error'].message);
  assert.match(cohere.body['message'], /POST \/rerank is TEI's route and takes "texts"/);
});

test('TEI\'s empty inputs: an empty or blank query ranks every text at the empty score (200, as TEI scores each pair), a pair both empty is 400 Empty, an empty text beside a query is ranked', async () => {
  const url = `${open.url}/rerank`;
  // TEI refuses an empty query only in a pair whose text is empty too; plait had answered 400 EMPTY_TEXT to every one.
  const empty = await send(url, { body: JSON.stringify({ query: '', texts: ['yeast makes dough rise', 'stocks fell'], return_text: true }) });
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body, [{ index: 0, score: 0.5, text: 'yeast makes dough rise' }, { index: 1, score: 0.5, text: 'stocks fell' }]);
  const blank = await send(url, { body: JSON.stringify({ query: ' \n', texts: ['a', ''], raw_scores: true }) });
  assert.equal(blank.status, 200, blank.text);
  assert.deepEqual(blank.body, [{ index: 0, score: 0 }, { index: 1, score: 0 }]);
  const both = await send(url, { body: JSON.stringify({ query: '', texts: ['a', ''] }) });
  assert.equal(both.status, 400, both.text);
  assertTeiShape(both, 'Empty', 'EMPTY_TEXT', 'query and a text both empty');
  assert.match(both.body['error'], /`inputs` cannot be empty/);
  assert.equal(both.body['details'].field, 'texts[1]');
  // An empty text beside a real query is scored, last (TEI scores the pair too).
  const emptyText = await send(url, { body: JSON.stringify({ query: 'bread rise', texts: ['', 'yeast makes dough rise'] }) });
  assert.equal(emptyText.status, 200, emptyText.text);
  assert.deepEqual((emptyText.body as unknown as { index: number }[]).map((r) => r.index), [1, 0]);
});

test('401 on POST /rerank, and on a TEI route plait does not serve, is TEI-shaped', async () => {
  const r = await send(`${keyed.url}/rerank`, { body: JSON.stringify({ query: 'q', texts: ['a'] }), headers: { authorization: 'Bearer wrong' } });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  assertTeiShape(r, 'Validation', 'UNAUTHORIZED', '401 /rerank');
  assert.match(r.body['error'], /Authorization: Bearer <key>/);
  const embed = await send(`${keyed.url}/embed`, { body: JSON.stringify({ inputs: 'q' }) });
  assert.equal(embed.status, 401);
  assertTeiShape(embed, 'Validation', 'UNAUTHORIZED', '401 /embed');
  // plait's own routes keep plait's shape.
  const search = await send(`${keyed.url}/v1/indexes/sample/search`, { body: JSON.stringify({ query: 'q' }) });
  assert.equal(search.status, 401);
  assert.equal(search.body['error'].code, 'UNAUTHORIZED');
});

test('404: a wrong unversioned path ending in /rerank and TEI\'s other routes (/embed, /tokenize, /info, …) are TEI-shaped and name what plait serves', async () => {
  const wrong = await send(`${open.url}/tei/rerank`, { body: JSON.stringify({ query: 'q', texts: ['a'] }) });
  assert.equal(wrong.status, 404);
  assertTeiShape(wrong, 'Validation', 'NOT_FOUND', '/tei/rerank');
  assert.match(wrong.body['error'], /^Not found: no route POST \/tei\/rerank; rerank is POST \/v1\/rerank or \/v2\/rerank .* or POST \/rerank \(TEI's\)$/);
  assert.equal(wrong.body['request_id'], wrong.headers.get('x-request-id'));
  for (const [method, path] of [['POST', '/embed'], ['POST', '/embed_all'], ['POST', '/embed_sparse'], ['POST', '/predict'], ['POST', '/similarity'], ['POST', '/tokenize'], ['POST', '/decode'], ['GET', '/info']] as const) {
    const r = await send(`${open.url}${path}`, method === 'GET' ? { method } : { body: JSON.stringify({ inputs: 'q' }) });
    assert.equal(r.status, 404, path);
    assertTeiShape(r, 'Validation', 'NOT_FOUND', path);
    assert.equal(r.body['error'], `Not found: no route ${method} ${path}; of text-embeddings-inference's API plait serves POST /rerank only (and GET /health, /metrics); ColBERT token embeddings are POST /v1/encode (plait's own shape, not TEI's /embed), search is POST /v1/indexes/:name/search; GET /openapi.json lists every route`);
  }
  // A versioned path ending in /rerank is a Cohere, Jina or Together client's: Cohere's shape, error an object.
  for (const path of ['/v1/rerank/rerank', '/v2/v2/rerank']) {
    const r = await send(`${open.url}${path}`, { body: JSON.stringify({ query: 'q', documents: ['a'] }) });
    assert.equal(r.status, 404, path);
    assert.equal(r.body['error'].code, 'NOT_FOUND', path);
    assert.equal(r.body['message'], r.body['error'].message, path);
  }
  // Any other unknown path keeps plait's shape.
  const other = await send(`${open.url}/v1/nothing-here`, { body: '{}' });
  assert.equal(other.status, 404);
  assert.equal(other.body['error'].code, 'NOT_FOUND');
});

/** Sends `path` a body that stops after 5 bytes; resolves with the raw answer once the server closes the socket. */
async function stalledBody(path: string, body: string): Promise<{ head: string; text: string }> {
  const { hostname, port } = new URL(open.url);
  const socket = connect({ host: hostname, port: Number(port) });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  // The rest never comes: the server closes the socket after RECEIVE_MS (an event, awaited with a 10× margin).
  const timer = setTimeout(() => socket.destroy(), 10 * RECEIVE_MS + 5000);
  await closed;
  clearTimeout(timer);
  const at = data.indexOf('\r\n\r\n');
  return { head: data.slice(0, at), text: data.slice(at + 4) };
}

test('408: a rerank body that does not arrive within the receive limit is answered in its route\'s shape (TEI\'s on /rerank, Cohere\'s on /v1/rerank)', async () => {
  const tei = await stalledBody('/rerank', JSON.stringify({ query: 'bread', texts: ['a'] }));
  assert.match(tei.head, /^HTTP\/1\.1 408 /, tei.head);
  const r = { text: tei.text, body: JSON.parse(tei.text) as Record<string, any>, headers: new Headers() };
  // TIMEOUT is Overloaded at its 504; a 408 is the client's slowness: Validation.
  assertTeiShape(r, 'Validation', 'TIMEOUT', '408');
  assert.match(r.body['error'], /receive limit of 1000 ms/);
  assert.equal(r.body['request_id'], /x-request-id: (\S+)/.exec(tei.head)?.[1]);
  // The same door on Cohere's route: its top-level message (it had plait's shape alone there).
  const cohere = await stalledBody('/v1/rerank', JSON.stringify({ query: 'bread', documents: ['a'] }));
  assert.match(cohere.head, /^HTTP\/1\.1 408 /, cohere.head);
  const c = JSON.parse(cohere.text) as { message: string; error: { code: string; message: string } };
  assert.equal(c.error.code, 'TIMEOUT');
  assert.equal(c.message, c.error.message);
});

test('the OpenAPI document gives POST /rerank TEI\'s error schema (error a string, error_type TEI\'s kinds)', async () => {
  const doc = (await (await fetch(`${open.url}/openapi.json`)).json()) as { paths: Record<string, { post: { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { type?: string; enum?: string[] }> } }> }> } }> };
  for (const status of ['4XX', '5XX']) {
    // 4XX: TEI's, or Cohere's for a Cohere body (anyOf, TEI's first).
    const schema = doc.paths['/rerank']!.post.responses[status]!.content['application/json']!.schema as { properties: Record<string, { type?: string; enum?: string[] }>; anyOf?: { properties: Record<string, { type?: string; enum?: string[] }> }[] };
    const props = (schema.anyOf?.[0] ?? schema).properties;
    assert.equal(props['error']!.type, 'string', status);
    assert.deepEqual(props['error_type']!.enum, ['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty']);
    assert.equal(props['code']!.type, 'string');
  }
  // Cohere's routes keep their shape.
  assert.equal(doc.paths['/v1/rerank']!.post.responses['4XX']!.content['application/json']!.schema.properties['error']!.type, 'object');
});
