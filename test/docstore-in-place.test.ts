/**
 * The document store changed in place (issue 20, docstore-updater.ts, store-commit.ts): a reader of
 * generation G keeps G's documents, BM25 and token frequencies while G+1 is written into the same
 * file; a writer killed between the store's SQLite commit and the manifest's rename leaves an index
 * that opens as G+1 and takes the next write without losing G+1's files; token document
 * frequencies are subtracted on delete exactly as they were added (an oracle recount).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, verifyIndex } from '../src/format/index-reader.js';
import { roleFileName, MANIFEST_FILE, type IndexManifest } from '../src/format/manifest.js';
import { compactIndex, updateIndex, type EncodedDocument } from '../src/mutate/index-updater.js';
import Database from 'better-sqlite3';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';
import { DocStoreUpdater } from '../src/docstore/docstore-updater.js';
import { PID_DOC_CHUNK } from '../src/docstore/pid-doc-blob.js';
import { distinctTokenIds, decodeTokenIds, encodeTokenIds } from '../src/docstore/passage-tokens.js';
import { openIndex } from '../src/search/plait-index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { strayFiles } from './helpers/living.js';

const DIM = 16;
const VOCAB = 1000; // fixtures/synthetic-index.ts's model
let dir: string;
let gen: SyntheticVectors;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-in-place-'));
  gen = new SyntheticVectors({ dim: DIM, clusters: 16, spread: 0.35, seed: 5 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function textDoc(docId: string, text: string, e: TokenEmbeddings = gen.passage(gen.length(5, 20))): EncodedDocument {
  return { doc: { docId, title: '', text }, passages: [{ start: 0, end: text.length }], embeddings: [e] };
}

/** Token ids of every document the index holds, as the test put them there (the oracle of token df). */
const tokensOf = new Map<string, Map<string, Int32Array>>();

/** A built index after its first write (which migrates the store to an in-place one). */
async function livingIndex(name: string, n = 30): Promise<string> {
  const path = join(dir, name);
  const passages = syntheticPassages(n, DIM, 3, 16).passages;
  await buildSynthetic(path, passages, DIM);
  const docs = new Map(passages.map((p, i) => [`d${i}`, p.tokenIds]));
  tokensOf.set(path, docs);
  const added = [textDoc('t0', 'alpha beta gamma'), textDoc('t1', 'beta delta')];
  updateIndex(path, { add: added }, { autoCompactShare: 1 });
  for (const d of added) docs.set(d.doc.docId, d.embeddings[0]!.tokenIds);
  assert.equal(readManifest(path).files.docstore.inPlace, true);
  return path;
}

function openStore(path: string, m: IndexManifest = readManifest(path)): DocStoreReader {
  return DocStoreReader.open(join(path, roleFileName(m, 'docstore')), { commit: m.docstoreCommit ?? null });
}

test('token ids round-trip through their LEB128 gaps, at 0, at 127/128 and at the top of a large vocabulary', () => {
  const ids = Int32Array.from([0, 1, 127, 128, 255, 16_383, 16_384, 30_521, 2_000_000]);
  assert.deepEqual(decodeTokenIds(encodeTokenIds(ids)), ids);
  assert.equal(encodeTokenIds(Int32Array.from([5, 6, 7])).length, 3, 'one byte a small gap');
  assert.deepEqual(decodeTokenIds(encodeTokenIds(new Int32Array(0))), new Int32Array(0));
  assert.deepEqual(distinctTokenIds(Int32Array.from([7, 3, 7, -1, 3, 1000, 999]), 1000), Int32Array.from([3, 7, 999]), 'distinct, sorted, in [0, vocab)');
});

