/**
 * Hand-written judgments that name queries another way than the queries file (`Q1` for `q1`, `1`
 * for `q001`) match none of them, and the refusal had said only "none of the 3 queries has
 * judgments in qrels.tsv" — which ids, and why, was left to the user. Now it shows both files' ids
 * and, when a case, leading-zero or prefix rewrite would make them meet, says so; the library's
 * evaluateRun says the same of a run and qrels that share no query.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateRun, parseQrels, parseRun } from '../src/eval/index.js';
import { runPlait } from './helpers/cli.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-query-ids-'));
  await writeFile(join(dir, 'corpus.jsonl'), '{"_id": "d1", "title": "", "text": "zebras migrate"}\n{"_id": "d2", "title": "", "text": "penguins huddle"}\n');
  await writeFile(join(dir, 'queries.jsonl'), '{"_id": "q1", "text": "zebra"}\n{"_id": "q2", "text": "penguin"}\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('plait eval: qrels whose query ids differ in case from the queries name both and the difference (exit 2, nothing built)', async () => {
  const qrels = join(dir, 'qrels-upper.tsv');
  await writeFile(qrels, 'Q1\td1\t1\nQ2\td2\t1\n');
  const r = runPlait(dir, ['eval', dir, '--qrels', qrels, '--index', join(dir, 'never-built'), '-q']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /none of the 2 queries has judgments in .*qrels-upper\.tsv: ids compare as exact text; .*queries\.jsonl has "q1", "q2" and .*qrels-upper\.tsv "Q1", "Q2" \(they differ only in letter case/);
  // The refusal alone: no note before it that the judged queries are "left out of the means" (there are no means).
  assert.doesNotMatch(r.stderr, /plait: note: .*left out of the means/);
  assert.ok(!existsSync(join(dir, 'never-built')));
});

test('plait eval: numbered qrels against prefixed query ids say so; unrelated ids get the examples alone', async () => {
  const numbered = join(dir, 'qrels-numbered.tsv');
  await writeFile(numbered, '1\td1\t1\n2\td2\t1\n');
  const r = runPlait(dir, ['eval', dir, '--qrels', numbered, '--index', join(dir, 'never-built'), '-q']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /"1", "2" \(they differ in a prefix before the number/);
  const other = join(dir, 'qrels-other.tsv');
  await writeFile(other, 'alpha\td1\t1\n');
  const o = runPlait(dir, ['eval', dir, '--qrels', other, '--index', join(dir, 'never-built'), '-q']);
  assert.match(o.stderr, /has "q1", "q2" and .*qrels-other\.tsv "alpha" \[INVALID_INPUT\]/);
});

test("evaluateRun (missingQueries 'skip'): a run and qrels sharing no query name both sides (leading zeros)", () => {
  const run = parseRun('q001 Q0 d1 1 2.0 mine\n');
  const qrels = parseQrels('q1\td1\t1\n');
  assert.throws(() => evaluateRun(run, qrels, { missingQueries: 'skip' }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'INVALID_INPUT');
    assert.match(e.message, /none of the judged queries is in the run: ids compare as exact text; the run has "q001" and the qrels "q1" \(they differ only in leading zeros/);
    return true;
  });
});
