/**
 * Overload and deadlines, made deterministic by holding searches at a gate instead of relying on
 * timing: a burst beyond concurrency + queue is shed at once (503, Retry-After, OVERLOADED) while
 * the admitted requests complete correctly; a deadline answers 504 TIMEOUT, the library sees the
 * aborted signal and stops, and the slot is free afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isPlaitError, type PlaitIndex } from '../src/index.js';
import type { ServedIndex } from '../src/server/index.js';
import { Gate, buildSample, gatedIndex, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;

before(async () => {
  sample = await buildSample('plait-server-load-');
});

after(async () => {
  await sample?.dispose();
});

const QUERIES = ['bread and yeast', 'coral reefs', 'jazz music', 'volcanoes', 'machine code', 'wing lift', 'tides and the moon', 'honey bees', 'glaciers', 'the printing press'];

test('a burst beyond maxConcurrent + maxQueue is shed at once with 503 + Retry-After; the admitted ones are correct', async () => {
  const gate = new Gate();
  const s = await serve(sample, { maxConcurrent: 2, maxQueue: 2, retryAfterSeconds: 3 }, gatedIndex(sample.index, gate));
  try {
    const settled: { i: number; status: number }[] = [];
    const requests = QUERIES.map((query, i) =>
      postJson(`${s.url}/v1/indexes/sample/search`, { query, top_k: 3, mode: 'late' }).then((r) => {
        settled.push({ i, status: r.status });
        return r;
      }),
    );
    // Two requests reach the (closed) gate, two wait in the queue, and the other six are answered
    // while the gate is still closed: shedding does not wait for capacity.
    await gate.arrived(2);
    while (settled.length < QUERIES.length - 4) await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.engine.admission.inFlight, 2);
    assert.equal(s.engine.admission.queued, 2);
    assert.ok(settled.every((x) => x.status === 503));
    // A rerank arriving now is shed too (one admission for all working routes).
    const rr = await postJson(`${s.url}/rerank`, { query: 'x', texts: ['a'] });
    // TEI's route answers it at TEI's status for Overloaded, 429 (http-errors.ts teiStatus).
    assert.equal(rr.status, 429);
    gate.open();
    const responses = await Promise.all(requests);
    const shed = responses.filter((r) => r.status === 503);
    const ok = responses.map((r, i) => ({ r, i })).filter((x) => x.r.status === 200);
    assert.equal(shed.length, 6);
    assert.equal(ok.length, 4);
    assert.ok(responses.every((r) => r.status === 200 || r.status === 503));
    for (const r of shed) {
      assert.equal(r.headers.get('retry-after'), '3');
      assert.equal(r.body.error.code, 'OVERLOADED');
      assert.equal(r.body.error.details.max_concurrent, 2);
    }
    for (const { r, i } of ok) {
      const lib = await sample.index.search(QUERIES[i]!, { topK: 3, mode: 'late' });
      assert.deepEqual(
        r.body.results[0].hits.map((h: { doc_id: string; score: number }) => [h.doc_id, h.score]),
        lib.hits.map((h) => [h.docId, h.score]),
      );
    }
    assert.equal(s.engine.admission.inFlight, 0);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /plait_requests_shed_total\{route="\/v1\/indexes\/:name\/search"\} 6\n/);
    assert.match(metrics, /plait_requests_shed_total\{route="\/rerank"\} 1\n/);
  } finally {
    gate.open();
    await s.close();
  }
});

/** A gated index that records what the library did once the gate let the call through. */
function recordingIndex(index: PlaitIndex, gate: Gate, outcomes: string[]): ServedIndex {
  const inner = gatedIndex(index, gate);
  return {
    ...inner,
    searchEncodedBatch: async (q, e, o) => {
      if (o?.signal === undefined) return inner.searchEncodedBatch(q, e, o); // the engine's warm-up
      try {
        const r = await inner.searchEncodedBatch(q, e, o);
        outcomes.push('ok');
        return r;
      } catch (err) {
        outcomes.push(isPlaitError(err) ? err.code : String(err));
        throw err;
      }
    },
  };
}