test('a reader of generation G keeps its documents, BM25 and token frequencies while G+1 is written in place', async () => {
  const path = await livingIndex('pinned');
  const m0 = readManifest(path);
  const docsFile = join(path, roleFileName(m0, 'docstore'));
  const ino = statSync(docsFile).ino;
  const old = openStore(path, m0);
  const index = await openIndex(path);
  try {
    const bm25Before = old.bm25('beta', 10).map((h) => [h.docRowid, h.score]);
    const dfBefore = old.tokenDf();
    updateIndex(path, { delete: ['t0', 'd4'], add: [textDoc('t2', 'beta beta epsilon')] }, { autoCompactShare: 1 });
    const m1 = readManifest(path);
    assert.equal(m1.fileNames?.docstore, m0.fileNames?.docstore, 'the same store');
    assert.equal(statSync(docsFile).ino, ino, 'written in place, not replaced');
    // The old reader: its snapshot, unchanged.
    assert.equal(old.getDocument('t0')?.text, 'alpha beta gamma');
    assert.equal(old.getDocument('t2'), null);
    assert.deepEqual(old.bm25('beta', 10).map((h) => [h.docRowid, h.score]), bm25Before);
    assert.ok(old.wordVocabulary().words.includes('gamma'), 'temporary tables (spelling\'s vocabulary) work inside the pinned read');
    assert.equal(old.nDocuments, m0.counts.documents);
    assert.equal(index.docstore.getDocument('d4')?.docId, 'd4', 'an open index serves G until refresh()');
    // A fresh reader: G+1. One opened with G's expectation is refused (the retry case of openGeneration).
    const now = openStore(path, m1);
    try {
      assert.equal(now.getDocument('t0'), null);
      assert.equal(now.getDocument('t2')?.text, 'beta beta epsilon');
      assert.equal(now.nDocuments, m0.counts.documents - 2 + 1);
      assert.notDeepEqual(now.bm25('beta', 10).map((h) => [h.docRowid, h.score]), bm25Before);
      assert.notDeepEqual(now.tokenDf(), dfBefore);
    } finally {
      now.close();
    }
    assert.throws(() => openStore(path, m0), /holds commit/);
    assert.equal(await index.refresh(), true);
    assert.equal(index.docstore.getDocument('d4'), null);
    assert.deepEqual(strayFiles(path), []);
  } finally {
    old.close();
    await index.close();
  }
});

test('token document frequencies after adds and deletes of built and added documents equal a fresh count over the live passages', async () => {
  const path = await livingIndex('df');
  const live = tokensOf.get(path)!;
  const steps: Array<{ delete?: string[]; add?: EncodedDocument[] }> = [
    { add: Array.from({ length: 12 }, (_, i) => textDoc(`x${i}`, `word${i}`)) },
    { delete: ['x0', 'x1', 'd1', 'd4', 't0'] },
    { add: [textDoc('x3', 'again'), textDoc('y0', 'new'), textDoc('d7', 'replaced')] },
    { delete: ['x5', 'y0', 'd20'] },
  ];
  for (const s of steps) {
    updateIndex(path, s, { autoCompactShare: 1 });
    for (const id of s.delete ?? []) live.delete(id);
    for (const d of s.add ?? []) live.set(d.doc.docId, d.embeddings[0]!.tokenIds);
  }
  const expected = new Int32Array(VOCAB);
  for (const ids of live.values()) for (const t of distinctTokenIds(ids, VOCAB)) expected[t]!++;
  const check = (what: string): void => {
    const store = openStore(path);
    try {
      const df = store.tokenDf();
      assert.deepEqual(Int32Array.from({ length: VOCAB }, (_, t) => df.df[t] ?? 0), expected, what);
      assert.equal(df.n, live.size, 'N: one passage a document here');
    } finally {
      store.close();
    }
  };
  check('df equals a recount over the live documents');
  compactIndex(path);
  check('and after a compaction');
});

test('a schema-3 store migrates to 4 (token-id column, WAL); deleting its passages leaves their counts, and says how many', () => {
  const path = join(dir, 'old.sqlite');
  const w = new DocStoreWriter(path);
  for (let i = 0; i < 3; i++) w.addPassage(w.addDocument({ docId: `o${i}`, title: '', text: 'some words' }), 0, 10);
  w.setTokenDf(Int32Array.from([3, 2]), 3);
  w.close();
  // As plait wrote it before schema 4: no token-id column, version 3.
  const v3 = new Database(path);
  v3.exec("ALTER TABLE passages DROP COLUMN token_ids; UPDATE meta SET value = 3 WHERE key = 'schema_version'");
  v3.close();
  const before = new DocStoreReader(path);
  assert.equal(before.schemaVersion, 3);
  before.close();
  const u = new DocStoreUpdater(path, 'migrate');
  u.deleteDocument(u.rowidOf('o1')!);
  u.finishCopy();
  const r = new DocStoreReader(path);
  try {
    assert.deepEqual(r.tokenDf(), { n: 3, df: Int32Array.from([3, 2]) });
    assert.equal(r.schemaVersion, 4);
    assert.equal(r.getDocument('o1'), null);
  } finally {
    r.close();
  }
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'token_df_unsubtracted'").pluck().get(), 1);
  db.close();
});

const CHILD = `
import { updateIndex } from ${JSON.stringify(new URL('../src/mutate/index-updater.js', import.meta.url).href)};
import { SyntheticVectors } from ${JSON.stringify(new URL('../fixtures/synthetic.js', import.meta.url).href)};
const gen = new SyntheticVectors({ dim: ${DIM}, clusters: 16, spread: 0.35, seed: 9 });
const e = gen.passage(12);
updateIndex(process.argv[1], { add: [{ doc: { docId: 'killed', title: '', text: 'zeta' }, passages: [{ start: 0, end: 4 }], embeddings: [e] }], delete: ['d2'] }, {
  autoCompactShare: 1,
  onOp: (op) => { if (op.op === 'sqliteCommit') process.kill(process.pid, 'SIGKILL'); },
});
`;

