/**
 * Judgments and queries written by hand or exported from a spreadsheet: a qrels file as CSV, a
 * queries file with a space after the id, a qrels list without grades, a run file as CSV. Each had
 * been refused with the count of fields alone ("expected 3 fields (query-id corpus-id score) but
 * found 1"), which does not say that the commas are the fault nor what to do. Now the error names
 * the separator it found and gives the command that converts the file; these tests run that
 * command and read the file it writes, so a hint that does not work fails here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readQrels, readQueries, readRun } from '../src/eval/index.js';
import { runPlait } from './helpers/cli.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-eval-separators-'));
  await writeFile(join(dir, 'corpus.jsonl'), '{"_id": "d1", "title": "", "text": "zebras migrate"}\n{"_id": "d2", "title": "", "text": "penguins huddle"}\n');
  await writeFile(join(dir, 'queries.jsonl'), '{"_id": "q1", "text": "zebra"}\n{"_id": "q2", "text": "penguin"}\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The command an INVALID_INPUT message says converts the file (after "convert it: "), run by sh in `dir`. */
function runConvert(message: string): void {
  const command = /convert it: (.*)$/.exec(message)?.[1];
  assert.ok(command !== undefined, `no command in: ${message}`);
  execFileSync('sh', ['-c', command], { cwd: dir });
}

async function invalidInput(read: () => Promise<unknown>): Promise<string> {
  let message = '';
  await assert.rejects(read, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'INVALID_INPUT');
    message = e.message;
    return true;
  });
  return message;
}

test('plait eval: a qrels CSV export is refused naming its commas and the tr command that converts it, before any build; the converted file reads', async () => {
  const csv = join(dir, 'qrels.csv');
  await writeFile(csv, 'query_id,doc_id,relevance\nq1,d1,1\nq2,d2,1\n');
  const r = runPlait(dir, ['eval', dir, '--qrels', csv, '--index', join(dir, 'never-built'), '-q']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /qrels\.csv:1: expected 3 fields \(query-id corpus-id score\) but found 1; its fields are separated by ',' \(a CSV file\?\)/);
  assert.match(r.stderr, /\[INVALID_INPUT\]/);
  assert.ok(!existsSync(join(dir, 'never-built')), 'nothing was built');
  runConvert(r.stderr.split('\n')[0]!.replace(/ \[INVALID_INPUT\]$/, ''));
  const qrels = await readQrels(`${csv}.tsv`);
  assert.deepEqual([...qrels.entries()].map(([q, d]) => [q, [...d.entries()]]), [['q1', [['d1', 1]]], ['q2', [['d2', 1]]]]);
});

test('a qrels line without its grade says to add one; a semicolon export names the semicolons', async () => {
  const bare = join(dir, 'relevant.txt');
  await writeFile(bare, 'q1 d1\nq2 d2\n');
  assert.match(await invalidInput(() => readQrels(bare)), /found 2; a line needs a relevance grade after the document id \(1 for relevant/);
  const semi = join(dir, 'qrels-semi.csv');
  await writeFile(semi, 'q1;d1;1\nq2;d2;1\n');
  const message = await invalidInput(() => readQrels(semi));
  assert.match(message, /separated by ';'/);
  runConvert(message);
  assert.equal((await readQrels(`${semi}.tsv`)).get('q2')?.get('d2'), 1);
});

test('plait eval: a queries file with a space after each id says to put a tab there, and the sed it gives keeps the query text whole', async () => {
  const spaced = join(dir, 'queries-spaced.tsv');
  await writeFile(spaced, 'q1 zebra migration in spring\nq2 penguins, huddled\n');
  const qrels = join(dir, 'qrels.tsv');
  await writeFile(qrels, 'q1\td1\t1\nq2\td2\t1\n');
  const r = runPlait(dir, ['eval', dir, '--queries', spaced, '--qrels', qrels, '--index', join(dir, 'never-built'), '-q']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /queries-spaced\.tsv:1: expected "qid<TAB>text"; this line has no tab between the query id and its text/);
  const command = /\((sed [^)]*) turns/.exec(r.stderr)?.[1];
  assert.ok(command !== undefined, r.stderr);
  execFileSync('sh', ['-c', command], { cwd: dir });
  assert.deepEqual(await readQueries(`${spaced}.tsv`), [{ id: 'q1', text: 'zebra migration in spring' }, { id: 'q2', text: 'penguins, huddled' }]);
});

test('a queries CSV converts its first comma only (a query may hold more); a run file as CSV names its commas', async () => {
  const csv = join(dir, 'queries.csv');
  await writeFile(csv, 'q1,zebra, migration\n');
  const message = await invalidInput(() => readQueries(csv));
  assert.match(message, /separated by ','/);
  runConvert(message);
  assert.deepEqual(await readQueries(`${csv}.tsv`), [{ id: 'q1', text: 'zebra, migration' }]);
  const run = join(dir, 'run.csv');
  await writeFile(run, 'q1,Q0,d1,1,2.5,mine\n');
  const runMessage = await invalidInput(() => readRun(run));
  assert.match(runMessage, /expected 6 fields \(qid Q0 docid rank score tag\) but found 1; its fields are separated by ','/);
  runConvert(runMessage);
  assert.equal((await readRun(`${run}.trec`)).get('q1')?.[0]?.docId, 'd1');
});
