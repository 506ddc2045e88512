/**
 * The served generation's name (`generation` in write and search answers) under the interleavings
 * that named it wrong, forced instead of raced. A write commits, then refreshes the served index and
 * names what is served; the server's poller refreshes the same index when it sees a new commit. When
 * the poller's refresh swapped the write's generation in first, the write's own refresh found
 * nothing new (false), and the write answered with the previous generation's name (commit 7f92100;
 * CI saw two of four concurrent writes name the same generation). Here the served index's `refresh`
 * is wrapped so that the other party's swap lands exactly in that gap, and the poller is driven by
 * hand (refreshIntervalMs 0: no timer, no watcher).
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openIndex, readManifest } from '../src/index.js';
import { indexGeneration } from '../src/server/engine.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;
let base: string;
let original: () => Promise<boolean>;

before(async () => {
  sample = await buildSample('plait-served-generation-');
  server = await serve(sample, { refreshIntervalMs: 0 });
  base = `${server.url}/v1/indexes/sample`;
  original = sample.index.refresh.bind(sample.index);
});
afterEach(() => {
  sample.index.refresh = original;
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

async function searchedGeneration(): Promise<string> {
  const r = await postJson(`${base}/search`, { query: 'honey bees', top_k: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.generation;
}

/** The next call of the served index's refresh: `first` runs before it (another party's swap), then the call itself. */
function interposeOnce(first: () => Promise<unknown>): { happened: () => boolean } {
  let done = false;
  sample.index.refresh = async () => {
    if (!done) {
      done = true;
      await first();
    }
    return original();
  };
  return { happened: () => done };
}

test("a write whose generation the poller swapped in first still names it (the write's refresh finds nothing new)", async () => {
  const before = await searchedGeneration();
  // The poller's refresh, between the write's commit and the write's own refresh: it swaps the new
  // generation in and has not named it yet when the write's refresh returns false.
  const poller = interposeOnce(async () => assert.equal(await original(), true, 'the poller found the new generation'));
  const r = await postJson(`${base}/documents`, { documents: [{ doc_id: 'kite', text: 'a kite rides the wind on a long string' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(poller.happened());
  assert.notEqual(r.body.generation, before, 'the answer names the new generation, not the previous one');
  assert.equal(r.body.generation, indexGeneration(readManifest(sample.path)));
  assert.equal(await searchedGeneration(), r.body.generation, 'a search after the answer names the same generation');
});

test('four concurrent writes, the poller swapping each one in first: four generations named, the last one served', async () => {
  // Every refresh of the served index is preceded by another party's (the poller's) swap.
  sample.index.refresh = async () => {
    await original();
    return original();
  };
  const answers = await Promise.all([0, 1, 2, 3].map((i) => postJson(`${base}/documents`, { documents: [{ doc_id: `gust-${i}`, text: `gust number ${i} lifts the kite` }] })));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
  const named = answers.sort((x, y) => x.body.generation_number - y.body.generation_number).map((a) => a.body.generation);
  assert.equal(new Set(named).size, 4, JSON.stringify(named));
  assert.equal(await searchedGeneration(), named[3]);
});

test('a commit that the served index picked up outside the poller (its own refresh) is named by the next poll', async () => {
  const before = await searchedGeneration();
  // Another writer (the library, another process) commits; the served index is refreshed by its own
  // caller before the server's poller looks: the poller then finds the served commit current.
  const writer = await openIndex(sample.path, { encoderOptions: { threads: 1 }, workers: 1 });
  try {
    await writer.add([{ docId: 'breeze', title: '', text: 'a breeze barely moves the kite' }]);
  } finally {
    await writer.close();
  }
  assert.equal(await original(), true);
  await server.engine.refreshIndexes();
  const named = await searchedGeneration();
  assert.notEqual(named, before);
  assert.equal(named, indexGeneration(readManifest(sample.path)));
});
