/**
 * Backups of a changing index (mutate/index-backup.ts): while a reader pins a snapshot (as
 * `plait serve` does), an in-place store's latest commits live only in its -wal file, so a copy
 * without it is behind its manifest; `backupIndex` copies the last commit whole, under the write
 * lock, and the copy opens, serves and takes writes on its own. Synthetic embeddings keep it fast.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest, verifyIndex } from '../src/format/index-reader.js';
import { listedFiles, MANIFEST_FILE } from '../src/format/manifest.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { backupIndex } from '../src/mutate/index-backup.js';
import { isPlaitError } from '../src/errors/index.js';
import { discardBuildDir, temporaryBuildDir } from '../src/format/publish.js';
import { LOCK_FILE } from '../src/format/write-lock.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc, strayFiles } from './helpers/living.js';
import { PLAIT_BIN } from './helpers/cli.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';

const DIM = 32;
let dir: string;
let base: TokenEmbeddings[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-backup-'));
  base = syntheticPassages(60, DIM, 5, 64, 0.35).passages;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** An index whose store is in place (the first write migrates it) with a reader pinned on generation 1, then two more writes. */
async function servedAndChanged(name: string): Promise<{ path: string; added: TokenEmbeddings; close: () => Promise<void> }> {
  const path = join(dir, name);
  await buildSynthetic(path, base, DIM);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 5 });
  updateIndex(path, { add: [encodedDoc('first', gen.passage(20))] });
  const reader = await openIndex(path); // pins generation 1's snapshot: no checkpoint can pass it
  const added = gen.passage(20);
  updateIndex(path, { add: [encodedDoc('n1', added)] });
  updateIndex(path, { delete: ['d3'] });
  return { path, added, close: () => reader.close() };
}

test('while a reader pins a snapshot, the latest commits are only in the -wal: a copy without it is INDEX_CORRUPT and says why', async () => {
  const { path, close } = await servedAndChanged('trap');
  try {
    const m = readManifest(path);
    const store = listedFiles(m).find((f) => f.entry.inPlace === true)!.name;
    assert.ok(existsSync(join(path, `${store}-wal`)), 'the store has a -wal file while the reader lives');
    const copy = join(dir, 'trap-copy');
    mkdirSync(copy);
    for (const f of [...listedFiles(m).map((x) => x.name), MANIFEST_FILE]) copyFileSync(join(path, f), join(copy, f));
    await assert.rejects(openIndex(copy), (e) => isPlaitError(e, 'INDEX_CORRUPT') && /-wal file .* was left out: copy a changing index with plait backup/.test(e.message));
  } finally {
    await close();
  }
});

test('backupIndex copies the last commit whole while a reader pins an older one; the copy opens, serves and takes writes', async () => {
  const { path, added, close } = await servedAndChanged('live');
  try {
    const dest = join(dir, 'live-backup');
    const pending = backupIndex(path, dest);
    // The lock is held from the call: a write cannot commit while the copy runs.
    assert.throws(() => updateIndex(path, { delete: ['d4'] }), (e) => isPlaitError(e, 'INDEX_LOCKED') && /plait backup each hold the lock; retry when it has finished/.test(e.message));
    const r = await pending;
    assert.equal(r.generation, 3);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.live-backup.')), [], 'no partial folder is left');
    assert.ok(!readdirSync(dest).some((n) => n.endsWith('-wal')), 'the copied store is one self-contained file');
    const copy = await openIndex(dest);
    try {
      assert.equal(copy.manifest.generation, 3);
      assert.equal(copy.manifest.counts.documents, 60 + 2 - 1);
      assert.equal(copy.searchEncoded('', added, { topK: 1, exhaustive: true }).hits[0]!.docId, 'n1');
      const ids = copy.searchEncoded('', base[3]!, { topK: 61, exhaustive: true }).hits.map((h) => h.docId);
      assert.ok(!ids.includes('d3') && ids.includes('first'));
    } finally {
      await copy.close();
    }
    // The copy is an index of its own: a write on it leaves the source alone.
    assert.equal(updateIndex(dest, { delete: ['d5'] }).generation, 4);
    assert.equal(readManifest(path).generation, 3);
    await assert.rejects(backupIndex(path, dest), (e) => isPlaitError(e, 'INDEX_EXISTS'));
  } finally {
    await close();
  }
});

