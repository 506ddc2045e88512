/**
 * Restoring a backup (mutate/index-restore.ts), through the library: onto a new name; refused onto
 * an existing index without `replace`; over it with `replace` as one commit that a reader pinned on
 * the old generation picks up by `refresh()` (as a server does); a corrupt backup, a truncated store
 * and another format version refused with nothing touched; the target's write lock waited for.
 * The backup is of a living index (tombstones and deltas listed), so every kind of listed file is
 * restored. Synthetic embeddings keep it fast (a few seconds).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles, roleFileName, MANIFEST_FILE } from '../src/format/manifest.js';
import { commitIdOf } from '../src/format/index-transaction.js';
import { acquireWriteLock } from '../src/format/write-lock.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { backupIndex } from '../src/mutate/index-backup.js';
import { restoreIndex } from '../src/mutate/index-restore.js';
import { isPlaitError, type ErrorCode } from '../src/errors/index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc, strayFiles } from './helpers/living.js';
import { verifiedDocIds } from './helpers/crash-check.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';

const DIM = 32;
let dir: string;
let base: TokenEmbeddings[];
let gen: SyntheticVectors;
/** The living index, its backup, and the backup's answers to the probe queries. */
let live: string;
let bak: string;
let bakIds: string[];
let bakAnswers: string[][];

/** Exhaustive and PLAID top-5 docIds of a few probe queries (the search a user would compare). */
async function answers(path: string): Promise<string[][]> {
  const index = await openIndex(path, { workers: 0 });
  try {
    return probes().map((q) => index.searchEncoded('', q, { topK: 5 }).hits.map((h) => h.docId));
  } finally {
    await index.close();
  }
}

function probes(): TokenEmbeddings[] {
  return [base[3]!, base[17]!, base[40]!];
}

/** The folder's entries with their sizes and the committed manifest: what "nothing touched" compares. */
function snapshot(path: string): string {
  return JSON.stringify([readFileSync(join(path, MANIFEST_FILE), 'utf8'), readdirSync(path).sort().map((n) => [n, statSync(join(path, n)).size])]);
}

/** Siblings a restore leaves behind (temporary build folders). */
function temporaries(): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('.'));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-restore-'));
  const synth = syntheticPassages(50, DIM, 7, 64, 0.35);
  base = synth.passages;
  gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 8 });
  live = join(dir, 'live');
  await buildSynthetic(live, base, DIM);
  // A living index: an add (a delta) and a delete (a tombstone bitmap), no compaction.
  updateIndex(live, { add: [encodedDoc('n1', gen.passage(20)), encodedDoc('n2', gen.passage(12))], delete: ['d5'] }, { autoCompactShare: 1 });
  updateIndex(live, { add: [encodedDoc('n3', gen.passage(16))] }, { autoCompactShare: 1 });
  bak = join(dir, 'bak');
  await backupIndex(live, bak);
  const m = readManifest(bak);
  assert.ok(m.tombstones !== undefined && (m.deltas?.length ?? 0) > 0, 'the backup lists a tombstone bitmap and deltas');
  bakIds = [...verifiedDocIds(bak)].sort();
  bakAnswers = await answers(bak);
  // The index moves on after the backup.
  updateIndex(live, { add: [encodedDoc('later', base[3]!)], delete: ['d17', 'n1'] }, { autoCompactShare: 1 });
  assert.notDeepEqual(await answers(live), bakAnswers, 'the index answers differently once changed');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('onto a new name: the restored index holds the backup\'s documents and answers as the backup did', async () => {
  const r = await restoreIndex(bak, join(dir, 'fresh'));
  assert.equal(r.replaced, false);
  assert.equal(r.generation, readManifest(bak).generation);
  assert.equal(r.files, listedFiles(readManifest(bak)).length + 1);
  assert.deepEqual([...verifiedDocIds(r.path)].sort(), bakIds);
  assert.deepEqual(await answers(r.path), bakAnswers);
  assert.deepEqual(strayFiles(r.path), []);
  assert.deepEqual(temporaries(), []);
  // It is an ordinary index: it takes writes.
  updateIndex(r.path, { delete: ['n2'] });
  assert.ok(!verifiedDocIds(r.path).has('n2'));
});

