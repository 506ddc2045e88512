/**
 * A two-shard cluster behind a "door", for tests of what the coordinator does when one shard does
 * not answer one kind of request (cluster-unheard-shards, cluster-slow-rounds): a real nats-server,
 * the two shards of a sharded build of `docs` cranfield documents served by real replicas
 * (ShardReplica, in this process), and between them and the coordinator the door — subscribers of
 * cluster `door` that forward every request to the real replicas, unless the test's fault rule
 * holds one back: `silent` (alive, subscribed, never answering), `lagging` (answered at once with
 * the TIMEOUT a replica gives when it cannot reach a read-your-writes sequence) `bare` (answered
 * at once `{ ok: true }` and nothing else, as a replica that does not know the request's fields) or
 * `failing` (answered at once with an INTERNAL error, a replica's own fault). `whole` is the same
 * corpus as one index, the oracle.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { makeTinyColbert } from '../../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../../src/cluster/sharded-build.js';
import { readClusterManifest } from '../../src/cluster/cluster-manifest.js';
import { ClusterIndex } from '../../src/cluster/cluster-index.js';
import { ShardClient } from '../../src/cluster/shard-client.js';
import { ShardReplica, natsConnect } from '../../src/cluster/shard-replica.js';
import { clusterSubjects } from '../../src/cluster/subjects.js';
import { encodeMessage, errorReply, type ShardInfo } from '../../src/cluster/shard-protocol.js';
import { PlaitError } from '../../src/errors/index.js';
import { openIndex, type PlaitIndex } from '../../src/search/plait-index.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { cranfieldSample } from './cluster.js';

export type DoorFault = 'silent' | 'lagging' | 'bare' | 'failing' | null;

/** How the door treats a request: called with each one (its shard, verb and encoded body) before it is forwarded. */
export type DoorRule = (shard: number, verb: string, data: Uint8Array) => DoorFault;

export interface DoorCluster {
  dir: string;
  /** The sharded build's folder (`cluster.json`, shard-0, shard-1). */
  root: string;
  nats: NatsServer;
  /** The door's own connection. */
  nc: NatsConnection;
  /** The same corpus as one index. */
  whole: PlaitIndex;
  shardIndexes: PlaitIndex[];
  replicas: ShardReplica[];
  /** The sample's first query. */
  query: string;
  /** A ClusterIndex over the door (its shards' `info` asked through it). */
  cluster(): Promise<ClusterIndex>;
  close(): Promise<void>;
}

/** Builds and starts the door cluster in a new temporary folder named from `tmpPrefix`. */
export async function startDoorCluster(tmpPrefix: string, docs: number, rule: DoorRule): Promise<DoorCluster> {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 32 });
  const sample = cranfieldSample(docs, 3);
  writeFileSync(join(dir, 'corpus.jsonl'), `${sample.lines.join('\n')}\n`);
  const root = join(dir, 'cran');
  await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: root, shards: 2, model, unshardedIndex: join(dir, 'whole'), encoderOptions: { threads: 0 } });
  const whole = await openIndex(join(dir, 'whole'));
  const nats = await startNatsServer();
  const shardIndexes: PlaitIndex[] = [];
  const replicas: ShardReplica[] = [];
  for (const s of [0, 1]) {
    const index = await openIndex(join(root, `shard-${s}`));
    shardIndexes.push(index);
    replicas.push(await ShardReplica.start(index, { servers: nats.url }));
  }
  const nc = await natsConnect(nats.url, `${tmpPrefix}door`);
  const real = clusterSubjects(readClusterManifest(root).name);
  const door = clusterSubjects('door');
  /** The door: `verb` of shard `shard` goes on to the real replica, unless the rule holds it back. */
  const forward = async (shard: number, verb: string, m: Msg): Promise<void> => {
    const f = rule(shard, verb, m.data);
    if (f === 'silent') return;
    if (f === 'failing') {
      m.respond(encodeMessage(errorReply(new PlaitError('INTERNAL', { message: `shard ${shard} failed by the test` }))));
      return;
    }
    if (f === 'bare') {
      m.respond(encodeMessage({ ok: true }));
      return;
    }
    if (f === 'lagging') {
      m.respond(encodeMessage(errorReply(new PlaitError('TIMEOUT', { message: `shard ${shard} held back by the test` }))));
      return;
    }
    try {
      m.respond((await nc.request(`${real.shardService(shard)}.${verb}`, m.data, { timeout: 60_000 })).data);
    } catch {
      // The replica did not answer: neither does the door.
    }
  };
  for (const s of [0, 1]) {
    const prefix = `${door.shardService(s)}.`;
    nc.subscribe(`${prefix}>`, { callback: (err, m) => void (err === null && forward(s, m.subject.slice(prefix.length), m)) });
  }
  await nc.flush();
  return {
    dir,
    root,
    nats,
    nc,
    whole,
    shardIndexes,
    replicas,
    query: sample.queries[0]!,
    async cluster(): Promise<ClusterIndex> {
      const client = new ShardClient(nc, door, 2, null);
      const infos = await Promise.all([0, 1].map((s) => client.request<ShardInfo>(s, 'info', {}, Date.now() + 20_000)));
      return new ClusterIndex('door', client, infos.map((o) => (o.ok ? o.value : assert.fail(`shard ${o.shard} did not answer info`))), { encoder: await whole.encoder() });
    },
    async close(): Promise<void> {
      for (const r of replicas) await r.close();
      for (const i of shardIndexes) await i.close();
      await nc.close();
      await whole.close();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
