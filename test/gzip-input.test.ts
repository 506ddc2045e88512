/**
 * gzip'd inputs read as the plain files, through the real CLI: a BEIR folder as the Hugging Face hub
 * keeps it (corpus.jsonl.gz, queries.jsonl.gz, qrels/test.tsv.gz), `plait index x.jsonl.gz`,
 * `plait add`, `plait search --queries q.jsonl.gz`, `plait delete --ids ids.txt.gz`,
 * `plait rerank --docs d.jsonl.gz` give the same hits and figures as the plain files; a truncated or
 * corrupt gzip is CORRUPT_INPUT naming the file (no index left behind), a zip or bzip2 file is
 * COMPRESSED_INPUT naming its compression, and line numbers count the decompressed lines.
 *
 * Before: every one of these was refused with COMPRESSED_INPUT and a `gunzip -k` hint, and a zip
 * (BEIR's own download) was "cannot tell the format" or "Index not found".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, type CliResult } from './helpers/cli.js';

let dir: string;
let plain: string;
let gz: string;

const WORDS = 'bread yeast flour oven crust dough rye wheat salt water sugar butter milk egg knead proof bake loaf slice toast library catalogue book shelf index query search rank score model vector token'.split(' ');

/** A deterministic word stream (a linear congruential generator), so the corpus is the same on every run. */
function words(seed: number, n: number): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(WORDS[x % WORDS.length]!);
  }
  return out.join(' ');
}

const docs = Array.from({ length: 40 }, (_, i) => ({ _id: `d${i}`, title: words(1000 + i, 2), text: words(i + 1, 30) }));
const queries = Array.from({ length: 8 }, (_, i) => ({ _id: `q${i}`, text: words(500 + i, 3) }));
const corpusText = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
const queriesText = queries.map((q) => JSON.stringify(q)).join('\n') + '\n';
const qrelsText = 'query-id\tcorpus-id\tscore\n' + queries.flatMap((q, i) => [`${q._id}\td${(i * 5) % 40}\t1`, `${q._id}\td${(i * 7 + 3) % 40}\t2`]).join('\n') + '\n';

function errorOf(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
}

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** `search --queries` hits as docId lists per query (scores compared to 1e-9). */
function hits(stdout: string): Record<string, { docId: string; score: number }[]> {
  return JSON.parse(stdout) as Record<string, { docId: string; score: number }[]>;
}

