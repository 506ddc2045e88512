/**
 * The cluster's write side (issue 24): entry bytes, routing and folding by hand; then against a
 * real nats-server with JetStream — acknowledged writes applied in order by per-shard appliers
 * equal the same writes applied directly; a replica that was down catches up from its recorded
 * position; writes at and past NATS's max_payload; two writers interleaving multi-part writes;
 * read-your-writes waits.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { readManifest } from '../src/format/index-reader.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { canFold, decodeWrite, encodeWrite, foldWrites, splitParts, splitWrite, type ClusterWrite } from '../src/cluster/write-entry.js';
import { WriteLog } from '../src/cluster/write-log.js';
import { addCorpusToCluster, deleteFromCluster } from '../src/cluster/cluster-writer.js';
import { isPlaitError } from '../src/errors/index.js';
import { LogApplier } from '../src/cluster/log-applier.js';
import { AppliedSequence } from '../src/cluster/applied-sequence.js';
import { CLUSTER_WRITE_DEFAULTS } from '../src/config/defaults.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { DIM, applyDirect, assertSameIndex, buildBase, copyIndex, doc, probes, randomWrites } from './helpers/cluster-writes.js';

const skip = needsNatsServer();
let dir: string;
let nats: NatsServer;
let nc: NatsConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-clwrite-'));
  if (skip === false) {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
  }
});
after(async () => {
  await nc?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an entry round-trips exactly: ids, text, metadata, passages, token ids and float32 rows', () => {
  const w: ClusterWrite = { add: [doc('a', 1, { year: 2020 }), doc('b', 2)], delete: ['x', 'y'], deleteWhere: { year: { $lt: 2000 } } };
  const back = decodeWrite(encodeWrite(w));
  assert.deepEqual(back.delete, ['x', 'y']);
  assert.deepEqual(back.deleteWhere, { year: { $lt: 2000 } });
  assert.equal(back.add!.length, 2);
  back.add!.forEach((a, i) => {
    const o = w.add![i]!;
    assert.deepEqual(a.doc, o.doc);
    assert.deepEqual(a.passages, o.passages);
    assert.equal(a.embeddings[0]!.length, o.embeddings[0]!.length);
    assert.deepEqual(a.embeddings[0]!.tokenIds, o.embeddings[0]!.tokenIds);
    assert.deepEqual(a.embeddings[0]!.vectors, o.embeddings[0]!.vectors);
  });
  assert.throws(() => decodeWrite(new Uint8Array([0xc1])), { code: 'INVALID_INPUT' });
});

test('a write is routed by shardOf; a filter delete goes to every shard', () => {
  const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
  const parts = splitWrite({ add: ids.map((id, i) => doc(id, i)), delete: ['gone'], deleteWhere: { k: 1 } }, 3);
  assert.equal(parts.size, 3);
  for (const [shard, w] of parts) {
    assert.deepEqual(w.deleteWhere, { k: 1 });
    for (const a of w.add!) assert.equal(shardOf(a.doc.docId, 3), shard);
  }
  assert.deepEqual(parts.get(shardOf('gone', 3))!.delete, ['gone']);
  assert.equal([...parts.values()].reduce((s, w) => s + w.add!.length, 0), 20);
});

test('parts: a buffer of exactly the limit is one part, one byte more is two', () => {
  const b = new Uint8Array(10).map((_, i) => i);
  assert.equal(splitParts(b, 10).length, 1);
  assert.deepEqual(splitParts(b, 9).map((p) => [...p]), [[0, 1, 2, 3, 4, 5, 6, 7, 8], [9]]);
  assert.equal(splitParts(new Uint8Array(0), 4).length, 1);
});

test('folding: the last operation on an id wins; a filter delete only leads a batch', () => {
  const a1 = doc('a', 1);
  const a2 = doc('a', 2);
  const b = doc('b', 3);
  const f = foldWrites([{ add: [a1, b] }, { delete: ['a'] }, { add: [a2] }, { delete: ['b', 'c'] }]);
  assert.deepEqual(f.add!.map((x) => x.doc.docId), ['a']);
  assert.equal(f.add![0], a2);
  assert.deepEqual(f.delete, ['b', 'c']);
  assert.deepEqual(foldWrites([{ delete: ['a'], add: [a1] }]).delete, []);
  assert.equal(canFold({ deleteWhere: { k: 1 } }), false);
  assert.throws(() => foldWrites([{ add: [a1] }, { deleteWhere: { k: 1 } }]), { code: 'INTERNAL' });
});

test('read-your-writes: waits answer when the sequence is reached, at the deadline, or on abort', async () => {
  const s = new AppliedSequence(3);
  assert.deepEqual(await s.waitFor(2, { timeoutMs: 0 }), { reached: true, applied: 3 });
  assert.deepEqual(await s.waitFor(4, { timeoutMs: 0 }), { reached: false, applied: 3 });
  const w = s.waitFor(5, { timeoutMs: 5000 });
  s.advance(4);
  s.advance(2); // ignored: the sequence only grows
  s.advance(6);
  assert.deepEqual(await w, { reached: true, applied: 6 });
  const t0 = performance.now();
  assert.deepEqual(await s.waitFor(9, { timeoutMs: 50 }), { reached: false, applied: 6 });
  assert.ok(performance.now() - t0 >= 45);
  await assert.rejects(s.requireApplied(9, { timeoutMs: 10 }), (e: { code?: string; details?: { applied?: number } }) => e.code === 'TIMEOUT' && e.details?.applied === 6);
  const ac = new AbortController();
  const aborted = s.waitFor(9, { timeoutMs: 60_000, signal: ac.signal });
  ac.abort();
  assert.equal((await aborted).reached, false);
  assert.throws(() => s.waitFor(-1, { timeoutMs: 1 }), { code: 'INVALID_ARGUMENT' });
});

/** Starts an applier and waits until it applied `sequence`. */
async function applyUntil(path: string, cluster: string, shard: number, sequence: number, options: { batchWrites?: number } = {}): Promise<LogApplier> {
  const errors: unknown[] = [];
  const a = await LogApplier.start(path, { nc, cluster, shard, onError: (e) => errors.push(e), ...options });
  const r = await a.waitFor(sequence, { timeoutMs: 30_000 });
  assert.ok(r.reached, `shard ${shard} applied ${r.applied} of ${sequence}; errors: ${errors.map(String).join('; ')}`);
  return a;
}

