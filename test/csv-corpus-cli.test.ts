/**
 * A CSV corpus through the real CLI (trial 11: cranfield as a CSV file). Before, `plait index
 * docs.csv` was INVALID_INPUT "cannot tell the format … pass a format", `--format csv` was refused by
 * the option parser, and `--format tsv` read each row as one column (MALFORMED_TSV on every row).
 * Now: RFC 4180 quoting (commas, doubled quotes and line breaks inside quotes), CRLF, a BOM, gzip; the
 * header names the id, title and text columns, every other column is metadata, typed by its header
 * (`year:number`), so that a filter with a number matches; each fault a MALFORMED_CSV (or the id
 * rule's INVALID_ID) with file and line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bm25Hits, runPlait, succeeded as ok, type CliResult, type TextHit } from './helpers/cli.js';

let dir: string;

/** BOM, CRLF, a title holding a comma, a text holding doubled quotes and a line break, typed columns. */
const CSV =
  '\ufeffid,title,text,year:number,peer_reviewed:boolean,venue,volume\r\n' +
  '1,"Lift, drag and wings","the ""lifting line"" theory of wings\r\nfor slender aircraft",1962,true,jfm,12\r\n' +
  '2,Boundary layers,flow separation on heated plates,1971,false,,13\r\n' +
  '3,Shock waves,"shock waves, boundary layers and heated cones",1975,true,aiaa,14\r\n';



function errorOf(r: CliResult): { code: string; message: string; details: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
}

function search(index: string, query: string, extra: string[] = []): TextHit[] {
  return bm25Hits(dir, index, query, extra);
}

function build(file: string, index: string, extra: string[] = []): CliResult {
  return runPlait(dir, ['index', file, '--index', index, '-q', '--threads', '0', ...extra]);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-csv-'));
  writeFileSync(join(dir, 'papers.csv'), CSV);
  writeFileSync(join(dir, 'papers.csv.gz'), gzipSync(Buffer.from(CSV)));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plait index of a CSV file: quotes, doubled quotes, a line break in a field, CRLF, a BOM; typed columns filter as numbers and booleans', () => {
  const r = ok(build('papers.csv', './csv-idx'));
  // "volume" is untyped and holds numbers: stored as text, and the build says so (with the typed header that fixes it).
  assert.match(r.stderr, /warning: .*column "volume" is stored as text.*"volume:number"/);
  assert.doesNotMatch(r.stderr, /column "venue"/);
  const hits = search('./csv-idx', 'wings lifting');
  assert.equal(hits[0]?.docId, '1');
  assert.equal(hits[0]?.title, 'Lift, drag and wings');
  assert.equal(hits[0]?.text, 'the "lifting line" theory of wings\nfor slender aircraft');
  assert.deepEqual(hits[0]?.metadata, { year: 1962, peer_reviewed: true, venue: 'jfm', volume: '12' });
  // An empty cell is no value; the id column "id" is not metadata.
  assert.deepEqual(search('./csv-idx', 'separation plates')[0]?.metadata, { year: 1971, peer_reviewed: false, volume: '13' });
  const any = 'wings boundary shock';
  assert.deepEqual(search('./csv-idx', any, ['--filter', '{"year": 1962}']).map((h) => h.docId), ['1']);
  assert.deepEqual(search('./csv-idx', any, ['--filter', '{"year": {"$gte": 1970}}']).map((h) => h.docId).sort(), ['2', '3']);
  assert.deepEqual(search('./csv-idx', any, ['--filter', '{"peer_reviewed": true}']).map((h) => h.docId).sort(), ['1', '3']);
  assert.deepEqual(search('./csv-idx', any, ['--filter', '{"volume": "13"}']).map((h) => h.docId), ['2']);
});

test('a list column (tags:string[]): a JSON array or a|b|c cell is stored as an array, so $in, $all and $size take it as a list (it had been the text "a|b")', () => {
  writeFileSync(join(dir, 'tags.csv'), 'id,text,tags:string[]\n1,lift on wings,"[""aero"",""wings""]"\n2,heat on plates,heat| plates |aero\n3,drag on cones,[]\n4,shock waves,\n5,boundary layer,"[""a|b""]"\n');
  ok(build('tags.csv', './tags-idx'));
  const any = 'wings plates cones shock boundary';
  const ids = (filter: unknown): string[] => search('./tags-idx', any, ['--filter', JSON.stringify(filter)]).map((h) => h.docId).sort();
  assert.deepEqual(search('./tags-idx', 'heat plates')[0]?.metadata, { tags: ['heat', 'plates', 'aero'] });
  assert.deepEqual(ids({ tags: 'aero' }), ['1', '2']);
  assert.deepEqual(ids({ tags: { $in: ['wings', 'heat'] } }), ['1', '2']);
  assert.deepEqual(ids({ tags: { $all: ['aero', 'plates'] } }), ['2']);
  assert.deepEqual(ids({ tags: { $size: 0 } }), ['3']);
  assert.deepEqual(ids({ tags: { $exists: false } }), ['4']);
  assert.deepEqual(ids({ tags: 'a|b' }), ['5'], 'a JSON array item may hold a |');
});

