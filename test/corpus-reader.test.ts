import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_REASON_CODES, countDocuments, openCorpus } from '../src/indexer/corpus/index.js';
import { checkDocument } from '../src/mutate/encode-documents.js';
import { indexText } from '../src/indexer/index-text.js';
import { buildIndex } from '../src/indexer/build-index.js';
import type { CorpusDocument, CorpusInput, CorpusReaderOptions } from '../src/indexer/corpus/index.js';
import { isPlaitError, type ErrorCode } from '../src/errors/index.js';
import { fixture, freshDir, readAll, root } from './helpers/corpus-files.js';


async function rejectsWith(input: CorpusInput, code: ErrorCode, details: Record<string, unknown>, options: CorpusReaderOptions = {}): Promise<void> {
  await assert.rejects(readAll(input, options), (e: unknown) => {
    assert.ok(isPlaitError(e, code), `expected ${code}, got ${String(e)}`);
    for (const [k, v] of Object.entries(details)) assert.equal(e.details?.[k], v, `details.${k}`);
    return true;
  });
}

const BOM = '\ufeff';

test('BEIR corpus.jsonl: BOM, CRLF, blank lines, unicode, metadata, source lines', async () => {
  const file = fixture(
    'corpus.jsonl',
    BOM +
      '{"_id": "d1", "title": "Caf\u00e9 \u2615", "text": "na\u00efve r\u00e9sum\u00e9 \ud83d\ude00 \u4e2d\u6587"}\r\n' +
      '\r\n' +
      '{"_id": "d2", "text": "no title here", "metadata": {"year": 2020}}\r\n' +
      '{"_id": 3, "title": "numeric id", "text": "", "metadata": {}}\n' +
      '\n',
  );
  const docs = await readAll(file);
  assert.deepEqual(docs, [
    { docId: 'd1', title: 'Caf\u00e9 \u2615', text: 'na\u00efve r\u00e9sum\u00e9 \ud83d\ude00 \u4e2d\u6587', source: { file, line: 1 } },
    { docId: 'd2', title: '', text: 'no title here', metadata: { year: 2020 }, source: { file, line: 3 } },
    { docId: '3', title: 'numeric id', text: '', source: { file, line: 4 } },
  ]);
  assert.equal(await countDocuments(file), 3);
});

test('a final line without a newline is read', async () => {
  const file = fixture('corpus.jsonl', '{"_id":"a","text":"x"}\n{"_id":"b","text":"y"}');
  assert.deepEqual((await readAll(file)).map((d) => [d.docId, d.source.line]), [['a', 1], ['b', 2]]);
  assert.equal(await countDocuments(file), 2);
});

test('generic JSONL: configurable fields, and id/docid detected without configuration', async () => {
  const file = fixture('docs.jsonl', '{"key": "k1", "body": "hello", "heading": "H"}\n{"key": "k2", "body": "world"}\n');
  const docs = await readAll(file, { idField: 'key', textField: 'body', titleField: 'heading' });
  assert.deepEqual(docs.map((d) => [d.docId, d.title, d.text]), [['k1', 'H', 'hello'], ['k2', '', 'world']]);
  const auto = fixture('docs.jsonl', '{"id": 7, "text": "seven"}\n{"docid": "x", "text": "ex"}\n');
  assert.deepEqual((await readAll(auto)).map((d) => d.docId), ['7', 'x']);
  // With BEIR forced, only _id counts.
  await rejectsWith(auto, 'MISSING_ID', { line: 1 }, { format: 'beir' });
});

test('JSONL lines spanning stream chunks, multi-byte characters at chunk edges, a line longer than a chunk', async () => {
  const lines: string[] = [];
  const expected: Array<[string, string]> = [];
  for (let i = 0; i < 30_000; i++) {
    const text = `\u00e9\u4e2d\ud83d\ude00 ${i} ${'\u00df'.repeat(i % 97)}`;
    expected.push([`id${i}`, text]);
    lines.push(JSON.stringify({ _id: `id${i}`, text }));
  }
  const huge = 'x\u00e9'.repeat(1_500_000); // ~4.5 MB of UTF-8 in one line
  expected.push(['huge', huge]);
  lines.push(JSON.stringify({ _id: 'huge', text: huge }));
  const file = fixture('corpus.jsonl', lines.join('\n') + '\n');
  const docs = await readAll(file);
  assert.equal(docs.length, expected.length);
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i] as CorpusDocument;
    assert.equal(doc.docId, expected[i]![0]);
    assert.equal(doc.text, expected[i]![1]);
    assert.equal(doc.source.line, i + 1);
  }
  assert.equal(await countDocuments(file), expected.length);
});

