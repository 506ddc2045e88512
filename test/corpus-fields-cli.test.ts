/**
 * A corpus line's metadata must be under "metadata": other top-level fields are not read. `plait
 * index` and `plait add` name each such field once on stderr, as it first appears (before the
 * encoding), and `--json` carries them in `report.ignoredFields`; only what is under "metadata" is
 * stored and filterable.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';

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
