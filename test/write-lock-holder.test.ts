/**
 * INDEX_LOCKED names the holder only when its record names a live one (trial 12c: two replicas of
 * one shard folder, one killed with -9 mid-commit, logged `being written by pid undefined on
 * undefined since undefined` — the flock taken, its record not yet written — and the dead pid,
 * whose record the next holder had not yet overwritten).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireWriteLock, LOCK_FILE } from '../src/format/write-lock.js';
import { isPlaitError, type PlaitError } from '../src/errors/index.js';

function refusal(dir: string): PlaitError {
  try {
    acquireWriteLock(dir, 'flock').release();
  } catch (e) {
    if (isPlaitError(e)) return e;
    throw e;
  }
  assert.fail('a second flock of a held lock was granted');
}

test('a refused writer never names an unwritten or dead holder', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-lockholder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const held = acquireWriteLock(dir, 'flock');
  t.after(() => held.release());

  const live = refusal(dir);
  assert.equal(live.code, 'INDEX_LOCKED');
  assert.match(live.message, new RegExp(`pid ${process.pid} on `));
  assert.equal(live.details?.['pid'], process.pid);

  // The window between the holder's flock and its record: an empty file.
  writeFileSync(join(dir, LOCK_FILE), '');
  const empty = refusal(dir);
  assert.equal(empty.code, 'INDEX_LOCKED');
  assert.doesNotMatch(empty.message, /undefined/);
  assert.match(empty.message, /another process/);

  // The previous holder's record (killed), not yet overwritten by the one holding the flock now.
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, hostname: hostname(), startTicks: 1, startedAt: '2026-01-01T00:00:00.000Z', nonce: 'x' }));
  const stale = refusal(dir);
  assert.doesNotMatch(stale.message, new RegExp(`pid ${dead}\\b`));
  assert.equal(stale.details?.['pid'], undefined);
  assert.match(stale.message, /another process/);
});

test('a write lock in a folder that is not there is INDEX_NOT_FOUND naming the folder, and each file once, with either kind of lock', () => {
  // An index folder removed under a server: its next write had said "cannot open <dir>/write.lock
  // (cannot open <dir>/write.lock: No such file or directory)".
  const dir = join(mkdtempSync(join(tmpdir(), 'plait-lockgone-')), 'gone');
  try {
    for (const kind of ['flock', 'record'] as const) {
      let err: PlaitError | undefined;
      try {
        acquireWriteLock(dir, kind).release();
      } catch (e) {
        if (isPlaitError(e)) err = e;
        else throw e;
      }
      assert.equal(err?.code, 'INDEX_NOT_FOUND', kind);
      assert.match(err.message, new RegExp(`the index folder ${dir} is not there`), kind);
      const file = join(dir, LOCK_FILE);
      assert.ok(err.message.split(file).length <= 2, `${kind}: ${err.message}`);
    }
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
