import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { writeLegacyStore } from './helpers/legacy-store.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocStoreReader, DocStoreWriter, bm25Idf, bm25Terms } from '../src/docstore/index.js';
import type { DocumentInput } from '../src/docstore/index.js';
import { isPlaitError } from '../src/errors/index.js';

const root = mkdtempSync(join(tmpdir(), 'plait-docstore-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = (): string => join(root, `docs-${counter++}.sqlite`);

function buildStore(docs: DocumentInput[], passagesPerDoc = 1): string {
  const path = freshPath();
  const writer = new DocStoreWriter(path);
  for (const doc of docs) {
    const rowid = writer.addDocument(doc);
    const len = doc.text.length;
    for (let i = 0; i < passagesPerDoc; i++) writer.addPassage(rowid, Math.floor((i * len) / passagesPerDoc), Math.floor(((i + 1) * len) / passagesPerDoc));
  }
  writer.close();
  return path;
}

test('round trip: documents, passages, pid → doc map, token df, lookups', () => {
  const path = freshPath();
  const writer = new DocStoreWriter(path);
  assert.equal(writer.addDocument({ docId: 'doc-a', title: 'Café', text: 'first text 😀', metadata: { year: 2020, tags: ['x'] } }), 0);
  assert.equal(writer.addDocument({ docId: 'doc-b', title: '', text: 'second' }), 1);
  assert.equal(writer.addDocument({ docId: '3', title: 'T', text: 'third text here', metadata: undefined }), 2);
  assert.equal(writer.addPassage(0, 0, 5), 0);
  assert.equal(writer.addPassage(0, 6, 13), 1);
  assert.equal(writer.addPassage(1, 0, 6), 2);
  assert.equal(writer.addPassage(2, 0, 15), 3);
  writer.addTokenDf(Int32Array.of(5, 5, 7));
  writer.addTokenDf(Int32Array.of(7, 9));
  writer.addTokenDf(Int32Array.of(7));
  writer.addTokenDf(Int32Array.of(9));
  assert.equal(writer.nDocuments, 3);
  assert.equal(writer.nPassages, 4);
  // Bulk load runs without a rollback journal.
  assert.equal(existsSync(`${path}-journal`), false);
  writer.close();

  const reader = new DocStoreReader(path);
  assert.equal(reader.nDocuments, 3);
  assert.equal(reader.nPassages, 4);
  assert.deepEqual(Array.from(reader.pidToDoc), [0, 0, 1, 2]);
  assert.equal(reader.pidToDoc, reader.pidToDoc, 'loaded once');
  assert.deepEqual(reader.getDocuments([2, 0, 99]), [
    { docRowid: 2, docId: '3', title: 'T', text: 'third text here', metadata: null },
    { docRowid: 0, docId: 'doc-a', title: 'Café', text: 'first text 😀', metadata: { year: 2020, tags: ['x'] } },
    null,
  ]);
  assert.deepEqual(reader.getDocuments(['doc-b', 'nope']).map((d) => d?.docRowid ?? null), [1, null]);
  assert.deepEqual(reader.getDocuments(Int32Array.of(1)).map((d) => d?.docId), ['doc-b']);
  assert.equal(reader.getDocument('doc-a')?.title, 'Café');
  assert.equal(reader.docIdToRowid('3'), 2);
  assert.equal(reader.docIdToRowid('missing'), null);
  assert.equal(reader.rowidToDocId(1), 'doc-b');
  assert.deepEqual(reader.passagesOf(0), [
    { pid: 0, docRowid: 0, start: 0, end: 5 },
    { pid: 1, docRowid: 0, start: 6, end: 13 },
  ]);
  assert.deepEqual(reader.passagesOf(42), []);
  assert.deepEqual(reader.getPassages([3, 7]), [{ pid: 3, docRowid: 2, start: 0, end: 15 }, null]);
  const { n, df } = reader.tokenDf();
  assert.equal(n, 4);
  assert.equal(df.length, 10);
  assert.deepEqual([df[5], df[7], df[9], df[0], df[6]], [1, 3, 2, 0, 0]);
  reader.close();
});

test('an empty store opens and answers nothing', () => {
  const path = freshPath();
  new DocStoreWriter(path).close();
  const reader = new DocStoreReader(path);
  assert.equal(reader.nDocuments, 0);
  assert.equal(reader.nPassages, 0);
  assert.equal(reader.pidToDoc.length, 0);
  assert.deepEqual(reader.bm25('anything', 10), []);
  assert.deepEqual(reader.tokenDf(), { n: 0, df: new Int32Array(0) });
  assert.deepEqual(reader.getDocuments([0]), [null]);
  assert.deepEqual(reader.getDocuments(['x']), [null]);
  reader.close();
});

test('setTokenDf replaces the accumulated frequencies; n defaults to the passages stored', () => {
  const path = freshPath();
  const writer = new DocStoreWriter(path);
  writer.addDocument({ docId: 'a', title: '', text: 'x' });
  writer.addPassage(0, 0, 1);
  writer.addPassage(0, 0, 1);
  writer.setTokenDf(Int32Array.of(0, 2, 0, 1));
  writer.close();
  const reader = new DocStoreReader(path);
  assert.deepEqual(reader.tokenDf(), { n: 2, df: Int32Array.of(0, 2, 0, 1) });
  reader.close();
});

test('BM25 scores match the formula on a 3-document corpus (k1 0.9, b 0.4)', () => {
  const path = buildStore([
    { docId: 'd0', title: '', text: 'apple banana' }, // 2 terms
    { docId: 'd1', title: 'Apple', text: 'apple cherry date' }, // 4 terms
    { docId: 'd2', title: '', text: 'Banana.' }, // 1 term
  ]);
  const reader = new DocStoreReader(path);
  const avgdl = 7 / 3;
  const term = (idf: number, tf: number, dl: number): number => (idf * tf * 1.9) / (tf + 0.9 * (0.6 + (0.4 * dl) / avgdl));
  const idfDf2 = Math.log(1 + 1.5 / 2.5); // N = 3, df = 2
  const idfDf1 = Math.log(1 + 2.5 / 1.5); // N = 3, df = 1
  assert.ok(Math.abs(bm25Idf(2, 3) - idfDf2) < 1e-12);

  const apple = reader.bm25('apple', 10);
  assert.deepEqual(apple.map((h) => h.docId), ['d1', 'd0']);
  assert.ok(Math.abs(apple[0]!.score - term(idfDf2, 2, 4)) < 1e-9);
  assert.ok(Math.abs(apple[1]!.score - term(idfDf2, 1, 2)) < 1e-9);
  assert.ok(Math.abs(apple[0]!.score - 0.565705) < 1e-5, 'pinned value'); // 0.470004 × 3.8 / 3.157143

  // Length normalisation puts the 1-term d2 above the 2-term d0 for "banana"; "cherry" is rarer (higher idf).
  const mixed = reader.bm25('Banana CHERRY', 10);
  assert.deepEqual(mixed.map((h) => [h.docRowid, h.docId]), [[1, 'd1'], [2, 'd2'], [0, 'd0']]);
  assert.ok(Math.abs(mixed[0]!.score - term(idfDf1, 1, 4)) < 1e-9);
  assert.ok(Math.abs(mixed[1]!.score - term(idfDf2, 1, 1)) < 1e-9);
  assert.ok(Math.abs(mixed[2]!.score - term(idfDf2, 1, 2)) < 1e-9);

  // A repeated query term counts twice; k truncates; unknown terms score nothing.
  assert.ok(Math.abs(reader.bm25('cherry cherry', 1)[0]!.score - 2 * term(idfDf1, 1, 4)) < 1e-9);
  assert.equal(reader.bm25('apple banana cherry', 1).length, 1);
  assert.deepEqual(reader.bm25('zebra', 10), []);
  assert.deepEqual(reader.bm25('apple', 0), []);
  // Parameters can be overridden.
  const k1b0 = reader.bm25('apple', 10, { k1: 1.2, b: 0 });
  assert.ok(Math.abs(k1b0[1]!.score - (idfDf2 * 2.2) / (1 + 1.2)) < 1e-9);
  assert.throws(() => reader.bm25('apple', 10, { b: 2 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => reader.bm25('apple', -1), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  reader.close();
});

test('BM25: ties go to the lower docRowid; diacritics and case fold; English query stop words dropped unless that empties the query', () => {
  const path = buildStore([
    { docId: 'x', title: '', text: 'the résumé of the war' },
    { docId: 'y', title: '', text: 'the résumé of the war' },
    { docId: 'z', title: 'The Who', text: 'the band' },
  ]);
  const reader = new DocStoreReader(path);
  assert.deepEqual(reader.bm25('RESUME', 10).map((h) => h.docId), ['x', 'y']);
  const withStop = reader.bm25('what is the resume of', 10);
  const without = reader.bm25('resume', 10);
  assert.deepEqual(withStop, without);
  // Without stop-word removal, "the" also matches z.
  assert.deepEqual(reader.bm25('what is the resume of', 10, { stopwords: false }).map((h) => h.docId).sort(), ['x', 'y', 'z']);
  // Only stop words: they are kept, "the who" finds z first (two terms, short document).
  assert.equal(reader.bm25('the who', 10)[0]!.docId, 'z');
  assert.deepEqual(reader.bm25('who', 10, { stopwords: new Set(['band']) }).map((h) => h.docId), ['z']);
  reader.close();
});

test('FTS5 query syntax in BM25 queries is plain text and never throws', () => {
  const path = buildStore([
    { docId: 'a', title: 'near', text: 'apple AND banana or (cherry)' },
    { docId: 'b', title: '', text: 'title column star' },
  ]);
  const reader = new DocStoreReader(path);
  for (const q of ['apple AND banana', '"apple', 'apple"', '(apple', 'apple)', 'apple -banana', '-apple', 'app*', '*', 'title:apple', 'NEAR(apple banana, 2)', '^apple', 'apple OR', 'AND', 'NOT', "'", '{title}: apple', '', '   ', '+++', '\u0000', 'a'.repeat(10_000)]) {
    assert.doesNotThrow(() => reader.bm25(q, 5), `query ${JSON.stringify(q.slice(0, 20))}`);
  }
  assert.deepEqual(reader.bm25('apple AND banana', 5).map((h) => h.docId), ['a']);
  assert.deepEqual(reader.bm25('title:star*', 5).map((h) => h.docId), ['b']);
  assert.deepEqual(reader.bm25('NEAR(', 5).map((h) => h.docId), ['a']);
  reader.close();
});

test('queries are tokenised by SQLite as documents were indexed (porter over unicode61); bm25Terms mirrors the unstemmed tokenizer word for word', () => {
  const samples = [
    "Naïve café's co-operation: 42 x², Ελληνικά 中文",
    'Straße ǅ ÀÉÎÕÜ ñ ç ø ł đ',
    'e-mail user@example.com 3.14 1,000 C++ #tag _under_score',
    'Ωμέγα ΆΈΉ Кириллица ёЁ עברית العربية हिन्दी',
    '  ... ',
    // Scripts without spaces: bigrams on both sides; marks stay with their letter.
    '北京大学的学生。北京 東京タワーへ行く 서울특별시 ภาษาไทยง่าย 北 日本語abc漢字 ລາວ ខ្មែរ မြန်မာ',
    'cafe\u0301 e\u0301te\u0301 नमस्ते दुनिया',
  ];
  const path = buildStore(samples.map((text, i) => ({ docId: String(i), title: '', text })));
  const db = new Database(path, { readonly: true });
  const terms = db.prepare("SELECT term FROM documents_terms WHERE doc = ? AND col = 'text' ORDER BY offset").pluck();
  const reader = new DocStoreReader(path);
  samples.forEach((text, i) => {
    const tokens = reader.queryTokens(text);
    assert.deepEqual(tokens.map((t) => t.term), terms.all(i), text);
    assert.deepEqual(tokens.map((t) => t.word), bm25Terms(text), text);
  });
  assert.deepEqual(reader.queryTokens("Naïve cafés co-operating: rises rising").map((t) => [t.word, t.term]), [
    ['naive', 'naiv'],
    ['cafes', 'cafe'],
    ['co', 'co'],
    ['operating', 'oper'],
    ['rises', 'rise'],
    ['rising', 'rise'],
  ]);
  reader.close();
  db.close();
  assert.deepEqual(bm25Terms('Naïve X²'), ['naive', 'x²']);
  assert.deepEqual(bm25Terms('北京大学'), ['北京', '京大', '大学']);
  assert.deepEqual(bm25Terms('北'), ['北']);
  assert.deepEqual(bm25Terms('ไทยง่าย'), ['ไท', 'ทย', 'ยง่', 'ง่า', 'าย']);
  assert.deepEqual(bm25Terms('Hello 世界 café'), ['hello', '世界', 'cafe']);
});

test('BM25 finds words inside text written without spaces (Chinese, Japanese, Korean, Thai)', () => {
  const docs: DocumentInput[] = [
    { docId: 'zh', title: '', text: '北京是中华人民共和国的首都，也是全国的政治和文化中心。' },
    { docId: 'ja', title: '東京', text: '東京タワーは東京都港区にある電波塔です。' },
    { docId: 'ko', title: '', text: '서울특별시는 대한민국의 수도이다.' },
    { docId: 'th', title: '', text: 'กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย' },
    { docId: 'en', title: 'Beijing', text: 'Beijing is the capital of China.' },
  ];
  const reader = new DocStoreReader(buildStore(docs));
  const top = (q: string): string[] => reader.bm25(q, 5).map((h) => h.docId);
  // Each was 0 hits when an unspaced run was one FTS5 term.
  assert.deepEqual(top('北京'), ['zh']);
  assert.deepEqual(top('首都'), ['zh']);
  assert.deepEqual(top('中华人民共和国'), ['zh']);
  assert.deepEqual(top('タワー'), ['ja']);
  assert.deepEqual(top('東京'), ['ja']);
  assert.deepEqual(top('대한민국'), ['ko']);
  assert.deepEqual(top('서울'), ['ko']);
  assert.deepEqual(top('เมืองหลวง'), ['th']);
  assert.deepEqual(top('ประเทศไทย'), ['th']);
  // Mixed-script queries and English beside CJK keep working; a character that never occurs finds nothing.
  assert.deepEqual(new Set(top('Beijing 北京')), new Set(['zh', 'en']));
  assert.deepEqual(top('capital'), ['en']);
  assert.deepEqual(top('龍'), []);
  // A two-character query does not match the same characters apart ("京北" is not in any document).
  assert.deepEqual(top('京北'), []);
  reader.close();
});

test('schema version 1 stores (before bigrams) still answer with their own terms; unknown versions are INDEX_VERSION', () => {
  // A version-1 store as the old writer made it: the old tokenizer (an unspaced run is one term).
  const path = freshPath();
  const docs = [['a', 'Beijing is the capital 北京大学'], ['b', 'a river runs through the city']] as const;
  writeLegacyStore(path, 1, docs.map(([docId, text]) => ({ docId, title: '', text, nTerms: bm25Terms(text, 1).length })));
  const reader = new DocStoreReader(path);
  assert.equal(reader.schemaVersion, 1);
  assert.deepEqual(reader.bm25('capital', 5).map((h) => h.docId), ['a']);
  assert.deepEqual(reader.bm25('river city', 5).map((h) => h.docId), ['b']);
  // Version 1 indexed 北京大学 as one term: the whole run matches, a word inside it cannot (rebuild for that).
  assert.deepEqual(reader.bm25('北京大学', 5).map((h) => h.docId), ['a']);
  reader.close();

  const future = buildStore([{ docId: 'a', title: '', text: 'x' }]);
  const f = new Database(future);
  f.prepare("UPDATE meta SET value = 99 WHERE key = 'schema_version'").run();
  f.close();
  assert.throws(() => new DocStoreReader(future), (e: unknown) => isPlaitError(e, 'INDEX_VERSION') && /schema version 99; this plait reads versions 1 to 4/.test((e as Error).message));
});

test('the pid → doc map is stored whole in meta and read from it; a store without it, or with a wrong-length one, reads the passages table', () => {
  const docs = Array.from({ length: 5 }, (_, i) => ({ docId: `d${i}`, title: '', text: `text number ${i} with words` }));
  const path = buildStore(docs, 3);
  const expected = Int32Array.from({ length: 15 }, (_, p) => Math.floor(p / 3));
  const db = new Database(path);
  const blob = db.prepare("SELECT value FROM meta WHERE key = 'pid_doc'").pluck().get() as Buffer;
  assert.deepEqual(new Int32Array(new Uint8Array(blob).buffer), expected);
  db.close();
  const r = new DocStoreReader(path);
  assert.deepEqual(r.pidToDoc, expected);
  r.close();
  // Tamper with the map to tell which source the reader used: same length is trusted, as the writer left it...
  const t = new Database(path);
  t.prepare("UPDATE meta SET value = ? WHERE key = 'pid_doc'").run(Buffer.from(new Int32Array(15).fill(4).buffer));
  t.close();
  const fromBlob = new DocStoreReader(path);
  assert.deepEqual(fromBlob.pidToDoc, new Int32Array(15).fill(4));
  fromBlob.close();
  // ...a wrong length or no map at all falls back to the passages table.
  for (const sql of ["UPDATE meta SET value = x'00000000' WHERE key = 'pid_doc'", "DELETE FROM meta WHERE key = 'pid_doc'"]) {
    const u = new Database(path);
    u.prepare(sql).run();
    u.close();
    const fallback = new DocStoreReader(path);
    assert.deepEqual(fallback.pidToDoc, expected);
    // BM25 lengths are read lazily and still right.
    assert.deepEqual(fallback.bm25('number 3', 1).map((h) => h.docId), ['d3']);
    fallback.close();
  }
});

test('writer and reader errors carry codes', () => {
  const path = freshPath();
  const writer = new DocStoreWriter(path);
  writer.addDocument({ docId: 'a', title: '', text: 'x' });
  assert.throws(() => writer.addDocument({ docId: 'a', title: '', text: 'y' }), (e: unknown) => isPlaitError(e, 'DOCSTORE_FAILED') && e.cause !== undefined);
  assert.throws(() => writer.addPassage(1, 0, 1), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => writer.addPassage(0, 2, 1), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  assert.equal(writer.addPassage(0, 0, 1), 0);
  writer.close();
  assert.throws(() => writer.addDocument({ docId: 'b', title: '', text: 'z' }), (e: unknown) => isPlaitError(e, 'DOCSTORE_FAILED'));
  assert.throws(() => new DocStoreWriter(path), (e: unknown) => isPlaitError(e, 'DOCSTORE_FAILED'));
  assert.throws(() => new DocStoreReader(join(root, 'missing.sqlite')), (e: unknown) => isPlaitError(e, 'DOCSTORE_FAILED') && e.cause !== undefined);
  // A store that was never finished has no metadata: refused, not misread.
  const unfinished = freshPath();
  const aborted = new DocStoreWriter(unfinished);
  aborted.addDocument({ docId: 'a', title: '', text: 'x' });
  aborted.abort();
  assert.throws(() => new DocStoreReader(unfinished), (e: unknown) => isPlaitError(e, 'INDEX_CORRUPT'));
  // The one written above is still readable.
  const reader = new DocStoreReader(path);
  assert.deepEqual(reader.getDocuments(['a']).map((d) => d?.text), ['x']);
  reader.close();
});
