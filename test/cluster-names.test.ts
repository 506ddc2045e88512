/**
 * Which cluster a name or folder means.
 *
 * `plait serve --nats <url> --coordinate <name-or-folder>`: what a new user types. A folder with no
 * cluster.json used to be refused for its characters as a cluster name ("must be 1–64 characters
 * of [A-Za-z0-9_-]"), and an ordinary index's folder was taken as a cluster name and waited on for
 * a minute; both now say what the folder is, before NATS is reached (the URL here is closed).
 *
 * A copy of a cluster under another folder name (one per replica, as the README advises): its
 * replicas join the cluster its cluster.json names, and `plait cluster add|delete|publish|fetch`
 * on that folder must address the same cluster. They used the folder's name: `plait cluster add
 * big-copy …` was acknowledged by streams PLAIT_big-copy_SHARD_* that no replica reads.
 *
 * The README's first steps: `plait index corpus.jsonl --index big --shards 2` builds a bare name
 * under the index home (indexes/big), then `plait serve big/shard-0 --nats <url>` looked only for
 * ./big/shard-0 and, finding nothing, tried to fetch the shard from NATS ("has not been
 * published"); `plait cluster publish|add big` missed it too. Cluster folders are looked up as
 * index names are: as given, then under the index home. `plait search big …` said only "no
 * manifest.json"; it now names the shards and the coordinator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterNameOf } from '../src/server/coordinator-engine.js';
import { clusterLayout, clusterNameAt } from '../src/cluster/shard-files.js';
import { findClusterRoot, resolveShardPath, writeClusterManifest } from '../src/cluster/cluster-manifest.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { isPlaitError } from '../src/errors/index.js';
import { runPlait } from './helpers/cli.js';
import { locateIndex } from '../src/format/index-path.js';

test('clusterNameOf: a name, a cluster folder, a missing folder, an ordinary index', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-coord-name-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(clusterNameOf('wiki'), 'wiki');
  assert.throws(() => clusterNameOf('a b'), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => clusterNameOf(join(dir, 'nope')), (e) => isPlaitError(e, 'INDEX_NOT_FOUND') && /no sharded index at .*nope \(no cluster\.json/.test(e.message));
  mkdirSync(join(dir, 'plain'));
  writeFileSync(join(dir, 'plain', 'manifest.json'), '{}');
  assert.throws(() => clusterNameOf(join(dir, 'plain')), (e) => isPlaitError(e, 'INDEX_NOT_FOUND') && /is an index, not a sharded one/.test(e.message));
});

test('plait serve --coordinate <missing folder> exits 2 with INDEX_NOT_FOUND, without reaching NATS', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-coord-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = runPlait(dir, ['serve', '--nats', 'nats://127.0.0.1:1', '--coordinate', join(dir, 'big'), '--port', '0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no sharded index at .*big .*\[INDEX_NOT_FOUND\]/);
  assert.doesNotMatch(r.stderr, /must be 1–64 characters/);
});

test('a copied cluster folder keeps its cluster.json name for writes and publishing; a bare folder is named by itself', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-cluster-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'big-copy');
  mkdirSync(join(copy, 'shard-0'), { recursive: true });
  mkdirSync(join(copy, 'shard-1'));
  writeFileSync(join(copy, 'shard-0', 'manifest.json'), '{"format":"plait-index"}');
  const shardInfo = [{ commit: 'a', documents: 1, passages: 1 }, { commit: 'b', documents: 1, passages: 1 }];
  writeClusterManifest(copy, { format: 'plait-cluster', version: 1, name: 'big', shards: 2, routing: 'jump-consistent-hash/sha256-be64', codebook: 'c', shardInfo, createdAt: new Date(0).toISOString() });
  assert.equal(clusterNameAt(copy), 'big');
  // The local layout needs no NATS: what `plait cluster add|delete` would write to.
  const untouched = { publish: () => assert.fail('NATS used for a local layout'), request: () => assert.fail('NATS used for a local layout') };
  const layout = await clusterLayout(untouched as unknown as NatsConnection, copy);
  assert.equal(layout.cluster, 'big');
  assert.equal(layout.shards, 2);
  assert.equal(clusterNameAt(join(dir, 'fresh')), 'fresh');
});

test('a cluster built under the index home is found by its bare name: the folder, and a replica\'s shard path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-cluster-home-'));
  const saved = process.env.PLAIT_INDEX_DIR;
  process.env.PLAIT_INDEX_DIR = join(dir, 'home');
  t.after(() => {
    if (saved === undefined) delete process.env.PLAIT_INDEX_DIR;
    else process.env.PLAIT_INDEX_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const name = `plait-test-cluster-${process.pid}`; // not a folder of the working directory
  const root = join(dir, 'home', name);
  mkdirSync(join(root, 'shard-0'), { recursive: true });
  const shardInfo = [{ commit: 'a', documents: 1, passages: 1 }];
  writeClusterManifest(root, { format: 'plait-cluster', version: 1, name, shards: 1, routing: 'jump-consistent-hash/sha256-be64', codebook: 'c', shardInfo, createdAt: new Date(0).toISOString() });
  assert.equal(findClusterRoot(name), root);
  assert.equal(resolveShardPath(`${name}/shard-0`), join(root, 'shard-0'));
  assert.equal(resolveShardPath(`${name}/shard-0/`), join(root, 'shard-0'));
  assert.equal(findClusterRoot(root), root);
  // `plait search|info <name>` on it: not "no manifest.json", but what it is and how to reach it.
  assert.throws(() => locateIndex(name), (e) => isPlaitError(e, 'INDEX_NOT_FOUND') && /is a sharded index .*name one shard .*shard-0.*--coordinate/.test(e.message));
  // Not a cluster anywhere: null, and a shard path as given (a fetch fills it).
  assert.equal(findClusterRoot(`${name}-none`), null);
  assert.equal(resolveShardPath(join(dir, 'elsewhere', 'shard-3')), join(dir, 'elsewhere', 'shard-3'));
});
