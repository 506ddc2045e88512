/**
 * qrels whose judged documents the index does not hold: `plait eval <index> --qrels` (and `plait
 * ltr train`) scored 0.000 on every metric without a word — qrels of another corpus, or ids read
 * from another field than the qrels name. Now none held is INVALID_INPUT before any search, and
 * some missing is a warning naming how many and the first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';
import { qrelsCoverage } from '../src/eval/qrels-coverage.js';
import { parseQrels } from '../src/eval/qrels.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-qrels-coverage-'));
  const docs = [
    { _id: 'bread', text: 'bread rises with yeast in a warm kitchen' },
    { _id: 'tide', text: 'the tide comes in twice a day at the harbour' },
    { _id: 'stocks', text: 'stocks fell on monday after the report' },
  ];
  writeFileSync(join(dir, 'c.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'q.jsonl'), '{"_id": "q1", "text": "yeast bread"}\n{"_id": "q2", "text": "harbour tide"}\n');
  // Another corpus's ids (cisi's qrels on this index), and a mix of both.
  writeFileSync(join(dir, 'foreign.tsv'), 'query-id\tcorpus-id\tscore\nq1\t28\t1\nq1\t35\t1\nq2\t41\t1\n');
  writeFileSync(join(dir, 'mixed.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread\t1\nq2\ttide\t1\nq2\t41\t1\nq3\t99\t1\n');
  const r = runPlait(dir, ['index', 'c.jsonl', '--index', './idx', '-q', '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plait eval refuses qrels none of whose judged-relevant documents is in the index', () => {
  const r = runPlait(dir, ['eval', './idx', '--queries', 'q.jsonl', '--qrels', 'foreign.tsv', '--modes', 'bm25', '--json']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '', 'no figures printed');
  const e = (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string } }).error;
  assert.equal(e.code, 'INVALID_INPUT');
  assert.match(e.message, /none of the 3 documents judged relevant in foreign\.tsv .* is in the index .*\(first: "28", judged relevant for query "q1"\)/);
});

test('plait eval warns when some judged-relevant documents are missing, and evaluates', () => {
  const r = runPlait(dir, ['eval', './idx', '--queries', 'q.jsonl', '--qrels', 'mixed.tsv', '--modes', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  // q3 is not among the queries evaluated: its judgment is not counted.
  assert.match(r.stderr, /plait: warning: 1 of the 3 documents judged relevant in mixed\.tsv are not in the index .*\(first: "41", judged relevant for query "q2"\); they count as not found/);
  assert.equal((JSON.parse(r.stdout) as { queries: number }).queries, 2);
  assert.match(r.stderr, /plait: note: 1 query judged in mixed\.tsv is not in q\.jsonl \(first: "q3"\): left out of the means, not scored 0/);
});

test('plait eval of fewer queries than the qrels judge: the means are over the queries asked (they had scored the others 0)', () => {
  writeFileSync(join(dir, 'q1-only.jsonl'), '{"_id": "q1", "text": "yeast bread"}\n');
  writeFileSync(join(dir, 'both.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread\t1\nq2\ttide\t1\n');
  const r = runPlait(dir, ['eval', './idx', '--queries', 'q1-only.jsonl', '--qrels', 'both.tsv', '--modes', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { title: string; queries: number; modes: { mean: Record<string, number> }[] };
  assert.equal(out.queries, 1);
  assert.match(out.title, /: 1 query,/);
  assert.equal(out.modes[0]?.mean['ndcg@10'], 1, 'q2 was never asked: it is not a 0 in the mean');
  assert.match(r.stderr, /1 query judged in both\.tsv is not in q1-only\.jsonl \(first: "q2"\)/);
});

test('plait ltr train refuses such qrels before collecting features', () => {
  const r = runPlait(dir, ['ltr', 'train', './idx', '--queries', 'q.jsonl', '--qrels', 'foreign.tsv', '--out', join(dir, 'm.json'), '--json']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /"code":"INVALID_INPUT".*none of the 3 documents judged relevant in .*foreign\.tsv for the queries trained on/);
});

test('qrelsCoverage counts distinct relevant documents of the evaluated queries only; grade 0 is not relevant', () => {
  const qrels = parseQrels('q1\t0\ta\t1\nq1\t0\tz\t0\nq2\t0\ta\t2\nq2\t0\tb\t1\nq9\t0\tc\t1\n');
  const held = new Set(['a']);
  const c = qrelsCoverage(qrels, ['q1', 'q2'], (ids) => ids.map((id) => held.has(id)));
  assert.deepEqual(c, { relevant: 2, missing: 1, firstMissing: { queryId: 'q2', docId: 'b' } });
});

test('plait eval reads a queries.jsonl whose text field is "query"', () => {
  writeFileSync(join(dir, 'q-query.jsonl'), '{"_id": "q1", "query": "yeast bread"}\n{"_id": "q2", "query": "harbour tide"}\n');
  writeFileSync(join(dir, 'both2.tsv'), 'query-id\tcorpus-id\tscore\nq1\tbread\t1\nq2\ttide\t1\n');
  const r = runPlait(dir, ['eval', './idx', '--queries', 'q-query.jsonl', '--qrels', 'both2.tsv', '--modes', 'bm25', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { queries: number; modes: { mean: Record<string, number> }[] };
  assert.deepEqual([out.queries, out.modes[0]?.mean['ndcg@10']], [2, 1]);
});