test('acknowledged writes are applied in order by each shard; a replica that was down catches up', { skip, timeout: 120_000 }, async () => {
  const shards = 2;
  const base = join(dir, 'base');
  await buildBase(base);
  const paths = [0, 1].map((i) => join(dir, `ordered-${i}`));
  const oracles = [0, 1].map((i) => join(dir, `ordered-oracle-${i}`));
  for (let i = 0; i < shards; i++) {
    copyIndex(base, paths[i]!);
    copyIndex(base, oracles[i]!);
  }
  const log = await WriteLog.open(nc, 'ordered', { shards });
  const writes = randomWrites(40, 3);
  const last = [0, 0];
  for (const w of writes.slice(0, 25)) {
    const ack = await log.append(w);
    for (const s of ack.shards) {
      assert.ok(s.sequence > last[s.shard]!, 'sequences grow');
      last[s.shard] = s.sequence;
    }
  }
  // Shard 0 applies with tiny batches (one commit per 3 writes), shard 1 folds everything it has.
  const a0 = await applyUntil(paths[0]!, 'ordered', 0, last[0]!, { batchWrites: 3 });
  const a1 = await applyUntil(paths[1]!, 'ordered', 1, last[1]!);
  assert.deepEqual(readManifest(paths[1]!).appliedLog, { stream: 'PLAIT_ordered_SHARD_1', sequence: last[1] });
  // Shard 1's replica goes down; writes continue; it restarts from its manifest and catches up.
  await a1.stop();
  for (const w of writes.slice(25)) for (const s of (await log.append(w)).shards) last[s.shard] = s.sequence;
  assert.ok((await a0.waitFor(last[0]!, { timeoutMs: 30_000 })).reached);
  const b1 = await applyUntil(paths[1]!, 'ordered', 1, last[1]!);
  await a0.stop();
  await b1.stop();
  for (let i = 0; i < shards; i++) {
    applyDirect(oracles[i]!, writes, i, shards);
    await assertSameIndex(paths[i]!, oracles[i]!, probes(), `shard ${i}`);
    // The recorded position is the last write that changed something (a trailing delete of absent ids commits nothing).
    assert.ok(readManifest(paths[i]!).appliedLog!.sequence <= last[i]!);
  }
  // A restart replays at most what changed nothing: the generation stays.
  const g = readManifest(paths[0]!).generation;
  const again = await applyUntil(paths[0]!, 'ordered', 0, last[0]!);
  await again.stop();
  assert.equal(readManifest(paths[0]!).generation, g);
  // Another shard's stream is refused.
  await assert.rejects(LogApplier.start(paths[0]!, { nc, cluster: 'ordered', shard: 1 }), { code: 'INVALID_ARGUMENT' });
  // Lag: none once caught up.
  const live = await applyUntil(paths[0]!, 'ordered', 0, last[0]!);
  assert.equal((await live.lag()).behind, 0);
  await live.stop();
  const later = (await log.append({ add: [doc(shardZeroId(), 999)] })).shards[0]!.sequence;
  // A log that no longer holds the entries after a replica's position is refused, not skipped.
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge('PLAIT_ordered_SHARD_0');
  await assert.rejects(LogApplier.start(paths[0]!, { nc, cluster: 'ordered', shard: 0 }), (e: { code?: string; details?: { applied?: number } }) => e.code === 'INDEX_CHANGED' && e.details?.applied !== undefined && e.details.applied < later);
});

