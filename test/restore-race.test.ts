/**
 * Two `plait restore` onto one NEW name at once, as two real processes: exactly one publishes, the
 * other fails INDEX_EXISTS (after waiting on the claimed name's write lock), and nothing is left
 * behind — no temporary folder, no stray file in the restored index. Before the name was claimed
 * at the start (format/publish.ts), both passed the "absent" check: the second swapped the first's
 * index out and both said "restored", or it failed with a raw ENOTEMPTY.
 * And a sharded cluster: a shard folder restores to a new name as any index; restoring into a
 * shard folder or onto the cluster's root is refused (INVALID_ARGUMENT, library and CLI) before anything is read.
 * Sample corpus, bundled model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, isPlaitError, readManifest, restoreIndex, verifyIndex } from '../src/index.js';
import { SAMPLE } from './helpers/server-fixture.js';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';
import { strayFiles } from './helpers/living.js';

let dir: string;
let source: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-restore-race-'));
  source = join(dir, 'source');
  await buildIndex(SAMPLE, { index: source, encoderOptions: { threads: 0 } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function restore(dest: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLAIT_BIN, 'restore', source, dest, '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('two plait restore onto one new name at once: one publishes, the other fails INDEX_EXISTS, nothing is left behind', async () => {
  const documents = readManifest(source).counts.documents;
  for (let round = 0; round < 3; round++) {
    const dest = join(dir, `race-${round}`);
    const results = await Promise.all([restore(dest), restore(dest)]);
    const won = results.filter((r) => r.code === 0);
    const lost = results.filter((r) => r.code !== 0);
    assert.equal(won.length, 1, `round ${round}: exactly one restore publishes: ${results.map((r) => `${r.code} ${r.stderr}`).join(' | ')}`);
    assert.equal(lost.length, 1);
    const error = JSON.parse(lost[0]!.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } };
    assert.equal(error.error.code, 'INDEX_EXISTS', lost[0]!.stderr);
    assert.match(error.error.message, /is an index already/);
    // The winner's index, whole; no temporary folder of either; no file but the index's own in it.
    assert.equal(verifyIndex(dest).manifest.counts.documents, documents);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`.race-${round}.`)), [], `round ${round}: temporary folder left`);
    assert.deepEqual(strayFiles(dest), [], `round ${round}: stray files`);
  }
});

test('a sharded cluster: a shard folder restores to a new name as any index; into a shard folder or onto the root is refused, nothing touched', async () => {
  const root = join(dir, 'c2');
  const built = runPlait(dir, ['index', SAMPLE, '--index', root, '--shards', '2', '--threads', '0', '--json']);
  assert.equal(built.code, 0, built.stderr);
  const shard1 = readManifest(join(root, 'shard-1'));
  for (const [dest, reason] of [
    [join(root, 'shard-1'), /is shard 1 of cluster .*: restoring it would replace this copy only, not the shard's other replicas nor its write log/],
    [root, /is a sharded index \(cluster\.json\): a restore restores one index, not a cluster/],
  ] as const) {
    const r = runPlait(dir, ['restore', source, dest, '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, reason);
    assert.match(r.stderr, /\[INVALID_ARGUMENT\]/);
  }
  // The library refuses the same, before it reads the backup.
  await assert.rejects(restoreIndex(join(dir, 'no-backup'), join(root, 'shard-0'), { replace: true }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && e.details?.['reason'] === 'clusterShard');
  assert.equal(readManifest(join(root, 'shard-1')).commit, shard1.commit, 'the shard is untouched');
  // A shard folder as the backup: an ordinary index, restored to a new name and searched on its own.
  const copy = join(dir, 'from-shard-0');
  const r = runPlait(dir, ['restore', join(root, 'shard-0'), copy]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readManifest(copy).counts.documents, readManifest(join(root, 'shard-0')).counts.documents);
  const s = runPlait(dir, ['search', copy, 'bread', '--json']);
  assert.equal(s.code, 0, s.stderr);
});
