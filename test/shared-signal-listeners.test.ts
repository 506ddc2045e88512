/**
 * A signal that every request listens to (the server's shutdown signal, an index's closing signal)
 * carries one abort listener per request in flight. Node warns past 10 listeners on one signal
 * ("MaxListenersExceededWarning: Possible EventTarget memory leak detected") — which an operator saw
 * in `plait serve`'s log as soon as 11 reranks or searches were in flight at once, though nothing
 * leaked: each listener goes when its request settles. These shared signals carry no limit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openIndex } from '../src/index.js';
import { Gate, buildSample, gatedIndex, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
const warnings: string[] = [];
const onWarning = (w: Error): void => {
  if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
};

before(async () => {
  sample = await buildSample('plait-shared-signal-');
  process.on('warning', onWarning);
});
after(async () => {
  process.off('warning', onWarning);
  await sample?.dispose();
});

/** Lets a warning emitted during the last turn reach the 'warning' listeners (process.emitWarning defers to the next tick). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('20 requests in flight at once on one server: no MaxListenersExceededWarning', async () => {
  const gate = new Gate();
  const server = await serve(sample, { maxConcurrent: 32, maxQueue: 32 }, gatedIndex(sample.index, gate));
  try {
    warnings.length = 0;
    const answers = Array.from({ length: 20 }, (_, i) => postJson(`${server.url}/v1/indexes/sample/search`, { query: `bread ${i}`, top_k: 2 }));
    // Every request holds its work signal (listening to the server's shutdown signal) at the gate.
    await gate.arrived(20);
    gate.open();
    for (const a of await Promise.all(answers)) assert.equal(a.status, 200, JSON.stringify(a.body));
    await settle();
    assert.deepEqual(warnings, []);
  } finally {
    await server.close();
  }
});

test('20 library searches at once on one index: no MaxListenersExceededWarning', async () => {
  // An index of its own: Node warns once per signal, and the test above already used the sample's.
  const index = await openIndex(sample.path, { encoderOptions: { threads: 1 }, workers: 1 });
  try {
    warnings.length = 0;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => index.search(`yeast ${i}`, { topK: 2, timeoutMs: 60_000 })));
    assert.equal(results.length, 20);
    await settle();
    assert.deepEqual(warnings, []);
  } finally {
    await index.close();
  }
});
