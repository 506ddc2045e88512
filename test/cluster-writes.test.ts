/**
 * Cluster writes end to end (issue 24), the read side's wiring: replicas started by `plait serve
 * <index>/shard-<i> --nats` apply their shard's write log (the write side's LogApplier), the
 * coordinator's document routes publish to it (routed by shardOf), and searches naming the
 * acknowledged sequences (`min_sequences`) see the writes. A replica that was down while writes
 * were acknowledged catches up when restarted and then serves them alone; so does a replica
 * started on an empty folder, which fetches its shard as published before the writes from the
 * object store and replays the log; the coordinator's stream-lag gauge comes back to 0. Queries run during the writes and none fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { publishCluster } from '../src/cluster/shard-files.js';
import { decodeMessage, encodeMessage, type PingReply, type Reply } from '../src/cluster/shard-protocol.js';
import { needsNatsServer } from './helpers/requirements.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { startCoordinator, startReplica, type Replica } from './helpers/cluster.js';
import type { PlaitServe } from './helpers/plait-serve.js';

const skip = needsNatsServer();
const WORDS = ['wing', 'heat', 'flow', 'pressure', 'boundary', 'layer', 'cone', 'plate', 'shock', 'nozzle'];
let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let coordinator: PlaitServe;
const replicas: Replica[] = [];

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'plait-cluster-writes-'));
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  const docs = Array.from({ length: 60 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: `${WORDS[i % 10]} ${WORDS[(i * 3) % 10]} ${WORDS[(i * 7) % 10]} study ${i}` }));
  writeFileSync(join(dir, 'corpus.jsonl'), docs.join('\n'));
  await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'web'), shards: 2, model, encoderOptions: { threads: 0 } });
  // Each replica applies the log to its own copy of its shard (as on its own machine): a second
  // copy of the cluster folder for the second replica of each shard.
  cpSync(join(dir, 'web'), join(dir, 'b', 'web'), { recursive: true });
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await publishCluster(nc, join(dir, 'web')); // for a replica that starts on an empty machine, below
  for (const [root, s] of [[dir, 0], [dir, 1], [join(dir, 'b'), 0], [join(dir, 'b'), 1]] as const) replicas.push(await startReplica(join(root, 'web', `shard-${s}`), nats.url));
  coordinator = await startCoordinator(join(dir, 'web'), nats.url, ['--model', model]);
});

after(async () => {
  if (skip !== false) return;
  await coordinator?.stop();
  for (const r of replicas) await r.stop();
  await nc?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(route: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${coordinator.url}/v1/indexes/web/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** How far each live replica of each shard applied its write log. */
async function applied(): Promise<number[][]> {
  const subjects = clusterSubjects('web');
  return Promise.all(
    [0, 1].map(async (s) => {
      const out: number[] = [];
      for await (const m of await nc.requestMany(`${subjects.shardService(s)}.ping`, encodeMessage({}), { strategy: 'timer', maxWait: 300 })) {
        const r = decodeMessage<Reply<PingReply>>(m.data);
        if (r.ok) out.push(r.applied ?? -1);
      }
      return out;
    }),
  );
}

type Ack = { shard: number; sequence: number };

