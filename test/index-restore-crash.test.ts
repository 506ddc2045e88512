/**
 * A restore over an existing index is one atomic switch (mutate/index-restore.ts): a crash at any
 * point leaves the old index whole or the restored one whole, and once the restore returned only
 * the restored one. Checked two ways on a living index (tombstones, deltas, an in-place store)
 * restored from a backup of an earlier generation:
 *  - crash states (test/helpers/crash-states.ts, as test/living-crash-states.test.ts does for every
 *    other change): the target transaction's recorded file operations replayed, every on-disk state
 *    a power loss after each allows (folder entries since the last folder fsync kept or lost in any
 *    combination, unsynced data lost, whole or torn) materialised and opened — every listed file by
 *    size and CRC-32, the store's commit record and documents;
 *  - a real kill -9 of a child restoring, right after each of those operations in turn: the folder
 *    reopens as one index or the other, the next write leaves no stray file, and the next build's
 *    cleanup removes the killed restore's temporary folder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles, type IndexManifest } from '../src/format/manifest.js';
import { commitIdOf, type FsOp } from '../src/format/index-transaction.js';
import { cleanStaleBuilds } from '../src/format/publish.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { backupIndex } from '../src/mutate/index-backup.js';
import { restoreIndex } from '../src/mutate/index-restore.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { CrashModel, type FolderState } from './helpers/crash-states.js';
import { verifiedDocIds } from './helpers/crash-check.js';
import { encodedDoc, strayFiles } from './helpers/living.js';

const DIM = 16;
const CHILD = fileURLToPath(new URL('./helpers/restore-child.js', import.meta.url));
const SKIP = /^write\.lock|\.sqlite-(wal|shm)$/;
let dir: string;
let start: string;
let bak: string;
let seq = 0;

/** What a folder opens as: its commit id and its live docIds, after checking it whole; throws otherwise. */
function openAs(path: string): { commit: string; docIds: string } {
  const docIds = [...verifiedDocIds(path)].sort().join(' ');
  return { commit: commitIdOf(readManifest(path)), docIds };
}

