/**
 * Input files and standard input, through the real CLI (trial 10). `plait delete --ids -` reads the
 * ids from a pipe (`plait search … --json | jq -r '.hits[].docId' | plait delete idx --ids -`); it
 * had answered "no id file at -". An id "file" that is a folder is FILE_NOT_FOUND, not an EISDIR
 * stack trace. The inputs read by path (`--queries`, `--docs`, …) refuse `-` and pipes saying what
 * they are: a pipe had been called "a folder, not a file", and `-` "no such file".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';

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
