/**
 * The rough edges a newcomer met in the CLI (issue 27), driven as a user drives it: every command
 * takes -q; a flag that cannot apply is refused, not ignored; one error code for every refused
 * value; outputs under /proc fail in the first second instead of spinning; an eval whose run files
 * cannot be written still prints its results; an id with a tab or line break is refused at build with its
 * file and line; counts read "1 document"; --timings prints rounded milliseconds; the eval
 * report's three renderings carry the facts the terminal prints.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, type CliResult } from './helpers/cli.js';
import { SAMPLE } from './helpers/server-fixture.js';

let dir: string;
const plait = (...args: string[]): CliResult => runPlait(dir, args);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cli-consistency-'));
  const built = plait('index', SAMPLE, '--index', 'sample', '--threads', '1', '-q');
  assert.equal(built.code, 0, built.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function jsonError(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string } }).error;
}

test('-q is taken by add, delete and compact as by index; counts say "1 document"', () => {
  const one = join(dir, 'one.jsonl');
  writeFileSync(one, `${JSON.stringify({ _id: 'extra-doc', title: 'Extra', text: 'A single extra document about kites.' })}\n`);
  const add = plait('add', 'sample', one, '-q', '--threads', '0');
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^added 1 new document, replaced 0 documents \(generation \d+; 41 documents, \d+ passages searched\)/);
  const ids = join(dir, 'ids.txt');
  writeFileSync(ids, 'extra-doc\n');
  const del = plait('delete', 'sample', '--ids', ids, '-q');
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /^deleted 1 document \(generation/);
  const compact = plait('compact', 'sample', '--quiet');
  assert.equal(compact.code, 0, compact.stderr);
  assert.match(compact.stdout, /40 documents, \d+ passages/);
});

test('-k, --mode and --exhaustive with --pipeline are refused (they cannot apply), not ignored', () => {
  for (const flags of [['-k', '3'], ['--mode', 'bm25'], ['--exhaustive']]) {
    const r = plait('search', 'sample', 'bread', '--pipeline', 'bm25:20 > late:5', ...flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /cannot apply with --pipeline.*\[INVALID_ARGUMENT\]/);
    assert.ok(r.stderr.includes(flags[0]!), r.stderr);
  }
  // Without them the pipeline runs, its last stage's depth (5) bounding the results.
  const ok = plait('search', 'sample', 'why does bread dough rise with yeast', '--pipeline', 'bm25:20 > late:5');
  assert.equal(ok.code, 0, ok.stderr);
  const lines = ok.stdout.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 5, ok.stdout);
  assert.match(lines[0]!, /bread-yeast/);
});

test('--text and --timings with --queries are named in a warning, not silently dropped', () => {
  const queries = join(dir, 'q.jsonl');
  writeFileSync(queries, `${JSON.stringify({ _id: 'q1', text: 'bread yeast' })}\n`);
  const r = plait('search', 'sample', '--queries', queries, '--text', '--timings', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: --text and --timings do not apply with --queries/);
  assert.match(r.stdout, /^q1 Q0 \S+ 1 /m);
});

test('--json: a value outside the choices and a value our parsers refuse are both INVALID_ARGUMENT (exit 2)', () => {
  const choice = plait('search', 'sample', 'bread', '--mode', 'fast', '--json');
  const parsed = plait('search', 'sample', 'bread', '-k', '0', '--json');
  assert.equal(choice.code, 2);
  assert.equal(parsed.code, 2);
  assert.equal(jsonError(choice).code, 'INVALID_ARGUMENT');
  assert.equal(jsonError(parsed).code, 'INVALID_ARGUMENT');
  assert.match(jsonError(choice).message, /fast/);
  // The shape of the command line is still USAGE.
  assert.equal(jsonError(plait('search', 'sample', 'bread', '--no-such-flag', '--json')).code, 'USAGE');
});

test('--timings prints milliseconds with one decimal and the PLAID settings, not raw floats', () => {
  const r = plait('search', 'sample', 'bread and yeast', '--mode', 'late', '--timings');
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.trim().split('\n').pop()!;
  // The settings that ran, plait's query-level rules included (the probe floor, the margin, probed-token ranking).
  assert.match(line, /^timings: total \d+\.\d ms \(encode \d+\.\d ms, late \d+\.\d ms(, \w+ \d+\.\d ms)*\); PLAID ncells 1 per query token \(at least 32 per query\), threshold 0\.5 or within 0\.05 of a token's best, ndocs 256, candidates ranked by probed tokens where the query's estimate walk is at most 393,216 IVF entries \(defaults\); exact stage on the codes: fast-scan nibble tables \([\w-]+ lookups\), divided by the token's norm; before it: model load and warm-up \d+\.\d ms \(not in total\)$/);
  // Every figure has one decimal: no 2113.2792179999997.
  for (const m of line.matchAll(/([\d.]+) ms/g)) assert.match(m[1]!, /^\d+\.\d$/);
});

test('the exact stage that runs is named by --timings and plait info, PLAIT_EXACT_SCORING included', () => {
  const info = plait('info', 'sample');
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^exact stage  on the codes: fast-scan nibble tables \([\w-]+ lookups\), divided by the token's norm$/m);
  const saved = process.env.PLAIT_EXACT_SCORING;
  process.env.PLAIT_EXACT_SCORING = 'decompress';
  try {
    const r = plait('search', 'sample', 'bread and yeast', '--timings', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { timings: { exactStage: string } }).timings.exactStage, 'decompression, float MaxSim (PLAIT_EXACT_SCORING=decompress)');
    assert.match(plait('info', 'sample').stdout, /^exact stage  decompression, float MaxSim \(PLAIT_EXACT_SCORING=decompress\)$/m);
  } finally {
    if (saved === undefined) delete process.env.PLAIT_EXACT_SCORING;
    else process.env.PLAIT_EXACT_SCORING = saved;
  }
  // BM25 has no exact stage.
  assert.doesNotMatch(plait('search', 'sample', 'bread', '--mode', 'bm25', '--timings').stdout, /exact stage/);
});

test('plait add reports its encoding progress as plait index does (JSON lines on a pipe), and -q silences it', () => {
  cpSync(join(dir, 'indexes', 'sample'), join(dir, 'indexes', 'progress'), { recursive: true });
  // 600 one-passage documents: more than one progress step (512 passages), so the encoding reports.
  const docs = join(dir, 'progress.jsonl');
  writeFileSync(docs, Array.from({ length: 600 }, (_, i) => JSON.stringify({ _id: `p${i}`, text: `bread number ${i} with yeast` })).join('\n') + '\n');
  const r = plait('add', 'progress', docs);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { phase: string; done: number; total: number });
  assert.ok(lines.some((l) => l.phase === 'encode' && l.done === 512 && l.total === 600), r.stderr);
  assert.match(r.stdout, /^added 600 new documents, replaced 0 documents/);
  // Edited, so that they are encoded again (an unchanged document is not: nothing would report progress to silence).
  writeFileSync(docs, Array.from({ length: 600 }, (_, i) => JSON.stringify({ _id: `p${i}`, text: `bread number ${i} with rye` })).join('\n') + '\n');
  const quiet = plait('add', 'progress', docs, '-q');
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
  assert.match(quiet.stdout, /^added 0 new documents, replaced 600 documents/);
});

test('outputs under /proc fail at once with NOT_WRITABLE, before any work', () => {
  const started = Date.now();
  const cases: string[][] = [
    ['search', 'sample', '--queries', SAMPLE, '--run', '/proc/x/run.trec'],
    ['search', 'sample', '--queries', SAMPLE, '--run', '/proc/run.trec'],
    ['index', SAMPLE, '--index', '/proc/x/idx'],
  ];
  for (const args of cases) {
    const r = plait(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /\[NOT_WRITABLE\]/);
  }
  assert.ok(Date.now() - started < 30_000, 'no spinning');
});

/** A BEIR folder of the sample corpus with three judged queries. */
function tinyBeir(): string {
  const beir = join(dir, 'beir');
  mkdirSync(join(beir, 'qrels'), { recursive: true });
  writeFileSync(join(beir, 'corpus.jsonl'), readFileSync(SAMPLE));
  const queries = [['q1', 'why does bread dough rise', 'bread-yeast'], ['q2', 'how is tea oxidised', 'tea-oxidation'], ['q3', 'roasting coffee beans', 'coffee-roasting']];
  writeFileSync(join(beir, 'queries.jsonl'), queries.map(([id, text]) => JSON.stringify({ _id: id, text })).join('\n'));
  writeFileSync(join(beir, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${queries.map(([id, , doc]) => `${id}\t${doc}\t1`).join('\n')}\n`);
  return beir;
}

test('plait eval: the report carries PLAID fidelity, the encoding exclusion and what each mode is; a run file that cannot be written still leaves the results printed', () => {
  const beir = tinyBeir();
  const report = join(dir, 'out', 'report.html');
  const runDir = join(dir, 'runs');
  mkdirSync(join(runDir, 'plaid.trec'), { recursive: true }); // a folder where a run file must go: fails only at the end
  const r = plait('eval', beir, '--index', join(dir, 'indexes', 'beir'), '--modes', 'exhaustive,plaid,bm25', '--report', report, '--run-dir', runDir, '-q');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\[NOT_WRITABLE\]/);
  assert.match(r.stderr, /results were printed above/);
  assert.match(r.stdout, /nDCG@10/, 'the table was printed before the failure');
  assert.match(r.stdout, /plaid finds \d+\.\d% of the exhaustive top-10/);
  assert.match(r.stdout, /Latencies exclude query encoding/);
  // The report was written (before the run files); its three renderings say the same facts.
  const html = readFileSync(report, 'utf8');
  const text = readFileSync(join(dir, 'out', 'report.txt'), 'utf8');
  const json = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { meta: { fidelityTop10: Record<string, number>; encodeMsPerQuery: number; modeDescriptions: Record<string, string> } };
  for (const doc of [html, text]) {
    assert.match(doc, /plaid finds \d+\.\d% of the exhaustive top-10/);
    assert.match(doc, /Latencies exclude query encoding \(\d+\.\d ms\/query/);
    assert.match(doc, /bm25: BM25 keyword ranking/);
    assert.match(doc, /exhaustive: late interaction, exact MaxSim/);
  }
  assert.ok(json.meta.fidelityTop10.plaid! >= 0 && json.meta.fidelityTop10.plaid! <= 1);
  assert.ok(json.meta.encodeMsPerQuery > 0);
  assert.deepEqual(Object.keys(json.meta.modeDescriptions).sort(), ['bm25', 'exhaustive', 'plaid']);
  assert.match(text, /† significantly better, ‡ significantly worse/);
});

test('an id with a tab is refused at build with its file and line (INVALID_ID); --skip-invalid counts it; a note named with spaces is indexed', () => {
  const notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'plain.txt'), 'Kites fly on the wind.');
  writeFileSync(join(notes, 'my notes.txt'), 'Notes about gliders and lift.');
  const r = plait('index', notes, '--index', 'notes', '--threads', '0', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /indexed 2 documents/);
  const jsonl = join(dir, 'ids.jsonl');
  writeFileSync(jsonl, `${JSON.stringify({ _id: 'ok', text: 'fine' })}\n${JSON.stringify({ _id: 'tab\there', text: 'bad id' })}\n`);
  const j = plait('index', jsonl, '--index', 'ids', '--threads', '0', '-q');
  assert.equal(j.code, 2, j.stderr);
  assert.match(j.stderr, /document id "tab\\there" in .*ids\.jsonl at line 2 holds a tab.*\[INVALID_ID\]/);
  assert.match(j.stderr, /--skip-invalid/);
  assert.ok(!existsSync(join(dir, 'indexes', 'ids', 'manifest.json')));
  const skipped = plait('index', jsonl, '--index', 'ids', '--threads', '0', '-q', '--skip-invalid');
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stdout, /indexed 1 document .*skipped 1 invalid \(1 INVALID_ID\)/);
});
