/**
 * A shard replica that also serves HTTP (`plait serve big/shard-1 --nats <url> --port <n>`) must not
 * take writes on its document routes: committed there, a write reached that replica only — not the
 * shard's other replicas, not the write log, possibly a document of another shard — and a
 * coordinator's answers then flipped with the replica NATS picked. The routes refuse (400) and the
 * index stays as it was; searches are served as before. `plait add|delete <name>/shard-<i>` did the
 * same from the command line and is refused too (exit 2), pointing at `plait cluster add|delete`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../src/index.js';
import { writeClusterManifest } from '../src/cluster/cluster-manifest.js';
import { runPlait } from './helpers/cli.js';
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

test('plait add and plait delete refuse a cluster\'s shard folder (exit 2); the same folder outside a cluster takes them', () => {
  const root = join(sample.dir, 'big');
  const shard = join(root, 'shard-1');
  cpSync(sample.path, shard, { recursive: true });
  const shardInfo = [{ commit: 'a', documents: 0, passages: 0 }, { commit: 'b', documents: 0, passages: 0 }];
  writeClusterManifest(root, { format: 'plait-cluster', version: 1, name: 'big', shards: 2, routing: 'jump-consistent-hash/sha256-be64', codebook: 'c', shardInfo, createdAt: new Date(0).toISOString() });
  const corpus = join(sample.dir, 'more.jsonl');
  writeFileSync(corpus, `${JSON.stringify({ _id: 'platypus', text: 'a platypus added to one copy of a shard' })}\n`);
  const ids = join(sample.dir, 'ids.txt');
  writeFileSync(ids, 'platypus\n');
  const generation = readManifest(shard).generation;
  const add = runPlait(sample.dir, ['add', shard, corpus, '--threads', '0']);
  assert.equal(add.code, 2, add.stderr);
  assert.match(add.stderr, /is shard 1 of cluster big: .*plait cluster add .*big .*\[USAGE\]/);
  const del = runPlait(sample.dir, ['delete', shard, '--ids', ids]);
  assert.equal(del.code, 2, del.stderr);
  assert.match(del.stderr, /plait cluster delete/);
  assert.equal(readManifest(shard).generation, generation);
  // Without a cluster.json beside it, a folder named shard-1 is an ordinary index.
  const alone = join(sample.dir, 'alone', 'shard-1');
  cpSync(sample.path, alone, { recursive: true });
  const ok = runPlait(sample.dir, ['add', alone, corpus, '--threads', '0']);
  assert.equal(ok.code, 0, ok.stderr);
});
