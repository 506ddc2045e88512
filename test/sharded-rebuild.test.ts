/**
 * A sharded index rebuilt over itself publishes its new shape whole (cluster/sharded-build.ts,
 * format/publish.ts temporaryShardedBuildDir / publishShardedBuild). Rebuilt from 3 shards to 2 it
 * had kept the old `shard-2` beside the two new ones (a stray shard that `plait search <root>/shard-2`
 * still answered from and `plait cluster publish --shard 2` still published), and each shard was
 * published into its old folder one after another, so a crash between two of them left shards of two
 * builds (two codebooks) under one cluster.json. Now a kill after any file operation of the rebuild
 * leaves the old sharded index or the new one, each whole: real child processes killed at counted
 * file operations (test/helpers/fs-op-counter.ts), then what the next build does first
 * (cleanStaleBuilds) and the check.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { readClusterManifest } from '../src/cluster/cluster-manifest.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { readManifest } from '../src/format/index-reader.js';
import { commitIdOf } from '../src/format/index-transaction.js';
import { cleanStaleBuilds } from '../src/format/publish.js';
import { CLAIM_FILES } from '../src/format/index-path.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { isPlaitError } from '../src/errors/index.js';
import { runPlait } from './helpers/cli.js';

const CHILD = fileURLToPath(new URL('./helpers/sharded-rebuild-child.js', import.meta.url));
const IDS = Array.from({ length: 12 }, (_, i) => `doc${i}`);

let dir: string;
let model: string;
let corpus: string;
/** A 3-shard index of `corpus`, copied for each case. */
let base: string;
let oldCluster: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-sharded-rebuild-'));
  model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, IDS.map((id, i) => JSON.stringify({ _id: id, text: `wing heat flow study ${i}` })).join('\n'));
  base = join(dir, 'base', 'cl');
  await buildShardedIndex(corpus, { index: base, shards: 3, model, encoderOptions: { threads: 0 } });
  oldCluster = readFileSync(join(base, 'cluster.json'), 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the 3-shard index under `name`/cl. */
function copyOfBase(name: string): string {
  const root = join(dir, name, 'cl');
  cpSync(base, root, { recursive: true });
  return root;
}

/** What is beside `root`: a build's or a swap's folder (`.cl.*`). */
function besideRoot(root: string): string[] {
  return readdirSync(join(root, '..')).filter((n) => n.startsWith('.cl.'));
}

/**
 * The sharded index at `root` is whole: exactly cluster.json's shards, each at the commit cluster.json
 * names (lock files aside). Returns its shard count, and whether it is the old 3-shard build (same
 * cluster.json).
 */
function wholeCluster(root: string): { shards: number; old: boolean } {
  const cluster = readClusterManifest(root);
  const entries = readdirSync(root).filter((n) => !CLAIM_FILES.has(n)).sort();
  assert.deepEqual(entries, ['cluster.json', ...Array.from({ length: cluster.shards }, (_, i) => `shard-${i}`)].sort(), 'exactly the shards cluster.json names');
  for (let i = 0; i < cluster.shards; i++) {
    const m = readManifest(join(root, `shard-${i}`));
    assert.equal(commitIdOf(m), cluster.shardInfo[i]!.commit, `shard ${i} is the build cluster.json names`);
    assert.equal(m.counts.documents, IDS.filter((id) => shardOf(id, cluster.shards) === i).length, `shard ${i} holds the documents routed to it`);
  }
  return { shards: cluster.shards, old: readFileSync(join(root, 'cluster.json'), 'utf8') === oldCluster };
}

test('buildShardedIndex over a 3-shard index with 2 shards publishes 2 and nothing of the third; 2 -> 3 again builds 3', async () => {
  const root = copyOfBase('shrink');
  const r = await buildShardedIndex(corpus, { index: root, shards: 2, model, encoderOptions: { threads: 0 } });
  assert.equal(r.cluster.shards, 2);
  assert.deepEqual(wholeCluster(root), { shards: 2, old: false });
  assert.deepEqual(readdirSync(root).sort(), ['cluster.json', 'shard-0', 'shard-1'], 'no shard-2, no lock file in the root');
  assert.deepEqual(besideRoot(root), []);
  await buildShardedIndex(corpus, { index: root, shards: 3, model, encoderOptions: { threads: 0 } });
  assert.deepEqual(wholeCluster(root), { shards: 3, old: false });
  assert.deepEqual(besideRoot(root), []);
});

test('a sharded rebuild refuses a root holding what it did not make (a swap would drop it), and a plain index, touching nothing', async () => {
  const root = copyOfBase('foreign');
  writeFileSync(join(root, 'notes.txt'), 'mine\n');
  writeFileSync(join(root, 'shard-1', 'mine.txt'), 'mine too\n');
  await assert.rejects(buildShardedIndex(corpus, { index: root, shards: 2, model, encoderOptions: { threads: 0 } }), (e: unknown) => isPlaitError(e, 'DESTINATION_EXISTS') && /notes\.txt, shard-1\/mine\.txt|shard-1\/mine\.txt, notes\.txt/.test((e as Error).message));
  assert.equal(readFileSync(join(root, 'cluster.json'), 'utf8'), oldCluster);
  assert.deepEqual(readdirSync(root).sort(), ['cluster.json', 'notes.txt', 'shard-0', 'shard-1', 'shard-2']);
  assert.deepEqual(besideRoot(root), []);
  const plain = join(dir, 'plain', 'cl');
  mkdirSync(join(dir, 'plain'));
  await buildIndex(corpus, { index: plain, model, encoderOptions: { threads: 0 } });
  const before = readdirSync(plain).sort();
  await assert.rejects(buildShardedIndex(corpus, { index: plain, shards: 2, model, encoderOptions: { threads: 0 } }), (e: unknown) => isPlaitError(e, 'INDEX_EXISTS'));
  assert.deepEqual(readdirSync(plain).sort(), before);
});

test('one index built into a shard folder of a sharded index is refused, by the CLI and the library, and the shard is untouched', async () => {
  const root = copyOfBase('one-shard');
  const before = commitIdOf(readManifest(join(root, 'shard-0')));
  // It had rebuilt shard-0 alone with every document and its own codebook under the old cluster.json.
  const r = runPlait(dir, ['index', corpus, '--index', join(root, 'shard-0'), '--model', model, '--threads', '0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is a shard of the sharded index .*rebuild the whole sharded index \(plait index --shards, buildShardedIndex\), or build to another name \[INVALID_ARGUMENT\]/);
  await assert.rejects(buildIndex(corpus, { index: join(root, 'shard-1'), model, encoderOptions: { threads: 0 } }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.equal(commitIdOf(readManifest(join(root, 'shard-0'))), before);
  assert.deepEqual(wholeCluster(root), { shards: 3, old: true });
  assert.deepEqual(besideRoot(root), []);
});

test('killed after any file operation of a 3 -> 2 rebuild, the sharded index is the old one or the new one, whole, and nothing is left beside it', async () => {
  const probe = copyOfBase('probe');
  const full = spawnSync(process.execPath, [CHILD, probe, corpus, model, '2', '-1'], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  const ops = Number(/done (\d+)/.exec(full.stdout)![1]);
  assert.deepEqual(wholeCluster(probe), { shards: 2, old: false });
  // The publish is in the last few dozen operations (each shard sealed, cluster.json, the swap, the
  // old root removed): every other one there, and a few before (during encoding and writing).
  const points = new Set<number>([1, Math.floor(ops / 4), Math.floor(ops / 2), Math.floor((3 * ops) / 4)]);
  for (let k = Math.max(1, ops - 48); k <= ops; k += 2) points.add(k);
  const seen = { old: 0, new: 0 };
  for (const k of [...points].sort((a, b) => a - b)) {
    const root = copyOfBase(`kill-${k}`);
    const r = spawnSync(process.execPath, [CHILD, root, corpus, model, '2', String(k)], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', `killed after operation ${k} of ${ops}: ${r.stderr}`);
    cleanStaleBuilds(root); // what the next build does first
    const state = wholeCluster(root);
    assert.ok(state.old || state.shards === 2, `after operation ${k}: the old index or the new one`);
    seen[state.old ? 'old' : 'new']++;
    assert.deepEqual(besideRoot(root), [], `after operation ${k}: the build's folder (or the old root) is removed`);
    rmSync(join(dir, `kill-${k}`), { recursive: true, force: true });
  }
  assert.ok(seen.old > 0 && seen.new > 0, `the kills span the commit point: ${JSON.stringify(seen)}`);
  // A killed rebuild's root (its lock file, whose holder is gone) is rebuilt by the next build.
  const again = copyOfBase('again');
  const r = spawnSync(process.execPath, [CHILD, again, corpus, model, '2', String(ops - 40)], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL');
  await buildShardedIndex(corpus, { index: again, shards: 2, model, encoderOptions: { threads: 0 } });
  assert.deepEqual(wholeCluster(again), { shards: 2, old: false });
  assert.deepEqual(besideRoot(again), []);
  assert.ok(existsSync(join(again, 'shard-1')));
});