function assertSameHits(a: string, b: string, what: string): void {
  const x = hits(a);
  const y = hits(b);
  assert.deepEqual(Object.keys(y), Object.keys(x), what);
  for (const q of Object.keys(x)) {
    assert.deepEqual(y[q]!.map((h) => h.docId), x[q]!.map((h) => h.docId), `${what}: ${q}`);
    x[q]!.forEach((h, i) => assert.ok(Math.abs(h.score - y[q]![i]!.score) < 1e-9, `${what}: ${q} rank ${i + 1}`));
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-gzip-input-'));
  plain = join(dir, 'plain');
  gz = join(dir, 'gz');
  for (const root of [plain, gz]) mkdirSync(join(root, 'qrels'), { recursive: true });
  writeFileSync(join(plain, 'corpus.jsonl'), corpusText);
  writeFileSync(join(plain, 'queries.jsonl'), queriesText);
  writeFileSync(join(plain, 'qrels', 'test.tsv'), qrelsText);
  writeFileSync(join(gz, 'corpus.jsonl.gz'), gzipSync(corpusText));
  writeFileSync(join(gz, 'queries.jsonl.gz'), gzipSync(queriesText));
  writeFileSync(join(gz, 'qrels', 'test.tsv.gz'), gzipSync(qrelsText));
  ok(runPlait(dir, ['index', join(plain, 'corpus.jsonl'), '--index', join(dir, 'idx-plain'), '-q', '--threads', '0']), 'plain index');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plait index x.jsonl.gz and search --queries q.jsonl.gz give the hits of the plain files', () => {
  const built = JSON.parse(ok(runPlait(dir, ['index', join(gz, 'corpus.jsonl.gz'), '--index', join(dir, 'idx-gz'), '--json', '--threads', '0']), 'gz index')) as { counts?: { documents?: number } };
  assert.equal(built.counts?.documents, docs.length, JSON.stringify(built));
  const want = ok(runPlait(dir, ['search', join(dir, 'idx-plain'), '--queries', join(plain, 'queries.jsonl'), '--json']), 'plain search');
  assertSameHits(want, ok(runPlait(dir, ['search', join(dir, 'idx-gz'), '--queries', join(gz, 'queries.jsonl.gz'), '--json']), 'gz search'), 'gz index, gz queries');
  // A gzip'd file without .gz in its name is told by its magic bytes.
  writeFileSync(join(dir, 'queries-no-ext.jsonl'), gzipSync(queriesText));
  assertSameHits(want, ok(runPlait(dir, ['search', join(dir, 'idx-plain'), '--queries', join(dir, 'queries-no-ext.jsonl'), '--json']), 'magic search'), 'gzip named .jsonl');
  // MS MARCO's shape: a TSV corpus gzip'd, its format told by the name under the .gz.
  writeFileSync(join(dir, 'collection.tsv.gz'), gzipSync(docs.map((d) => `${d._id}\t${d.text}\t${d.title}`).join('\n') + '\n'));
  const tsv = JSON.parse(ok(runPlait(dir, ['index', join(dir, 'collection.tsv.gz'), '--index', join(dir, 'idx-tsv'), '--json', '--threads', '0']), 'tsv.gz index')) as { counts?: { documents?: number } };
  assert.equal(tsv.counts?.documents, docs.length);
});

test('plait add from a .jsonl.gz adds what the plain file adds', () => {
  const head = docs.slice(0, 25).map((d) => JSON.stringify(d)).join('\n') + '\n';
  const tail = docs.slice(25).map((d) => JSON.stringify(d)).join('\n') + '\n';
  writeFileSync(join(dir, 'head.jsonl'), head);
  writeFileSync(join(dir, 'tail.jsonl'), tail);
  writeFileSync(join(dir, 'tail.jsonl.gz'), gzipSync(tail));
  for (const name of ['add-plain', 'add-gz']) ok(runPlait(dir, ['index', join(dir, 'head.jsonl'), '--index', join(dir, name), '-q', '--threads', '0']), name);
  ok(runPlait(dir, ['add', join(dir, 'add-plain'), join(dir, 'tail.jsonl'), '-q']), 'add plain');
  const added = ok(runPlait(dir, ['add', join(dir, 'add-gz'), join(dir, 'tail.jsonl.gz'), '--json']), 'add gz');
  assert.match(added, /"added":\s*15\b/, added);
  const want = ok(runPlait(dir, ['search', join(dir, 'add-plain'), '--queries', join(plain, 'queries.jsonl'), '--json']), 'search add-plain');
  assertSameHits(want, ok(runPlait(dir, ['search', join(dir, 'add-gz'), '--queries', join(plain, 'queries.jsonl'), '--json']), 'search add-gz'), 'added from .gz');
});

test('plait index --shards from a .jsonl.gz (read to count, to sample, to build) spreads the plain file\'s documents', () => {
  const shards = (input: string, name: string): { documents: number }[] =>
    (JSON.parse(ok(runPlait(dir, ['index', input, '--index', join(dir, name), '--shards', '2', '--json', '--threads', '0']), name)) as { cluster: { shardInfo: { documents: number }[] } }).cluster.shardInfo.map((x) => ({ documents: x.documents }));
  const want = shards(join(plain, 'corpus.jsonl'), 'sh-plain');
  assert.equal(want.reduce((a, x) => a + x.documents, 0), docs.length);
  assert.deepEqual(shards(join(gz, 'corpus.jsonl.gz'), 'sh-gz'), want);
});

