/**
 * A shard replica that also serves HTTP (`plait serve big/shard-1 --nats <url> --port <n>`) must not
 * take writes on its document routes: committed there, a write reached that replica only — not the
 * shard's other replicas, not the write log, possibly a document of another shard — and a
 * coordinator's answers then flipped with the replica NATS picked. The routes refuse (400) and the
 * index stays as it was; searches are served as before.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readManifest } from '../src/index.js';
import { Engine, resolveServerOptions, serveEngine, type RunningServer } from '../src/server/index.js';
import { buildSample, postJson, type SampleIndex } from './helpers/server-fixture.js';

let sample: SampleIndex;
let server: RunningServer;
let base: string;

before(async () => {
  sample = await buildSample('plait-replica-writes-');
  const resolved = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const engine = new Engine({ indexes: [{ name: 'shard-1', index: sample.index, borrowed: true }], rerankers: [{ names: ['bundled:use-lite'], reranker: sample.reranker, borrowed: true }] }, resolved);
  await engine.warmUp();
  server = await serveEngine(engine, { shardReplica: { cluster: 'big', shard: 1 } });
  base = `${server.url}/v1/indexes/shard-1`;
});
after(async () => {
  await server?.close();
  await sample?.dispose();
});

test('a replica refuses adds and deletes over HTTP, naming the cluster\'s write path; nothing is committed', async () => {
  const generation = readManifest(sample.path).generation;
  const add = await postJson(`${base}/documents`, { documents: [{ doc_id: 'direct', text: 'a wombat written straight to one replica' }] });
  assert.equal(add.status, 400, JSON.stringify(add.body));
  assert.equal(add.body.error.code, 'INVALID_ARGUMENT');
  assert.match(add.body.error.message, /replica of shard 1 of cluster big: .*\/v1\/indexes\/big\/documents.*plait cluster add\|delete/);
  const del = await postJson(`${base}/documents/delete`, { doc_ids: ['anything'] });
  assert.equal(del.status, 400, JSON.stringify(del.body));
  assert.equal(del.body.error.code, 'INVALID_ARGUMENT');
  assert.equal(readManifest(sample.path).generation, generation);
  const search = await postJson(`${base}/search`, { query: 'wombat', top_k: 3, mode: 'bm25' });
  assert.equal(search.status, 200);
  assert.ok(!search.body.results[0].hits.some((h: { doc_id: string }) => h.doc_id === 'direct'));
  // An unknown index is still 404, as on any server.
  assert.equal((await postJson(`${server.url}/v1/indexes/nope/documents`, { documents: [{ doc_id: 'x', text: 'y' }] })).status, 404);
});