test('TSV: header detected, CRLF, optional title column, header override', async () => {
  const file = fixture('collection.tsv', 'id\ttext\ttitle\r\n1\tfirst passage\tOne\r\n2\tsecond \u00e9\r\n\r\n');
  assert.deepEqual((await readAll(file)).map((d) => [d.docId, d.text, d.title, d.source.line]), [
    ['1', 'first passage', 'One', 2],
    ['2', 'second \u00e9', '', 3],
  ]);
  assert.equal(await countDocuments(file), 2);
  const noHeader = fixture('collection.tsv', '0\tzero\n1\tone\n');
  assert.deepEqual((await readAll(noHeader)).map((d) => d.docId), ['0', '1']);
  assert.equal(await countDocuments(noHeader), 2);
  // Forcing "no header" turns the header row into a document.
  assert.deepEqual((await readAll(file, { tsvHeader: false })).map((d) => d.docId), ['id', '1', '2']);
});

test('TSV: a line without a tab is MALFORMED_TSV, with file and line, counted as malformedTsv', async () => {
  const file = fixture('c.tsv', '1\tok\njust text\n');
  await rejectsWith(file, 'MALFORMED_TSV', { file, line: 2 });
  await assert.rejects(readAll(file), { message: `Malformed TSV in ${file} at line 2: expected 2 or 3 tab-separated columns (id, text, title) but found 1` });
  const skipped = await openCorpus(file, { skipInvalid: true });
  const docs: CorpusDocument[] = [];
  for await (const d of skipped) docs.push(d);
  assert.equal(docs.length, 1);
  assert.equal(skipped.report.skipped.malformedTsv, 1);
  assert.equal(skipped.report.skipped.malformed, 0);
});

test('each skip reason and the error it stands for have one name: the code thrown without skipInvalid is the code counted with it (SKIP_REASON_CODES), as checkDocument throws for every other door', async () => {
  const cases: [keyof typeof SKIP_REASON_CODES, string, string][] = [
    ['malformed', 'c.jsonl', '{"_id":"a","text":"ok"}\n{"_id":\n'],
    ['malformedTsv', 'c.tsv', 'a\tok\nno tab here\n'],
    ['malformedCsv', 'c.csv', 'id,text\nb,ok,extra\na,ok\n'],
    ['missingId', 'c.jsonl', '{"_id":"a","text":"ok"}\n{"text":"no id"}\n'],
    ['duplicateId', 'c.jsonl', '{"_id":"a","text":"ok"}\n{"_id":"a","text":"again"}\n'],
    ['emptyText', 'c.jsonl', '{"_id":"a","text":"ok"}\n{"_id":"b","text":" "}\n'],
    ['invalidId', 'c.jsonl', '{"_id":"a","text":"ok"}\n{"_id":"my\\tnotes","text":"x"}\n'],
  ];
  for (const [reason, name, content] of cases) {
    const file = fixture(name, content);
    await rejectsWith(file, SKIP_REASON_CODES[reason], { file, line: 2 });
    const corpus = await openCorpus(file, { skipInvalid: true });
    for await (const _ of corpus);
    assert.equal(corpus.report.skipped[reason], 1, reason);
    assert.deepEqual(corpus.report.firstSkipped.map((s) => [s.code, s.line]), [[SKIP_REASON_CODES[reason], 2]], reason);
  }
  assert.equal(SKIP_REASON_CODES.invalidId, 'INVALID_ID');
  // The library's, the server's and a cluster's door: the same code, its own message naming the field (documents[i].docId; HTTP: doc_id).
  // (Spaces inside an id are accepted at every door since ids became opaque: test/document-ids.test.ts.)
  assert.throws(() => checkDocument({ docId: 'my\tnotes', text: 'x' }, 3), (e: unknown) => isPlaitError(e, 'INVALID_ID') && /document id "my\\tnotes" \(documents\[3\]\.docId\) holds a tab/.test((e as Error).message));
  assert.equal(checkDocument({ docId: 'my notes', text: 'x' }, 3).docId, 'my notes');
});

