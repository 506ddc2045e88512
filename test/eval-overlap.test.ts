import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topKOverlap, type Run } from '../src/eval/index.js';

const run = (entries: Record<string, string[]>): Run => new Map(Object.entries(entries).map(([q, ids]) => [q, ids.map((docId, i) => ({ docId, score: 10 - i }))]));

test('top-k overlap pools hits over queries, hand-computed', () => {
  const ref = run({ q1: ['a', 'b', 'c'], q2: ['x', 'y'] });
  const got = run({ q1: ['c', 'a', 'z'], q2: ['y'] });
  // q1: a, c found of a, b, c (2/3); q2: y found of x, y (1/2) → 3 of 5.
  assert.equal(topKOverlap(got, ref, 10), 3 / 5);
  // k = 1: q1 'a' is not got's first ('c'); q2 'x' not found → 0 of 2.
  assert.equal(topKOverlap(got, ref, 1), 0);
  assert.equal(topKOverlap(ref, ref, 10), 1);
  assert.equal(topKOverlap(run({}), ref, 10), 0);
});
