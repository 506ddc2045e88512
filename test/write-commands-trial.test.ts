/**
 * The loose ends a new user's trial of the living index found (issue 20, after it was resolved),
 * each through the command line as that user met it:
 *  - Ctrl-C / SIGTERM during `plait add` (and its siblings): before the commit nothing changes and
 *    the command says so; once the commit has started it is finished and the commit id is named.
 *  - `--skip-invalid` over a corpus whose every line is invalid: EMPTY_CORPUS names the skipped
 *    count and the first reasons (`plait add` and `plait index`).
 *  - a plain file (or a folder of someone's files) at a new folder's destination is not "an index".
 * The index is the bundled model's build of the sample corpus's first 12 documents.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles } from '../src/format/manifest.js';
import { acquireWriteLock } from '../src/format/write-lock.js';
import { abortOpenTransactions, IndexTransaction, commitIdOf } from '../src/format/index-transaction.js';
import { checkFolderDestination } from '../src/format/index-path.js';
import { abortActiveBackups, backupIndex } from '../src/mutate/index-backup.js';
import { isPlaitError } from '../src/errors/index.js';
import { PLAIT_BIN } from './helpers/cli.js';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/interrupt-child.js', import.meta.url));
let dir: string;
let path: string;
let lines: string[];

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [PLAIT_BIN, ...args], { encoding: 'utf8', cwd: dir });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-trial-'));
  lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  writeFileSync(join(dir, 'first.jsonl'), `${lines.slice(0, 12).join('\n')}\n`);
  path = join(dir, 'idx');
  await buildIndex(join(dir, 'first.jsonl'), { index: path, encoderOptions: { threads: 1 } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Files in the index folder that are neither listed by the committed manifest nor its control, lock or SQLite side files. */
function leftovers(): string[] {
  const listed = new Set(listedFiles(readManifest(path)).map((f) => f.name));
  return readdirSync(path).filter((n) => !listed.has(n) && !/^(manifest|managed)\.json$|^write\.lock|-wal$|-shm$/.test(n));
}

/** Opens the index (arrays, store, commit check) and returns the commit it opened at. */
async function opensAt(): Promise<string> {
  const index = await openIndex(path, { workers: 1, encoderOptions: { threads: 1 } });
  try {
    return commitIdOf(index.manifest);
  } finally {
    await index.close();
  }
}

interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let releases = 0;

/**
 * Runs `plait ...args` in the interrupt helper and sends `signals` once `marker` shows on its
 * stderr (the second one `gapMs` later); a transaction held at `@@hold` is let go once they are sent.
 */
