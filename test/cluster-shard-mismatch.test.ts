/**
 * A shard of another build — compressed with another codebook, encoded by another model, cut into
 * another shard count — used to be refused with INDEX_CORRUPT, which sends a user to verify files
 * that are sound. It is now MODEL_MISMATCH naming what differs (`details.differs`), at the
 * replica's start (against cluster.json) and at the coordinator's (against cluster.json, or shard 0
 * when started by the cluster's name). Two 2-shard clusters of the sample corpus with the same
 * folder name (hence the same cluster name) and different k-means seeds (hence codebooks); a real
 * NATS server for the coordinator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildShardedIndex, openIndex, PlaitError, type PlaitIndex } from '../src/index.js';
import { ShardReplica } from '../src/cluster/shard-replica.js';
import { shardDifferences } from '../src/cluster/shard-mismatch.js';
import { openCoordinatorEngine } from '../src/server/coordinator-engine.js';
import { resolveServerOptions } from '../src/server/options.js';
import type { ClusterManifest } from '../src/cluster/cluster-manifest.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';

const NAME = `mismatch-${process.pid}`;
let dir: string;
let a: string;
let b: string;
let codebookA: string;
let codebookB: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-shard-mismatch-'));
  a = join(dir, 'a', NAME);
  b = join(dir, 'b', NAME);
  codebookA = (await buildShardedIndex(SAMPLE, { index: a, shards: 2, seed: 1, encoderOptions: { threads: 0 } })).cluster.codebook;
  codebookB = (await buildShardedIndex(SAMPLE, { index: b, shards: 2, seed: 2, encoderOptions: { threads: 0 } })).cluster.codebook;
});

after(() => rmSync(dir, { recursive: true, force: true }));

function mismatch(differs: string[], shard: number): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof PlaitError, String(e));
    assert.equal(e.code, 'MODEL_MISMATCH', e.message);
    assert.deepEqual(e.details?.differs, differs);
    assert.equal(e.details?.shard, shard);
    for (const field of differs) assert.match(e.message, new RegExp(field));
    return true;
  };
}

test('shardDifferences names each field that differs, model first; fields one side lacks are not compared', () => {
  const model = { name: 'm', dim: 32, fingerprint: 'f'.repeat(64) };
  assert.deepEqual(shardDifferences({ codebook: 'x', shards: 2, model }, { codebook: 'x', shards: 2, model: { ...model } }), []);
  assert.deepEqual(shardDifferences({ codebook: 'x', shards: 2, model }, { codebook: 'y', shards: 3, model: { ...model, fingerprint: 'e'.repeat(64) } }).map((d) => d.field), ['model', 'codebook', 'shards']);
  // An older cluster.json has no model; an old index no fingerprint: not differences.
  assert.deepEqual(shardDifferences({ codebook: 'x' }, { codebook: 'x', shards: 5, model }), []);
  assert.deepEqual(shardDifferences({ codebook: 'x', model }, { codebook: 'x', model: { name: 'm', dim: 32 } }), []);
});

test('a replica of a shard from another build is refused with MODEL_MISMATCH naming the codebook (and the model when cluster.json records another)', async () => {
  assert.notEqual(codebookA, codebookB);
  const mixed = join(dir, 'mixed', NAME);
  cpSync(a, mixed, { recursive: true });
  rmSync(join(mixed, 'shard-1'), { recursive: true });
  cpSync(join(b, 'shard-1'), join(mixed, 'shard-1'), { recursive: true });
  const recorded = JSON.parse(readFileSync(join(mixed, 'cluster.json'), 'utf8')) as ClusterManifest;
  assert.equal(recorded.model?.name, 'bundled:use-lite'); // the build records the model now
  const index = await openIndex(join(mixed, 'shard-1'), { workers: 0 });
  try {
    // Refused before NATS is reached (the URL is closed).
    await assert.rejects(ShardReplica.start(index, { servers: 'nats://127.0.0.1:1' }), mismatch(['codebook'], 1));
    writeFileSync(join(mixed, 'cluster.json'), JSON.stringify({ ...recorded, model: { ...recorded.model, name: 'org/other-colbert' } }));
    await assert.rejects(ShardReplica.start(index, { servers: 'nats://127.0.0.1:1' }), mismatch(['model', 'codebook'], 1));
  } finally {
    await index.close();
  }
});

test('a coordinator refuses a shard of another build with MODEL_MISMATCH, against cluster.json or, by name, shard 0', async () => {
  let nats: NatsServer | undefined;
  const indexes: PlaitIndex[] = [];
  const replicas: ShardReplica[] = [];
  try {
    nats = await startNatsServer();
    // Each replica passes its own check (its own cluster.json); both join cluster NAME.
    for (const [root, shard] of [[a, 0], [b, 1]] as const) {
      const index = await openIndex(join(root, `shard-${shard}`), { workers: 0 });
      indexes.push(index);
      replicas.push(await ShardReplica.start(index, { servers: nats.url }));
    }
    const options = resolveServerOptions({});
    await assert.rejects(openCoordinatorEngine(a, options, { servers: nats.url, startWaitMs: 10_000 }), mismatch(['codebook'], 1));
    await assert.rejects(openCoordinatorEngine(NAME, options, { servers: nats.url, startWaitMs: 10_000 }), mismatch(['codebook'], 1));
  } finally {
    for (const r of replicas) await r.close();
    for (const i of indexes) await i.close();
    await nats?.stop();
  }
});
