/**
 * Cross-encoder work at admission, through HTTP: a staged pipeline whose cross stage scores its
 * shortlist had counted 0 tokens (its texts are not in the request), so it ran beside a full token
 * budget of reranks; it now counts min(previous depth, documents) pairs of (query + the index's mean
 * passage length) and waits for, or is refused by, the budget like a rerank. A rerank that names a
 * cross-encoder counts the query once per document (one forward pass a pair), not once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrossEncoder, type CrossScorer } from '../src/index.js';
import { Engine, resolveServerOptions, serveEngine, type RunningServer } from '../src/server/index.js';
import { SERVER_DEFAULTS } from '../src/config/defaults.js';
import { buildSample, metricValue, postJson, type SampleIndex } from './helpers/server-fixture.js';
import { makeTinyCrossEncoder } from './helpers/tiny-cross-encoder.js';

let sample: SampleIndex;
let cross: CrossEncoder;
let server: RunningServer;
/** While set, every cross-encoder call waits for it (a forward pass that takes as long as the test wants). */
let gate: Promise<void> | undefined;
/** The queries the cross-encoder was called with, in order (the warm-up's excluded). */
const calls: string[] = [];
const gated: CrossScorer = {
  name: 'gated-cross',
  get maxLength() {
    return cross.maxLength;
  },
  async score(query, documents, options) {
    if (gate !== undefined) {
      calls.push(query);
      await gate;
    }
    return cross.score(query, documents, options);
  },
};

before(async () => {
  sample = await buildSample('plait-server-pipeline-admission-');
  const dir = join(sample.dir, 'tiny-cross');
  await makeTinyCrossEncoder(dir, { seed: 11 });
  cross = await CrossEncoder.create(dir, { threads: 0 });
  // A budget smaller than one pipeline's estimate (which still runs, alone), and room for one waiter.
  const options = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false, maxInFlightTokens: 100, maxQueue: 1 }, {});
  const engine = new Engine(
    {
      indexes: [{ name: 'sample', index: sample.index, borrowed: true }],
      rerankers: [{ names: ['bundled:use-lite'], reranker: sample.reranker, borrowed: true }],
      crossEncoders: [{ names: ['gated-cross'], scorer: gated, borrowed: true }],
    },
    options,
  );
  await engine.warmUp();
  server = await serveEngine(engine);
});

after(async () => {
  await server?.close();
  await cross?.close();
  await sample?.dispose();
});


/** Resolves once `ready()` holds, polling; an event (a call seen, a gauge), never a fixed sleep. */
async function until(ready: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await ready())) await new Promise((r) => setTimeout(r, 5));
}

const tokensOf = (text: string): number => Math.ceil(text.length / SERVER_DEFAULTS.charsPerToken);

test('a pipeline with a cross stage counts its pairs at admission: a second waits for the budget, a third is refused, a search passes', async () => {
  const search = (query: string): Promise<{ status: number; body: any }> => postJson(`${server.url}/v1/indexes/sample/search`, { query, pipeline: 'bm25:20 > cross:3' });
  let open!: () => void;
  gate = new Promise<void>((r) => (open = r));
  calls.length = 0;
  try {
    const first = search('why does bread dough rise');
    await until(() => calls.length >= 1);
    // 20 candidates (the sample has 40 documents) × (the query's tokens + the mean passage's).
    const c = sample.index.manifest.counts;
    const expected = Math.min(20, c.documents) * Math.min(tokensOf('why does bread dough rise') + Math.ceil(c.tokens / c.passages), cross.maxLength);
    assert.ok(expected > 100, `the estimate (${expected}) exceeds the budget of 100`);
    assert.equal(await metricValue(server.url, 'plait_admission_tokens_in_flight'), expected, 'the pipeline holds its estimated cross-encoder tokens (it had held 0)');
    let secondDone = false;
    const second = search('what makes yeast ferment').then((r) => ((secondDone = true), r));
    await until(async () => secondDone || calls.length >= 2 || (await metricValue(server.url, 'plait_admission_queue_depth')) >= 1);
    assert.deepEqual(calls, ['why does bread dough rise'], 'the second did not start beside the first');
    assert.equal(await metricValue(server.url, 'plait_admission_queue_depth'), 1, 'the second waits for the token budget');
    // The queue (maxQueue 1) is full: a third is refused at once, as a rerank would be.
    const third = await search('how long to knead');
    assert.equal(third.status, 503, JSON.stringify(third.body));
    assert.equal(third.body.error.code, 'OVERLOADED');
    // A pipeline with no cross stage reads stored embeddings and postings only: it counts 0 and passes.
    const late = await postJson(`${server.url}/v1/indexes/sample/search`, { query: 'bread', pipeline: 'bm25:20 > late:3' });
    assert.equal(late.status, 200, JSON.stringify(late.body));
    open();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.deepEqual(calls, ['why does bread dough rise', 'what makes yeast ferment']);
  } finally {
    gate = undefined;
    open?.();
  }
  assert.equal(await metricValue(server.url, 'plait_admission_tokens_in_flight'), 0);
});

test('a rerank naming a cross-encoder counts the query once per document (one forward pass a pair)', async () => {
  let open!: () => void;
  gate = new Promise<void>((r) => (open = r));
  calls.length = 0;
  try {
    const query = 'how does sourdough starter make bread rise';
    const documents = ['yeast ferments sugars', 'gluten traps the gas', 'ovens bake bread hot'];
    const answer = postJson(`${server.url}/v2/rerank`, { model: 'gated-cross', query, documents });
    await until(() => calls.length >= 1);
    const expected = documents.reduce((sum, d) => sum + Math.min(tokensOf(query) + tokensOf(d), cross.maxLength), 0);
    assert.equal(await metricValue(server.url, 'plait_admission_tokens_in_flight'), expected, 'query + document for each pair (it had counted the query once)');
    open();
    const r = await answer;
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally {
    gate = undefined;
    open?.();
  }
});
