/**
 * The CSV corpus reader at the library's door (openCorpus, countDocuments, buildIndex): rows and
 * the lines they start on, the header's columns and types, the untyped-number warning, the JSONL
 * field options naming CSV columns, invalid UTF-8, and the count of rows that span lines. Before,
 * a `.csv` input was INVALID_INPUT ("cannot tell the format") and `format: 'csv'` no format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { countDocuments, openCorpus, type CorpusReaderOptions, type CorpusWarning } from '../src/indexer/corpus/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { fixture, readAll, root } from './helpers/corpus-files.js';


test('rows, the line each starts on (a quoted line break spans two), blank lines, typed and untyped metadata', async () => {
  const file = fixture('c.csv', 'id,title,text,year:number,draft:boolean,code,zip\n\n1,"A, B","x ""y""\nz",1962,TRUE,12,007\n2,,plain,,false,,\n   \n3,T,"",1.5e3,,x,\n');
  const warnings: CorpusWarning[] = [];
  const docs = await readAll(file, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(
    docs.map((d) => [d.docId, d.title, d.text, d.metadata ?? null, d.source.line]),
    [
      ['1', 'A, B', 'x "y"\nz', { year: 1962, draft: true, code: '12', zip: '007' }, 3],
      ['2', '', 'plain', { draft: false }, 5],
      ['3', 'T', '', { year: 1500, code: 'x' }, 7],
    ],
  );
  // "code" is untyped and its first value looks like a number: one warning, naming the typed header; "007" (not a JSON number) none, its zeros kept.
  assert.deepEqual(warnings.map((w) => [w.code, w.fields, w.line]), [['CSV_UNTYPED_COLUMN', ['code'], 3]]);
  assert.match(warnings[0]!.message, /"code:number"/);
  assert.equal(await countDocuments(file), 3);
});

test('--id-field/--text-field/--title-field name CSV columns; metadataField and tsvHeader do not apply', async () => {
  const file = fixture('c.csv', 'doc,heading,body,lang\nd1,Hello,world,en\n');
  const docs = await readAll(file, { idField: 'doc', textField: 'body', titleField: 'heading' });
  assert.deepEqual(docs.map((d) => [d.docId, d.title, d.text, d.metadata]), [['d1', 'Hello', 'world', { lang: 'en' }]]);
  for (const options of [{ metadataField: 'm' }, { tsvHeader: true }] as CorpusReaderOptions[]) {
    await assert.rejects(openCorpus(file, options), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /read as CSV/.test(e.message));
  }
});

test('invalid UTF-8 in a row is TEXT_NOT_UTF8 at its line (not U+FFFD in the index); skipInvalid counts it', async () => {
  const file = fixture('c.csv', Buffer.concat([Buffer.from('id,text\n1,ok\n2,"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('\nbyte"\n3,fine\n')]));
  await assert.rejects(readAll(file), (e: unknown) => isPlaitError(e, 'TEXT_NOT_UTF8') && e.details?.['line'] === 3);
  const corpus = await openCorpus(file, { skipInvalid: true });
  const ids: string[] = [];
  for await (const d of corpus) ids.push(d.docId);
  assert.deepEqual(ids, ['1', '3']);
  assert.equal(corpus.report.skipped.notUtf8, 1);
});

test('a file with only a header, or nothing, is MALFORMED_CSV or read as no documents; --format csv reads a .txt name', async () => {
  assert.deepEqual(await readAll(fixture('h.csv', 'id,text\n')), []);
  await assert.rejects(readAll(fixture('e.csv', '')), (e: unknown) => isPlaitError(e, 'MALFORMED_CSV') && /no header row/.test(e.message));
  assert.deepEqual((await readAll(fixture('rows.txt', 'id,text\n1,a\n'), { format: 'csv' })).map((d) => d.docId), ['1']);
  // Detected by its first line when the name says nothing.
  assert.equal((await openCorpus(fixture('export', '"id","title","text"\n1,a,b\n'))).format, 'csv');
});

test('buildIndex of a CSV file: metadata typed by the header is filtered as numbers', async () => {
  const model = join(root, 'model');
  await makeTinyColbert(model, { dim: 16 });
  const file = fixture('papers.csv', 'id,title,text,year:number\n1,Wings,lift on wings,1962\n2,Plates,heat on plates,1975\n3,Cones,drag on cones,1980\n');
  const index = join(root, 'idx');
  await buildIndex(file, { index, model, encoderOptions: { threads: 0 } });
  const opened = await openIndex(index, { encoderOptions: { threads: 0 } });
  try {
    const { hits } = await opened.search('wings plates cones', { mode: 'bm25', topK: 10, filter: { year: { $gte: 1970 } } });
    assert.deepEqual(hits.map((h) => h.docId).sort(), ['2', '3']);
  } finally {
    await opened.close();
  }
});
