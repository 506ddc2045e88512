/**
 * A corpus line's metadata must be under "metadata": other top-level fields are not read. `plait
 * index` and `plait add` name each such field once on stderr, as it first appears (before the
 * encoding), and `--json` carries them in `report.ignoredFields`; only what is under "metadata" is
 * stored and filterable.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { openCorpus } from '../src/indexer/corpus/index.js';
import { isPlaitError } from '../src/errors/index.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-corpus-fields-'));
  const lines = [
    { _id: 'a', text: 'bread rises with yeast', year: 2020 },
    { _id: 'b', text: 'the tide comes in twice a day', year: 2021, author: 'Ng' },
    { _id: 'c', text: 'stocks fell on monday', metadata: { year: 2019 } },
    { _id: 'd', text: 'yeast ferments sugar', year: 2022 },
  ];
  writeFileSync(join(dir, 'c.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'more.jsonl'), JSON.stringify({ _id: 'e', text: 'planes fly on lift', venue: 'x' }) + '\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

const count = (text: string, re: RegExp): number => [...text.matchAll(new RegExp(re, 'g'))].length;

test('plait index warns once per ignored field, naming file, line and the fix; only metadata is stored and filterable', () => {
  const r = runPlait(dir, ['index', 'c.jsonl', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(count(r.stderr, /plait: warning: /), 2, r.stderr);
  assert.match(r.stderr, /c\.jsonl line 1: top-level field "year" is not read and not stored .* put it under "metadata"/);
  assert.match(r.stderr, /c\.jsonl line 2: top-level field "author" is not read/);
  assert.equal(count(r.stderr, /"year" is not read/), 1, 'year appears on three lines and is named once');
  const filtered = (filter: string): string[] => {
    const s = runPlait(dir, ['search', './idx', 'yeast bread tide stocks', '--mode', 'bm25', '--filter', filter, '--json']);
    assert.equal(s.code, 0, s.stderr);
    return (JSON.parse(s.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId);
  };
  assert.deepEqual(filtered('{"year": 2019}'), ['c']);
  assert.deepEqual(filtered('{"year": 2020}'), [], 'a top-level year was not stored');

  const json = runPlait(dir, ['index', 'c.jsonl', '--index', './idx-json', '-q', '--threads', '0', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.doesNotMatch(json.stderr, /warning/);
  const out = JSON.parse(json.stdout) as { report: { ignoredFields: { name: string; documents: number; first: { line: number } }[] } };
  assert.deepEqual(out.report.ignoredFields.map((f) => [f.name, f.documents, f.first.line]), [['year', 3, 1], ['author', 1, 2]]);
});

test('plait add names the fields it does not read too', () => {
  const r = runPlait(dir, ['add', './idx', 'more.jsonl', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /more\.jsonl line 1: top-level field "venue" is not read/);
});

test('a JSONL field flag (a CSV column flag too) on a TSV or a folder corpus is refused, not ignored (index, add, the library)', async () => {
  writeFileSync(join(dir, 'notes.tsv'), 'n1\tbread rises with yeast\nn2\tthe tide comes in\n');
  mkdirSync(join(dir, 'texts'), { recursive: true });
  writeFileSync(join(dir, 'texts', 'a.txt'), 'bread rises with yeast\n');
  const refused = (args: string[], flag: string, format: string): void => {
    const r = runPlait(dir, [...args, '--json']);
    assert.equal(r.code, 2, r.stderr);
    const e = (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details: { format: string } } }).error;
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, new RegExp(`${flag} \\(\\w+\\) applies to JSONL and CSV corpora only`));
    assert.equal(e.details.format, format);
  };
  refused(['index', 'notes.tsv', '--index', './idx-tsv', '-q', '--threads', '0', '--text-field', 'body'], '--text-field', 'tsv');
  assert.equal(existsSync(join(dir, 'idx-tsv', 'manifest.json')), false, 'nothing built');
  refused(['index', 'texts', '--index', './idx-texts', '-q', '--threads', '0', '--id-field', 'name'], '--id-field', 'folder');
  refused(['add', './idx', 'notes.tsv', '-q', '--threads', '0', '--title-field', 'heading'], '--title-field', 'tsv');
  await assert.rejects(openCorpus(join(dir, 'c.jsonl'), { tsvHeader: true }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && /tsvHeader applies to TSV corpora only/.test(e.message));
  const jsonl = runPlait(dir, ['index', 'c.jsonl', '--index', './idx-fields', '-q', '--threads', '0', '--text-field', 'text', '--id-field', '_id']);
  assert.equal(jsonl.code, 0, 'JSONL takes them: ' + jsonl.stderr);
});

test('plait add reads a JSONL input with the field names the index was built with (recorded in its manifest)', () => {
  const doc = (id: number, heading: string, body: string, year: number): string => JSON.stringify({ doc_id: id, heading, body, meta: { year } });
  writeFileSync(join(dir, 'own.jsonl'), [doc(1, 'Bread', 'bread rises with yeast', 2020), doc(2, 'Tides', 'the tide comes in twice a day', 2021)].join('\n') + '\n');
  writeFileSync(join(dir, 'own-more.jsonl'), doc(3, 'Sourdough', 'a starter leavens sourdough', 2022) + '\n');
  const built = runPlait(dir, ['index', 'own.jsonl', '--index', './own', '-q', '--threads', '0', '--id-field', 'doc_id', '--text-field', 'body', '--title-field', 'heading']);
  assert.equal(built.code, 0, built.stderr);
  // Without the flags: the index's own fields (it had been EMPTY_TEXT, and with --text-field alone the titles were dropped).
  const r = runPlait(dir, ['add', './own', 'own-more.jsonl', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /plait: note: own-more\.jsonl was read with the JSONL fields the index was built with: --id-field doc_id --text-field body --title-field heading/);
  const s = runPlait(dir, ['search', './own', 'sourdough starter', '--mode', 'bm25', '--json', '--text', '-k', '1']);
  assert.equal(s.code, 0, s.stderr);
  const hit = (JSON.parse(s.stdout) as { hits: { docId: string; title: string; text: string }[] }).hits[0];
  assert.deepEqual([hit?.docId, hit?.title, hit?.text], ['3', 'Sourdough', 'a starter leavens sourdough']);
  const info = runPlait(dir, ['info', './own']);
  assert.match(info.stdout, /^fields {7}idField "doc_id", textField "body", titleField "heading" \(plait add reads JSONL with them\)$/m);
  // A TSV input takes none of them.
  writeFileSync(join(dir, 'notes.tsv'), 'n1\tbread rises with yeast\nn2\tthe tide comes in\n');
  const j = runPlait(dir, ['add', './own', 'notes.tsv', '-q', '--threads', '0', '--json']);
  assert.equal(j.code, 0, j.stderr);
  assert.equal((JSON.parse(j.stdout) as { recordedFields?: unknown }).recordedFields, undefined);
});

test('a sharded build records the field names in every shard, for plait cluster add', () => {
  const r = runPlait(dir, ['index', 'own.jsonl', '--index', './own-sharded', '--shards', '2', '-q', '--threads', '0', '--id-field', 'doc_id', '--text-field', 'body', '--title-field', 'heading']);
  assert.equal(r.code, 0, r.stderr);
  for (const shard of ['shard-0', 'shard-1']) {
    const m = JSON.parse(readFileSync(join(dir, 'own-sharded', shard, 'manifest.json'), 'utf8')) as { settings: { corpusFields?: unknown } };
    assert.deepEqual(m.settings.corpusFields, { idField: 'doc_id', textField: 'body', titleField: 'heading' }, shard);
  }
});

test('plait add into an index built with --id-field doc_id, of a file whose ids are "_id": MISSING_ID names the field it read and the one to give', () => {
  writeFileSync(join(dir, 'export.jsonl'), JSON.stringify({ doc_id: 1405933483485474801, body: 'bread rises with yeast' }) + '\n');
  writeFileSync(join(dir, 'beir-shaped.jsonl'), JSON.stringify({ _id: 1405933483485474802, text: 'the tide comes in' }) + '\n');
  const built = runPlait(dir, ['index', 'export.jsonl', '--index', './idx-doc-id', '-q', '--threads', '0', '--id-field', 'doc_id', '--text-field', 'body']);
  assert.equal(built.code, 0, built.stderr);
  // The add reads with the recorded doc_id; the message said only "Missing id in beir-shaped.jsonl at line 1".
  const r = runPlait(dir, ['add', './idx-doc-id', 'beir-shaped.jsonl', '--threads', '0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Missing id in \S*beir-shaped\.jsonl at line 1: no "doc_id" field holding a non-empty id \(the id field read\); its field "_id" looks like an id: --id-field _id \(idField\) reads it as the id \[MISSING_ID\]/, r.stderr);
  const fixed = runPlait(dir, ['add', './idx-doc-id', 'beir-shaped.jsonl', '--threads', '0', '--id-field', '_id', '--text-field', 'text']);
  assert.equal(fixed.code, 0, fixed.stderr);
});
