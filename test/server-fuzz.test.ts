/**
 * Fuzzing the request bodies of every POST route: random JSON values, right fields with wrong
 * types, deep nesting, unknown fields, oversized bodies, invalid UTF-8, lone surrogates, wrong
 * content types, filters past SQLite's limits, pipelines and cross-encoder names. Every answer must
 * be a 4xx with an error code or a 200 (never a 500, never a dropped connection), no body may carry
 * a server path, an internal fault answers only its code and request id, and the server must still
 * answer correctly afterwards. Seeded, so a failure replays.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../src/util/random.js';
import type { RunningServer, ServedIndex } from '../src/server/index.js';
import { tmpdir } from 'node:os';
import { buildSample, serve, type SampleIndex } from './helpers/server-fixture.js';
import { plaitError } from './helpers/error-shape.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-server-fuzz-');
  server = await serve(sample, { maxBodyBytes: 64 * 1024 });
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

const SEARCH_FIELDS = ['query', 'queries', 'top_k', 'mode', 'exhaustive', 'n_ivf_probe', 'centroid_score_threshold', 'ndocs', 'idf_weighting', 'fusion', 'alpha', 'rrf_k', 'include_text', 'timeout_ms', 'filter', 'pipeline', 'cross_encoder'];
const ROUTES: { path: string; fields: string[] }[] = [
  { path: '/v1/rerank', fields: ['query', 'documents', 'top_n', 'return_documents', 'model', 'rank_fields', 'max_chunks_per_doc', 'max_tokens_per_doc', 'priority', 'timeout_ms'] },
  { path: '/v2/rerank', fields: ['model', 'query', 'documents', 'top_n', 'max_tokens_per_doc', 'priority', 'timeout_ms'] },
  { path: '/rerank', fields: ['query', 'texts', 'raw_scores', 'return_text', 'truncate', 'truncation_direction', 'timeout_ms'] },
  { path: '/v1/indexes/sample/search', fields: SEARCH_FIELDS },
  { path: '/v1/indexes/sample/search', fields: ['query', 'filter', 'top_k', 'include_text'] },
  { path: '/v1/indexes/sample/search', fields: ['query', 'pipeline', 'cross_encoder', 'top_k'] },
  { path: '/v1/indexes/sample/explain', fields: ['query', 'doc_id', 'pid', 'mode', 'idf_weighting', 'fusion', 'alpha', 'rrf_k', 'top_k', 'timeout_ms'] },
  { path: '/v1/encode', fields: ['texts', 'kind', 'model', 'timeout_ms'] },
];

/** Filters: valid, malformed, and at and past the list and $or limits. */
function randomFilter(rng: Random, depth = 0): unknown {
  const field = ['year', 'doc_id', 'tags', 'a b', 'a.b', 'a"b', '$where', '', 'venue.name'][rng.int(9)]!;
  const value = (): unknown => [1, 'x', null, true, 2020, 'bread-yeast', [1], { $in: 'x' }][rng.int(8)];
  switch (rng.int(9)) {
    case 0: return { [field]: value() };
    case 1: return { [field]: { [['$in', '$nin', '$all'][rng.int(3)]!]: Array.from({ length: [0, 1, 1000, 10_001][rng.int(4)]! }, (_, i) => (rng.int(2) === 0 ? i : `d${i}`)) } };
    case 2: return { $or: Array.from({ length: [0, 1, 1000, 6000][rng.int(4)]! }, (_, i) => ({ doc_id: `d${i}` })) };
    case 3: return depth > 40 ? {} : { $not: randomFilter(rng, depth + 1) };
    case 4: return { [field]: { [['$gt', '$size', '$exists', '$regex', '$eq'][rng.int(5)]!]: value() } };
    case 5: return { $and: [randomFilter(rng, depth + 1), randomFilter(rng, depth + 1)] };
    default: return randomValue(rng);
  }
}

const PIPELINES = ['bm25:100 > late:10', 'late:10 > cross:3', 'bm25:50 > late:20@5ms > cross:5@1ms', 'exhaustive:5', 'nonsense', 'bm25:0', 'late:-1', '', ' > ', 'cross:3', 'hybrid:10 > late:5'];

