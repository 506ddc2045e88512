/**
 * An HTTP write that finds another process's write lock waits for it, as `plait add` does, within
 * the write's deadline: two servers on one folder (or a server and a `plait add` committing at the
 * same moment) had answered the second write 409 INDEX_LOCKED at once, while the CLI waits up to
 * --lock-wait-s. The lock is held here by this process (acquireWriteLock refuses a second holder in
 * the same process like any other writer), as another process would hold it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { acquireWriteLock } from '../src/format/write-lock.js';
import type { RunningServer } from '../src/server/index.js';
import { buildSample, postJson, serve, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;

before(async () => {
  sample = await buildSample('plait-server-lock-wait-');
  server = await serve(sample);
});

after(async () => {
  await server?.close();
  await sample?.dispose();
});

async function searchIds(query: string): Promise<string[]> {
  const r = await postJson(`${server.url}/v1/indexes/sample/search`, { query, mode: 'bm25', top_k: 5 });
  return (r.body.results[0].hits as { doc_id: string }[]).map((h) => h.doc_id);
}

test('a write waits for a lock another writer holds and commits once it is let go', async () => {
  const lock = acquireWriteLock(sample.path);
  const t0 = performance.now();
  let released = 0;
  const timer = setTimeout(() => {
    released = performance.now() - t0;
    lock.release();
  }, 1500);
  try {
    const r = await postJson(`${server.url}/v1/indexes/sample/documents`, { documents: [{ doc_id: 'waited', text: 'zanzibar cloves waited for the lock' }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.added, 1);
    assert.ok(released > 0 && performance.now() - t0 >= released, 'committed only after the holder let go');
  } finally {
    clearTimeout(timer);
    lock.release();
  }
  assert.deepEqual(await searchIds('zanzibar cloves'), ['waited']);
});

test("a write whose deadline passes while it waits for the lock is a 504 and writes nothing", async () => {
  const lock = acquireWriteLock(sample.path);
  try {
    const r = await postJson(`${server.url}/v1/indexes/sample/documents`, { documents: [{ doc_id: 'late', text: 'quokka selfies never written' }], timeout_ms: 1500 });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TIMEOUT');
  } finally {
    lock.release();
  }
  // The abandoned write must not commit once the lock is free.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(await searchIds('quokka selfies'), []);
  const after = await postJson(`${server.url}/v1/indexes/sample/documents`, { documents: [{ doc_id: 'next', text: 'a write after the timed-out one' }] });
  assert.equal(after.status, 200, JSON.stringify(after.body));
});