/** The part of a state a reader sees: the manifest and the files it lists (the whole state when the manifest is unreadable), with a key. */
function readerView(state: FolderState): { state: FolderState; key: string } {
  let view = state;
  const text = state.get('manifest.json');
  try {
    const m = JSON.parse(text?.toString('utf8') ?? '') as IndexManifest;
    view = new Map([['manifest.json', text!]]);
    for (const f of listedFiles(m)) {
      const data = state.get(f.name);
      if (data !== undefined) view.set(f.name, data);
    }
  } catch {
    view = state;
  }
  const h = createHash('sha1');
  for (const [name, data] of [...view].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h.update(name).update('\0').update(data).update('\0');
  return { state: view, key: h.digest('hex') };
}

/** 'old', 'new', or what is wrong with the state once written out and opened. */
function judge(state: FolderState, old: { commit: string; docIds: string }, next: { commit: string; docIds: string }): string {
  const path = join(dir, `state-${seq++}`);
  mkdirSync(path);
  for (const [name, data] of state) writeFileSync(join(path, name), data);
  try {
    const got = openAs(path);
    if (got.commit === old.commit && got.docIds === old.docIds) return 'old';
    if (got.commit === next.commit && got.docIds === next.docIds) return 'new';
    return `opens as neither (${got.commit})`;
  } catch (e) {
    return `does not open: ${(e as Error).message}`;
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-restore-crash-'));
  const base = syntheticPassages(30, DIM, 11, 16, 0.35).passages;
  const gen = new SyntheticVectors({ dim: DIM, clusters: 16, spread: 0.35, seed: 12 });
  start = join(dir, 'start');
  await buildSynthetic(start, base, DIM);
  updateIndex(start, { add: [encodedDoc('a1', gen.passage(9)), encodedDoc('a2', gen.passage(7))], delete: ['d2'] }, { autoCompactShare: 1 });
  bak = join(dir, 'bak');
  await backupIndex(start, bak);
  // The index moves on: the restore takes it back to the backup's content under a new generation.
  updateIndex(start, { add: [encodedDoc('b1', gen.passage(11))], delete: ['d4', 'a1'] }, { autoCompactShare: 1 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('every crash state of a restore over an index opens as the old index or the restored one, and only the restored one once it returned', async () => {
  const target = join(dir, 'states');
  cpSync(start, target, { recursive: true });
  const old = openAs(target);
  const model = new CrashModel(target, SKIP);
  const states = new Map<string, { state: FolderState; lastOp: number }>();
  const collect = (op: number): void => {
    for (const [key, state] of model.crashStates()) {
      const seen = states.get(key);
      if (seen === undefined) states.set(key, { state, lastOp: op });
      else seen.lastOp = op;
    }
  };
  // The control: the same operations without the folder fsyncs before the commit rename (a broken protocol).
  const broken = new CrashModel(target, SKIP);
  const control = new Map<string, FolderState>();
  collect(-1);
  const ops: FsOp[] = [];
  let renamed = false;
  await restoreIndex(bak, target, {
    replace: true,
    onOp: (op) => {
      ops.push(op);
      model.apply(op);
      collect(ops.length - 1);
      if (op.op === 'rename' && op.to === 'manifest.json') renamed = true;
      if (op.op === 'fsyncDir' && !renamed) return;
      broken.apply(op);
      for (const [key, state] of broken.crashStates()) control.set(key, state);
    },
  });
  const next = openAs(target);
  assert.notEqual(next.commit, old.commit);
  assert.equal(next.docIds, openAs(bak).docIds, 'the restored index holds the backup\'s documents');
  const commitAt = ops.findIndex((o) => o.op === 'rename' && o.to === 'manifest.json');
  const ackAt = ops.findIndex((o, i) => i > commitAt && o.op === 'fsyncDir');
  assert.ok(commitAt > 0 && ackAt > commitAt, 'the restore commits by renaming the manifest, then fsyncs the folder');
  const failures: string[] = [];
  let asOld = 0;
  let asNew = 0;
  // A restore commits no SQLite transaction in the target (the old store is left as it is until
  // it is unlinked), so no store's record can roll a reader forward: a reader sees the manifest and
  // the files it lists, nothing else, and states alike in those open alike (each is opened once).
  assert.ok(!ops.some((o) => o.op === 'sqliteCommit'));
  const verdicts = new Map<string, string>();
  for (const { state, lastOp } of states.values()) {
    const view = readerView(state);
    let verdict = verdicts.get(view.key);
    if (verdict === undefined) {
      verdict = judge(view.state, old, next);
      verdicts.set(view.key, verdict);
    }
    if (verdict === 'old') {
      asOld++;
      if (lastOp >= ackAt) failures.push(`after op ${lastOp}: the finished restore is lost`);
    } else if (verdict === 'new') asNew++;
    else failures.push(`after op ${lastOp} (files ${[...state.keys()].join(' ')}): ${verdict}`);
  }
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} bad crash states of ${states.size}`);
  const readerViews = verdicts.size;
  // The checker can fail: without those fsyncs some state opens as neither index.
  const caught = [...control.values()].filter((state) => {
    const view = readerView(state);
    if (!verdicts.has(view.key)) verdicts.set(view.key, judge(view.state, old, next));
    return !['old', 'new'].includes(verdicts.get(view.key)!);
  });
  assert.ok(caught.length > 0, `dropping the folder fsync before the commit must expose a bad state (${control.size} states checked)`);
  assert.ok(asOld > 0 && asNew > 0, `states open as both (${asOld} old, ${asNew} restored)`);
  process.stderr.write(`# restore: ${ops.length} file operations, ${states.size} distinct crash states, ${readerViews} distinct to a reader (${asOld} open as the old index, ${asNew} as the restored one)\n`);
});

test('kill -9 right after each file operation of a restore: the index reopens whole as the old or the restored one, and the next writers clean up', () => {
  const old = openAs(start);
  const restored = openAs(bak).docIds;
  const run = (target: string, killAt: number): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CHILD, bak, target, String(killAt)], { encoding: 'utf8' });
  // A run without a kill counts the operations.
  const whole = join(dir, 'kill-none');
  cpSync(start, whole, { recursive: true });
  const full = run(whole, -1);
  assert.equal(full.status, 0, String(full.stderr));
  const nOps = Number(/ops (\d+)/.exec(String(full.stdout))![1]);
  assert.ok(nOps > 10, `${nOps} operations`);
  let asOld = 0;
  let asNew = 0;
  for (let k = 0; k < nOps; k++) {
    const target = join(dir, `kill-${k}`);
    cpSync(start, target, { recursive: true });
    const r = run(target, k);
    assert.equal(r.signal, 'SIGKILL', `op ${k}: the child was killed (${String(r.stderr)})`);
    const got = openAs(target);
    if (got.commit === old.commit) {
      assert.equal(got.docIds, old.docIds, `op ${k}`);
      asOld++;
    } else {
      assert.equal(got.docIds, restored, `op ${k}: opens as the restored index`);
      asNew++;
    }
    // The next write (one that changes nothing) removes what the killed restore moved in; the next
    // build or restore beside it removes its temporary folder (its builder is dead).
    updateIndex(target, { delete: [] }, { autoCompactShare: 1 });
    assert.deepEqual(strayFiles(target), [], `op ${k}: stray files after the next write`);
    cleanStaleBuilds(target);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`.kill-${k}.`)), [], `op ${k}: temporary folder left`);
    rmSync(target, { recursive: true, force: true });
  }
  assert.ok(asOld > 0 && asNew > 0, `kills left both (${asOld} old, ${asNew} restored)`);
  process.stderr.write(`# restore: ${nOps} kill -9 points (${asOld} reopened as the old index, ${asNew} as the restored one)\n`);
});