function randomValue(rng: Random, depth = 0): unknown {
  const pick = rng.int(depth > 3 ? 7 : 10);
  switch (pick) {
    case 0: return null;
    case 1: return rng.next() < 0.5;
    case 2: return [0, -1, 1e309 > 1 ? 1e300 : 0, 3.5, -0, 2 ** 53, 1024, 10_001, -3][rng.int(9)];
    case 3: return ['', ' ', 'x', 'late', 'bm25', 'rrf', '\u0000', 'é', '\ud800', '🙂', 'a'.repeat(rng.int(3000))][rng.int(11)];
    case 4: return 'query about bread ' + rng.int(1000);
    case 5: return rng.int(20) - 5;
    case 6: return rng.next() * 4 - 2;
    case 7: return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    case 8: return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [['text', 'id', '__proto__', 'constructor', `k${i}`][rng.int(5)]!, randomValue(rng, depth + 1)]));
    default: return Array.from({ length: rng.int(3) }, () => 'doc ' + rng.int(50));
  }
}

/** A body that is a plausible request with some fields wrong, missing or unknown. */
function randomBody(rng: Random, fields: string[]): string {
  const r = rng.int(10);
  if (r === 0) return JSON.stringify(randomValue(rng));
  if (r === 1) return '['.repeat(5000 + rng.int(50_000)) + ']'.repeat(rng.int(2) * 5000);
  if (r === 2) return '{"query": "x", "documents": ' + '{"a":'.repeat(2000) + '1' + '}'.repeat(2000) + '}';
  if (r === 3) return ['{', '{"query":', '{"query":"x",}', 'nul', '"just a string"', '', '{"query":"x"}{"query":"y"}', '{"__proto__":{"polluted":1},"query":"x"}'][rng.int(8)]!;
  const body: Record<string, unknown> = {};
  for (const f of fields) {
    if (rng.next() >= 0.6) continue;
    if (f === 'filter' && rng.next() < 0.8) body[f] = randomFilter(rng);
    else if (f === 'pipeline' && rng.next() < 0.8) body[f] = PIPELINES[rng.int(PIPELINES.length)];
    else if ((f === 'query' || f === 'doc_id') && rng.next() < 0.5) body[f] = f === 'query' ? 'bread yeast' : 'bread-yeast';
    else body[f] = randomValue(rng);
  }
  if (rng.next() < 0.3) body[`unknown_${rng.int(100)}`] = randomValue(rng);
  return JSON.stringify(body);
}

/** Server-local paths that no body may carry (the index folder, the process's directories). */
function assertNoPath(text: string, what: string): void {
  for (const p of [sample.dir, process.cwd(), tmpdir(), '/work/', 'dist/src', 'node_modules']) assert.ok(!text.includes(p), `${what}: a path (${p}) in ${text.slice(0, 300)}`);
}

async function send(path: string, body: string | Uint8Array, contentType = 'application/json', base = server.url): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  assertNoPath(text, `${path} ${res.status}`);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // checked below
  }
  return { status: res.status, json, headers: res.headers };
}

function assertClientError(r: { status: number; json: any }, what: string): void {
  if (r.status === 200) return; // a random body can be a valid request
  assert.ok(r.status >= 400 && r.status < 500, `${what}: status ${r.status} ${JSON.stringify(r.json)}`);
  assert.equal(typeof plaitError(r.json)?.code, 'string', `${what}: ${JSON.stringify(r.json)}`);
  assert.equal(typeof plaitError(r.json)?.message, 'string', what);
}

test('a fresh server starts admission from the work time its warm-up measured, not 0', () => {
  // Before any request: the prior is what lets the first burst be shed on expected wait.
  assert.ok(server.engine.admission.workMs > 0, `prior ${server.engine.admission.workMs} ms`);
});

