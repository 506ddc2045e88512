/**
 * `plait add --sync` killed (SIGKILL) at seeded random moments of its run, through the real CLI
 * (sync10): whatever the moment, the index opens whole as the folder's previous state or its synced
 * one — never with the removed note gone but the new one missing, nor a replaced note half written —
 * and the next sync finishes the job and leaves no file its manifest does not list. The write's
 * every crash state is enumerated in test/living-crash-states.test.ts ("sync"); this run checks that
 * the command around it (read, plan, encode, one commit) adds no second commit or stray write.
 * Kills: PLAIT_SYNC_KILLS (default 8).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, PLAIT_BIN } from './helpers/cli.js';
import { loadIndexData } from '../src/format/index-reader.js';
import { roleFileName } from '../src/format/manifest.js';
import { DocStoreReader } from '../src/docstore/index.js';
import { getKernels } from '../src/kernels/index.js';
import { Random } from '../src/util/random.js';
import { strayFiles } from './helpers/living.js';

const KILLS = Number(process.env.PLAIT_SYNC_KILLS ?? 8);
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-sync-crash-'));
  mkdirSync(join(dir, 'notes'));
  for (let i = 0; i < 12; i++) writeFileSync(join(dir, 'notes', `n${i}.md`), `# Note ${i}\n\nThe ${i}th note of the folder, about nothing in particular.\n`);
  const r = runPlait(dir, ['index', 'notes', '--index', './pristine', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(dir, 'notes', 'n1.md'), '# Note 1\n\nRewritten: a walrus on the ice.\n');
  rmSync(join(dir, 'notes', 'n2.md'));
  writeFileSync(join(dir, 'notes', 'fresh.md'), '# Fresh\n\nA new note about tides.\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The index as it opens (every file verified): each live docId with its text. */
function contents(path: string): Map<string, string> {
  const data = loadIndexData(path, getKernels(), { verify: 'full' });
  const store = DocStoreReader.open(join(path, roleFileName(data.manifest, 'docstore')), { commit: data.manifest.docstoreCommit ?? null });
  try {
    const ids = store.liveDocIds();
    assert.equal(ids.length, data.manifest.counts.documents);
    return new Map(ids.map((id) => [id, store.getDocument(id)!.text]));
  } finally {
    store.close();
  }
}

/** Runs `plait add <path> notes --sync` and SIGKILLs it `delayMs` after it starts; resolves whether it was killed before it exited. */
function syncAndKill(path: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLAIT_BIN, 'add', path, 'notes', '--sync', '-q', '--threads', '0'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(true);
      else if (code === 0) resolve(false);
      else reject(new Error(`plait add --sync exited ${code}: ${err}`));
    });
  });
}

test(`${KILLS} kill -9s of plait add --sync leave the previous or the synced index, whole`, async () => {
  const old = contents(join(dir, 'pristine'));
  // The synced state, and how long a whole sync takes here (only to spread the kills over it).
  const done = join(dir, 'done');
  cpSync(join(dir, 'pristine'), done, { recursive: true });
  const t0 = performance.now();
  assert.equal(await syncAndKill(done, 600_000), false);
  const span = performance.now() - t0;
  const synced = contents(done);
  assert.deepEqual([...synced.keys()].sort(), [...old.keys()].filter((id) => id !== 'n2').concat('fresh').sort());
  assert.match(synced.get('n1')!, /walrus/);
  const rng = new Random(10);
  const seen = { old: 0, synced: 0 };
  for (let k = 0; k < KILLS; k++) {
    const path = join(dir, `kill-${k}`);
    cpSync(join(dir, 'pristine'), path, { recursive: true });
    await syncAndKill(path, rng.int(Math.ceil(span * 1.2)));
    const now = contents(path);
    const asOld = JSON.stringify([...now].sort()) === JSON.stringify([...old].sort());
    const asSynced = JSON.stringify([...now].sort()) === JSON.stringify([...synced].sort());
    assert.ok(asOld || asSynced, `kill ${k}: the index holds neither the previous nor the synced documents: ${[...now.keys()].sort().join(' ')}`);
    seen[asOld ? 'old' : 'synced']++;
    // The next sync finishes the job, and leaves no file the manifest does not list.
    const again = runPlait(dir, ['add', path, 'notes', '--sync', '-q', '--threads', '0']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([...contents(path)].sort(), [...synced].sort());
    assert.deepEqual(strayFiles(path), [], `kill ${k}: stray files`);
    rmSync(path, { recursive: true, force: true });
  }
  process.stderr.write(`# ${KILLS} kills over ${span.toFixed(0)} ms runs: ${seen.old} left the previous index, ${seen.synced} the synced one\n`);
});
