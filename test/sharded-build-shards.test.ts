/**
 * buildShardedIndex (the library, not only the CLI's --shards) builds no more shards than the
 * corpus has documents: asked for 8 over 5 documents it builds 5 and says so (`cluster.shards`,
 * `requestedShards`, the folders on disk); at or under the document count it builds what was asked.
 * Its options are checked as buildIndex's are: an unknown key is refused before anything is read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex, shardCountFor } from '../src/cluster/sharded-build.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { isPlaitError } from '../src/errors/index.js';

let dir: string;
let model: string;
const IDS = ['a1', 'b2', 'c3', 'd4', 'e5'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-sharded-shards-'));
  model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  writeFileSync(join(dir, 'corpus.jsonl'), IDS.map((id, i) => JSON.stringify({ _id: id, text: `wing heat flow study number ${i}` })).join('\n'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('shardCountFor: the asked count, or the document count when smaller (read only that far)', async () => {
  const corpus = join(dir, 'corpus.jsonl');
  assert.equal(await shardCountFor(corpus, { index: 'x' }, 8), 5);
  assert.equal(await shardCountFor(corpus, { index: 'x' }, 5), 5);
  assert.equal(await shardCountFor(corpus, { index: 'x' }, 2), 2);
  assert.equal(await shardCountFor(corpus, { index: 'x' }, 1), 1);
});

test('buildShardedIndex: 8 shards asked over 5 documents builds 5, and the result says how many', async () => {
  const r = await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'c8'), shards: 8, model, encoderOptions: { threads: 0 } });
  assert.equal(r.requestedShards, 8);
  assert.equal(r.cluster.shards, 5);
  assert.equal(r.shards.length, 5);
  assert.equal(r.cluster.shardInfo.length, 5);
  const onDisk = JSON.parse(readFileSync(join(dir, 'c8', 'cluster.json'), 'utf8')) as { shards: number };
  assert.equal(onDisk.shards, 5);
  assert.deepEqual(readdirSync(join(dir, 'c8')).filter((f) => f.startsWith('shard-')).sort(), ['shard-0', 'shard-1', 'shard-2', 'shard-3', 'shard-4']);
  // Documents went where shardOf over the built count puts them (what a coordinator routes by).
  assert.deepEqual(r.cluster.shardInfo.map((s) => s.documents), [0, 1, 2, 3, 4].map((s) => IDS.filter((id) => shardOf(id, 5) === s).length));
});

test('buildShardedIndex: at the document count it builds what was asked', async () => {
  const r = await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'c2'), shards: 2, model, encoderOptions: { threads: 0 } });
  assert.equal(r.requestedShards, 2);
  assert.equal(r.cluster.shards, 2);
  assert.equal(r.cluster.shardInfo.reduce((a, s) => a + s.documents, 0), 5);
});

test('buildShardedIndex refuses an unknown option key, naming the one meant, before it builds anything', async () => {
  await assert.rejects(
    buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'typo'), shards: 2, model, unshardedindex: join(dir, 'w') } as never),
    (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && /unknown buildShardedIndex option "unshardedindex" \(did you mean "unshardedIndex"\?\)/.test(e.message),
  );
  assert.equal(existsSync(join(dir, 'typo')), false);
});
