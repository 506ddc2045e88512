/**
 * A shard whose replica answers slower than CLUSTER_DEFAULTS.attemptTimeoutMs but before the
 * deadline is answered, not reported missing (src/cluster/shard-client.ts). Each attempt was dropped
 * at attemptTimeoutMs and the request asked again: a replica that always needed longer (a batch of
 * 30 hybrid queries on a machine at load 15–18, in cluster-search.test.ts) never got an answer
 * through, and the shard went missing although it was alive. Now every attempt waits until the
 * deadline and the first answer wins; a replica that never answers (killed mid-request) is still
 * asked again after attemptTimeoutMs. A real nats-server; the "replicas" are subscribers in this
 * process, so the times are the test's own (an attempt timeout of 100 ms, answers after 400 ms).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsConnect } from '../src/cluster/shard-replica.js';
import { ShardClient } from '../src/cluster/shard-client.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { encodeMessage } from '../src/cluster/shard-protocol.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';

const skip = needsNatsServer();
let nats: NatsServer;
let nc: NatsConnection;

before(async () => {
  if (skip !== false) return;
  nats = await startNatsServer();
  nc = await natsConnect(nats.url, 'test-slow-replica');
});
after(async () => {
  if (skip !== false) return;
  await nc.close();
  await nats.stop();
});

test('a replica slower than the attempt timeout is answered before the deadline, not reported missing', { skip, timeout: 60_000 }, async () => {
  const subjects = clusterSubjects('slow');
  let asked = 0;
  const sub = nc.subscribe(`${subjects.shardService(0)}.info`, {
    queue: 'q',
    callback: (_e, m) => {
      asked++;
      setTimeout(() => m.respond(encodeMessage({ ok: true, documents: 7 })), 400);
    },
  });
  await nc.flush();
  try {
    const client = new ShardClient(nc, subjects, 1, null, { attemptTimeoutMs: 100 });
    const r = await client.request(0, 'info', {}, Date.now() + 20_000);
    assert.ok(r.ok, `the shard was reported missing (${!r.ok && r.reason}) after ${asked} attempts`);
    assert.equal((r.value as { documents?: number }).documents, 7);
    assert.ok(asked >= 2, `asked again while the first attempt waited (${asked} attempts)`);
  } finally {
    sub.unsubscribe();
  }
});

test('a replica that never answers an attempt (killed mid-request) is asked again after the attempt timeout, and that answer is taken', { skip, timeout: 60_000 }, async () => {
  const subjects = clusterSubjects('lost');
  let asked = 0;
  const sub = nc.subscribe(`${subjects.shardService(0)}.info`, {
    queue: 'q',
    callback: (_e, m) => {
      // The first attempt is dropped, as by a replica killed while it searched.
      if (asked++ > 0) m.respond(encodeMessage({ ok: true, documents: 3 }));
    },
  });
  await nc.flush();
  try {
    const client = new ShardClient(nc, subjects, 1, null, { attemptTimeoutMs: 100 });
    const r = await client.request(0, 'info', {}, Date.now() + 20_000);
    assert.ok(r.ok, `the shard was reported missing (${!r.ok && r.reason})`);
    assert.equal((r.value as { documents?: number }).documents, 3);
    assert.ok(asked >= 2, `asked again after the attempt timeout (${asked} attempts)`);
  } finally {
    sub.unsubscribe();
  }
});