test('random and malformed bodies on every route: only 4xx with codes, never a 500', async () => {
  const rng = new Random(20_261_129);
  const seen = new Map<number, number>();
  for (let i = 0; i < 600; i++) {
    const route = ROUTES[rng.int(ROUTES.length)]!;
    const body = randomBody(rng, route.fields);
    const r = await send(route.path, body);
    seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
    assertClientError(r, `#${i} ${route.path} ${body.slice(0, 200)}`);
  }
  // The fuzz reached validation (400), and some bodies were valid.
  assert.ok((seen.get(400) ?? 0) > 100, JSON.stringify([...seen]));
  assert.ok(![...seen.keys()].some((s) => s >= 500), JSON.stringify([...seen]));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('invalid UTF-8, lone surrogates, oversized bodies, wrong content types: 4xx with the right codes', async () => {
  for (const route of ROUTES) {
    const bad = new Uint8Array([...Buffer.from('{"query":"'), 0xff, 0xfe, 0xc3, ...Buffer.from('","texts":["a"],"documents":["a"]}')]);
    const u = await send(route.path, bad);
    assert.equal(u.status, 400, route.path);
    assert.equal(plaitError(u.json).code, 'TEXT_NOT_UTF8');
    const big = await send(route.path, JSON.stringify({ query: 'x', texts: ['a'.repeat(70 * 1024)] }));
    assert.equal(big.status, 413, route.path);
    assert.equal(plaitError(big.json).code, route.path === '/v1/encode' ? 'ENCODE_TOO_LARGE' : 'QUERY_TOO_LARGE', route.path);
    const xml = await send(route.path, '<query>x</query>', 'application/xml');
    assert.equal(xml.status, 415, route.path);
    assert.equal(plaitError(xml.json).code, 'UNSUPPORTED_MEDIA_TYPE');
  }
  const lone = await send('/v1/indexes/sample/search', '{"query":"bread \\ud800 dough"}');
  assert.equal(lone.status, 400);
  assert.equal(lone.json.error.code, 'TEXT_NOT_UTF8');
  const loneDoc = await send('/rerank', '{"query":"bread","texts":["ok","bad \\udc00"]}');
  assert.equal(plaitError(loneDoc.json).code, 'TEXT_NOT_UTF8');
  const empty = await send('/v1/indexes/sample/search', '{"query":"   "}');
  assert.equal(empty.json.error.code, 'EMPTY_TEXT');
  const unknown = await send('/v1/indexes/sample/search', '{"query":"x","topk":3}');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error.details.unknown_field, 'topk');
  // The nearest field is named, as the library and the CLI name the nearest option (trial 7).
  assert.equal(unknown.json.error.details.suggestion, 'top_k');
  assert.match(unknown.json.error.message, /\(topk\); did you mean "top_k"\?/);
  const nested = await send('/v1/indexes/sample/search', '{"query":"x","rewrite":{"spellin":true}}');
  assert.equal(nested.status, 400);
  assert.equal(nested.json.error.details.suggestion, 'spelling');
  const far = await send('/v1/indexes/sample/search', '{"query":"x","zzzzzzzz":1}');
  assert.equal(far.json.error.details.unknown_field, 'zzzzzzzz');
  assert.equal(far.json.error.details.suggestion, undefined, 'no field is near');
  const both = await send('/v1/indexes/sample/search', '{"query":"x","queries":["y"]}');
  assert.equal(both.status, 400);
  const tooMany = await send('/v1/indexes/sample/search', JSON.stringify({ queries: Array.from({ length: 1025 }, () => 'q') }));
  assert.equal(tooMany.status, 413);
});

test('filters past the limits the issue hit: a 1,000-value $in and a 2,000-clause $or answer 200; past the limits, 400 INVALID_FILTER', async () => {
  const ids = Array.from({ length: 1000 }, (_, i) => (i === 500 ? 'bread-yeast' : `nope-${i}`));
  const r = await send('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', filter: { doc_id: { $in: ids } } }));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(
    r.json.results[0].hits.map((h: { doc_id: string }) => h.doc_id),
    ['bread-yeast'],
  );
  const or = await send('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', filter: { $or: ids.slice(0, 2000).map((d) => ({ doc_id: d })) } }));
  assert.equal(or.status, 200);
  assert.equal(or.json.results[0].hits[0].doc_id, 'bread-yeast');
  const past = await send('/v1/indexes/sample/search', JSON.stringify({ query: 'bread', filter: { year: { $in: Array.from({ length: 10_001 }, (_, i) => i) } } }));
  assert.equal(past.status, 400);
  assert.equal(past.json.error.code, 'INVALID_FILTER');
});

