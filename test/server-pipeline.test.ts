/**
 * Staged pipelines over HTTP (`pipeline` and `cross_encoder` on the search route): the same hits
 * and stage reports as the library's SearchPipeline; a served cross-encoder scores the cross stage
 * and answers rerank requests that name it; a failing cross stage degrades to the previous order,
 * trips the shared circuit breaker, and the breaker's state is a metric; spec errors are 400s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrossEncoder, SearchPipeline, PlaitError, type CrossScorer } from '../src/index.js';
import { Engine, resolveServerOptions, serveEngine, type RunningServer } from '../src/server/index.js';
import { buildSample, parsePrometheus, postJson, type SampleIndex } from './helpers/server-fixture.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';

let sample: SampleIndex;
let cross: CrossEncoder;
let server: RunningServer;
let url: string;
/** Fails every call while `failing` is true (a model that crashed). */
let failing = false;
const flaky: CrossScorer = {
  name: 'flaky-cross',
  async score(query, documents, options) {
    if (failing) throw new PlaitError('ENCODE_FAILED', { message: 'the test made the model fail' });
    return cross.score(query, documents, options);
  },
};

before(async () => {
  sample = await buildSample('plait-server-pipeline-');
  const dir = join(sample.dir, 'tiny-cross');
  await makeTinyCrossEncoder(dir, { seed: 11 });
  cross = await CrossEncoder.create(dir, { threads: 0 });
  const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const engine = new Engine(
    {
      indexes: [{ name: 'sample', index: sample.index, borrowed: true }],
      rerankers: [{ names: ['bundled:use-lite'], reranker: sample.reranker, borrowed: true }],
      crossEncoders: [
        { names: ['tiny-cross'], scorer: cross, borrowed: true },
        { names: ['flaky-cross'], scorer: flaky, borrowed: true },
      ],
    },
    options,
  );
  await engine.warmUp();
  server = await serveEngine(engine);
  url = server.url;
});

after(async () => {
  await server?.close();
  await cross?.close();
  await sample?.dispose();
});

const QUERY = 'why does bread dough rise with yeast';

test('a bm25 > late pipeline over HTTP equals the library pipeline', async () => {
  const r = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:20 > late:5' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const lib = await new SearchPipeline(sample.index, 'bm25:20 > late:5').run(QUERY);
  const got = r.body.results[0];
  assert.deepEqual(
    got.hits.map((h: { doc_id: string }) => h.doc_id),
    lib.hits.map((h) => h.docId),
  );
  assert.equal(got.ordered_by, 'late:5');
  assert.equal(got.degraded, null);
  assert.deepEqual(
    got.stages.map((s: { label: string; candidates: number; returned: number }) => [s.label, s.candidates, s.returned]),
    lib.stages.map((s) => [s.label, s.candidates, s.returned]),
  );
});

test('a served cross-encoder scores the cross stage and answers rerank requests naming it', async () => {
  const r = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:10 > cross:3', cross_encoder: 'tiny-cross' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const lib = await new SearchPipeline(sample.index, 'bm25:10 > cross:3', { crossEncoder: cross }).run(QUERY);
  assert.deepEqual(
    r.body.results[0].hits.map((h: { doc_id: string; score: number }) => [h.doc_id, Number(h.score.toFixed(5))]),
    lib.hits.map((h) => [h.docId, Number(h.score.toFixed(5))]),
  );
  assert.equal(r.body.results[0].ordered_by, 'cross:3');
  const docs = ['yeast makes dough rise', 'stocks fell on monday', ''];
  const rr = await postJson(`${url}/v1/rerank`, { model: 'tiny-cross', query: QUERY, documents: docs });
  assert.equal(rr.status, 200, JSON.stringify(rr.body));
  const scores = await cross.score(QUERY, docs.slice(0, 2));
  const expected = [0, 1].sort((a, b) => scores[b]! - scores[a]!);
  assert.deepEqual(rr.body.results.map((x: { index: number }) => x.index), [...expected, 2], 'the empty document ranks last');
  assert.ok(Math.abs(rr.body.results[0].relevance_score - scores[expected[0]!]!) < 1e-6);
  // A cross-encoder reports no token count: usage is admission's estimate of its pairs (the query once per
  // document, ⌈characters ÷ 3.5⌉ a text, each pair at most the model's window); Together's client requires the field.
  const q = Math.ceil(QUERY.length / 3.5);
  const estimate = docs.reduce((n, t) => n + Math.min(q + Math.ceil(t.length / 3.5), cross.maxLength), 0);
  assert.deepEqual(rr.body.usage, { prompt_tokens: estimate, completion_tokens: 0, total_tokens: estimate });
});

