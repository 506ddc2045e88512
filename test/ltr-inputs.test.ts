/**
 * What a user gets wrong with learning to rank, at each door: judgments that do not meet the
 * queries or the index, model files that are not plait's (XGBoost's own, truncated, edited,
 * another version), a model run after other candidates than it learnt from, explanations that
 * must add up. One index of the sample corpus (40 documents, bundled model, in-process encoder)
 * serves every test; models are hand-written trees (tree-model.ts's schema), so no XGBoost is
 * needed except where a test says so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type PlaitIndex } from '../src/index.js';
import { collectLtrGroups } from '../src/ltr/train-ltr.js';
import { isPlaitError } from '../src/errors/index.js';
import { SAMPLE } from './helpers/server-fixture.js';

const QUERIES = [
  { id: 'q1', text: 'why does bread rise' },
  { id: 'q2', text: 'stock market prices' },
  { id: 'q3', text: 'ocean tides and the moon' },
];
let dir: string;
let indexPath: string;
let index: PlaitIndex;
const docIds = ['bread-yeast', 'tea-oxidation', 'coffee-roasting'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-ltr-inputs-'));
  indexPath = join(dir, 'indexes', 'sample');
  await buildIndex(SAMPLE, { index: indexPath, encoderOptions: { threads: 0 } });
  index = await openIndex(indexPath, { workers: 0, encoderOptions: { threads: 0 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

const grades = (pairs: Array<[string, string, number]>): Map<string, Map<string, number>> => {
  const m = new Map<string, Map<string, number>>();
  for (const [q, d, g] of pairs) m.set(q, (m.get(q) ?? new Map<string, number>()).set(d, g));
  return m;
};

test('collectLtrGroups refuses, before any search, qrels of another corpus and queries the qrels do not judge, and warns of missing documents', async () => {
  // Before: both ran (or skipped) every query and ended in "Expected at least 2 queries with a judged-relevant candidate but received 0".
  const other = grades([['q1', 'zz1', 1], ['q2', 'zz2', 1], ['q3', 'zz3', 2]]);
  await assert.rejects(collectLtrGroups(index, QUERIES, other, { candidates: 'bm25:10' }), (e: unknown) => isPlaitError(e, 'INVALID_INPUT') && /none of the 3 documents judged relevant in the qrels .* is in the index/.test(e.message) && /"zz1"/.test(e.message));
  const upper = grades([['Q1', docIds[0]!, 1], ['Q2', docIds[1]!, 1]]);
  await assert.rejects(collectLtrGroups(index, QUERIES, upper, { candidates: 'bm25:10' }), (e: unknown) => isPlaitError(e, 'INVALID_INPUT') && /none of the 3 queries has judgments/.test(e.message) && /differ only in letter case/.test(e.message));
  const some = grades([['q1', docIds[0]!, 1], ['q1', 'zz1', 1], ['q2', docIds[1]!, 1]]);
  const r = await collectLtrGroups(index, QUERIES, some, { candidates: 'bm25:10' });
  assert.deepEqual(r.groups.map((g) => g.queryId), ['q1', 'q2']);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /1 of the 3 documents judged relevant in the qrels are not in the index .*"zz1"/);
});