test('folder of .txt/.md files: recursive ids, Markdown heading titles, file-name titles, other files ignored', async () => {
  const dir = freshDir();
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'notes.md'), BOM + 'intro line\r\n\r\n## The  Title ##\r\nbody text\r\n');
  writeFileSync(join(dir, 'plain.txt'), 'just text\n');
  writeFileSync(join(dir, 'sub', 'deeper', 'x.md'), 'no heading at all');
  writeFileSync(join(dir, 'sub', 'data.json'), '{"not": "a document"}');
  writeFileSync(join(dir, '.hidden.txt'), 'skip me');
  const docs = await readAll(dir);
  assert.deepEqual(
    docs.map((d) => [d.docId, d.title, d.text, d.source.line]),
    [
      // The heading that gives the title leaves the text (it was indexed twice: title, then text).
      ['notes', 'The  Title', 'intro line\n\nbody text\n', 1],
      ['plain', 'plain', 'just text\n', 1],
      ['sub/deeper/x', 'x', 'no heading at all', 1],
    ],
  );
  assert.equal(docs[0]!.source.file, join(dir, 'notes.md'));
  assert.equal(await countDocuments(dir), 3);
});

test('folder: a.txt and a.md share an id (DUPLICATE_ID); an empty file is EMPTY_TEXT; bad bytes name their line', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'a.md'), '# A\n');
  writeFileSync(join(dir, 'a.txt'), 'text a');
  await rejectsWith(dir, 'DUPLICATE_ID', { id: 'a', file: join(dir, 'a.txt'), line: 1 });
  const empty = freshDir();
  writeFileSync(join(empty, 'e.txt'), ' \n\t\n');
  await rejectsWith(empty, 'EMPTY_TEXT', { file: join(empty, 'e.txt'), line: 1 });
  const bad = freshDir();
  writeFileSync(join(bad, 'b.txt'), Buffer.concat([Buffer.from('ok line\nsecond '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
  await rejectsWith(bad, 'TEXT_NOT_UTF8', { file: join(bad, 'b.txt'), line: 2 });
});

test('multi-part corpora: a glob, a folder of corpus*.jsonl parts (natural order), a list of files', async () => {
  const dir = freshDir();
  for (const part of [10, 2, 1]) writeFileSync(join(dir, `corpus.part-${part}.jsonl`), `{"_id":"p${part}","text":"part ${part}"}\n`);
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id":"q","text":"not a document"}\n');
  const order = ['p1', 'p2', 'p10'];
  assert.deepEqual((await readAll(dir)).map((d) => d.docId), order);
  assert.deepEqual((await readAll(join(dir, 'corpus.part-*.jsonl'))).map((d) => d.docId), order);
  assert.deepEqual((await readAll([join(dir, 'corpus.part-2.jsonl'), join(dir, 'queries.jsonl')])).map((d) => d.docId), ['p2', 'q']);
  assert.equal(await countDocuments(join(dir, 'corpus.part-*.jsonl')), 3);
  const reader = await openCorpus(dir);
  assert.equal(reader.files.length, 3);
  assert.equal(reader.format, 'beir');
  // Duplicates are caught across parts.
  writeFileSync(join(dir, 'corpus.part-11.jsonl'), '{"_id":"p1","text":"again"}\n');
  await rejectsWith(dir, 'DUPLICATE_ID', { id: 'p1', file: join(dir, 'corpus.part-11.jsonl'), line: 1 });
});

test('format detection by content, and the override', async () => {
  const jsonl = fixture('corpus.data', '{"_id":"a","text":"x"}\n');
  assert.equal((await openCorpus(jsonl)).format, 'beir');
  const tsv = fixture('corpus.data', 'a\tx\n');
  assert.equal((await openCorpus(tsv)).format, 'tsv');
  const generic = fixture('c.jsonl', '{"id":"a","text":"x"}\n');
  assert.equal((await openCorpus(generic)).format, 'jsonl');
  // A .txt file read as TSV when asked.
  const txt = fixture('c.txt', 'a\tx\n');
  assert.equal((await openCorpus(txt)).format, 'folder');
  assert.deepEqual((await readAll(txt, { format: 'tsv' })).map((d) => [d.docId, d.text]), [['a', 'x']]);
  const unknown = fixture('c.data', 'plain words only\n');
  await assert.rejects(openCorpus(unknown), (e: unknown) => isPlaitError(e, 'INVALID_INPUT'));
  await assert.rejects(openCorpus(join(root, 'nothing-*.jsonl')), (e: unknown) => isPlaitError(e, 'INVALID_INPUT'));
});

test('each kind of bad line throws with its file and line by default', async () => {
  const malformed = fixture('c.jsonl', '{"_id":"a","text":"x"}\n{"_id":"b", "text": }\n');
  await rejectsWith(malformed, 'MALFORMED_JSONL', { file: malformed, line: 2 });
  const notObject = fixture('c.jsonl', '["_id", "a"]\n');
  await rejectsWith(notObject, 'MALFORMED_JSONL', { file: notObject, line: 1 });
  const badText = fixture('c.jsonl', '{"_id":"a","text":42}\n');
  await rejectsWith(badText, 'MALFORMED_JSONL', { line: 1 });
  const missing = fixture('c.jsonl', '\n{"text":"no id"}\n');
  await rejectsWith(missing, 'MISSING_ID', { file: missing, line: 2 });
  const emptyId = fixture('c.jsonl', '{"_id":"","text":"x"}\n');
  await rejectsWith(emptyId, 'MISSING_ID', { line: 1 });
  const duplicate = fixture('c.jsonl', '{"_id":"a","text":"x"}\n{"_id":"b","text":"y"}\n{"_id":"a","text":"z"}\n');
  await rejectsWith(duplicate, 'DUPLICATE_ID', { id: 'a', file: duplicate, line: 3 });
  const empty = fixture('c.jsonl', '{"_id":"a","title":"  ","text":"\\n"}\n');
  await rejectsWith(empty, 'EMPTY_TEXT', { id: 'a', file: empty, line: 1 });
  const notUtf8 = fixture('c.jsonl', Buffer.concat([Buffer.from('{"_id":"a","text":"x"}\n{"_id":"b","text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
  await rejectsWith(notUtf8, 'TEXT_NOT_UTF8', { file: notUtf8, line: 2 });
  const surrogate = fixture('c.jsonl', '{"_id":"a","text":"paired \\ud83d\\ude00 ok"}\n{"_id":"b","text":"lone \\ud800"}\n');
  await rejectsWith(surrogate, 'TEXT_NOT_UTF8', { file: surrogate, line: 2 });
  // The message names the file and line too.
  await assert.rejects(readAll(duplicate), /Duplicate id "a" in .*c\.jsonl at line 3/);
});

test('skipInvalid skips and counts each kind; the report is complete when iteration ends', async () => {
  const content = Buffer.concat([
    Buffer.from(
      [
        '{"_id":"ok1","text":"fine"}',
        '{"_id":"bad json"',
        '{"text":"no id"}',
        '{"_id":"ok1","text":"duplicate"}',
        '{"_id":"empty","text":""}',
        '{"_id":"ok2","title":"title only"}',
        '{"_id":"u","text":"',
      ].join('\n'),
    ),
    Buffer.from([0x80]),
    Buffer.from('"}\n{"_id":"ok3","text":"last"}\n'),
  ]);
  const file = fixture('c.jsonl', content);
  const corpus = await openCorpus(file, { skipInvalid: true });
  const ids: string[] = [];
  for await (const doc of corpus) ids.push(doc.docId);
  assert.deepEqual(ids, ['ok1', 'ok2', 'ok3']);
  const { firstSkipped, ...counts } = corpus.report;
  assert.deepEqual(counts, { read: 3, skipped: { malformed: 1, malformedTsv: 0, malformedCsv: 0, malformedFrontMatter: 0, missingId: 1, duplicateId: 1, emptyText: 1, notUtf8: 1, invalidId: 0 }, ignoredFields: [] });
  // The first CORPUS_REPORT_DEFAULTS.firstSkipped skipped lines, in input order, with their reasons.
  assert.deepEqual(firstSkipped.map((s) => [s.code, s.line]), [['MALFORMED_JSONL', 2], ['MISSING_ID', 3], ['DUPLICATE_ID', 4]]);
  assert.ok(firstSkipped.every((s) => s.file === file && s.message.length > 0));
  assert.match(firstSkipped[2]!.message, /Duplicate id "ok1"/);
  // A second pass starts from zero again.
  let again = 0;
  for await (const _ of corpus) again++;
  assert.equal(again, 3);
  assert.equal(corpus.report.read, 3);
  assert.equal(corpus.report.skipped.duplicateId, 1);
  assert.equal(corpus.report.firstSkipped.length, 3, 'a second pass restarts the list too');
});

test('top-level fields other than id, title, text and metadata are not read: each name is warned about once a pass, where it first appears, and counted', async () => {
  const file = fixture(
    'extra.jsonl',
    [
      '{"_id":"a","title":"A","text":"alpha","metadata":{"year":2020}}',
      '{"_id":"b","text":"beta","year":2021,"author":"Ng"}',
      '{"_id":"c","text":"gamma","year":2022}',
      '{"_id":"d","text":"delta","venue":"SIGIR","metadata":{"year":2019}}',
    ].join('\n') + '\n',
  );
  const warnings: { fields: string[]; line: number; message: string }[] = [];
  const corpus = await openCorpus(file, { onWarning: (w) => warnings.push({ fields: w.fields, line: w.line, message: w.message }) });
  const docs: CorpusDocument[] = [];
  for await (const d of corpus) docs.push(d);
  // Only "metadata" is kept: a top-level year is not stored.
  assert.deepEqual(docs.map((d) => d.metadata), [{ year: 2020 }, undefined, undefined, { year: 2019 }]);
  assert.deepEqual(warnings.map((w) => [w.fields, w.line]), [[['year', 'author'], 2], [['venue'], 4]]);
  assert.match(warnings[0]!.message, /extra\.jsonl line 2: top-level fields "year", "author" are not read and not stored/);
  assert.match(warnings[0]!.message, /put them under "metadata"/);
  assert.match(warnings[1]!.message, /field "venue" is not read .* put it under "metadata"/);
  assert.deepEqual(corpus.report.ignoredFields, [
    { name: 'year', documents: 2, first: { file, line: 2 } },
    { name: 'author', documents: 1, first: { file, line: 2 } },
    { name: 'venue', documents: 1, first: { file, line: 4 } },
  ]);
  // A second pass warns again, from scratch (a build reads its corpus once: one warning a name a build).
  for await (const _ of corpus) void _;
  assert.equal(warnings.length, 4);
  assert.equal(corpus.report.ignoredFields[0]!.documents, 2);
  // Generic JSONL with named fields: the named ones are read, so not ignored.
  const named = fixture('named.jsonl', '{"pid":"x","body":"text here","heading":"H","text":"unused"}\n');
  const seen: string[][] = [];
  const generic = await openCorpus(named, { format: 'jsonl', idField: 'pid', textField: 'body', titleField: 'heading', onWarning: (w) => seen.push(w.fields) });
  for await (const _ of generic) void _;
  assert.deepEqual(seen, [['text']]);
  // Skipped lines are not counted (they are reported as skipped).
  const skipped = fixture('skipped.jsonl', '{"_id":"e","text":"","x":1}\n{"_id":"f","text":"ok"}\n');
  const s2 = await openCorpus(skipped, { skipInvalid: true });
  for await (const _ of s2) void _;
  assert.deepEqual(s2.report.ignoredFields, []);
});

test("a document whose text sits in a field plait does not read (Pyserini's \"contents\") is EMPTY_TEXT naming that field and --text-field", async () => {
  // It said only "has no title and no text", with the CLI's hint "add --skip-invalid", which skips every document.
  const pyserini = fixture('docs.jsonl', '{"id": "d1", "contents": "yeast makes bread rise", "url": "", "year": 2020}\n');
  await rejectsWith(pyserini, 'EMPTY_TEXT', { id: 'd1', line: 1, textField: 'contents' });
  await assert.rejects(readAll(pyserini), /has no title and no text; its field "contents" holds text and is not read: --text-field contents \(textField\) reads it as the text$/);
  assert.deepEqual((await readAll(pyserini, { textField: 'contents' })).map((d) => d.text), ['yeast makes bread rise']);
  const two = fixture('docs.jsonl', '{"id": "d1", "body": "yeast", "abstract": "bread"}\n');
  await assert.rejects(readAll(two), /its fields "body", "abstract" hold text and are not read: --text-field <name> \(textField\) reads one as the text$/);
  // Nothing to suggest when no other field holds text: the message stays as it was.
  const bare = fixture('docs.jsonl', '{"id": "d1", "text": "", "year": 2020}\n');
  await assert.rejects(readAll(bare), /document "d1" in .* at line 1 has no title and no text$/);
});

test('Markdown front matter: YAML mapping → metadata, title from `title:`, no part of the text; .txt keeps its text', async () => {
  const dir = freshDir();
  writeFileSync(
    join(dir, 'note.md'),
    BOM + '---\r\ntitle: "Dewey at 100"\r\nyear: 1976\r\ntags: [classification, note]\r\ndraft: false\r\ndate: 2024-01-05\r\n---\r\n\r\n# A heading\r\n\r\nBody text.\r\n',
  );
  writeFileSync(join(dir, 'heading.md'), '---\nyear: 1980\nauthors:\n  - Ann\n  - Bo\n...\n# From the heading\nbody\n');
  writeFileSync(join(dir, 'empty-front.md'), '---\n---\n# Only body\n');
  writeFileSync(join(dir, 'rule.md'), '---\nno closing line, so a thematic break\n');
  writeFileSync(join(dir, 'plain.txt'), '---\nyear: 1\n---\ntext\n');
  const docs = await readAll(dir);
  const byId = new Map(docs.map((d) => [d.docId, d]));
  const note = byId.get('note')!;
  assert.equal(note.title, 'Dewey at 100');
  assert.equal(note.text, '\n# A heading\n\nBody text.\n');
  assert.deepEqual(note.metadata, { title: 'Dewey at 100', year: 1976, tags: ['classification', 'note'], draft: false, date: '2024-01-05' });
  const heading = byId.get('heading')!;
  assert.equal(heading.title, 'From the heading');
  assert.equal(heading.text, 'body\n');
  assert.deepEqual(heading.metadata, { year: 1980, authors: ['Ann', 'Bo'] });
  assert.equal(byId.get('empty-front')!.metadata, undefined);
  // Only a heading: indexed on its title, as a note of front matter with a title is.
  assert.equal(byId.get('empty-front')!.title, 'Only body');
  assert.equal(byId.get('empty-front')!.text, '');
  assert.equal(byId.get('rule')!.text, '---\nno closing line, so a thematic break\n');
  assert.equal(byId.get('rule')!.metadata, undefined);
  assert.equal(byId.get('plain')!.text, '---\nyear: 1\n---\ntext\n');
  assert.equal(byId.get('plain')!.metadata, undefined);
});

test('Markdown front matter that does not parse, or is not a mapping: MALFORMED_FRONT_MATTER with file and line; skipInvalid counts it', async () => {
  const bad = freshDir();
  writeFileSync(join(bad, 'a.md'), '---\ntitle: ok\ntags: [x, y\n---\nbody\n');
  await rejectsWith(bad, 'MALFORMED_FRONT_MATTER', { file: join(bad, 'a.md'), line: 3 });
  const dup = freshDir();
  writeFileSync(join(dup, 'd.md'), '---\nyear: 1\nyear: 2\n---\nbody\n');
  await rejectsWith(dup, 'MALFORMED_FRONT_MATTER', { file: join(dup, 'd.md'), line: 3 });
  const list = freshDir();
  writeFileSync(join(list, 'l.md'), '---\n- a\n- b\n---\nbody\n');
  writeFileSync(join(list, 'ok.md'), '---\nyear: 2\n---\nfine\n');
  await rejectsWith(list, 'MALFORMED_FRONT_MATTER', { file: join(list, 'l.md'), line: 2 });
  const corpus = await openCorpus(list, { skipInvalid: true });
  const ids: string[] = [];
  for await (const doc of corpus) ids.push(doc.docId);
  assert.deepEqual(ids, ['ok']);
  assert.equal(corpus.report.skipped.malformedFrontMatter, 1);
  assert.equal(corpus.report.firstSkipped[0]?.code, 'MALFORMED_FRONT_MATTER');
  assert.equal(SKIP_REASON_CODES.malformedFrontMatter, 'MALFORMED_FRONT_MATTER');
});

test('Markdown: the heading that states the title is not indexed twice (front matter title repeated as `# …` too); other headings stay', async () => {
  // Before: `# Ideas` became the title and stayed in the text, so indexText gave "Ideas\n# Ideas\n…".
  const dir = freshDir();
  writeFileSync(join(dir, 'ideas.md'), '# Ideas\n\nFirst idea.\n\n## Later\nmore\n');
  writeFileSync(join(dir, 'hugo.md'), '---\ntitle: Release  notes\n---\n\n# release notes\n\nShipped.\n');
  writeFileSync(join(dir, 'other.md'), '---\ntitle: Dewey\n---\n# Classification\nbody\n');
  const byId = new Map((await readAll(dir)).map((d) => [d.docId, d]));
  assert.deepEqual([byId.get('ideas')!.title, byId.get('ideas')!.text], ['Ideas', 'First idea.\n\n## Later\nmore\n']);
  assert.deepEqual([byId.get('hugo')!.title, byId.get('hugo')!.text], ['Release  notes', 'Shipped.\n']);
  assert.deepEqual([byId.get('other')!.title, byId.get('other')!.text], ['Dewey', '# Classification\nbody\n']);
  assert.equal(indexText(byId.get('ideas')!.title, byId.get('ideas')!.text).split('Ideas').length - 1, 1);
});

// A corpus that is not there is FILE_NOT_FOUND at the library's doors, as the CLI's pre-check and the
// eval readers (readQueries, readQrels, readRun) say it; the library had said INVALID_INPUT "no such
// file or folder: \"corpus.jsonl\"" (README's first Library example, run before corpus.jsonl exists).
test('a missing corpus is FILE_NOT_FOUND naming the path and where a relative one was looked for', async () => {
  const missing = join(root, 'does-not-exist.jsonl');
  const notFound = (path: string) => (e: unknown): boolean => {
    assert.ok(isPlaitError(e, 'FILE_NOT_FOUND'), String(e));
    assert.equal(e.details?.path, path);
    assert.match(e.message, /^File not found: no corpus at /);
    return true;
  };
  await assert.rejects(openCorpus(missing), notFound(missing));
  await assert.rejects(countDocuments(missing), notFound(missing));
  await assert.rejects(buildIndex(missing, { index: join(freshDir(), 'never-built') }), notFound(missing));
  // A listed file that is not there, beside one that is.
  await assert.rejects(openCorpus([fixture('present.jsonl', '{"_id":"a","text":"x"}\n'), missing]), notFound(missing));
  // A relative path: the message says which folder it was looked for in.
  await assert.rejects(openCorpus('no-such-corpus.jsonl'), (e: unknown) => notFound('no-such-corpus.jsonl')(e) && (e as Error).message.includes(join(process.cwd(), 'no-such-corpus.jsonl')));
  // A listed folder is there, just not a file: still INVALID_INPUT, saying so.
  await assert.rejects(openCorpus([freshDir()]), (e: unknown) => isPlaitError(e, 'INVALID_INPUT') && /is not a file/.test((e as Error).message));
});