test('a writer killed between the store\'s SQLite commit and the manifest\'s rename: the index opens as the new generation, and the next write keeps its files', async () => {
  const path = await livingIndex('killed');
  const before = readManifest(path);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, path], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const onDisk = JSON.parse(readFileSync(join(path, MANIFEST_FILE), 'utf8')) as IndexManifest;
  assert.equal(onDisk.commit, before.commit, 'manifest.json was not renamed');
  const m = readManifest(path);
  assert.equal(m.generation, (before.generation ?? 0) + 1, 'readManifest rolls forward to the store\'s commit record');
  assert.equal(m.docstoreCommit, m.commit);
  const info = verifyIndex(path, { verify: 'full' });
  assert.ok(info.files.find((f) => f.name === roleFileName(m, 'docstore'))!.bytes > 0, 'plait info reports the in-place store at its size now');
  const index = await openIndex(path);
  try {
    assert.equal(index.docstore.getDocument('killed')?.text, 'zeta');
    assert.equal(index.docstore.getDocument('d2'), null);
    const hits = index.searchEncoded('', gen.passage(4), { topK: 100, exhaustive: true }).hits.map((h) => h.docId);
    assert.ok(hits.includes('killed') && !hits.includes('d2'));
  } finally {
    await index.close();
  }
  // The next write starts from the rolled-forward commit: the killed write's files are the base's, not leftovers.
  updateIndex(path, { delete: ['d3'] }, { autoCompactShare: 1 });
  const after = readManifest(path);
  assert.equal(after.generation, (m.generation ?? 0) + 1);
  const reopened = await openIndex(path);
  try {
    assert.equal(reopened.docstore.getDocument('killed')?.text, 'zeta');
    assert.equal(reopened.docstore.getDocument('d3'), null);
  } finally {
    await reopened.close();
  }
  assert.deepEqual(strayFiles(path), []);
});

test('the server\'s view: a reader pinned to G answers every request from G across many in-place writes, then refreshes to the last', async () => {
  const path = await livingIndex('many');
  const index = await openIndex(path);
  try {
    const n0 = index.manifest.counts.documents;
    for (let w = 0; w < 6; w++) updateIndex(path, { add: [textDoc(`w${w}`, `omega ${w}`)], delete: [`d${w + 5}`] }, { autoCompactShare: 1 });
    assert.equal(index.docstore.nDocuments, n0);
    assert.equal(index.docstore.getDocument('d5')?.docId, 'd5');
    assert.equal(index.docstore.bm25('omega', 10).length, 0);
    assert.equal(await index.refresh(), true);
    assert.equal(index.docstore.nDocuments, n0);
    assert.equal(index.docstore.bm25('omega', 10).length, 6);
    assert.equal(index.docstore.getDocument('d5'), null);
  } finally {
    await index.close();
  }
});

test('the pid → doc map in chunks of PID_DOC_CHUNK: written across a chunk boundary, only from the first changed pid on; a wrong-length chunk reads the table', () => {
  const path = join(dir, 'chunks.sqlite');
  const w = new DocStoreWriter(path);
  const n = PID_DOC_CHUNK + 3;
  for (let i = 0; i < n; i++) w.addPassage(w.addDocument({ docId: `c${i}`, title: '', text: '' }), 0, 0);
  w.close();
  const migrate = new DocStoreUpdater(path, 'migrate');
  migrate.addDocument({ docId: 'm0', title: '', text: '' }, [{ start: 0, end: 0 }, { start: 0, end: 0 }]);
  migrate.finishCopy();
  const chunk0 = (): Buffer => {
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'pid_doc'").get(), undefined, 'the single blob is gone');
      return db.prepare("SELECT value FROM meta WHERE key = 'pid_doc.0'").pluck().get() as Buffer;
    } finally {
      db.close();
    }
  };
  const before = chunk0();
  const inPlace = new DocStoreUpdater(path, 'in-place');
  inPlace.deleteDocument(inPlace.rowidOf('c5')!);
  inPlace.addDocument({ docId: 'p0', title: '', text: '' }, [{ start: 0, end: 0 }]);
  inPlace.commit('{}');
  assert.deepEqual(chunk0(), before);
  const expected = Int32Array.from({ length: n + 3 }, (_, p) => (p < n ? p : p < n + 2 ? n : n + 1));
  const r = new DocStoreReader(path);
  try {
    assert.deepEqual(r.pidToDoc, expected);
  } finally {
    r.close();
  }
  const db = new Database(path);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'pid_doc.1'").run(Buffer.alloc(8));
  db.close();
  const fallback = new DocStoreReader(path);
  try {
    assert.deepEqual(fallback.pidToDoc, expected, 'read from the passages table');
  } finally {
    fallback.close();
  }
});
