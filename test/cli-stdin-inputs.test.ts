/**
 * Input files and standard input, through the real CLI (trial 10). `plait delete --ids -` reads the
 * ids from a pipe (`jq -r 'select(.metadata.retracted) | ._id' corpus.jsonl | plait delete idx --ids -`); it
 * had answered "no id file at -". An id "file" that is a folder is FILE_NOT_FOUND, not an EISDIR
 * stack trace. The inputs read by path (`--queries`, `--docs`, …) refuse `-` and pipes saying what
 * they are: a pipe had been called "a folder, not a file", and `-` "no such file".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';
import { needsJq } from './helpers/requirements.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-stdin-'));
  const docs = [
    { _id: 'a', text: 'yeast makes the dough rise' },
    { _id: 'b', text: 'sourdough bread needs a starter of wild yeast' },
    { _id: 'c', text: 'the tide comes in twice a day' },
  ];
  writeFileSync(join(dir, 'c.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const r = runPlait(dir, ['index', 'c.jsonl', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** `plait ...args` with `input` piped to its standard input. */
function piped(args: string[], input: string): CliResult {
  const r = spawnSync(process.execPath, [PLAIT_BIN, ...args], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ids(): string[] {
  const r = runPlait(dir, ['search', './idx', 'yeast dough bread tide', '--mode', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId).sort();
}

test('plait delete --ids - reads the ids from standard input', () => {
  assert.deepEqual(ids(), ['a', 'b', 'c']);
  const r = piped(['delete', './idx', '--ids', '-', '--json'], 'a\n\nc\n');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(ids(), ['b']);
});

test('plait add <index> - reads the corpus from standard input: its format told by its first line, or --format (it was "no corpus at -")', () => {
  const jsonl = piped(['add', './idx', '-', '--json', '--threads', '0'], `${JSON.stringify({ _id: 'd', text: 'tide tables for the harbour' })}\n`);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  assert.equal((JSON.parse(jsonl.stdout) as { added: number }).added, 1);
  const csv = piped(['add', './idx', '-', '--format', 'csv', '--json', '--threads', '0'], 'id,title,text\ne,Tide,spring tide and neap tide\n');
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal((JSON.parse(csv.stdout) as { added: number }).added, 1);
  const r = runPlait(dir, ['search', './idx', 'tide', '--mode', 'bm25', '--json']);
  assert.deepEqual((JSON.parse(r.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId).sort(), ['d', 'e']);
  // A bad line is named as in a file, the file being standard input (not the removed temporary file), and nothing is added.
  const bad = piped(['add', './idx', '-', '--threads', '0', '--json'], `${JSON.stringify({ _id: 'f', text: 'tide' })}\n{"_id": "g", "text": \n`);
  assert.equal(bad.code, 2, bad.stderr);
  const error = (JSON.parse(bad.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
  assert.equal(error.code, 'MALFORMED_JSONL');
  assert.match(error.message, /in standard input at line 2/);
  assert.deepEqual([error.details['file'], error.details['line']], ['standard input', 2]);
  assert.doesNotMatch(bad.stderr, /plait-stdin-/);
  assert.equal(piped(['delete', './idx', '--ids', '-'], 'd\ne\n').code, 0);
});

test('an empty standard input (a jq select that matched nothing) is EMPTY_CORPUS, not "cannot tell the format … pass --format"', () => {
  for (const args of [['add', './idx', '-'], ['index', '-', '--index', './empty-stdin']]) {
    const r = piped([...args, '--threads', '0'], '');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^plait: Empty corpus: standard input has no document to index \(0 read: it holds no text\) \[EMPTY_CORPUS\]$/m, r.stderr);
    assert.doesNotMatch(r.stderr, /cannot tell the format/);
  }
});

test('plait index - --index <name> builds from standard input; its warnings and errors name standard input (it was "no corpus at -")', () => {
  const corpus = [{ _id: 'x', text: 'the harbour master reads the tide tables', source: 'almanac' }, { _id: 'y', text: 'wild yeast in a sourdough starter' }];
  const built = piped(['index', '-', '--index', './from-stdin', '--threads', '0'], corpus.map((d) => JSON.stringify(d)).join('\n') + '\n');
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /indexed 2 documents/);
  // The field the reader does not read is named once, in standard input, not in the removed temporary file.
  assert.match(built.stderr, /standard input line 1: top-level field "source"/);
  assert.doesNotMatch(built.stderr, /plait-stdin-|standard-input/);
  const r = runPlait(dir, ['search', './from-stdin', 'tide', '--mode', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId), ['x']);
  const bad = piped(['index', '-', '--index', './bad-stdin', '--threads', '0', '--json'], '{"_id": "g", "text": \n');
  assert.equal(bad.code, 2, bad.stderr);
  const error = (JSON.parse(bad.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'MALFORMED_JSONL');
  assert.match(error.message, /in standard input at line 1/);
});

test('--ids naming a folder is FILE_NOT_FOUND, without a stack trace', () => {
  mkdirSync(join(dir, 'folder'), { recursive: true });
  const r = runPlait(dir, ['delete', './idx', '--ids', 'folder']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /folder is a folder, not a file of ids \[FILE_NOT_FOUND\]/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test('inputs read by path refuse "-" and pipes by what they are', () => {
  const dash = runPlait(dir, ['rerank', '--query', 'bread', '--docs', '-']);
  assert.equal(dash.code, 2, dash.stderr);
  assert.match(dash.stderr, /--docs: "-" \(standard input\) is not read here; write the input to a file/);
  const pipe = piped(['search', './idx', '--queries', '/dev/stdin'], '1\tbread\n');
  assert.equal(pipe.code, 2, pipe.stderr);
  assert.match(pipe.stderr, /--queries: \/dev\/stdin is a pipe or device, not a file/);
  assert.doesNotMatch(pipe.stderr, /folder/);
});

test('README\'s --ids - example deletes the documents it selects, and no other', { skip: needsJq() }, () => {
  // README had piped a search's hits (`plait search my-index "draft" --json | jq -r '.hits[].docId'`):
  // a hybrid search returns k documents whatever the query, so on a small index it deleted them all.
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const line = readme.split('\n').find((l) => /\| plait delete my-index --ids -\s/.test(l));
  assert.ok(line !== undefined, 'README shows plait delete --ids - in a pipeline');
  const command = line.replace(/\s+#.*$/, '');
  const corpus = [
    { _id: 'p1', text: 'a draft about yeast', metadata: { retracted: true } },
    { _id: 'p2', text: 'a final paper about tides', metadata: { retracted: false } },
    { _id: 'p3', text: 'a final paper about dough' },
    { _id: 'p4', text: 'a retracted draft about starters', metadata: { retracted: true } },
  ];
  const folder = join(dir, 'readme');
  mkdirSync(folder);
  writeFileSync(join(folder, 'corpus.jsonl'), corpus.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const built = runPlait(folder, ['index', 'corpus.jsonl', '--index', 'my-index', '-q', '--threads', '0']);
  assert.equal(built.code, 0, built.stderr);
  const run = spawnSync('bash', ['-o', 'pipefail', '-c', `plait() { "${process.execPath}" "${PLAIT_BIN}" "$@"; }\n${command}`], { cwd: folder, encoding: 'utf8', env: { ...process.env, PLAIT_INDEX_DIR: join(folder, 'indexes') } });
  assert.equal(run.status, 0, run.stderr);
  const left = runPlait(folder, ['search', 'my-index', 'draft final paper yeast tides dough starters', '--mode', 'bm25', '--json']);
  assert.equal(left.code, 0, left.stderr);
  assert.deepEqual((JSON.parse(left.stdout) as { hits: { docId: string }[] }).hits.map((h) => h.docId).sort(), ['p2', 'p3']);
});

test('ids in double quotes (jq without -r) are named in a warning, not silently missed', () => {
  const r = piped(['delete', './idx', '--ids', '-'], '"b"\n"zz"\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: every id read from standard input is in double quotes \("b"\), as jq prints strings without -r/);
  assert.match(r.stdout, /2 not in the index: "b", "zz"/);
  const plain = piped(['delete', './idx', '--ids', '-'], 'zz\n');
  assert.doesNotMatch(plain.stderr, /double quotes/);
});
