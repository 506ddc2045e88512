/**
 * CSV as people export it (trial 12: cisi written by Excel, by hand, by PowerShell), through the real
 * CLI. Before: Excel's `;`-separated "CSV" (de/fr/… locales) stopped at its first quoted field with
 * csv-parse's "Invalid Opening Quote"; a header `ID, Title,Text ` was "no id column" (and with
 * --id-field ID --text-field Text the title became metadata); a UTF-16 file (Excel's "Unicode Text")
 * was MALFORMED_CSV "… \u0000" as CSV and a TEXT_NOT_UTF8 suggesting latin1 as a queries file; and every
 * such fault, which no skipping passes, ended with "add --skip-invalid to skip such documents".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bm25Hits, runPlait, succeeded as ok, type CliResult, type TextHit } from './helpers/cli.js';

let dir: string;



function hits(index: string, query: string, extra: string[] = []): TextHit[] {
  return bm25Hits(dir, index, query, extra);
}

function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-csv-dialects-'));
  writeFileSync(join(dir, 'ok.csv'), 'id,text\n1,some text\n');
  ok(runPlait(dir, ['index', 'ok.csv', '--index', './ok', '-q', '--threads', '0']));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("Excel's ';'-separated CSV (BOM, CRLF, a quoted field holding ';', ',' and a line break) is read by its header's delimiter", () => {
  writeFileSync(
    join(dir, 'excel.csv'),
    '\ufeffid;title;text;year:number;price\r\n' +
      '1;"Dewey; a history";"the decimal classification, its editions\r\nand its growth";1976;1,5\r\n' +
      '2;Library use;acts of use in technical libraries;;2,0\r\n',
  );
  ok(runPlait(dir, ['index', 'excel.csv', '--index', './excel', '-q', '--threads', '0']));
  const [dewey] = hits('./excel', 'decimal classification');
  assert.equal(dewey?.docId, '1');
  assert.equal(dewey?.title, 'Dewey; a history');
  assert.equal(dewey?.text, 'the decimal classification, its editions\nand its growth');
  // "1,5" is text under an untyped column: the decimal comma kept as written.
  assert.deepEqual(dewey?.metadata, { year: 1976, price: '1,5' });
  assert.deepEqual(hits('./excel', 'libraries', ['--filter', '{"year": {"$exists": false}}']).map((h) => h.docId), ['2']);
  // plait add reads a ';' file too; a row of the wrong width names the ';' in its message.
  writeFileSync(join(dir, 'more.csv'), 'id;text\r\n3;semicolon rows added\r\n');
  ok(runPlait(dir, ['add', './excel', 'more.csv', '-q']));
  assert.deepEqual(hits('./excel', 'semicolon').map((h) => h.docId), ['3']);
  writeFileSync(join(dir, 'wide.csv'), 'id;text\n4;a;b\n');
  const wide = runPlait(dir, ['add', './excel', 'wide.csv', '-q', '--json']);
  assert.equal(wide.code, 2, wide.stderr);
  assert.match(wide.stderr, /expected 2 fields \(the header's: id;text\) but found 3; a field holding a semicolon/);
});

test('a header in another case or with spaces (ID, " Title", "Text ") names the id, title and text columns', () => {
  writeFileSync(join(dir, 'caps.csv'), 'ID, Title,Text , Year\n7,Citation indexing,indexing by citations,1964\n');
  ok(runPlait(dir, ['index', 'caps.csv', '--index', './caps', '-q', '--threads', '0']));
  const [hit] = hits('./caps', 'citations');
  assert.deepEqual([hit?.docId, hit?.title, hit?.text, hit?.metadata], ['7', 'Citation indexing', 'indexing by citations', { Year: '1964' }]);
  // Two columns of one name in two cases: neither is guessed at.
  writeFileSync(join(dir, 'twice.csv'), 'id,Text,TEXT\n1,a,b\n');
  const r = runPlait(dir, ['index', 'twice.csv', '--index', './twice', '-q', '--threads', '0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no text column/);
});

test('a UTF-16 file (CSV, JSONL, a queries file) is TEXT_NOT_UTF8 naming UTF-16 and iconv, at every door that reads one', () => {
  writeFileSync(join(dir, 'u16.csv'), utf16le('id,title,text\n1,a,some text\n'));
  writeFileSync(join(dir, 'u16.jsonl'), utf16le('{"_id": "1", "text": "some text"}\n'));
  writeFileSync(join(dir, 'q16.tsv'), utf16le('q1\tsome text\n'));
  const runs: [string, string[]][] = [
    ['index csv', ['index', 'u16.csv', '--index', './u16', '-q']],
    ['index jsonl', ['index', 'u16.jsonl', '--index', './u16j', '-q']],
    ['add csv', ['add', './ok', 'u16.csv', '-q']],
    ['index --skip-invalid', ['index', 'u16.csv', '--index', './u16s', '-q', '--skip-invalid']],
    ['search --queries', ['search', './ok', '--queries', 'q16.tsv']],
  ];
  for (const [name, args] of runs) {
    const r = runPlait(dir, args);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /is UTF-16LE \(it starts with a UTF-16 byte-order mark.*iconv -f UTF-16 -t UTF-8 .*\[TEXT_NOT_UTF8\]/, name);
    assert.doesNotMatch(r.stderr, /add --skip-invalid/, name);
  }
});

test('faults no skipping passes (a CSV header, a stray quote) say so without the "add --skip-invalid" hint; a bad row keeps it', () => {
  const cases: [string, string, boolean][] = [
    ['nohead.csv', 'title,text\na,b\n', false],
    ['stray.csv', 'id,text\n1,"closed" then more\n', false],
    ['badrow.csv', 'id,text,year:number\n1,a,soon\n', true],
  ];
  for (const [name, body, hinted] of cases) {
    writeFileSync(join(dir, name), body);
    for (const args of [['index', name, '--index', `./x-${name}`, '-q', '--threads', '0'], ['add', './ok', name, '-q']]) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /MALFORMED_CSV/, name);
      assert.equal(/add --skip-invalid to skip/.test(r.stderr), hinted, `${args.join(' ')}: ${r.stderr}`);
    }
  }
});
