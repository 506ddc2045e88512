/**
 * A shard's files through the JetStream object store (issue 24): published after some log writes,
 * fetched into an empty folder on "another machine", the fetched index equals the source file for
 * file and catches up on the writes made after the publish from its manifest's position. A
 * republish uploads only changed files and drops objects no manifest lists; a corrupt object is
 * refused and leaves a folder without a manifest (never an index); an unpublished shard leaves no
 * folder at all. The publish of an in-place store
 * waits for the write lock (an applier committing at that instant), as add and delete do.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles } from '../src/format/manifest.js';
import { WriteLog } from '../src/cluster/write-log.js';
import { LogApplier } from '../src/cluster/log-applier.js';
import { FETCH_MARKER, fetchShard, publishShard, shardObjectName } from '../src/cluster/shard-files.js';
import { acquireWriteLock } from '../src/format/write-lock.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { runPlait } from './helpers/cli.js';
import { applyDirect, assertSameIndex, buildBase, copyIndex, probes, randomWrites } from './helpers/cluster-writes.js';

const skip = needsNatsServer();
let dir: string;
let nats: NatsServer;
let nc: NatsConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-clfiles-'));
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

async function applyAll(path: string, sequence: number): Promise<void> {
  const a = await LogApplier.start(path, { nc, cluster: 'files', shard: 0 });
  assert.ok((await a.waitFor(sequence, { timeoutMs: 30_000 })).reached);
  await a.stop();
}

test('publish, fetch into an empty folder, catch up from the published position', { skip, timeout: 120_000 }, async () => {
  const source = join(dir, 'source');
  const oracle = join(dir, 'oracle');
  await buildBase(source, 30, 31);
  copyIndex(source, oracle);
  const log = await WriteLog.open(nc, 'files', { shards: 1 });
  const writes = randomWrites(30, 4);
  let seq = 0;
  for (const w of writes.slice(0, 15)) seq = (await log.append(w)).shards[0]!.sequence;
  await applyAll(source, seq);
  const published = await publishShard(nc, 'files', 0, source);
  const m = readManifest(source);
  assert.equal(published.generation, m.generation);
  assert.equal(published.commit, m.commit);
  assert.equal(published.appliedSequence, m.appliedLog!.sequence);
  assert.equal(published.files, listedFiles(m).length);
  assert.equal(published.transferred, published.files);

  // Another machine: an empty folder.
  const replica = join(dir, 'replica');
  const fetched = await fetchShard(nc, 'files', 0, replica);
  assert.equal(fetched.commit, m.commit);
  // Every array file byte for byte; an in-place document store (WAL) is published from a consistent
  // copy as a build's single-file store, so its bytes differ (journal mode) — assertSameIndex checks its content.
  for (const f of listedFiles(m)) {
    if (f.entry.inPlace === true) continue;
    assert.deepEqual(readFileSync(join(replica, f.name)), readFileSync(join(source, f.name)), f.name);
  }
  assert.ok(listedFiles(m).some((f) => f.entry.inPlace === true), 'the source store was changed in place by the applied writes');
  assert.ok(listedFiles(readManifest(replica)).every((f) => f.entry.inPlace !== true && f.entry.bytes > 0), 'published stores carry a size and CRC');
  await assertSameIndex(replica, source, probes(), 'fetched');

  // Writes after the publish: the fetched replica applies them from its manifest's position.
  for (const w of writes.slice(15)) seq = (await log.append(w)).shards[0]!.sequence;
  await applyAll(replica, seq);
  applyDirect(oracle, writes, 0, 1);
  await assertSameIndex(replica, oracle, probes(), 'fetched, then caught up');

  // A republish of the caught-up source uploads only what changed and drops what no manifest lists.
  await applyAll(source, seq);
  const again = await publishShard(nc, 'files', 0, source);
  assert.ok(again.transferred < again.files, `${again.transferred} of ${again.files} files uploaded again`);
  const store = await new Objm(nc).open('plait-files');
  const names = (await store.list()).map((o) => o.name).sort();
  assert.deepEqual(names, [...listedFiles(readManifest(source)).map((f) => shardObjectName(0, f.name)), shardObjectName(0, 'manifest.json')].sort());
});

test('a publish of an in-place store waits for the write lock an applier holds; with no wait it fails with INDEX_LOCKED', { skip, timeout: 60_000 }, async () => {
  const source = join(dir, 'source');
  assert.ok(listedFiles(readManifest(source)).some((f) => f.entry.inPlace === true), 'the store is in place (published from a copy made under the lock)');
  const lock = acquireWriteLock(source);
  // The holder lets go once the publish says it waits (an 800 ms timer raced the publish's first
  // try: one that reached the lock later on a loaded machine found it free and was never told).
  let released = false;
  let told = 0;
  try {
    const r = await publishShard(nc, 'files', 0, source, {
      lockWaitMs: 30_000,
      onLockWait: () => {
        told++;
        released = true;
        lock.release();
      },
    });
    assert.ok(released, 'the publish finished only after the lock was released');
    assert.equal(told, 1);
    assert.equal(r.commit, readManifest(source).commit);
  } finally {
    lock.release();
  }
  const held = acquireWriteLock(source);
  try {
    await assert.rejects(publishShard(nc, 'files', 0, source, { lockWaitMs: 0 }), { code: 'INDEX_LOCKED' });
    await assert.rejects(publishShard(nc, 'files', 0, source, { lockWaitMs: 300 }), (e) => (e as { code?: string }).code === 'INDEX_LOCKED' && /waited/.test((e as Error).message));
  } finally {
    held.release();
  }
});

test('a fetch refuses a non-empty folder and an unpublished shard; a corrupt object fails it and the folder is given back as it was', { skip, timeout: 60_000 }, async () => {
  const busy = join(dir, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'mine.txt'), 'a user file');
  await assert.rejects(fetchShard(nc, 'files', 0, busy), { code: 'DESTINATION_EXISTS' }); // a user's folder is not an index
  assert.deepEqual(readFileSync(join(busy, 'mine.txt'), 'utf8'), 'a user file');
  await assert.rejects(fetchShard(nc, 'files', 7, join(dir, 'none', 'shard-7')), { code: 'INDEX_NOT_FOUND' });
  // Nothing is left behind (`plait cluster fetch big --shard 7` on a 2-shard cluster made big/shard-7).
  assert.equal(existsSync(join(dir, 'none')), false);
  // Corrupt one published file (same name, other bytes): every try fails its CRC.
  const store = await new Objm(nc).open('plait-files');
  const m = readManifest(join(dir, 'source'));
  const victim = listedFiles(m).find((f) => f.name.startsWith('centroids'))!;
  await store.putBlob({ name: shardObjectName(0, victim.name) }, new Uint8Array(victim.entry.bytes));
  const half = join(dir, 'half');
  await assert.rejects(fetchShard(nc, 'files', 0, half), { code: 'INDEX_CHANGED' });
  // A failed fetch gives the folder back as it found it: the new one removed, a user's empty one
  // emptied (both had been left holding the fetch's marker and no manifest).
  assert.equal(existsSync(half), false, 'the folder the fetch made is removed');
  const empty = join(dir, 'empty-for-fetch');
  mkdirSync(empty);
  await assert.rejects(fetchShard(nc, 'files', 0, empty), { code: 'INDEX_CHANGED' });
  assert.deepEqual(readdirSync(empty), [], 'the user\'s empty folder is empty again');
  // A fetch killed part-way (its marker, some files, no manifest) is cleared by the next fetch.
  await publishShard(nc, 'files', 0, join(dir, 'source'));
  mkdirSync(half);
  writeFileSync(join(half, FETCH_MARKER), '');
  writeFileSync(join(half, 'centroids.f32'), 'partial');
  const again = await fetchShard(nc, 'files', 0, half);
  assert.equal(again.commit, readManifest(join(dir, 'source')).commit);
  assert.deepEqual(readdirSync(half).sort(), [...listedFiles(readManifest(half)).map((f) => f.name), 'manifest.json'].sort());
  await assertSameIndex(half, join(dir, 'source'), probes(), 'fetched after an interrupted fetch');
});

test('plait cluster publish / fetch: a shard and cluster.json onto another machine\'s empty folder', { skip, timeout: 60_000 }, async () => {
  const root = join(dir, 'machine-a', 'clicluster');
  mkdirSync(root, { recursive: true });
  copyIndex(join(dir, 'source'), join(root, 'shard-0'));
  copyIndex(join(dir, 'source'), join(root, 'shard-1'));
  const clusterJson = `${JSON.stringify({ format: 'plait-cluster', version: 1, name: 'clicluster', shards: 2 })}\n`;
  writeFileSync(join(root, 'cluster.json'), clusterJson);
  const pub = runPlait(dir, ['cluster', 'publish', root, '--nats', nats.url, '--json']);
  assert.equal(pub.code, 0, pub.stderr);
  const published = JSON.parse(pub.stdout) as { cluster: string; shards: { shard: number; files: number }[] };
  assert.equal(published.cluster, 'clicluster');
  assert.deepEqual(published.shards.map((s) => s.shard), [0, 1]);
  const other = join(dir, 'machine-b', 'clicluster');
  const got = runPlait(dir, ['cluster', 'fetch', other, '--shard', '1', '--nats', nats.url]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^fetched cluster clicluster shard 1: generation \d+, \d+ files/);
  assert.equal(readFileSync(join(other, 'cluster.json'), 'utf8'), clusterJson);
  await assertSameIndex(join(other, 'shard-1'), join(root, 'shard-1'), probes(), 'fetched by the CLI');
  const again = runPlait(dir, ['cluster', 'fetch', other, '--shard', '1', '--nats', nats.url]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /is an index already; a shard is fetched into an empty folder \[INDEX_EXISTS\]/);
  // --lock-wait-s: 0 fails at once while a writer holds a shard's lock (in place, like the source it copies).
  const lock = acquireWriteLock(join(root, 'shard-0'));
  try {
    const locked = runPlait(dir, ['cluster', 'publish', root, '--nats', nats.url, '--shard', '0', '--lock-wait-s', '0']);
    assert.notEqual(locked.code, 0);
    assert.match(locked.stderr, /Index is locked|INDEX_LOCKED/);
  } finally {
    lock.release();
  }
  const offline = runPlait(dir, ['cluster', 'publish', root, '--nats', 'nats://127.0.0.1:1']);
  assert.notEqual(offline.code, 0);
  assert.match(offline.stderr, /cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1.*\[CLUSTER_UNAVAILABLE\]/);
});
