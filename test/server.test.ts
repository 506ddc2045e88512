/**
 * The server over real HTTP (127.0.0.1, ephemeral port): every route's happy path against the
 * library's answer for the same input, Cohere v1/v2 and TEI shapes field by field, encode in JSON
 * and msgpack, the caches, the API key, CORS off by default, OpenAPI, and /metrics counting what
 * the test sent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unpack } from 'msgpackr';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, parsePrometheus, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';
import { FORMAT_VERSION } from '../src/index.js';
import { plaitError } from './helpers/error-shape.js';

let sample: SampleIndex;
let server: RunningServer;
let url: string;

const DOCS = [
  'Yeast ferments sugars in bread dough and the carbon dioxide makes it rise.',
  'The stock market fell sharply after the announcement.',
  'Sourdough uses wild yeast and lactic acid bacteria.',
  'Wings generate lift from the pressure difference over the airfoil.',
];

before(async () => {
  sample = await buildSample('plait-server-');
  server = await serve(sample);
  url = server.url;
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('binds 127.0.0.1 and answers /health and /ready', async () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
  const ready = await fetch(`${url}/ready`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', indexes: ['sample'], models: ['bundled:use-lite'] });
});

test('search: one query and a batch equal the library, in snake_case', async () => {
  for (const mode of ['late', 'bm25', 'hybrid'] as const) {
    const q = 'why does bread dough rise with yeast';
    const lib = await sample.index.search(q, { mode, topK: 5, includeText: true });
    const r = await postJson(`${url}/v1/indexes/sample/search`, { query: q, mode, top_k: 5, include_text: true, timeout_ms: 10_000 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.index, 'sample');
    assert.match(r.body.generation, /^[0-9a-f]{16}$/);
    assert.equal(r.body.results.length, 1);
    const got = r.body.results[0];
    assert.equal(got.query, q);
    assert.deepEqual(
      got.hits,
      lib.hits.map((h) => ({ doc_id: h.docId, pid: h.pid, score: h.score, rank: h.rank, title: h.title, text: h.text, metadata: h.metadata })),
      mode,
    );
    assert.equal(typeof got.timings.total_ms, 'number');
    if (mode !== 'bm25') assert.ok(got.timings.encode_ms >= 0 && got.timings.late_ms >= 0);
  }
  const queries = ['coral bleaching in warm water', 'how compilers emit machine code', 'jazz improvisation in New Orleans'];
  const lib = await sample.index.searchBatch(queries, { mode: 'late', topK: 3, nIvfProbe: 2, ndocs: 64, centroidScoreThreshold: 0.3 });
  const r = await postJson(`${url}/v1/indexes/sample/search`, { queries, mode: 'late', top_k: 3, n_ivf_probe: 2, ndocs: 64, centroid_score_threshold: 0.3 });
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.results.map((x: { hits: { doc_id: string; score: number }[] }) => x.hits.map((h) => [h.doc_id, h.score])),
    lib.map((x) => x.hits.map((h) => [h.docId, h.score])),
  );
  // Without include_text the hits carry no text fields at all.
  assert.deepEqual(Object.keys(r.body.results[0].hits[0]).sort(), ['doc_id', 'pid', 'rank', 'score']);
});

test('search: the result cache answers a repeated (whitespace-normalised) query and counts hits', async () => {
  const before = server.engine.resultCache.hits;
  const a = await postJson(`${url}/v1/indexes/sample/search`, { query: 'volcanic eruptions and lava', top_k: 4 });
  const b = await postJson(`${url}/v1/indexes/sample/search`, { query: '  volcanic   eruptions and lava ', top_k: 4 });
  assert.equal(a.body.results[0].cached, false);
  assert.equal(b.body.results[0].cached, true);
  assert.deepEqual(b.body.results[0].hits, a.body.results[0].hits);
  assert.equal(server.engine.resultCache.hits, before + 1);
  // Other options are another key; the query embedding comes from the query cache then.
  const qHits = server.engine.queryCache.hits;
  const c = await postJson(`${url}/v1/indexes/sample/search`, { query: 'volcanic eruptions and lava', top_k: 2 });
  assert.equal(c.body.results[0].cached, false);
  assert.deepEqual(
    c.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id),
    (await sample.index.search('volcanic eruptions and lava', { topK: 2 })).hits.map((h) => h.docId),
  );
  assert.equal(server.engine.queryCache.hits, qHits + 1);
  assert.ok(server.engine.resultCache.bytes > 0 && server.engine.resultCache.bytes <= server.engine.options.resultCacheBytes);
});

test('Cohere v1 rerank: shape field by field, equal to the library reranker', async () => {
  const lib = await sample.reranker.rerank('how does bread rise', DOCS);
  const r = await postJson(`${url}/v1/rerank`, { query: 'how does bread rise', documents: DOCS.map((text) => ({ text })), top_n: 3, return_documents: true, model: 'rerank-english-v3.0' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Cohere's fields, plus Jina's top-level model and Jina's and Together's usage: the tokens the reranker read, the tokenizer's count of each text (query + documents).
  assert.deepEqual(Object.keys(r.body).sort(), ['id', 'meta', 'model', 'results', 'usage']);
  const tokens = ['how does bread rise', ...DOCS].reduce((n, t) => n + sample.reranker.encoder.tokenize(t).ids.length, 0);
  assert.deepEqual(r.body.usage, { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens });
  assert.equal(r.body.model, 'bundled:use-lite');
  assert.match(r.body.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(r.body.meta, { api_version: { version: '1' }, billed_units: { search_units: 1 }, model: 'bundled:use-lite' });
  assert.equal(r.body.results.length, 3);
  r.body.results.forEach((x: { index: number; relevance_score: number; document: { text: string } }, i: number) => {
    assert.deepEqual(Object.keys(x).sort(), ['document', 'index', 'relevance_score']);
    assert.equal(x.index, lib[i]!.index);
    assert.equal(x.relevance_score, lib[i]!.score);
    assert.deepEqual(x.document, { text: DOCS[x.index] });
  });
  assert.equal(r.body.results[0].index, 0);
  // Without return_documents: only index and relevance_score.
  const plain = await postJson(`${url}/v1/rerank`, { query: 'how does bread rise', documents: DOCS });
  assert.deepEqual(Object.keys(plain.body.results[0]).sort(), ['index', 'relevance_score']);
  assert.equal(plain.body.results.length, DOCS.length);
  // rank_fields over object documents.
  const rf = await postJson(`${url}/v1/rerank`, { query: 'airfoil lift', documents: DOCS.map((d, i) => ({ title: `doc ${i}`, body: d })), rank_fields: ['body'] });
  assert.equal(rf.status, 200);
  assert.equal(rf.body.results[0].index, 3);
});

test('Cohere v2 rerank: shape field by field; model required; highest first', async () => {
  const lib = await sample.reranker.rerank('wild yeast', DOCS);
  const r = await postJson(`${url}/v2/rerank`, { model: 'rerank-v3.5', query: 'wild yeast', documents: DOCS, top_n: 2, max_tokens_per_doc: 512 });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.meta.api_version, { version: '2' });
  assert.deepEqual(
    r.body.results,
    lib.slice(0, 2).map((x) => ({ index: x.index, relevance_score: x.score })),
  );
  assert.ok(r.body.results[0].relevance_score >= r.body.results[1].relevance_score);
  const noModel = await postJson(`${url}/v2/rerank`, { query: 'wild yeast', documents: DOCS });
  assert.equal(noModel.status, 400);
  assert.equal(noModel.body.error.code, 'INVALID_ARGUMENT');
});

test('TEI /rerank: [{index, score, text?}] sorted by score; sigmoid scores unless raw_scores', async () => {
  const lib = await sample.reranker.rerank('stock market', DOCS);
  const raw = await postJson(`${url}/rerank`, { query: 'stock market', texts: DOCS, return_text: true, raw_scores: true });
  assert.equal(raw.status, 200);
  assert.ok(Array.isArray(raw.body));
  assert.deepEqual(
    raw.body,
    lib.map((x) => ({ index: x.index, score: x.score, text: DOCS[x.index] })),
  );
  // TEI's default: 1 / (1 + e^-score), in (0, 1), the same order.
  const r = await postJson(`${url}/rerank`, { query: 'stock market', texts: DOCS, raw_scores: false });
  assert.deepEqual(
    r.body.map((x: { index: number }) => x.index),
    lib.map((x) => x.index),
  );
  r.body.forEach((x: { score: number }, i: number) => {
    assert.ok(Math.abs(x.score - 1 / (1 + Math.exp(-lib[i]!.score))) < 1e-12);
    assert.ok(x.score > 0 && x.score < 1);
  });
  const plain = await postJson(`${url}/rerank`, { query: 'stock market', texts: DOCS });
  assert.deepEqual(Object.keys(plain.body[0]).sort(), ['index', 'score']);
});

test('GET /v1/indexes and /v1/indexes/{name} describe the index; unknown name is 404', async () => {
  const list = (await (await fetch(`${url}/v1/indexes`)).json()) as any;
  assert.equal(list.indexes.length, 1);
  assert.equal(list.indexes[0].name, 'sample');
  assert.equal(list.indexes[0].documents, 40);
  assert.equal(list.indexes[0].model, 'bundled:use-lite');
  const one = (await (await fetch(`${url}/v1/indexes/sample`)).json()) as any;
  assert.equal(one.manifest.counts.documents, 40);
  assert.equal(one.manifest.format_version, FORMAT_VERSION);
  assert.ok(one.bytes_per_token > 0 && one.total_bytes > 0);
  assert.ok(one.files['docs.sqlite'] > 0);
  const missing = await fetch(`${url}/v1/indexes/nope`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as any).error.code, 'INDEX_NOT_FOUND');
  const s = await postJson(`${url}/v1/indexes/nope/search`, { query: 'x' });
  assert.equal(s.status, 404);
});

test('encode: JSON rows equal the encoder; msgpack carries float32 binaries of the same values', async () => {
  const texts = ['bread and yeast', 'lift over a wing'];
  const lib = await sample.encoder.encodeDocuments(texts);
  const dim = sample.encoder.info.dim;
  const j = await postJson(`${url}/v1/encode`, { texts, kind: 'document' });
  assert.equal(j.status, 200);
  assert.equal(j.body.dim, dim);
  assert.equal(j.body.kind, 'document');
  j.body.embeddings.forEach((e: { length: number; token_ids: number[]; vectors: number[][] }, i: number) => {
    assert.equal(e.length, lib[i]!.length);
    assert.deepEqual(e.token_ids, Array.from(lib[i]!.tokenIds));
    assert.equal(e.vectors.length, e.length);
    assert.deepEqual(Float32Array.from(e.vectors.flat()), lib[i]!.vectors.subarray(0, e.length * dim));
  });
  const res = await fetch(`${url}/v1/encode`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/msgpack' }, body: JSON.stringify({ texts, kind: 'document' }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /application\/msgpack/);
  const m = unpack(Buffer.from(await res.arrayBuffer())) as { dim: number; dtype: string; embeddings: { length: number; vectors: Uint8Array }[] };
  assert.equal(m.dtype, 'float32le');
  m.embeddings.forEach((e, i) => {
    assert.ok(e.vectors instanceof Uint8Array);
    assert.equal(e.vectors.byteLength, e.length * dim * 4);
    const f = new Float32Array(e.vectors.buffer.slice(e.vectors.byteOffset, e.vectors.byteOffset + e.vectors.byteLength));
    assert.deepEqual(f, lib[i]!.vectors.subarray(0, e.length * dim));
  });
  const q = await postJson(`${url}/v1/encode`, { texts: ['bread'] });
  assert.equal(q.body.kind, 'query');
  assert.deepEqual(Float32Array.from(q.body.embeddings[0].vectors.flat()), (await sample.encoder.encodeQueries(['bread']))[0]!.vectors);
});

test('limits: batches over the limit are 413 with QUERY_TOO_LARGE (TEI\'s route: 422, as TEI answers its batch limit)', async () => {
  const many = Array.from({ length: server.engine.options.maxRerankDocuments + 1 }, (_, i) => `d${i}`);
  const r = await postJson(`${url}/rerank`, { query: 'x', texts: many });
  assert.equal(r.status, 422);
  assert.equal(plaitError(r.body).code, 'QUERY_TOO_LARGE');
  const cohere = await postJson(`${url}/v1/rerank`, { query: 'x', documents: many });
  assert.equal(cohere.status, 413);
  assert.equal(plaitError(cohere.body).code, 'QUERY_TOO_LARGE');
  const e = await postJson(`${url}/v1/encode`, { texts: Array.from({ length: server.engine.options.maxEncodeTexts + 1 }, () => 'x') });
  assert.equal(e.status, 413);
  const big = await postJson(`${url}/v1/rerank`, { query: 'x', documents: ['a'.repeat(server.engine.options.maxBodyBytes)] });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'QUERY_TOO_LARGE');
});

test('CORS is off unless configured; OpenAPI lists every route', async () => {
  const pre = await fetch(`${url}/v1/rerank`, { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' } });
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as any;
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/v1/rerank', '/v2/rerank', '/rerank', '/v1/indexes/{name}/search', '/v1/indexes', '/v1/indexes/{name}', '/v1/encode', '/health', '/ready', '/metrics']) assert.ok(doc.paths[p], p);
  assert.ok(doc.paths['/v1/indexes/{name}/search'].post.requestBody.content['application/json'].schema.properties.n_ivf_probe);
});

test('API key: bearer required (constant-time compare) except on /health and /ready; CORS when configured', async () => {
  const key = 'k'.repeat(24);
  const s = await serve(sample, { apiKey: key, corsOrigins: ['https://app.example'] });
  try {
    const none = await postJson(`${s.url}/rerank`, { query: 'x', texts: ['a'] });
    assert.equal(none.status, 401);
    assert.equal(plaitError(none.body).code, 'UNAUTHORIZED');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await postJson(`${s.url}/rerank`, { query: 'x', texts: ['a'] }, { authorization: `Bearer ${key}x` })).status, 401);
    assert.equal((await postJson(`${s.url}/rerank`, { query: 'x', texts: ['a'] }, { authorization: `Bearer ${key}` })).status, 200);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    assert.equal((await fetch(`${s.url}/ready`)).status, 200);
    assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
    const pre = await fetch(`${s.url}/v1/rerank`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
  } finally {
    await s.close();
  }
});

test('/ready answers 503 once draining starts, while /health stays 200', async () => {
  const s = await serve(sample);
  try {
    assert.equal((await fetch(`${s.url}/ready`)).status, 200);
    s.engine.markDraining();
    const r = await fetch(`${s.url}/ready`);
    assert.equal(r.status, 503);
    // Says why: draining (a starting server, not yet listening, is 'not ready').
    assert.deepEqual(await r.json(), { status: 'draining', indexes: ['sample'], models: ['bundled:use-lite'], code: 'DRAINING' });
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  } finally {
    await s.close();
  }
});

test('/metrics parses as Prometheus text and counts exactly what was sent', async () => {
  const s = await serve(sample);
  try {
    for (let i = 0; i < 3; i++) await postJson(`${s.url}/rerank`, { query: 'bread', texts: DOCS });
    for (let i = 0; i < 2; i++) await postJson(`${s.url}/v1/indexes/sample/search`, { query: 'jazz in New Orleans' });
    await postJson(`${s.url}/v1/indexes/sample/search`, { query: 1 });
    const res = await fetch(`${s.url}/metrics`);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    const samples = parsePrometheus(await res.text());
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
    assert.equal(value('plait_http_requests_total', { route: '/rerank', method: 'POST', status: '200' }), 3);
    assert.equal(value('plait_http_requests_total', { route: '/v1/indexes/:name/search', status: '200' }), 2);
    assert.equal(value('plait_http_requests_total', { route: '/v1/indexes/:name/search', status: '400' }), 1);
    assert.equal(value('plait_http_request_duration_seconds_count', { route: '/rerank' }), 3);
    assert.equal(value('plait_cache_hits_total', { cache: 'result' }), 1);
    assert.equal(value('plait_cache_misses_total', { cache: 'result' }), 1);
    assert.equal(value('plait_search_stage_seconds_count', { index: 'sample', stage: 'encode' }), 1);
    assert.equal(value('plait_admission_in_flight', {}), 0);
    assert.equal(value('plait_admission_queue_depth', {}), 0);
    assert.ok((value('plait_encoder_busy_seconds_total', { model: 'bundled:use-lite' }) ?? 0) > 0);
    assert.ok((value('plait_cache_bytes', { cache: 'result' }) ?? 0) > 0);
  } finally {
    await s.close();
  }
});