/** A document id that shardOf puts on shard 0 of 2. */
function shardZeroId(): string {
  for (let i = 0; ; i++) if (shardOf(`late${i}`, 2) === 0) return `late${i}`;
}

test('writes at and past the payload limit: one part at the limit, two past it, many for megabytes', { skip, timeout: 120_000 }, async () => {
  const path = join(dir, 'payload');
  const oracle = join(dir, 'payload-oracle');
  await buildBase(path, 10, 9);
  copyIndex(path, oracle);
  const log = await WriteLog.open(nc, 'payload', { shards: 1 });
  assert.equal(log.maxPartBytes, nc.info!.max_payload - CLUSTER_WRITE_DEFAULTS.payloadHeadroomBytes);
  // Pad a document's text so that its entry is exactly the largest part, then one byte more.
  const sized = (id: string, bytes: number): ClusterWrite => {
    const pad = 70_000;
    const probe = encodeWrite({ add: [doc(id, 11, undefined, 'a'.repeat(pad))] }).length;
    const w: ClusterWrite = { add: [doc(id, 11, undefined, 'a'.repeat(pad + bytes - probe))] };
    assert.equal(encodeWrite(w).length, bytes);
    return w;
  };
  const atLimit = sized('at-limit', log.maxPartBytes);
  const pastLimit = sized('past-limit', log.maxPartBytes + 1);
  const big: ClusterWrite = { add: Array.from({ length: 6 }, (_, i) => doc(`big${i}`, 20 + i, undefined, 'b'.repeat(600_000))) };
  const acks = [await log.append(atLimit), await log.append(pastLimit), await log.append(big)];
  assert.deepEqual(acks.map((a) => a.shards[0]!.parts), [1, 2, Math.ceil(encodeWrite(big).length / log.maxPartBytes)]);
  assert.ok(acks[2]!.shards[0]!.parts >= 4);
  // The limit is real: one message past max_payload is refused by the server.
  assert.throws(() => nc.publish('payload.raw', new Uint8Array(nc.info!.max_payload + 1)));
  const a = await applyUntil(path, 'payload', 0, acks[2]!.shards[0]!.sequence);
  assert.equal(a.stats.writes, 3, 'three writes, reassembled from 1 + 2 + n parts');
  assert.equal(a.stats.rejected, 0);
  await a.stop();
  applyDirect(oracle, [atLimit, pastLimit, big], 0, 1);
  await assertSameIndex(path, oracle, probes(), 'payload');
});