test('writes during a query loop: acknowledged, visible to read-your-writes, no query fails; a restarted replica catches up and serves them alone', { skip, timeout: 120_000 }, async () => {
  await replicas[3]!.kill(); // shard 1's second replica misses every write below
  let failed = 0;
  let stop = false;
  // Queries started while the writes below were being made (the loop goes on to 10 in all after them).
  let during = 0;
  const loop = (async () => {
    let i = 0;
    while (!stop || i < 10) {
      if (!stop) during++;
      const r = await post('search', { query: `${WORDS[i % 10]} study`, mode: 'hybrid', top_k: 5, timeout_ms: 8000 });
      if (r.status !== 200 || r.body.results[0].degraded === true) failed++;
      i++;
    }
    return i;
  })();
  const acks: Ack[][] = [];
  for (let w = 0; w < 8; w++) {
    const r = await post('documents', { documents: [{ doc_id: `new-${w}-a`, text: `zebra${w} wing study` }, { doc_id: `new-${w}-b`, text: `zebra${w} heat study` }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.acknowledged, true);
    acks.push(r.body.sequences);
    await new Promise((res) => setTimeout(res, 100));
  }
  const del = await post('documents/delete', { doc_ids: ['new-0-a'] });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  stop = true;
  const queries = await loop;
  // (It had asserted queries >= 10, which the loop's own bound made true whatever ran.)
  assert.ok(during >= 2, `${during} of ${queries} queries started during the writes`);
  assert.equal(failed, 0);

  // Read your writes: each write's documents are found by a search naming its sequences.
  for (let w = 0; w < 8; w++) {
    const r = await post('search', { query: `zebra${w}`, mode: 'bm25', top_k: 5, min_sequences: [...acks[w]!, ...del.body.sequences], timeout_ms: 20_000 });
    assert.equal(r.status, 200);
    assert.equal(r.body.results[0].degraded, undefined);
    const ids = r.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id).sort();
    assert.deepEqual(ids, (w === 0 ? [`new-${w}-b`] : [`new-${w}-a`, `new-${w}-b`]).sort(), `write ${w}`);
  }

  // The replica that was down catches up from where it stopped, then serves shard 1 alone.
  replicas[3] = await startReplica(join(dir, 'b', 'web', 'shard-1'), nats.url);
  const last = [0, 1].map((s) => Math.max(0, ...[...acks.flat(), ...del.body.sequences].filter((a: Ack) => a.shard === s).map((a: Ack) => a.sequence)));
  const until = Date.now() + 30_000;
  let seen = await applied();
  while (!seen.every((rs, s) => rs.length === 2 && rs.every((a) => a >= last[s]!)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    seen = await applied();
  }
  assert.ok(seen.every((rs, s) => rs.length === 2 && rs.every((a) => a >= last[s]!)), `applied ${JSON.stringify(seen)}, last ${JSON.stringify(last)}`);
  await replicas[1]!.kill(); // shard 1 is now served by the restarted replica only
  await searchNewDocs();
  // A replica on an empty machine: fetches shard 1 as published before the writes, replays the log.
  replicas.push(await startReplica(join(dir, 'c', 'web', 'shard-1'), nats.url));
  const fetchedUntil = Date.now() + 30_000;
  let shard1 = (await applied())[1]!;
  while (!(shard1.length === 2 && shard1.every((a) => a >= last[1]!)) && Date.now() < fetchedUntil) {
    await new Promise((r) => setTimeout(r, 200));
    shard1 = (await applied())[1]!;
  }
  assert.ok(shard1.length === 2 && shard1.every((a) => a >= last[1]!), `shard 1 applied ${JSON.stringify(shard1)}, last ${last[1]}`);
  await replicas[3]!.kill(); // shard 1 is now served by the fetched replica only
  await searchNewDocs();

  async function searchNewDocs(): Promise<void> {
    for (let w = 1; w < 8; w++) {
      const r = await post('search', { query: `zebra${w}`, mode: 'bm25', top_k: 5, timeout_ms: 10_000 });
      assert.equal(r.body.results[0].degraded, undefined);
      const ids = r.body.results[0].hits.map((h: { doc_id: string }) => h.doc_id);
      for (const id of [`new-${w}-a`, `new-${w}-b`]) assert.ok(ids.includes(id), `${id} (shard ${shardOf(id, 2)}) after catch-up: ${ids.join(',')}`);
    }
  }
  // The stream-lag gauge (updated every ping round) reads 0 for both shards.
  const lagUntil = Date.now() + 15_000;
  let metrics = '';
  while (Date.now() < lagUntil) {
    metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    if (/plait_cluster_stream_lag\{shard="0"\} 0\b/.test(metrics) && /plait_cluster_stream_lag\{shard="1"\} 0\b/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(metrics, /plait_cluster_stream_lag\{shard="0"\} 0\b/);
  assert.match(metrics, /plait_cluster_stream_lag\{shard="1"\} 0\b/);
});
