/**
 * The cluster's door for METADATA_TYPE_MIXED (docstore/metadata-types.ts): a cluster write is
 * answered once its log append is stored, so the warning cannot ride the answer; each replica's
 * apply (LogApplier → updateIndex) carries it in the commit's result, which `plait cluster replica`
 * prints on its stderr (cli/commands/cluster-commands.ts). Here: a write of string years, then one
 * of number years, applied from the log — the second commit's result names the field, both types
 * with their counts, and an example of each.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WriteLog } from '../src/cluster/write-log.js';
import { LogApplier, type AppliedBatch } from '../src/cluster/log-applier.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { buildBase, doc } from './helpers/cluster-writes.js';

const skip = needsNatsServer();
let dir: string;
let nats: NatsServer;
let nc: NatsConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-metatypes-cluster-'));
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

test('a replica applying a write that mixes a field\'s JSON types gets METADATA_TYPE_MIXED in its commit result', { skip, timeout: 60_000 }, async () => {
  const path = join(dir, 'shard');
  await buildBase(path, 20, 3);
  const log = await WriteLog.open(nc, 'metatypes', { shards: 1 });
  const applied: AppliedBatch[] = [];
  const a = await LogApplier.start(path, { nc, cluster: 'metatypes', shard: 0, batchWrites: 1, afterCommit: (e) => void applied.push(e) });
  try {
    let seq = (await log.append({ add: [doc('s1', 1, { year: '1962' }), doc('s2', 2, { year: '1971' })] })).shards[0]!.sequence;
    assert.ok((await a.waitFor(seq, { timeoutMs: 30_000 })).reached);
    seq = (await log.append({ add: [doc('n1', 3, { year: 1975 })] })).shards[0]!.sequence;
    assert.ok((await a.waitFor(seq, { timeoutMs: 30_000 })).reached);
  } finally {
    await a.stop();
  }
  assert.equal(applied.length, 2);
  assert.equal(applied[0]!.result.metadataWarnings, undefined, 'strings alone: nothing to say');
  const w = applied[1]!.result.metadataWarnings;
  assert.deepEqual(w?.map((x) => [x.code, x.field, x.newTypes, x.types.map((t) => `${t.type} ${t.documents} ${t.exampleId}`)]), [['METADATA_TYPE_MIXED', 'year', ['number'], ['string 2 s1', 'number 1 n1']]]);
});