test('two writers interleaving multi-part writes: every write is applied whole, once', { skip, timeout: 120_000 }, async () => {
  const path = join(dir, 'interleave');
  const oracle = join(dir, 'interleave-oracle');
  await buildBase(path, 10, 13);
  copyIndex(path, oracle);
  const nc2 = await connect({ servers: nats.url });
  try {
    // A small payload limit makes every write several parts.
    const logs = [await WriteLog.open(nc, 'interleave', { shards: 1, maxPayload: 4096 }), await WriteLog.open(nc2, 'interleave', { shards: 1, maxPayload: 4096 })];
    const writes = (k: number): ClusterWrite[] => Array.from({ length: 8 }, (_, i) => ({ add: [doc(`x${k}-${i}`, 100 * k + i, undefined, 'c'.repeat(5000)), doc(`shared${i % 3}`, 1000 * k + i)] }));
    const acks = await Promise.all(logs.map(async (log, k) => {
      const out = [];
      for (const w of writes(k)) out.push({ w, ack: await log.append(w) });
      return out;
    }));
    const all = acks.flat().sort((x, y) => x.ack.shards[0]!.sequence - y.ack.shards[0]!.sequence);
    assert.ok(all.every((x) => x.ack.shards[0]!.parts >= 3));
    const a = await applyUntil(path, 'interleave', 0, all.at(-1)!.ack.shards[0]!.sequence);
    await a.stop();
    // The oracle applies the writes in their stream order (a write's place is its last part).
    applyDirect(oracle, all.map((x) => x.w), 0, 1);
    await assertSameIndex(path, oracle, probes(), 'interleave');
  } finally {
    await nc2.close();
  }
});

test('two replicas of a shard applying while the writer writes converge to the same index; a replay changes nothing', { skip, timeout: 120_000 }, async () => {
  const base = join(dir, 'live-base');
  await buildBase(base, 20, 41);
  const replicas = ['live-a', 'live-b'].map((n) => join(dir, n));
  for (const r of replicas) copyIndex(base, r);
  const oracle = join(dir, 'live-oracle');
  copyIndex(base, oracle);
  // Replica a folds what has arrived, replica b commits every write: commits differ with timing, content must not.
  const appliers = [
    await LogApplier.start(replicas[0]!, { nc, cluster: 'live', shard: 0 }),
    await LogApplier.start(replicas[1]!, { nc, cluster: 'live', shard: 0, batchWrites: 1 }),
  ];
  const log = await WriteLog.open(nc, 'live', { shards: 1 });
  const writes = randomWrites(50, 17);
  let last = 0;
  for (const w of writes) last = (await log.append(w)).shards[0]!.sequence;
  for (const a of appliers) {
    assert.ok((await a.waitFor(last, { timeoutMs: 60_000 })).reached);
    await a.stop();
  }
  await assertSameIndex(replicas[0]!, replicas[1]!, probes(), 'replica a vs replica b');
  applyDirect(oracle, writes, 0, 1);
  await assertSameIndex(replicas[0]!, oracle, probes(), 'replica a vs the oracle');
  // Idempotent replay: every entry applied a second time (upserts, id and filter deletes) changes nothing.
  applyDirect(replicas[0]!, writes, 0, 1);
  await assertSameIndex(replicas[0]!, oracle, probes(), 'replica a after a full replay');
});

