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
import { describeMeta, type ModeInput } from '../src/eval/comparison.js';
import { evaluateRun } from '../src/eval/metrics.js';
import { latencyStats } from '../src/eval/latency.js';
import { renderStageLatency } from '../src/cli/pipeline-options.js';
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
  // The per-stage note had said "includes query encoding" of this pipeline of bm25 stages.
  assert.match(run.stdout, /^per-stage latency \(mean; lexical stages only: no query is encoded\):$/m);
  assert.doesNotMatch(run.stdout, /includes query encoding/);
});

test('the per-stage latency note says query encoding is included only of pipelines that encode', () => {
  const row = (name: string): ModeInput => ({
    name,
    result: evaluateRun(new Map([['q1', [{ docId: 'd0', score: 1 }]]]), new Map([['q1', new Map([['d0', 1]])]])),
    stageLatency: Object.fromEntries(name.split(' > ').map((label) => [label, latencyStats([1, 2])])),
  });
  const header = (rows: ModeInput[]): string => renderStageLatency(rows).split('\n')[0]!;
  assert.equal(header([row('bm25:100 > late:10')]), 'per-stage latency (mean, includes query encoding):');
  assert.equal(header([row('bm25:100 > cross:10'), row('rm3:100 > cross:10')]), 'per-stage latency (mean; lexical stages only: no query is encoded):');
  assert.equal(header([row('bm25:100 > late:10'), row('bm25:10 > bm25:5')]), 'per-stage latency (mean; includes query encoding in the pipelines with a stage other than bm25, rm3, cross):');
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