test('onto an existing index without replace: INDEX_EXISTS, the index untouched', async () => {
  const before = snapshot(live);
  await assert.rejects(restoreIndex(bak, live), (e) => isPlaitError(e, 'INDEX_EXISTS') && /--force/.test(e.message));
  assert.equal(snapshot(live), before);
  // Onto itself, or a folder inside the backup: refused whatever the flag.
  await assert.rejects(restoreIndex(bak, bak, { replace: true }), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  await assert.rejects(restoreIndex(bak, join(bak, 'inner')), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  // A folder of someone's files is never replaced.
  const mine = join(dir, 'mine');
  cpSync(join(dir, 'bak'), mine, { recursive: true });
  rmSync(join(mine, MANIFEST_FILE));
  await assert.rejects(restoreIndex(bak, mine, { replace: true }), (e) => isPlaitError(e, 'DESTINATION_EXISTS'));
});

test('with replace: one new generation over the index; a reader pinned on the old one switches whole on refresh()', async () => {
  const target = join(dir, 'target');
  cpSync(live, target, { recursive: true });
  const old = readManifest(target);
  const reader = await openIndex(target, { workers: 0 });
  try {
    const oldAnswers = probes().map((q) => reader.searchEncoded('', q, { topK: 5 }).hits.map((h) => h.docId));
    const r = await restoreIndex(bak, target, { replace: true });
    assert.equal(r.replaced, true);
    assert.equal(r.generation, (old.generation ?? 0) + 1, 'the generation number goes on rising');
    assert.notEqual(r.commit, commitIdOf(old));
    // The reader still serves the old generation whole until it refreshes (its files are open).
    assert.deepEqual(probes().map((q) => reader.searchEncoded('', q, { topK: 5 }).hits.map((h) => h.docId)), oldAnswers);
    assert.equal(await reader.refresh(), true);
    assert.equal(reader.manifest.generation, r.generation);
    assert.deepEqual(probes().map((q) => reader.searchEncoded('', q, { topK: 5 }).hits.map((h) => h.docId)), bakAnswers);
  } finally {
    await reader.close();
  }
  assert.deepEqual([...verifiedDocIds(target)].sort(), bakIds);
  assert.deepEqual(await answers(target), bakAnswers);
  assert.deepEqual(strayFiles(target), [], 'the old generation\'s files are gone');
  assert.deepEqual(temporaries(), []);
  // The store's commit record names nothing stale: the next write commits and reopens.
  updateIndex(target, { add: [encodedDoc('after', gen.passage(9))] }, { autoCompactShare: 1 });
  assert.equal(readManifest(target).generation, (old.generation ?? 0) + 2);
  assert.ok(verifiedDocIds(target).has('after'));
});

test('a corrupt backup is refused before anything is touched: a changed file, a truncated store, another format version', async () => {
  const target = join(dir, 'kept');
  cpSync(live, target, { recursive: true });
  const before = snapshot(target);
  const m = readManifest(bak);
  const cases: Array<[string, (copy: string) => void, ErrorCode, RegExp]> = [
    ['a flipped byte in a segment', (copy) => {
      const f = join(copy, listedFiles(m).find((x) => x.name.startsWith('residuals.'))!.name);
      const bytes = readFileSync(f);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(f, bytes);
    }, 'INDEX_CORRUPT', /CRC|checksum|crc/i],
    ['a missing delta file', (copy) => rmSync(join(copy, m.deltas![0]!.ivf.file)), 'INDEX_CORRUPT', /not whole/],
    ['a truncated document store', (copy) => {
      const f = join(copy, roleFileName(m, 'docstore'));
      truncateSync(f, statSync(f).size >> 1);
    }, 'INDEX_CORRUPT', /document store/],
    ['another format version', (copy) => {
      const text = readFileSync(join(copy, MANIFEST_FILE), 'utf8');
      writeFileSync(join(copy, MANIFEST_FILE), text.replace(/"formatVersion": \d+/, '"formatVersion": 99'));
    }, 'INDEX_VERSION', /the backup at .* cannot be restored by this plait: index format version 99/],
  ];
  for (const [what, damage, code, message] of cases) {
    const copy = join(dir, `bad-${what.replaceAll(' ', '-')}`);
    cpSync(bak, copy, { recursive: true });
    damage(copy);
    await assert.rejects(restoreIndex(copy, target, { replace: true }), (e) => isPlaitError(e, code) && message.test(e.message), what);
    await assert.rejects(restoreIndex(copy, join(dir, 'never')), (e) => isPlaitError(e, code), `${what} (new name)`);
    assert.equal(snapshot(target), before, `${what}: the target is untouched`);
    assert.ok(!readdirSync(dir).includes('never'), `${what}: nothing created at a new name`);
    assert.deepEqual(temporaries(), [], what);
  }
});

test('over an index of another model: MODEL_MISMATCH, nothing touched (a server keeps its query encoder); onto a new name it restores', async () => {
  const other = join(dir, 'other-model');
  await buildSynthetic(other, syntheticPassages(12, 16, 3, 16, 0.35).passages, 16);
  const otherBak = join(dir, 'other-model.bak');
  await backupIndex(other, otherBak);
  const target = join(dir, 'model-target');
  cpSync(live, target, { recursive: true });
  const before = snapshot(target);
  await assert.rejects(restoreIndex(otherBak, target, { replace: true }), (e) => isPlaitError(e, 'MODEL_MISMATCH') && /dim: index 32, model 16/.test(e.message) && /restore onto a new name/.test(e.message));
  assert.equal(snapshot(target), before);
  assert.deepEqual(temporaries(), []);
  const r = await restoreIndex(otherBak, join(dir, 'other-model.restored'));
  assert.equal(verifiedDocIds(r.path).size, 12);
});

test('the target\'s write lock is waited for as plait add waits (INDEX_LOCKED without a wait)', async () => {
  const target = join(dir, 'locked');
  cpSync(live, target, { recursive: true });
  const lock = acquireWriteLock(target);
  try {
    await assert.rejects(restoreIndex(bak, target, { replace: true, lockWaitMs: 0 }), (e) => isPlaitError(e, 'INDEX_LOCKED'));
  } finally {
    lock.release();
  }
  const held = acquireWriteLock(target);
  // The holder lets go once the restore says it waits (a 300 ms timer raced the restore's first
  // try: a restore that reached the lock late on a loaded machine found it free and was never told).
  let told = 0;
  const r = await restoreIndex(bak, target, {
    replace: true,
    lockWaitMs: 10_000,
    onLockWait: () => {
      told++;
      held.release();
    },
  });
  assert.equal(told, 1);
  assert.deepEqual([...verifiedDocIds(r.path)].sort(), bakIds);
  assert.deepEqual(temporaries(), []);
});
