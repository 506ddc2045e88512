/**
 * A name a build is still writing (`plait index … --index cran` in one terminal, `plait serve cran`
 * in another): the folder holds only the build's write.lock, and every door that opens an index by
 * name had said `no index "cran": looked in …/cran and …/indexes/cran (no manifest.json)`, as for a
 * stray folder. Now it names the writer and that the index appears when it commits; a folder whose
 * lock names a process that is gone still says only "no manifest.json".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireWriteLock, LOCK_FILE } from '../src/format/write-lock.js';
import { openIndex } from '../src/index.js';
import { runPlait } from './helpers/cli.js';

test('plait search, info and serve, and openIndex, on a name a build has claimed name the build writing it; a dead claimant is only "no manifest.json"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-claimed-'));
  try {
    const claimed = join(dir, 'indexes', 'cran');
    mkdirSync(claimed, { recursive: true });
    // The lock a build takes on the new name it claims (index-transaction's first step).
    const lock = acquireWriteLock(claimed);
    try {
      const writer = new RegExp(`${claimed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(no manifest\\.json yet: pid ${process.pid} on ${hostname()} has been writing it since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, a build or restore; it is an index once that one commits\\)`);
      for (const args of [['search', 'cran', 'boundary layer'], ['info', 'cran'], ['serve', 'cran', '--port', '0']]) {
        const r = runPlait(dir, args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /\[INDEX_NOT_FOUND\]/, args.join(' '));
        assert.match(r.stderr, writer, `${args.join(' ')}: ${r.stderr}`);
      }
      process.env.PLAIT_INDEX_DIR = join(dir, 'indexes');
      await assert.rejects(openIndex('cran'), (e: Error & { code?: string }) => e.code === 'INDEX_NOT_FOUND' && writer.test(e.message));
    } finally {
      delete process.env.PLAIT_INDEX_DIR;
      lock.release();
    }
    // A claimant that died (kill -9 of the build): its record stays, its process is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(claimed, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), hostname: hostname(), startTicks: 1, startedAt: new Date().toISOString(), nonce: '00' }));
    const r = runPlait(dir, ['search', 'cran', 'boundary layer']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${claimed} (no manifest.json) [INDEX_NOT_FOUND]`), r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