test('a re-sent identical write is a no-op on every replica: nothing replaced or tombstoned, no commit; a changed document still replaces; replicas stay identical', { skip, timeout: 120_000 }, async () => {
  const base = join(dir, 'noop-base');
  await buildBase(base, 20, 43);
  const replicas = ['noop-a', 'noop-b'].map((n) => join(dir, n));
  for (const r of replicas) copyIndex(base, r);
  const log = await WriteLog.open(nc, 'noop', { shards: 1 });
  const first: ClusterWrite = { add: [doc('n1', 1, { k: 1 }), doc('n2', 2)] };
  const changed: ClusterWrite = { add: [doc('n1', 1, { k: 2 }), doc('n2', 2)] };
  let last = 0;
  for (const w of [first, first, changed]) last = (await log.append(w)).shards[0]!.sequence;
  // Replica a commits write by write (its answers are counted), replica b folds what has arrived.
  const results: Array<[boolean, number, number, number]> = [];
  const appliers = [
    await LogApplier.start(replicas[0]!, { nc, cluster: 'noop', shard: 0, batchWrites: 1, afterCommit: (b) => void results.push([b.result.committed, b.result.added, b.result.replaced, b.result.unchanged]) }),
    await LogApplier.start(replicas[1]!, { nc, cluster: 'noop', shard: 0 }),
  ];
  for (const a of appliers) {
    assert.ok((await a.waitFor(last, { timeoutMs: 60_000 })).reached);
    await a.stop();
  }
  // Before: the second write replaced both documents ([true, 0, 2, 0]) and tombstoned their passages.
  assert.deepEqual(results, [[true, 2, 0, 0], [false, 0, 0, 2], [true, 0, 1, 1]]);
  assert.equal(appliers[0]!.stats.unchanged, 3);
  assert.equal(readManifest(replicas[0]!).tombstones?.deleted, 1, 'only the changed document\'s old passage awaits compaction');
  await assertSameIndex(replicas[0]!, replicas[1]!, probes(), 'replica a vs replica b');
});

test('entries every replica refuses (unreadable bytes, a wrong dimension) are skipped alike; the writes around them apply', { skip, timeout: 60_000 }, async () => {
  const path = join(dir, 'refused');
  const oracle = join(dir, 'refused-oracle');
  await buildBase(path, 10, 51);
  copyIndex(path, oracle);
  const log = await WriteLog.open(nc, 'refused', { shards: 1 });
  const js = jetstream(nc);
  const a: ClusterWrite = { add: [doc('ok-a', 1)] };
  const c: ClusterWrite = { add: [doc('ok-c', 3)], delete: ['ok-a'] };
  const wide = doc('too-wide', 2);
  const badDim: ClusterWrite = { add: [{ ...wide, embeddings: [{ ...wide.embeddings[0]!, vectors: new Float32Array(wide.embeddings[0]!.length * (DIM + 1)) }] }] };
  await log.append(a);
  await js.publish('plait.refused.shard.0.writes', new Uint8Array([0xc1, 0x00, 0x17]));
  await js.publish('plait.refused.shard.0.writes', encodeWrite(badDim)); // past the writer's checks: published raw
  const last = (await log.append(c)).shards[0]!.sequence;
  const rejected: number[] = [];
  const applier = await LogApplier.start(path, { nc, cluster: 'refused', shard: 0, onRejected: (e) => rejected.push(e.sequence) });
  assert.ok((await applier.waitFor(last, { timeoutMs: 30_000 })).reached);
  await applier.stop();
  assert.deepEqual(rejected, [2, 3]);
  assert.equal(applier.stats.rejected, 2);
  applyDirect(oracle, [a, c], 0, 1);
  await assertSameIndex(path, oracle, probes(), 'refused entries skipped');
});

test('WriteLog.open, addCorpusToCluster and deleteFromCluster refuse a misspelt key by name, before they touch the cluster', { skip }, async () => {
  const refused = (what: string, key: string, meant: string) => (e: unknown) =>
    isPlaitError(e, 'INVALID_ARGUMENT') && new RegExp(`unknown ${what} "${key}" \\(did you mean "${meant}"\\?\\)`).test((e as Error).message);
  await assert.rejects(WriteLog.open(nc, 'typo', { shards: 1, maxpayload: 4096 } as never), refused('WriteLog option', 'maxpayload', 'maxPayload'));
  // The cluster named does not exist: a key check that came after the lookup would answer INDEX_NOT_FOUND instead.
  await assert.rejects(addCorpusToCluster(nc, 'no-such-cluster', [], { batchdocuments: 10 } as never), refused('addCorpusToCluster option', 'batchdocuments', 'batchDocuments'));
  await assert.rejects(deleteFromCluster(nc, 'no-such-cluster', { ids: ['a'], filtr: { lang: 'en' } } as never), refused('deleteFromCluster key', 'filtr', 'filter'));
});