test('a gzip\'d CSV (.csv.gz) and --format csv on a file of another name read the same documents', () => {
  ok(build('papers.csv.gz', './gz-idx'));
  assert.deepEqual(search('./gz-idx', 'wings lifting', ['--filter', '{"year": 1962}']).map((h) => [h.docId, h.text]), [['1', 'the "lifting line" theory of wings\nfor slender aircraft']]);
  writeFileSync(join(dir, 'export.dat'), CSV);
  ok(build('export.dat', './dat-idx', ['--format', 'csv']));
  assert.deepEqual(search('./dat-idx', 'heated cones', ['--filter', '{"year": {"$gt": 1972}}']).map((h) => h.docId), ['3']);
});

test('plait add of a CSV: upserts rows, --dry-run counts, --sync deletes the rows no longer there', () => {
  ok(build('papers.csv', './add-idx'));
  writeFileSync(join(dir, 'update.csv'), 'id,title,text,year:number\n2,Boundary layers,flow separation on cooled plates,1972\n4,"Heat, transfer","heat transfer to ""blunt"" bodies",1980\n');
  const dry = ok(runPlait(dir, ['add', './add-idx', 'update.csv', '--dry-run', '--sync', '--json']));
  const plan = JSON.parse(dry.stdout) as { added: number; replaced: number; deleted: number; dryRun: boolean };
  assert.deepEqual([plan.added, plan.replaced, plan.deleted, plan.dryRun], [1, 1, 2, true]);
  ok(runPlait(dir, ['add', './add-idx', 'update.csv', '-q', '--threads', '0']));
  assert.deepEqual(search('./add-idx', 'blunt bodies', ['--filter', '{"year": {"$gte": 1980}}']).map((h) => [h.docId, h.title]), [['4', 'Heat, transfer']]);
  const synced = ok(runPlait(dir, ['add', './add-idx', 'update.csv', '--sync', '--threads', '0', '--json']));
  assert.equal((JSON.parse(synced.stdout) as { deleted: number }).deleted, 2);
  assert.deepEqual(search('./add-idx', 'wings boundary shock blunt').map((h) => h.docId).sort(), ['2', '4']);
});

