/**
 * A small rerank beside a large one, through the real `plait serve` (reranker only, bundled model,
 * one encoder thread): the document encoder's lane (encoder/dynamic-batching.ts) had run one merged
 * call at a time, so a 3-document rerank admitted beside a 400-document one waited for the whole
 * large call to be encoded and was answered after it; served in chunks of the encoder's batch, it
 * waits about one chunk (32 documents) of the large call's 13 and is answered first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlaitServe, type PlaitServe } from './helpers/plait-serve.js';
import { distinctDocuments, metricValue, postJson } from './helpers/server-fixture.js';

let server: PlaitServe;

before(async () => {
  // A budget far above both requests, so admission starts both at once: what is tested is the encoder.
  server = await startPlaitServe(['--encoder-threads', '1', '--max-in-flight-tokens', '1000000']);
});
after(async () => {
  await server?.stop();
});



test('a 3-document rerank made while a 400-document one is being encoded is answered before it', async () => {
  let largeDone = false;
  // 400 documents: 13 chunks of the encoder's 32-text batch, seconds of encoding on the bundled model.
  const large = postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('large', 400, 300) }).then((r) => ((largeDone = true), r));
  // Wait until the large one holds its slot (an event, not a sleep): it encodes for seconds from here.
  while (!largeDone && (await metricValue(server.url, 'plait_admission_in_flight')) < 1) await new Promise((r) => setTimeout(r, 5));
  assert.equal(largeDone, false, 'the large rerank was still running when the small one was sent');
  const small = await postJson(`${server.url}/rerank`, { query: 'how does bread rise', texts: distinctDocuments('small', 3, 300) });
  const largeDoneAtSmall = largeDone;
  assert.equal(small.status, 200, JSON.stringify(small.body));
  assert.equal(small.body.length, 3);
  const answer = await large;
  assert.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 500));
  assert.equal(answer.body.length, 400);
  // Before: the small one's texts waited for the large call's 400 and were answered after it.
  assert.equal(largeDoneAtSmall, false, 'the small rerank was answered before the large one started ahead of it');
});
