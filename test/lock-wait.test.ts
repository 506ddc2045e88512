/**
 * Writers wait for the write lock instead of losing their work (trial of issue 20's writes: a
 * `plait add` that lost the lock race failed with INDEX_LOCKED after encoding). withLockWait
 * retries a locked write until the holder lets go, fails after its deadline naming the wait, and
 * passes other errors through at once; `plait delete --lock-wait-s` waits through the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { updateIndex } from '../src/mutate/index-updater.js';
import { withLockWait } from '../src/mutate/lock-wait.js';
import { acquireWriteLock } from '../src/format/write-lock.js';
import { isPlaitError } from '../src/errors/index.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { PLAIT_BIN } from './helpers/cli.js';

async function fresh(t: { after: (fn: () => void) => void }): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'plait-lockwait-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const path = join(root, 'idx');
  await buildSynthetic(path, syntheticPassages(40, 32, 5, 64, 0.35).passages, 32);
  return path;
}

/** Runs the CLI; `onStderr` sees its stderr so far after each chunk (e.g. to release a lock once it says it waits). */
function run(args: string[], onStderr?: (stderr: string) => void): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLAIT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('withLockWait: a held lock is waited out; past the deadline INDEX_LOCKED says how long it waited; 0 fails at once; other errors are not retried', async (t) => {
  const path = await fresh(t);
  const lock = acquireWriteLock(path);
  // The holder lets go once the writer says it waits (a timer of 300 ms raced the writer's first
  // try on a loaded machine, and
  // the writer was then never told to wait): the commit must then come from a retry after the release.
  let released = false;
  let waits = 0;
  let tries = 0;
  const r = await withLockWait(
    () => {
      tries++;
      return updateIndex(path, { delete: ['d1'] });
    },
    {
      lockWaitMs: 10_000,
      onLockWait: () => {
        waits++;
        released = true;
        lock.release();
      },
    },
  );
  assert.ok(released && tries >= 2, `committed only after the holder let go (${tries} tries)`);
  assert.equal(r.deleted, 1);
  assert.equal(waits, 1, 'told once that it waits');

  const held = acquireWriteLock(path);
  try {
    // 0 fails at once: one try, no wait announced, no "waited" in the message (a wall-clock bound
    // of 100 ms said the same and could fail under load).
    let zeroTries = 0;
    let zeroWaits = 0;
    await assert.rejects(
      withLockWait(
        () => {
          zeroTries++;
          return updateIndex(path, { delete: ['d2'] });
        },
        { lockWaitMs: 0, onLockWait: () => zeroWaits++ },
      ),
      (e) => isPlaitError(e, 'INDEX_LOCKED') && !/waited/.test((e as Error).message),
    );
    assert.deepEqual([zeroTries, zeroWaits], [1, 0], '0 fails at the first try, without waiting');
    // Past a 200 ms wait the message names the time waited, in seconds with one decimal, as its
    // details do in ms (the pattern 0.[2-9] s would fail once a loaded machine overran to 1.0 s).
    await assert.rejects(
      withLockWait(() => updateIndex(path, { delete: ['d2'] }), { lockWaitMs: 200 }),
      (e) => {
        const waitedMs = Number((e as { details?: Record<string, unknown> }).details?.['waitedMs']);
        const said = /waited (\d+\.\d) s for it/.exec((e as Error).message);
        return isPlaitError(e, 'INDEX_LOCKED') && waitedMs >= 200 && said !== null && Math.abs(Number(said[1]) * 1000 - waitedMs) <= 51;
      },
    );
    await assert.rejects(withLockWait(() => 1, { lockWaitMs: -1 }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  } finally {
    held.release();
  }
  let calls = 0;
  await assert.rejects(
    withLockWait(() => {
      calls++;
      throw new Error('disk on fire');
    }, { lockWaitMs: 5_000 }),
    /disk on fire/,
  );
  assert.equal(calls, 1, 'an error other than INDEX_LOCKED is thrown at the first try');
});

test('plait backup --lock-wait-s waits for a writer like add, delete and compact (it failed at once); --lock-wait-s 0 answers INDEX_LOCKED at once', async (t) => {
  const path = await fresh(t);
  const lock = acquireWriteLock(path);
  const refused = await run(['backup', path, join(path, '..', 'copy0'), '--lock-wait-s', '0']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /INDEX_LOCKED/);
  // Released once the CLI says it waits, as in the delete test below.
  let released = false;
  const done = await run(['backup', path, join(path, '..', 'copy1'), '--lock-wait-s', '30', '--json'], (err) => {
    if (!released && /waiting for the write lock/.test(err)) {
      released = true;
      lock.release();
    }
  });
  if (!released) lock.release();
  assert.equal(done.status, 0, done.stderr);
  assert.match(done.stderr, /waiting for the write lock/);
  // It says how long it waits and who holds the lock, without INDEX_LOCKED's "retry when it has finished" (plait is retrying).
  assert.match(done.stderr, new RegExp(`plait: waiting for the write lock \\(up to 30 s, --lock-wait-s\\): .* is being written by pid ${process.pid} on .* since \\d{4}-`));
  assert.doesNotMatch(done.stderr, /retry when it has finished/);
  assert.ok((JSON.parse(done.stdout) as { files: number }).files > 0);
});

test('plait delete --lock-wait-s waits for another writer and then commits; --lock-wait-s 0 answers INDEX_LOCKED at once', async (t) => {
  const path = await fresh(t);
  const ids = join(path, '..', 'ids.txt');
  writeFileSync(ids, 'd3\nd4\n');
  const lock = acquireWriteLock(path);
  const refused = await run(['delete', path, '--ids', ids, '--lock-wait-s', '0']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /INDEX_LOCKED/);
  // The lock is released once the CLI says it waits (a fixed 1.5 s raced its start-up on a loaded machine).
  let released = false;
  const done = await run(['delete', path, '--ids', ids, '--lock-wait-s', '30', '--json'], (err) => {
    if (!released && /waiting for the write lock/.test(err)) {
      released = true;
      lock.release();
    }
  });
  if (!released) lock.release();
  assert.equal(done.status, 0, done.stderr);
  assert.match(done.stderr, /waiting for the write lock/);
  assert.equal((JSON.parse(done.stdout) as { deleted: number }).deleted, 2);
});