test('plait backup on the command line', async () => {
  const { path, close } = await servedAndChanged('cli');
  try {
    const dest = join(dir, 'cli-backup');
    const r = spawnSync(process.execPath, [PLAIT_BIN, 'backup', path, dest, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { generation: number; files: number; dest: string };
    assert.equal(out.generation, 3);
    assert.equal(out.dest, dest);
    assert.equal(out.files, listedFiles(readManifest(dest)).length + 1);
    const again = spawnSync(process.execPath, [PLAIT_BIN, 'backup', path, dest], { encoding: 'utf8' });
    assert.equal(again.status === 0, false);
    assert.match(again.stderr, /\[INDEX_EXISTS\]/);
  } finally {
    await close();
  }
});

test('a backup inside the index it copies is refused before anything is written (cp -r a a/b refuses too)', async () => {
  const path = join(dir, 'self');
  await buildSynthetic(path, base, DIM);
  const before = readdirSync(path).sort();
  for (const dest of [join(path, 'inner'), join(path, 'deeper', 'still'), join(dir, 'self-link', 'inner')]) {
    if (dest.includes('self-link') && !existsSync(join(dir, 'self-link'))) symlinkSync(path, join(dir, 'self-link'));
    // Before: "backed up … to …/self/inner", a copy living (and removed) with the index.
    await assert.rejects(backupIndex(path, dest), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /is inside the index/.test((e as Error).message), dest);
    assert.deepEqual(readdirSync(path).sort(), before, 'nothing written into the index folder');
  }
  const beside = await backupIndex(path, join(dir, 'self-copy'));
  assert.equal(beside.generation, 0);
});

test('a backup onto a name a killed build left claimed takes it over; onto one a live build holds, INDEX_LOCKED and nothing moves', async () => {
  const path = join(dir, 'claimed-src');
  await buildSynthetic(path, base, DIM);
  // What `plait index --index <new>` killed with SIGKILL leaves (format/publish.ts): the name's folder
  // holding only the lock file, whose recorded holder is gone. Before: "ENOTEMPTY: directory not empty, rename".
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const killed = join(dir, 'claimed-dead');
  mkdirSync(killed);
  writeFileSync(join(killed, LOCK_FILE), `${JSON.stringify({ pid: dead, hostname: hostname(), startTicks: null, startedAt: new Date().toISOString(), nonce: 'x' })}\n`);
  const copied = await backupIndex(path, killed);
  assert.equal(copied.dest, killed);
  assert.equal(verifyIndex(killed).manifest.counts.documents, readManifest(path).counts.documents);
  assert.deepEqual(strayFiles(killed), []);
  assert.equal(readdirSync(killed).includes(LOCK_FILE), false, 'the dead claim\'s lock file is not left in the copy');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.claimed-dead.')), [], 'no partial folder left');
  // A build that is running holds its claim: the backup waits for nobody and says who holds it.
  const live = join(dir, 'claimed-live');
  const building = temporaryBuildDir(live);
  try {
    await assert.rejects(backupIndex(path, live), (e: unknown) => isPlaitError(e, 'INDEX_LOCKED'));
    assert.deepEqual(readdirSync(live), [LOCK_FILE], 'the builder\'s claim is untouched');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.claimed-live.')), [building.slice(dir.length + 1)], 'only the build\'s own folder: the backup made none');
    updateIndex(path, { delete: ['d1'] }); // the source's lock was released
  } finally {
    discardBuildDir(building);
  }
  assert.equal(existsSync(live), false, 'the discarded build removed its claim');
});
