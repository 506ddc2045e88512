/**
 * An index in a folder this process may not write (a read-only mount; an index served by a user who
 * did not build it). After one write its store is in WAL mode, which SQLite opens only where it can
 * create the -shm side file: searches failed with DOCSTORE_FAILED; now the store is read from an
 * image (docstore/open-database.ts). Writes there answer NOT_WRITABLE (they said INDEX_NOT_FOUND).
 * The folder is made read-only with chmod (non-root) or a read-only bind mount (root, where allowed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openIndex } from '../src/search/plait-index.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { readManifest } from '../src/format/index-reader.js';
import { isPlaitError } from '../src/errors/index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc } from './helpers/living.js';

const DIM = 32;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-readonly-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Makes `path` read-only for this process; returns the read-only path and an undo, or null where it cannot. */
function readOnly(path: string): { path: string; undo: () => void } | null {
  if (process.getuid?.() !== 0) {
    chmodSync(path, 0o555);
    return { path, undo: () => chmodSync(path, 0o755) };
  }
  const mnt = mkdtempSync(join(dir, 'ro-mount-')); // one per test: a lazily unmounted one may linger
  const bind = spawnSync('mount', ['--bind', path, mnt]);
  if (bind.status !== 0) return null;
  if (spawnSync('mount', ['-o', 'remount,ro,bind', mnt]).status !== 0) {
    spawnSync('umount', [mnt]);
    return null;
  }
  return { path: mnt, undo: () => void spawnSync('umount', ['-l', mnt]) }; // lazy: mapped arrays may outlive close()
}

test('an index in a read-only folder: searches see its last write; writes are NOT_WRITABLE', async (t) => {
  const path = join(dir, 'idx');
  const base = syntheticPassages(40, DIM, 5, 64, 0.35).passages;
  await buildSynthetic(path, base, DIM);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 3 });
  updateIndex(path, { add: [encodedDoc('first', gen.passage(20))] }); // migrates the store to WAL, in place from now on
  const added = gen.passage(20);
  updateIndex(path, { add: [encodedDoc('n1', added, { tag: 'new' })], delete: ['d3'] });
  assert.deepEqual(readdirSync(path).filter((n) => /-(wal|shm)$/.test(n)), [], 'the last writer took the side files with it');
  const ro = readOnly(path);
  if (ro === null) {
    t.skip('needs a read-only folder: run as a non-root user, or as root where mount --bind is allowed');
    return;
  }
  try {
    const index = await openIndex(ro.path);
    try {
      assert.equal(index.manifest.counts.documents, 41);
      assert.equal(index.searchEncoded('', added, { topK: 1 }).hits[0]!.docId, 'n1');
      const ids = index.searchEncoded('', base[3]!, { topK: 41, exhaustive: true }).hits.map((h) => h.docId);
      assert.ok(!ids.includes('d3') && ids.includes('first'));
      assert.deepEqual(index.searchEncoded('', added, { topK: 1, includeText: true }).hits[0]!.metadata, { tag: 'new' }, 'documents are fetched from the store');
    } finally {
      await index.close();
    }
    assert.throws(() => updateIndex(ro.path, { delete: ['d4'] }), (e) => isPlaitError(e, 'NOT_WRITABLE') && /need write access/.test(e.message));
  } finally {
    ro.undo();
  }
  assert.throws(() => updateIndex(join(dir, 'nowhere'), { delete: ['d4'] }), (e) => isPlaitError(e, 'INDEX_NOT_FOUND'));
});

test('a build never written to, in a read-only folder: its store was born in place (WAL) and still opens and serves', async (t) => {
  const path = join(dir, 'built');
  const base = syntheticPassages(30, DIM, 5, 64, 0.35).passages;
  await buildSynthetic(path, base, DIM);
  assert.equal(readManifest(path).files.docstore.inPlace, true);
  const ro = readOnly(path);
  if (ro === null) {
    t.skip('needs a read-only folder: run as a non-root user, or as root where mount --bind is allowed');
    return;
  }
  try {
    const index = await openIndex(ro.path);
    try {
      assert.equal(index.manifest.counts.documents, 30);
      const hit = index.searchEncoded('', base[7]!, { topK: 1, includeText: true }).hits[0]!;
      assert.equal(hit.docId, 'd7');
      assert.equal(typeof hit.text, 'string', 'documents are fetched from the store');
    } finally {
      await index.close();
    }
  } finally {
    ro.undo();
  }
});
