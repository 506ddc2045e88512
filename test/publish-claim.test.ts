/**
 * Claiming a new name (format/publish.ts claimNewName): a claimant that made the folder but found its
 * lock taken by another claimant — one that came between its mkdir and its lock — must leave the
 * folder to that holder. It had removed it: the holder's lock then guarded nothing, the next
 * claimant made a new folder and locked it at once, and two `plait restore` onto one new name both
 * published (test/restore-race.test.ts failed so once the CLI started faster). Both lock kinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimNewName } from '../src/format/publish.js';
import { acquireWriteLock, type LockKind, type WriteLock } from '../src/format/write-lock.js';
import { isPlaitError } from '../src/errors/index.js';
import { nativeFileOps } from '../src/kernels/index.js';

const kinds: LockKind[] = nativeFileOps() === null ? ['record'] : ['flock', 'record'];

for (const kind of kinds) {
  test(`a claim whose lock another claimant took in between is left to that claimant (${kind} lock)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'plait-claim-'));
    try {
      const target = join(dir, 'new-name');
      let other: WriteLock | undefined;
      // This call makes the folder; the other claimant locks it before this call's lock.
      assert.throws(
        () =>
          claimNewName(target, () => {}, () => {
            other = acquireWriteLock(target, kind);
            return acquireWriteLock(target, kind);
          }),
        (e: unknown) => isPlaitError(e, 'INDEX_LOCKED'),
      );
      assert.ok(other !== undefined);
      assert.ok(existsSync(other.path), 'the holder\'s folder and lock file stay');
      // A third claimant still finds the name held.
      assert.throws(() => claimNewName(target, () => {}, () => acquireWriteLock(target, kind)), (e: unknown) => isPlaitError(e, 'INDEX_LOCKED'));
      other.release();
      // Released, the name is claimable again.
      const next = claimNewName(target, () => {}, () => acquireWriteLock(target, kind));
      assert.equal(next.made, false, 'the folder was there');
      next.lock.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