test('deadline: 504 TIMEOUT at once, the library sees the aborted signal and stops, the slot is free afterwards', async () => {
  const gate = new Gate();
  const outcomes: string[] = [];
  const s = await serve(sample, { maxConcurrent: 1, maxQueue: 0, abortCheckQueries: 2 }, recordingIndex(sample.index, gate, outcomes));
  try {
    // Warm the query-embedding cache (other options, so the result cache misses later): the
    // request below then spends its time at the gate, not encoding.
    gate.open();
    assert.equal((await postJson(`${s.url}/v1/indexes/sample/search`, { queries: QUERIES, mode: 'late', top_k: 2 })).status, 200);
    gate.close();
    outcomes.length = 0;
    gate.entered = 0;
    // A batch of 10 queries in chunks of 2: the first chunk is held past the deadline. The deadline
    // leaves the request 3 s to reach the gate (it had 300 ms, which a loaded machine could spend
    // before the first chunk; the gate holds it as long as the deadline, whatever its length).
    const r = await postJson(`${s.url}/v1/indexes/sample/search`, { queries: QUERIES, mode: 'late', timeout_ms: 3000 });
    assert.equal(r.status, 504);
    assert.equal(r.body.error.code, 'TIMEOUT');
    // The held call went on into the library with the aborted signal, which refused to score;
    // the remaining four chunks were never started.
    while (s.engine.admission.inFlight > 0) await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(outcomes, ['TIMEOUT']);
    assert.equal(gate.entered, 1);
    // The one slot is free again: the next request is admitted and answered.
    gate.open();
    const next = await postJson(`${s.url}/v1/indexes/sample/search`, { queries: QUERIES.slice(0, 3), mode: 'late' });
    assert.equal(next.status, 200);
    assert.equal(next.body.results.length, 3);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /plait_requests_timed_out_total\{route="\/v1\/indexes\/:name\/search"\} 1\n/);
  } finally {
    gate.open();
    await s.close();
  }
});

test('deadline while queued: 504 and the request never starts', async () => {
  const gate = new Gate();
  const s = await serve(sample, { maxConcurrent: 1, maxQueue: 4 }, gatedIndex(sample.index, gate));
  try {
    const held = postJson(`${s.url}/v1/indexes/sample/search`, { query: 'glaciers', mode: 'late' });
    await gate.arrived(1);
    const queued = await postJson(`${s.url}/v1/indexes/sample/search`, { query: 'honey bees', mode: 'late', timeout_ms: 100 });
    assert.equal(queued.status, 504);
    assert.equal(queued.body.error.code, 'TIMEOUT');
    assert.equal(s.engine.admission.queued, 0);
    gate.open();
    assert.equal((await held).status, 200);
    assert.equal(gate.entered, 1);
  } finally {
    gate.open();
    await s.close();
  }
});

test('deadline on the real scoring pool: the library rejects with TIMEOUT and the pool serves the next search', async () => {
  const s = await serve(sample, { maxConcurrent: 1, maxQueue: 0 });
  try {
    // An already-expired signal reaches PlaitIndex.searchEncodedBatch → SearchPool: TIMEOUT, no scores.
    const enc = await sample.index.encoder();
    const [e] = await enc.encodeQueries(['glaciers']);
    await assert.rejects(
      sample.index.searchEncodedBatch(['glaciers'], [e!], { mode: 'late', exhaustive: true, signal: AbortSignal.abort(new DOMException('t', 'TimeoutError')) }),
      (err: unknown) => isPlaitError(err, 'TIMEOUT'),
    );
    const r = await postJson(`${s.url}/v1/indexes/sample/search`, { query: 'glaciers', mode: 'late', exhaustive: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.results[0].hits.length, 10);
  } finally {
    await s.close();
  }
});
