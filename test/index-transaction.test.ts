/**
 * The index transaction (issue 20), one door into an index folder: registered names only,
 * cleanup that never touches a user's file, a commit id that changes with every commit (a rebuild
 * and a calibration record included, which readers pick up), a rebuild that holds the write lock
 * from its start, and a failed change that leaves the folder as it was.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { commitIdOf, IndexTransaction, MANAGED_FILE } from '../src/format/index-transaction.js';
import { writeCalibration, type IndexCalibration } from '../src/format/calibration-record.js';
import { discardBuildDir, temporaryBuildDir } from '../src/format/publish.js';
import { compactIndex, updateIndex } from '../src/mutate/index-updater.js';
import { listedFiles } from '../src/format/manifest.js';
import { isPlaitError } from '../src/errors/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc, strayFiles } from './helpers/living.js';
import { runPlait } from './helpers/cli.js';
import { Engine } from '../src/server/engine.js';
import { resolveServerOptions } from '../src/server/options.js';
import type { Reranker } from '../src/index.js';

const DIM = 32;
let dir: string;
let base: TokenEmbeddings[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-tx-'));
  base = syntheticPassages(60, DIM, 7, 32, 0.35).passages;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const RECORD = { createdAt: 'now', target: 0.99, source: 'corpus', queries: 1, queriesByKind: {}, gridPoints: 1, costMs: 1, budgetMs: 1, truncated: false, documents: 60, passages: 60, buckets: [] } as IndexCalibration;

test("a user's files in the index folder survive every kind of write, plait's own look-alike names included", async () => {
  const path = join(dir, 'user');
  await buildSynthetic(path, base, DIM);
  const mine = { 'notes.txt': 'my notes\n', 'codes.g0007.0000.i32': 'not plait\'s', 'docs.g0002.sqlite': 'mine too' };
  for (const [n, t] of Object.entries(mine)) writeFileSync(join(path, n), t);
  mkdirSync(join(path, 'my-folder'));
  writeFileSync(join(path, 'my-folder', 'x'), 'x');
  const commits = new Set([commitIdOf(readManifest(path))]);
  const check = (what: string): void => {
    for (const [n, t] of Object.entries(mine)) assert.equal(readFileSync(join(path, n), 'utf8'), t, `${what}: ${n}`);
    assert.equal(readFileSync(join(path, 'my-folder', 'x'), 'utf8'), 'x', `${what}: my-folder/x`);
    assert.deepEqual(strayFiles(path).sort(), [...Object.keys(mine), 'my-folder'].sort(), `${what}: only the user's files are unlisted`);
    commits.add(commitIdOf(readManifest(path)));
  };
  updateIndex(path, { add: [encodedDoc('a', base[1]!)] }, { autoCompactShare: 1 });
  check('add');
  updateIndex(path, { add: [encodedDoc('a', base[2]!)] }, { autoCompactShare: 1 });
  check('upsert');
  updateIndex(path, { delete: ['d3', 'd4'] }, { autoCompactShare: 1 });
  check('delete');
  compactIndex(path);
  check('compact');
  writeCalibration(path, RECORD);
  check('calibration record');
  await buildSynthetic(path, base.slice(0, 40), DIM);
  check('rebuild');
  assert.equal(readManifest(path).counts.documents, 40);
  assert.equal(commits.size, 7, 'every commit has its own id');
  // The registry lists exactly the files of the committed generation.
  const managed = (JSON.parse(readFileSync(join(path, MANAGED_FILE), 'utf8')) as string[]).sort();
  assert.deepEqual(managed, listedFiles(readManifest(path)).map((f) => f.name).sort());
});

test('a reader picks up a rebuild and a calibration record, not only a higher generation number', async () => {
  const path = join(dir, 'pickup');
  await buildSynthetic(path, base, DIM);
  const reader = await openIndex(path);
  try {
    assert.equal(reader.manifest.counts.documents, 60);
    await buildSynthetic(path, base.slice(0, 30), DIM);
    assert.equal(await reader.refresh(), true, 'the rebuild is a new commit');
    assert.equal(reader.manifest.counts.documents, 30);
    assert.equal(reader.searchEncoded('', base[5]!, { topK: 30, exhaustive: true }).hits.length, 30, 'searches the rebuilt files');
    writeCalibration(path, RECORD);
    assert.equal(await reader.refresh(), true, 'a calibration record is a new commit');
    assert.deepEqual(reader.manifest.calibration, RECORD);
    assert.equal(await reader.refresh(), false);
  } finally {
    await reader.close();
  }
});

test('a rebuild holds the write lock from its start: a concurrent add is refused, not committed into a folder the rebuild replaces', async () => {
  const path = join(dir, 'rebuild-lock');
  await buildSynthetic(path, base, DIM);
  const tmp = temporaryBuildDir(path);
  try {
    assert.throws(() => updateIndex(path, { add: [encodedDoc('x', base[0]!)] }), (e) => isPlaitError(e, 'INDEX_LOCKED'));
    assert.throws(() => writeCalibration(path, RECORD), (e) => isPlaitError(e, 'INDEX_LOCKED'));
  } finally {
    discardBuildDir(tmp);
  }
  assert.equal(updateIndex(path, { add: [encodedDoc('x', base[0]!)] }).added, 1, 'the lock is released with the discarded build');
  // And a rebuild cannot start while a writer holds the lock.
  const tx = IndexTransaction.begin(path);
  try {
    await assert.rejects(buildSynthetic(path, base, DIM), (e) => isPlaitError(e, 'INDEX_LOCKED'));
  } finally {
    tx.close();
  }
});

test('a change that fails, or changes nothing, commits nothing and leaves only the committed files', async () => {
  const path = join(dir, 'fail');
  await buildSynthetic(path, base, DIM);
  const before = readManifest(path);
  // DOCUMENT_EXISTS is found after the document store copy was made: the copy is removed.
  assert.throws(() => updateIndex(path, { add: [encodedDoc('d1', base[0]!)], noReplace: true }), (e) => isPlaitError(e, 'DOCUMENT_EXISTS'));
  assert.equal(commitIdOf(readManifest(path)), commitIdOf(before));
  assert.deepEqual(strayFiles(path), []);
  // Deleting ids that are all absent (issue 27) commits no generation.
  const r = updateIndex(path, { delete: ['nope', 'nada'] });
  assert.deepEqual(r.missing, ['nope', 'nada']);
  assert.equal(r.generation, before.generation ?? 0);
  assert.equal(commitIdOf(readManifest(path)), commitIdOf(before));
  assert.deepEqual(strayFiles(path), []);
  // A transaction refuses names it did not register and names the committed generation lists.
  const tx = IndexTransaction.begin(path);
  try {
    assert.throws(() => tx.writeArray('unregistered.i32', new Int32Array(1)), (e) => isPlaitError(e, 'INTERNAL'));
    assert.throws(() => tx.register(listedFiles(before)[0]!.name), (e) => isPlaitError(e, 'INTERNAL'));
    const name = tx.name('doclens', 'i32');
    tx.writeArray(name, new Int32Array(3));
    assert.ok(existsSync(join(path, name)));
  } finally {
    tx.close();
  }
  assert.deepEqual(strayFiles(path), [], 'close() without commit removes what the transaction created');
  assert.ok(!readdirSync(path).some((n) => n.includes('.tmp-')));
});

test('plait delete of ids that are all absent commits nothing and says so (issue 27)', async () => {
  const path = join(dir, 'cli-delete');
  await buildSynthetic(path, base, DIM);
  const before = commitIdOf(readManifest(path));
  writeFileSync(join(dir, 'absent.txt'), 'nope\nnada\n');
  const r = runPlait(dir, ['delete', path, '--ids', join(dir, 'absent.txt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing deleted: no generation committed/);
  assert.match(r.stdout, /2 not in the index: nope, nada/);
  assert.equal(commitIdOf(readManifest(path)), before);
  const j = runPlait(dir, ['delete', path, '--ids', join(dir, 'absent.txt'), '--json']);
  assert.equal((JSON.parse(j.stdout) as { committed: boolean }).committed, false);
});

test('the server picks up a commit when manifest.json is renamed, not at the next poll', async () => {
  const path = join(dir, 'engine-watch');
  await buildSynthetic(path, base, DIM);
  const index = await openIndex(path);
  const reranker = { names: ['none'], reranker: { cachedDocuments: 0 } as unknown as Reranker, borrowed: true };
  // A poll a minute apart: only the folder's watcher can pick the write up within the wait below.
  const engine = new Engine({ indexes: [{ name: 'idx', index, borrowed: true }], rerankers: [reranker] }, resolveServerOptions({ refreshIntervalMs: 60_000 }, {}));
  try {
    engine.startRefreshing();
    const entry = engine.indexes.get('idx')!;
    const first = entry.generation;
    updateIndex(path, { delete: ['d2'] });
    const t0 = Date.now();
    while (entry.generation === first && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(entry.generation, first, 'the write is served');
    assert.equal(index.manifest.counts.documents, base.length - 1);
  } finally {
    await engine.close();
    await index.close();
  }
});

test("the server's poll picks up a rebuild and a calibration record", async () => {
  const path = join(dir, 'engine');
  await buildSynthetic(path, base, DIM);
  const index = await openIndex(path);
  const reranker = { names: ['none'], reranker: { cachedDocuments: 0 } as unknown as Reranker, borrowed: true };
  const engine = new Engine({ indexes: [{ name: 'idx', index, borrowed: true }], rerankers: [reranker] }, resolveServerOptions({}, {}));
  try {
    const entry = engine.indexes.get('idx')!;
    const first = entry.generation;
    await buildSynthetic(path, base.slice(0, 25), DIM);
    await engine.refreshIndexes();
    assert.equal(index.manifest.counts.documents, 25, 'the rebuild is served');
    assert.notEqual(entry.generation, first, 'result-cache key changed');
    const second = entry.generation;
    writeCalibration(path, RECORD);
    await engine.refreshIndexes();
    assert.deepEqual(index.manifest.calibration, RECORD, 'the calibration record is served');
    assert.notEqual(entry.generation, second);
  } finally {
    await index.close();
  }
});