test('plait eval of a BEIR folder of .gz files (built, then reused after the corpus check) gives the plain folder\'s figures', () => {
  const figures = (folder: string, index: string): string => {
    const out = JSON.parse(ok(runPlait(dir, ['eval', folder, '--index', index, '--modes', 'bm25,plaid', '--json', '-q']), `eval ${folder} ${index}`)) as { queries: number; modes: { name: string; mean: Record<string, number> }[] };
    return JSON.stringify({ queries: out.queries, modes: out.modes.map((m) => [m.name, m.mean]) });
  };
  const want = figures(plain, join(dir, 'eval-plain'));
  assert.equal(figures(gz, join(dir, 'eval-gz')), want, 'built from corpus.jsonl.gz');
  // Reused: the corpus check reads the first documents of corpus.jsonl.gz and finds them stored.
  assert.equal(figures(gz, join(dir, 'eval-plain')), want, 'reused, checked against corpus.jsonl.gz');
  assert.ok(existsSync(join(dir, 'eval-gz')));
});

test('delete --ids ids.txt.gz and rerank --docs d.jsonl.gz read as the plain files', () => {
  ok(runPlait(dir, ['index', join(plain, 'corpus.jsonl'), '--index', join(dir, 'del'), '-q', '--threads', '0']), 'del index');
  writeFileSync(join(dir, 'ids.txt.gz'), gzipSync('d0\nd1\n\nd2\n'));
  const deleted = ok(runPlait(dir, ['delete', join(dir, 'del'), '--ids', join(dir, 'ids.txt.gz'), '--json']), 'delete');
  assert.match(deleted, /"deleted":\s*3\b/, deleted);
  const shortlist = docs.slice(0, 5).map((d) => JSON.stringify(d)).join('\n') + '\n';
  writeFileSync(join(dir, 'shortlist.jsonl'), shortlist);
  writeFileSync(join(dir, 'shortlist.jsonl.gz'), gzipSync(shortlist));
  const rerank = (file: string): string => ok(runPlait(dir, ['rerank', '--query', 'bread yeast', '--docs', file, '--json']), `rerank ${file}`);
  assert.equal(rerank(join(dir, 'shortlist.jsonl.gz')), rerank(join(dir, 'shortlist.jsonl')));
});