function interrupted(hold: 'begin' | 'none', marker: '@@armed' | '@@hold' | RegExp, signals: NodeJS.Signals[], args: string[], gapMs = 150): Promise<ChildRun> {
  const release = join(dir, `release-${++releases}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, hold, release, '--', ...args], { cwd: dir });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const seen = typeof marker === 'string' ? stderr.includes(marker) : marker.test(stderr);
      if (!sent && seen) {
        sent = true;
        signals.forEach((s, i) =>
          setTimeout(() => {
            child.kill(s);
            if (i === signals.length - 1) writeFileSync(release, '');
          }, i * gapMs),
        );
      }
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * The command ended as the signal ends a process (plait cleans up, then re-raises it): a parent sees
 * the signal, a shell 128 + its number — 130 for SIGINT, 143 for SIGTERM.
 */
function assertEndedBy(r: { status: number | null; signal: NodeJS.Signals | null }, signal: 'SIGINT' | 'SIGTERM', message: string): void {
  assert.deepEqual({ status: r.status, signal: r.signal }, { status: null, signal }, message);
}

test('Ctrl-C while plait add encodes: "interrupted before commit: nothing changed", exit 130, the index as it was', async () => {
  const before = readManifest(path);
  writeFileSync(join(dir, 'rest.jsonl'), `${lines.slice(12).join('\n')}\n`);
  const r = await interrupted('none', '@@armed', ['SIGINT'], ['add', path, join(dir, 'rest.jsonl'), '--threads', '1']);
  assertEndedBy(r, 'SIGINT', r.stderr);
  assert.match(r.stderr, /interrupted by SIGINT before commit: nothing changed \[ABORTED\]/);
  assert.equal(r.stdout, '');
  assert.equal(await opensAt(), commitIdOf(before), 'opens at the previous generation');
  assert.deepEqual(leftovers(), []);
  acquireWriteLock(path).release(); // not left locked
});

test('SIGTERM while plait add waits for the lock: nothing changed (--json: ABORTED with committed false), exit 143', async () => {
  const before = readManifest(path);
  writeFileSync(join(dir, 'two.jsonl'), `${lines.slice(12, 14).join('\n')}\n`);
  const lock = acquireWriteLock(path);
  let r: ChildRun;
  try {
    r = await interrupted('none', /waiting for the write lock/, ['SIGTERM'], ['add', path, join(dir, 'two.jsonl'), '--threads', '1', '--lock-wait-s', '60', '--json']);
  } finally {
    lock.release();
  }
  assertEndedBy(r, 'SIGTERM', r.stderr);
  const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: { committed: boolean; signal: string } } };
  assert.equal(err.error.code, 'ABORTED');
  assert.deepEqual([err.error.details.committed, err.error.details.signal], [false, 'SIGTERM']);
  assert.equal(await opensAt(), commitIdOf(before), 'opens at the previous generation');
});

test('Ctrl-C twice during the transaction of plait add: the commit is finished, the second Ctrl-C says so, the message names the commit', async () => {
  const before = readManifest(path);
  writeFileSync(join(dir, 'three.jsonl'), `${lines.slice(14, 17).join('\n')}\n`);
  const r = await interrupted('begin', '@@hold', ['SIGINT', 'SIGINT'], ['add', path, join(dir, 'three.jsonl'), '--threads', '1']);
  assertEndedBy(r, 'SIGINT', r.stderr);
  const after = readManifest(path);
  assert.equal(await opensAt(), commitIdOf(after), 'opens at the new generation');
  assert.equal(after.generation, (before.generation ?? 0) + 1);
  assert.equal(after.counts.documents, before.counts.documents + 3);
  assert.match(r.stdout, /^added 3 new documents, replaced 0 documents \(generation \d+;/);
  assert.match(r.stderr, /SIGINT again: finishing the commit/);
  assert.match(r.stderr, new RegExp(`interrupted by SIGINT after the commit had started: the write was finished and committed: generation ${after.generation}, commit ${commitIdOf(after)}`));
  assert.deepEqual(leftovers(), []);
});

test('SIGINT during the transaction of plait delete and plait compact: committed and named', async () => {
  writeFileSync(join(dir, 'ids.txt'), `${JSON.parse(lines[0]!)._id}\n`);
  const del = await interrupted('begin', '@@hold', ['SIGINT'], ['delete', path, '--ids', join(dir, 'ids.txt')]);
  assertEndedBy(del, 'SIGINT', del.stderr);
  assert.match(del.stderr, new RegExp(`committed: generation ${readManifest(path).generation}, commit ${commitIdOf(readManifest(path))}`));
  const compact = await interrupted('begin', '@@hold', ['SIGINT'], ['compact', path, '--json']);
  assertEndedBy(compact, 'SIGINT', compact.stderr);
  const m = readManifest(path);
  assert.equal(m.tombstones, undefined);
  assert.deepEqual(JSON.parse(compact.stderr.trim().split('\n').at(-1)!), { interrupted: { signal: 'SIGINT', committed: true, generation: m.generation, commit: commitIdOf(m) } });
  assert.equal((JSON.parse(compact.stdout) as { commit: string }).commit, commitIdOf(m));
});

test('Ctrl-C while plait calibrate measures: nothing changed, no calibration record', async () => {
  const before = readManifest(path);
  const r = await interrupted('none', '@@armed', ['SIGINT'], ['calibrate', path, '--budget-s', '30', '--quiet'], 0);
  assertEndedBy(r, 'SIGINT', r.stderr);
  assert.match(r.stderr, /interrupted by SIGINT before commit: nothing changed \[ABORTED\]/);
  const after = readManifest(path);
  assert.deepEqual([commitIdOf(after), after.calibration], [commitIdOf(before), before.calibration]);
});

test('Ctrl-C during plait restore into an empty folder of the user\'s: nothing changed, and the folder is empty again', async () => {
  const backup = join(dir, 'for-restore');
  await backupIndex(path, backup);
  const empty = join(dir, 'restore-into');
  mkdirSync(empty);
  // Held as its transaction begins on the folder (its lock taken there), interrupted as the copy starts.
  const r = await interrupted('begin', '@@hold', ['SIGINT'], ['restore', backup, empty]);
  assertEndedBy(r, 'SIGINT', r.stderr);
  assert.match(r.stderr, /interrupted by SIGINT before commit: nothing changed \[ABORTED\]/);
  // The transaction's rollback ran first and kept the lock file (the folder had held write.lock).
  assert.deepEqual(readdirSync(empty), [], 'the folder is as the user made it');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.restore-into.')), [], 'no build folder beside it');
});

test('abortOpenTransactions rolls back an uncommitted transaction: its files unlinked, the lock released', () => {
  const tx = IndexTransaction.begin(path);
  const name = tx.name('doclens', 'i32');
  tx.writeArray(name, new Int32Array([1, 2, 3]));
  assert.ok(existsSync(join(path, name)));
  assert.deepEqual(abortOpenTransactions(), [path]);
  assert.equal(existsSync(join(path, name)), false);
  acquireWriteLock(path).release();
  assert.deepEqual(abortOpenTransactions(), []);
});

test('abortActiveBackups removes the unfinished copy and releases the lock; the backup rejects with ABORTED and leaves no destination', async () => {
  const dest = join(dir, 'aborted-backup');
  const pending = backupIndex(path, dest); // the lock and the partial folder are taken synchronously
  // Its build folder (format/publish.ts newBuildDir, which the next build, restore or backup beside it cleans once its builder is dead).
  const partial = readdirSync(dir).filter((n) => n.startsWith('.aborted-backup.building-'));
  assert.equal(partial.length, 1);
  assert.equal(abortActiveBackups().length, 1);
  assert.equal(existsSync(join(dir, partial[0]!)), false);
  acquireWriteLock(path).release();
  await assert.rejects(pending, (e) => isPlaitError(e, 'ABORTED'));
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.aborted-backup')), []);
});

test('--skip-invalid over a corpus whose every line is invalid: EMPTY_CORPUS says how many were skipped and why (add and index)', () => {
  writeFileSync(join(dir, 'bad.jsonl'), '{"_id": "a", "txt": "wrong field"}\n{"_id": "b", "txt": "again"}\n{"_id": "c", "text": \n{"text": "no id"}\n');
  const add = cli('add', path, join(dir, 'bad.jsonl'), '--skip-invalid', '--threads', '1', '--json');
  assert.equal(add.status, 2, add.stderr);
  const e = (JSON.parse(add.stderr.trim()) as { error: { code: string; message: string; details: { skippedTotal: number; skipped: Record<string, number>; firstSkipped: Array<{ code: string; line: number }> } } }).error;
  assert.equal(e.code, 'EMPTY_CORPUS');
  assert.equal(e.details.skippedTotal, 4);
  assert.deepEqual(e.details.skipped, { malformed: 1, missingId: 1, emptyText: 2 });
  assert.deepEqual(e.details.firstSkipped.map((s) => [s.code, s.line]), [['EMPTY_TEXT', 1], ['EMPTY_TEXT', 2], ['MALFORMED_JSONL', 3]]);
  assert.match(e.message, /has no document to add: all 4 documents were skipped as invalid \(--skip-invalid; 1 malformed, 1 missingId, 2 emptyText\); first 3 reasons: EMPTY_TEXT at \S*bad\.jsonl:1: /);
  const index = cli('index', join(dir, 'bad.jsonl'), '--index', join(dir, 'never'), '--skip-invalid', '--threads', '1', '--quiet');
  assert.equal(index.status, 2, index.stderr);
  assert.match(index.stderr, /has no document to index: all 4 documents were skipped as invalid .*first 3 reasons: EMPTY_TEXT at \S*bad\.jsonl:1: .* \[EMPTY_CORPUS\]/);
  assert.equal(existsSync(join(dir, 'never')), false);
});

test('a file at the destination is not an index: DESTINATION_EXISTS for backup and index --index; INDEX_EXISTS only for an index', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'my notes');
  const backup = cli('backup', path, file, '--json');
  assert.equal(backup.status, 2, backup.stderr);
  const err = (JSON.parse(backup.stderr.trim()) as { error: { code: string; message: string; details: { kind: string } } }).error;
  assert.deepEqual([err.code, err.details.kind], ['DESTINATION_EXISTS', 'file']);
  assert.match(err.message, /a-file exists and is a file, not a folder/);
  const build = cli('index', SAMPLE, '--index', file, '--threads', '1', '--quiet');
  assert.equal(build.status, 2, build.stderr);
  assert.match(build.stderr, /a-file exists and is a file, not a folder.*\[DESTINATION_EXISTS\]/);
  assert.equal(readFileSync(file, 'utf8'), 'my notes');
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  writeFileSync(join(folder, 'keep.txt'), 'mine');
  assert.match(cli('backup', path, folder).stderr, /a folder with 1 entry \(keep\.txt\) and not a plait index.*\[DESTINATION_EXISTS\]/);
  assert.match(cli('backup', path, path).stderr, /is an index already.*\[INDEX_EXISTS\]/);
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  assert.throws(() => checkFolderDestination(join(dir, 'dangling'), 'x'), (e) => isPlaitError(e, 'DESTINATION_EXISTS') && e.details?.['kind'] === 'other');
  mkdirSync(join(dir, 'empty'));
  assert.equal(checkFolderDestination(join(dir, 'empty'), 'x'), 'emptyFolder');
  // An empty folder takes a backup (the finished copy is renamed over it).
  const intoEmpty = cli('backup', path, join(dir, 'empty'), '--json');
  assert.equal(intoEmpty.status, 0, intoEmpty.stderr);
  assert.equal(readManifest(join(dir, 'empty')).counts.documents, readManifest(path).counts.documents);
  assert.equal(checkFolderDestination(join(dir, 'absent'), 'x'), 'absent');
  assert.equal(checkFolderDestination(path, 'x'), 'index');
});
