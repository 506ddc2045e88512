/** Passage → document collapse (search/doc-passages.ts): hand-computed cases and a sort oracle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DocPassages } from '../src/search/doc-passages.js';
import { mulberry32 } from '../src/util/random.js';

// 4 documents: doc 0 has pids 0–2, doc 1 pid 3, doc 2 none, doc 3 pids 4–5.
const PID_TO_DOC = new Int32Array([0, 0, 0, 1, 3, 3]);

test('best passage wins; ties go to the lower pid, then the lower document; limit and distinct', () => {
  const dp = new DocPassages(PID_TO_DOC, 4);
  const r = dp.collapse(new Int32Array([2, 0, 3, 5, 4]), new Float32Array([0.5, 0.5, 0.75, 0.25, 0.75]));
  assert.deepEqual(r.docs, [
    { key: 1, score: 0.75 },
    { key: 3, score: 0.75 },
    { key: 0, score: 0.5 },
  ]);
  assert.deepEqual([...r.pidOf].sort((a, b) => a[0] - b[0]), [
    [0, 0],
    [1, 3],
    [3, 4],
  ]);
  assert.equal(r.distinct, 3);
  const top1 = dp.collapse(new Int32Array([2, 0, 3, 5, 4]), new Float32Array([0.5, 0.5, 0.75, 0.25, 0.75]), 1);
  assert.deepEqual(top1.docs, [{ key: 1, score: 0.75 }]);
  assert.deepEqual([...top1.pidOf], [[1, 3]]);
  assert.equal(top1.distinct, 3);
  // Nothing leaks into the next call.
  assert.deepEqual(dp.collapse(new Int32Array([1]), new Float32Array([-2])).docs, [{ key: 0, score: -2 }]);
  assert.deepEqual(dp.pidsOf([3, 2, 0]), new Int32Array([4, 5, 0, 1, 2]));
});

test('equals sorting every document, for random scores with ties and any limit', () => {
  const rand = mulberry32(5);
  const nDocs = 500;
  const pidToDoc = Int32Array.from({ length: 2000 }, (_, i) => Math.floor(i / 4));
  const dp = new DocPassages(pidToDoc, nDocs);
  for (const limit of [1, 7, 100, 499, 500, Infinity]) {
    const pids = Int32Array.from({ length: 1200 }, () => Math.floor(rand() * 2000));
    const scores = Float32Array.from(pids, () => Math.floor(rand() * 20) / 4);
    const best = new Map<number, [number, number]>();
    pids.forEach((pid, i) => {
      const d = pidToDoc[pid]!;
      const cur = best.get(d);
      if (cur === undefined || scores[i]! > cur[0] || (scores[i] === cur[0] && pid < cur[1])) best.set(d, [scores[i]!, pid]);
    });
    const oracle = [...best].sort((a, b) => b[1][0] - a[1][0] || a[0] - b[0]).slice(0, limit);
    const r = dp.collapse(pids, scores, limit);
    assert.deepEqual(r.docs, oracle.map(([key, [score]]) => ({ key, score })), `limit ${limit}`);
    assert.deepEqual(r.docs.map((d) => r.pidOf.get(d.key)), oracle.map(([, [, pid]]) => pid));
    assert.equal(r.distinct, best.size);
  }
});