test('null is absent for every optional field of every POST route (read from /openapi.json)', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> } } }>;
  };
  // A minimal valid body per route; each optional field is then sent as null on top of it.
  const base: Record<string, Record<string, unknown>> = {
    '/v1/rerank': { query: 'bread', documents: ['yeast bread', 'stocks'] },
    '/v2/rerank': { model: 'rerank-v3.5', query: 'bread', documents: ['yeast bread', 'stocks'] },
    '/rerank': { query: 'bread', texts: ['yeast bread', 'stocks'] },
    '/v1/indexes/{name}/search': { query: 'bread' },
    '/v1/indexes/{name}/explain': { query: 'bread', doc_id: 'bread-yeast' },
    '/v1/encode': { texts: ['bread'] },
    '/v1/indexes/{name}/documents': { documents: [{ doc_id: 'null-fields', text: 'a document written with null optional fields' }] },
    '/v1/indexes/{name}/documents/delete': { doc_ids: ['null-fields'] },
  };
  const posts = Object.entries(doc.paths).filter(([, p]) => p.post !== undefined);
  assert.deepEqual(posts.map(([path]) => path).sort(), Object.keys(base).sort(), 'every POST route has a base body here');
  let checked = 0;
  for (const [path, item] of posts) {
    const schema = item.post!.requestBody!.content['application/json']!.schema;
    for (const field of Object.keys(schema.properties ?? {})) {
      if ((schema.required ?? []).includes(field) || field in base[path]!) continue;
      const r = await send(path.replace('{name}', 'sample'), JSON.stringify({ ...base[path], [field]: null }));
      assert.equal(r.status, 200, `${path} ${field}: null → ${r.status} ${JSON.stringify(r.json)}`);
      checked++;
    }
    // A null in a required field is not "absent and fine".
    const required = schema.required?.[0];
    // (TEI's route answers it 422, TEI's status for a body that does not fit its request.)
    if (required !== undefined) assert.equal((await send(path.replace('{name}', 'sample'), JSON.stringify({ ...base[path], [required]: null }))).status, path === '/rerank' ? 422 : 400, `${path} ${required}: null`);
  }
  assert.ok(checked >= 40, `${checked} optional fields checked`);
});

test('an internal fault answers its code and the request id only: no message, no path', async () => {
  // An index whose storage fails the way a real one does: a Node error naming a file.
  const failing: ServedIndex = {
    path: sample.index.path,
    manifest: sample.index.manifest,
    encoder: () => sample.index.encoder(),
    resolveSearch: (o) => sample.index.resolveSearch(o),
    searchEncodedBatch: async (queries, embeddings, options) => {
      if (options?.signal !== undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${sample.path}/codes.bin'`), { code: 'ENOENT' });
      return sample.index.searchEncodedBatch(queries, embeddings, options);
    },
    close: async () => {},
  };
  const log: string[] = [];
  const broken = await serve(sample, { logLevel: 'error', logDestination: { write: (line) => void log.push(line) } }, failing);
  try {
    const r = await send('/v1/indexes/sample/search', JSON.stringify({ query: 'bread' }), 'application/json', broken.url);
    assert.equal(r.status, 500);
    assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'request_id']);
    assert.equal(r.json.error.code, 'INTERNAL');
    assert.equal(r.json.error.request_id, r.headers.get('x-request-id'));
    assert.match(r.json.error.message, /^internal error; the server log has the detail under request id [0-9a-f-]{36}$/);
    assert.doesNotMatch(JSON.stringify(r.json), /ENOENT|codes\.bin/);
    // The detail is in the log, under the request id the client was given.
    const line = log.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; err?: { message?: string } }).find((l) => l.reqId === r.json.error.request_id && l.msg === 'request failed');
    assert.match(line?.err?.message ?? '', /ENOENT: no such file or directory, open '.*codes\.bin'/);
  } finally {
    await broken.close();
  }
});

test('the server is alive and correct after the fuzz', async () => {
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  const r = await send('/v1/indexes/sample/search', JSON.stringify({ query: 'why does bread dough rise with yeast', top_k: 1 }));
  assert.equal(r.status, 200);
  assert.equal(r.json.results[0].hits[0].doc_id, 'bread-yeast');
  assert.equal(server.engine.admission.inFlight, 0);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /plait_http_requests_total\{[^}]*status="5\d\d"/);
});