test('a truncated or corrupt .gz is CORRUPT_INPUT naming the file at every door, and no index is left behind', () => {
  const whole = gzipSync(corpusText);
  writeFileSync(join(dir, 'truncated.jsonl.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
  const badCrc = Buffer.from(whole);
  badCrc[badCrc.length - 6]! ^= 0xff; // the CRC-32 in the trailer
  writeFileSync(join(dir, 'badcrc.jsonl.gz'), badCrc);
  for (const name of ['truncated.jsonl.gz', 'badcrc.jsonl.gz']) {
    const file = join(dir, name);
    const index = join(dir, `idx-${name}`);
    let r = runPlait(dir, ['index', file, '--index', index, '--json', '--threads', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(errorOf(r).code, 'CORRUPT_INPUT', r.stderr);
    assert.equal(errorOf(r).details?.['file'], file);
    assert.ok(!existsSync(join(index, 'manifest.json')), `${name}: no index from a partial corpus`);
    r = runPlait(dir, ['add', join(dir, 'idx-plain'), file, '--json']);
    assert.equal(errorOf(r).code, 'CORRUPT_INPUT', r.stderr);
    r = runPlait(dir, ['search', join(dir, 'idx-plain'), '--queries', file, '--json']);
    assert.equal(errorOf(r).code, 'CORRUPT_INPUT', r.stderr);
    assert.equal(errorOf(r).details?.['file'], file);
  }
  // A BEIR folder whose qrels are cut short.
  const cut = join(dir, 'cut');
  mkdirSync(join(cut, 'qrels'), { recursive: true });
  writeFileSync(join(cut, 'corpus.jsonl.gz'), gzipSync(corpusText));
  writeFileSync(join(cut, 'queries.jsonl.gz'), gzipSync(queriesText));
  const qrelsGz = gzipSync(qrelsText);
  writeFileSync(join(cut, 'qrels', 'test.tsv.gz'), qrelsGz.subarray(0, qrelsGz.length - 4));
  const r = runPlait(dir, ['eval', cut, '--index', join(dir, 'idx-plain'), '--modes', 'bm25', '--json']);
  assert.equal(errorOf(r).code, 'CORRUPT_INPUT', r.stderr);
  assert.equal(errorOf(r).details?.['file'], join(cut, 'qrels', 'test.tsv.gz'));
});

test('line numbers in a gzip\'d file\'s errors count its decompressed lines', () => {
  const lines = corpusText.split('\n');
  lines.splice(6, 0, '{"_id": "broken", "text": ');
  writeFileSync(join(dir, 'malformed.jsonl.gz'), gzipSync(lines.join('\n')));
  const r = runPlait(dir, ['index', join(dir, 'malformed.jsonl.gz'), '--index', join(dir, 'idx-malformed'), '--json', '--threads', '0']);
  assert.equal(errorOf(r).code, 'MALFORMED_JSONL', r.stderr);
  assert.equal(errorOf(r).details?.['line'], 7);
  const latin = Buffer.concat([Buffer.from(queriesText), Buffer.from('{"_id": "x", "text": "caf\xe9"}\n', 'latin1')]);
  writeFileSync(join(dir, 'latin1.jsonl.gz'), gzipSync(latin));
  const s = runPlait(dir, ['search', join(dir, 'idx-plain'), '--queries', join(dir, 'latin1.jsonl.gz'), '--json']);
  assert.equal(errorOf(s).code, 'TEXT_NOT_UTF8', s.stderr);
  assert.equal(errorOf(s).details?.['line'], queries.length + 1);
});

test('zip and bzip2 files are COMPRESSED_INPUT naming their compression and the command that opens them', () => {
  // A zip's local file header and a bzip2 stream header: told by their magic bytes, whatever the name.
  writeFileSync(join(dir, 'scifact.zip'), Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]));
  writeFileSync(join(dir, 'corpus.jsonl.bz2'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(40)]));
  let r = runPlait(dir, ['index', join(dir, 'scifact.zip'), '--index', join(dir, 'idx-zip'), '--json']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(errorOf(r).code, 'COMPRESSED_INPUT');
  assert.equal(errorOf(r).details?.['compression'], 'zip');
  assert.match(errorOf(r).message, /zip archive.*unzip /);
  r = runPlait(dir, ['eval', join(dir, 'scifact.zip'), '--modes', 'bm25', '--json']);
  assert.equal(errorOf(r).code, 'COMPRESSED_INPUT', r.stderr);
  assert.equal(errorOf(r).details?.['compression'], 'zip');
  r = runPlait(dir, ['index', join(dir, 'corpus.jsonl.bz2'), '--index', join(dir, 'idx-bz2'), '--json']);
  assert.equal(errorOf(r).code, 'COMPRESSED_INPUT', r.stderr);
  assert.equal(errorOf(r).details?.['compression'], 'bzip2');
  assert.match(errorOf(r).message, /bunzip2 -k/);
  // A BEIR folder holding only a bzip2'd corpus beside its queries.
  const bz = join(dir, 'bzfolder');
  mkdirSync(join(bz, 'qrels'), { recursive: true });
  writeFileSync(join(bz, 'corpus.jsonl.bz2'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(40)]));
  writeFileSync(join(bz, 'queries.jsonl'), queriesText);
  writeFileSync(join(bz, 'qrels', 'test.tsv'), qrelsText);
  r = runPlait(dir, ['eval', bz, '--modes', 'bm25', '--json']);
  assert.equal(errorOf(r).code, 'COMPRESSED_INPUT', r.stderr);
  assert.equal(errorOf(r).details?.['file'], join(bz, 'corpus.jsonl.bz2'));
});