test('a failing cross stage degrades to the previous order and trips the breaker (a metric)', async () => {
  failing = true;
  try {
    const before = await new SearchPipeline(sample.index, 'bm25:10').run(QUERY);
    let sawOpen = false;
    for (let i = 0; i < 8; i++) {
      const r = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:10 > cross:3', cross_encoder: 'flaky-cross' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const res = r.body.results[0];
      assert.equal(res.ordered_by, 'bm25:10');
      assert.deepEqual(
        res.hits.map((h: { doc_id: string }) => h.doc_id),
        before.hits.slice(0, res.hits.length).map((h) => h.docId),
      );
      assert.ok(res.degraded.reason === 'error' || res.degraded.reason === 'circuit-open');
      if (res.degraded.reason === 'circuit-open') sawOpen = true;
    }
    assert.ok(sawOpen, 'after enough failures the breaker opens and the model is no longer called');
    const metrics = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    const state = metrics.find((m) => m.name === 'plait_circuit_breaker_state' && m.labels['model'] === 'flaky-cross');
    assert.equal(state?.value, 2, 'open');
    assert.equal(metrics.find((m) => m.name === 'plait_circuit_breaker_state' && m.labels['model'] === 'tiny-cross')?.value, 0);
  } finally {
    failing = false;
  }
});

test('pipeline errors are 400s with the position; a cross stage needs a served cross-encoder', async () => {
  const bad = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:100 > lat:10' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INVALID_ARGUMENT');
  assert.equal(typeof bad.body.error.details.position, 'number');
  const unknown = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, pipeline: 'bm25:10 > cross:3', cross_encoder: 'nope' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.message, /no cross-encoder "nope"/);
  const stray = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, cross_encoder: 'tiny-cross' });
  assert.equal(stray.status, 400);
});

test('the server serves a write committed by another writer within its refresh interval, and filters by metadata', async () => {
  const { openIndex } = await import('../src/index.js');
  const writer = await openIndex(sample.path, { encoderOptions: { threads: 0 } });
  try {
    await writer.add([{ docId: 'volcano-x', title: 'Volcanoes', text: 'Magma rises through the crust and erupts as lava from a volcano.', metadata: { topic: 'geology' } }]);
  } finally {
    await writer.close();
  }
  const body = { query: 'magma erupts as lava from a volcano', top_k: 3, mode: 'late' };
  let top = '';
  for (let i = 0; i < 100 && top !== 'volcano-x'; i++) {
    const r = await postJson(`${url}/v1/indexes/sample/search`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    top = r.body.results[0].hits[0]?.doc_id ?? '';
    if (top !== 'volcano-x') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(top, 'volcano-x', 'the new generation is served (bounded wait: 100 polls)');
  // The write changed the document store in place (the manifest lists no size for it): the index
  // route reports its size on disk now, as `plait info` does, not 0.
  const info = (await (await fetch(`${url}/v1/indexes/sample`)).json()) as { files: Record<string, number>; manifest: { files: { docstore: { in_place?: boolean } } } };
  assert.equal(info.manifest.files.docstore.in_place, true);
  const store = Object.entries(info.files).find(([name]) => name.endsWith('.sqlite'));
  assert.ok(store !== undefined && store[1] > 4096, `document store size ${JSON.stringify(info.files)}`);
  const filtered = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, top_k: 5, mode: 'late', filter: { topic: 'geology' } });
  assert.equal(filtered.status, 200, JSON.stringify(filtered.body));
  assert.deepEqual(filtered.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id), ['volcano-x']);
  const bad = await postJson(`${url}/v1/indexes/sample/search`, { query: QUERY, filter: { topic: { $regex: 'x' } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'INVALID_FILTER');
});
