/**
 * `plait eval --modes bm25` (lexical modes only, and pipelines of lexical stages) loads no model and encodes no query: it had loaded
 * the index's model and encoded every query before the first BM25 search (cisi's 75 queries: 6.2 s
 * for a run that needs 1.7 s). The index here records a model that cannot be loaded (a synthetic
 * one, at /nonexistent), so an eval that touches the model fails. The same run's table title says
 * "1 query" (it said "1 queries"), and its progress on a pipe gives the mode's last count once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { describeMeta } from '../src/eval/comparison.js';
import { runPlait, type CliResult } from './helpers/cli.js';

let dir: string;
let index: string;
let run: CliResult;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-eval-lexical-'));
  index = join(dir, 'idx');
  await buildSynthetic(index, syntheticPassages(4, 16, 3).passages, 16);
  await writeFile(join(dir, 'queries.jsonl'), '{"_id": "q1", "text": "a question"}\n');
  await writeFile(join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\td0\t1\n');
  // One run, read by each test below (a CLI run is the costly part).
  run = runPlait(dir, ['eval', index, '--queries', join(dir, 'queries.jsonl'), '--qrels', join(dir, 'qrels.tsv'), '--modes', 'bm25,bm25+rm3', '--pipelines', 'bm25:10 > bm25:5', '--depth', '10']);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('eval with lexical modes and pipelines only runs without the model (the index\'s cannot be loaded) and says nothing of query encoding', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^bm25 \(base\) /m);
  assert.match(run.stdout, /^bm25\+rm3 /m);
  assert.match(run.stdout, /^bm25:10 > bm25:5 /m);
  assert.doesNotMatch(run.stdout, /Latencies exclude query encoding/);
});

test('eval\'s table title and significance note count 1 query in the singular', () => {
  assert.match(run.stdout, /idx: 1 query, depth 10/);
  assert.match(run.stdout, /two-sided, 1 query\)/);
  assert.doesNotMatch(run.stdout + run.stderr, /\b1 queries\b/);
});

test('eval\'s progress on a pipe gives each mode\'s last count once', () => {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('{"phase"'));
  assert.deepEqual(lines.map((l) => { const p = JSON.parse(l) as { phase: string; done: number; total: number }; return `${p.phase} ${p.done}/${p.total}`; }), ['bm25 1/1', 'bm25+rm3 1/1', 'bm25:10 > bm25:5 1/1']);
});

test('eval\'s provenance line counts a machine of 1 core in the singular', () => {
  assert.match(describeMeta({ machine: { cpu: 'Test CPU', cores: 1 } }), /Test CPU, 1 core\b(?!s)/);
});
