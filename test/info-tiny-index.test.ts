/**
 * `plait info` on the tiny index a new user builds first (a couple of documents, then a few added
 * and one deleted): its living-index lines put a count of 1 in the singular ("deleted 1 passage",
 * not "1 passages"; src/util/plural.ts is the one helper for such counts, in the CLI and in library
 * messages alike). Its drift line gives no ratio against a build whose residuals were all zero (as
 * many centroids as tokens): it had printed "14215.08× the build's distance to centroids" (59179.36×
 * for two documents of the bundled model), a division by float rounding.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { unjudgedQueriesError } from '../src/eval/judgments-check.js';
import { runPlait, succeeded } from './helpers/cli.js';

let dir: string;
let info: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plait-info-tiny-'));
  const index = join(dir, 'idx');
  // 2 passages of 16 tokens in all: as many centroids as tokens, as in a first index of two short documents.
  await buildSynthetic(index, syntheticPassages(2, 16, 5).passages, 16);
  const added = syntheticPassages(3, 16, 9).passages;
  updateIndex(index, { add: added.map((e, i) => ({ doc: { docId: `n${i}`, title: '', text: `added ${i}` }, passages: [{ start: 0, end: 7 }], embeddings: [e] })) });
  // One passage of five deleted: below the automatic compaction's share, so it awaits compaction.
  updateIndex(index, { delete: ['n0'] });
  info = succeeded(runPlait(dir, ['info', index])).stdout;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('plait info: one deleted passage is "1 passage awaiting compaction"', () => {
  assert.match(info, /^deleted +1 passage awaiting compaction/m);
});

test('a library message counts 1 query in the singular', () => {
  const e = unjudgedQueriesError([{ id: 'q1' }], ['x'], 'queries.jsonl', 'qrels.tsv');
  assert.match(e?.message ?? '', /: none of the 1 query has judgments in qrels\.tsv/);
});

test('plait info: drift after a build with as many centroids as tokens is n/a, saying why, with the figures still shown', () => {
  const line = info.split('\n').find((l) => l.startsWith('drift')) ?? '';
  assert.match(line, /^drift +n\/a \(the build's residuals were all zero: as many centroids as tokens;/);
  assert.match(line, /mean \|residual\| \d\.\d{4} vs 0\.0000 over the \d+ tokens added since the build/);
  assert.doesNotMatch(line, /×/);
});
