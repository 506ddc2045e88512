/** BM25's bounded top-k accumulator (issue 8, item 16) against a full sort, the oracle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Accumulator } from '../src/docstore/bm25.js';
import { mulberry32 } from '../src/util/random.js';

function oracle(scores: Map<number, number>, k: number): Array<{ doc: number; score: number }> {
  return [...scores]
    .map(([doc, score]) => ({ doc, score }))
    .sort((a, b) => b.score - a.score || a.doc - b.doc)
    .slice(0, k);
}

test('hand-computed: sums per document, highest first, ties to the lower document', () => {
  const acc = new Bm25Accumulator(10);
  acc.add(7, 1);
  acc.add(3, 0.5);
  acc.add(3, 0.5);
  acc.add(9, 2);
  acc.add(1, 1);
  assert.deepEqual(acc.takeTop(3), [
    { doc: 9, score: 2 },
    { doc: 1, score: 1 },
    { doc: 3, score: 1 },
  ]);
  // The accumulator is empty again: a second query starts from zero.
  acc.add(7, 0.25);
  assert.deepEqual(acc.takeTop(5), [{ doc: 7, score: 0.25 }]);
  assert.deepEqual(acc.takeTop(5), []);
  acc.add(2, 1);
  assert.deepEqual(acc.takeTop(0), []);
  assert.deepEqual(acc.takeTop(1), []);
});

test('equals a full sort on random queries with many ties, for k below, at and above the matches', () => {
  const rand = mulberry32(77);
  const n = 3000;
  const acc = new Bm25Accumulator(n);
  for (let query = 0; query < 20; query++) {
    const truth = new Map<number, number>();
    const m = Math.floor(rand() * 2500);
    for (let i = 0; i < m; i++) {
      const doc = Math.floor(rand() * n);
      const v = (1 + Math.floor(rand() * 8)) / 4;
      acc.add(doc, v);
      truth.set(doc, (truth.get(doc) ?? 0) + v);
    }
    const k = [1, 10, 100, truth.size, truth.size + 5][query % 5]!;
    assert.deepEqual(acc.takeTop(k), oracle(truth, k));
  }
});

test('reset() forgets a query that failed half-way', () => {
  const acc = new Bm25Accumulator(4);
  acc.add(0, 3);
  acc.reset();
  acc.add(1, 1);
  assert.deepEqual(acc.takeTop(4), [{ doc: 1, score: 1 }]);
});