test('CSV faults: exit 2 with MALFORMED_CSV (or the id rule\'s INVALID_ID) naming file and the line the row starts on', () => {
  const cases: [string, string, string, number, RegExp][] = [
    // A row of the wrong width, after a row with a line break inside quotes (so the line is the file's, not the row's count).
    ['width.csv', 'id,title,text\n1,a,"two\nlines"\n2,b,c,extra\n', 'MALFORMED_CSV', 4, /expected 3 fields .* but found 4/],
    ['unclosed.csv', 'id,title,text\n1,a,b\n2,"never closed,c\n3,d,e\n', 'MALFORMED_CSV', 3, /never closed/],
    ['stray.csv', 'id,title,text\n1,a,b\n2,"closed" then text,c\n', 'MALFORMED_CSV', 3, /quote/],
    ['noheader.csv', '1,Lift,wings and lift\n2,Drag,drag on bodies\n', 'MALFORMED_CSV', 1, /no id column.*"1", "Lift", "wings and lift"/],
    ['notext.csv', 'id,title,body\n1,a,b\n', 'MALFORMED_CSV', 1, /no text column.*--text-field/],
    ['badnumber.csv', 'id,text,year:number\n1,a,1962\n2,b,circa 1970\n', 'MALFORMED_CSV', 3, /column "year" \(number\).*"circa 1970"/],
    ['badtype.csv', 'id,text,year:int\n1,a,1962\n', 'MALFORMED_CSV', 1, /"year:int".*:number/],
    ['badlisttype.csv', 'id,text,tags:number[]\n1,a,[1]\n', 'MALFORMED_CSV', 1, /"tags:number\[\]".*:string\[\]/],
    ['badlistjson.csv', 'id,text,tags:string[]\n1,a,x|y\n2,b,"[""x"", 2]"\n', 'MALFORMED_CSV', 3, /column "tags" \(string\[\]\): item 2 of .* is 2, not a string/],
    ['badlistsyntax.csv', 'id,text,tags:string[]\n1,a,"[""x"""\n', 'MALFORMED_CSV', 2, /column "tags" \(string\[\]\): .* starts with \[ but is not a JSON array/],
    ['badlistempty.csv', 'id,text,tags:string[]\n1,a,x||y\n', 'MALFORMED_CSV', 2, /column "tags" \(string\[\]\): item 2 of "x\|\|y" is empty/],
    ['badid.csv', 'id,text\n1,a\n 2,b\n', 'INVALID_ID', 3, /begins or ends with white space/],
    ['dupid.csv', 'id,text\n1,a\n1,b\n', 'DUPLICATE_ID', 3, /Duplicate id "1"/],
  ];
  for (const [name, body, code, line, message] of cases) {
    writeFileSync(join(dir, name), body);
    const r = runPlait(dir, ['index', name, '--index', `./bad-${name}`, '-q', '--threads', '0', '--json']);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    const err = errorOf(r);
    assert.equal(err.code, code, name);
    assert.equal(err.details['file'], name, name);
    assert.equal(err.details['line'], line, name);
    assert.match(err.message, message, name);
    if (name.startsWith('badlist') && name !== 'badlisttype.csv') assert.equal(err.details['column'], 'tags', `${name}: the column named in details`);
  }
});

test('--skip-invalid skips a CSV row of the wrong width or a bad typed cell and counts it as MALFORMED_CSV', () => {
  writeFileSync(join(dir, 'skip.csv'), 'id,text,year:number\n1,wings,1962\n2,drag,1970,extra\n3,heat,soon\n4,cones,1975\n');
  const r = ok(build('skip.csv', './skip-idx', ['--skip-invalid']));
  assert.match(r.stderr, /skipped 2 invalid documents \(2 MALFORMED_CSV\)/);
  assert.deepEqual(search('./skip-idx', 'wings drag heat cones').map((h) => h.docId).sort(), ['1', '4']);
});

test('an input of unknown format: the error lists the formats plait reads and --format\'s values', () => {
  writeFileSync(join(dir, 'notes.xyz'), 'just some words\nand more words\n');
  const r = runPlait(dir, ['index', 'notes.xyz', '--index', './xyz-idx', '-q', '--json']);
  assert.equal(r.code, 2, r.stderr);
  const err = errorOf(r);
  assert.equal(err.code, 'INVALID_INPUT');
  assert.match(err.message, /JSONL .*TSV .*CSV with a header row \(\.csv\).*\.txt\/\.md/);
  assert.match(err.message, /--format beir\|jsonl\|tsv\|csv\|folder/);
});

test('--format csv is a value of index, add and cluster add', () => {
  for (const command of [['index'], ['add'], ['cluster', 'add']]) {
    const help = runPlait(dir, [...command, '--help']).stdout.replace(/\s+/g, ' ');
    assert.match(help, /--format <format> .*\(choices: "beir", "jsonl", "tsv", "csv", "folder"\)/, command.join(' '));
  }
  // cluster add reads the file before it publishes (a NATS server is never reached for a refused input).
  writeFileSync(join(dir, 'cluster.csv'), 'id,title,text\n1,a,"never closed\n');
  const r = runPlait(dir, ['cluster', 'add', 'nowhere', 'cluster.csv', '--format', 'csv', '--nats', 'nats://127.0.0.1:9', '--json']);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stderr, /argument 'csv' is invalid/);
});

test('a CSV index built with --id-field/--text-field reads a later plait add of CSV by the same column names', () => {
  writeFileSync(join(dir, 'own.csv'), 'doc,heading,body\nd1,Wings,lift on wings\n');
  ok(build('own.csv', './own-idx', ['--id-field', 'doc', '--text-field', 'body', '--title-field', 'heading']));
  writeFileSync(join(dir, 'own-more.csv'), 'doc,heading,body\nd2,Cones,drag on cones\n');
  ok(runPlait(dir, ['add', './own-idx', 'own-more.csv', '-q', '--threads', '0']));
  assert.deepEqual(search('./own-idx', 'cones').map((h) => [h.docId, h.title, h.text]), [['d2', 'Cones', 'drag on cones']]);
});
