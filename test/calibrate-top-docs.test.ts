/**
 * Calibration's replay ranks each grid point's documents (plaid-replay.ts topDocs) by the kernels'
 * top-k selection and small fix-ups of tied runs instead of a comparator sort of every document;
 * the order must be the comparator's exactly: best passage score descending, ties by docRowid
 * ascending (the exhaustive reference and every grid point are ranked by it, and the found counts
 * read its prefixes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topDocs } from '../src/calibrate/plaid-replay.js';
import { getKernels } from '../src/kernels/index.js';

/** The rule, as a comparator sort: the reference. */
function reference(pids: Int32Array, scores: Float32Array, pidToDoc: Int32Array, k: number): number[] {
  const best = new Map<number, number>();
  pids.forEach((p, i) => {
    const d = pidToDoc[p]!;
    best.set(d, Math.max(best.get(d) ?? -Infinity, scores[i]!));
  });
  return [...best.keys()].sort((x, y) => best.get(y)! - best.get(x)! || x - y).slice(0, k);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('topDocs orders documents as the comparator does: score descending, ties by docRowid, -0 = +0, any k', () => {
  const rnd = lcg(7);
  for (let round = 0; round < 200; round++) {
    const nDocs = 1 + Math.floor(rnd() * 300);
    const nP = nDocs + Math.floor(rnd() * 600);
    const pidToDoc = Int32Array.from({ length: nP }, (_, p) => (p < nDocs ? p : Math.floor(rnd() * nDocs)));
    const m = 1 + Math.floor(rnd() * nP);
    const pids = Int32Array.from({ length: m }, () => Math.floor(rnd() * nP));
    // Few distinct values (ties everywhere), negatives, both zeros, tiny and huge magnitudes.
    const values = [0, -0, 1, -1, 0.5, -0.5, 1e-30, -1e-30, 3.4e38, -3.4e38, 0.1, 0.2];
    const scores = Float32Array.from({ length: m }, () => (round % 2 === 0 ? values[Math.floor(rnd() * values.length)]! : rnd() * 4 - 2));
    const best = new Float32Array(nDocs).fill(-Infinity);
    const touched = new Int32Array(nDocs);
    for (const k of [1, 10, Math.max(1, Math.floor(nDocs / 2)), nDocs + 5]) {
      const got = Array.from(topDocs(getKernels(), pids, scores, pidToDoc, best, touched, k));
      assert.deepEqual(got, reference(pids, scores, pidToDoc, k), `round ${round}, k ${k}`);
      assert.ok(best.every((b) => b === -Infinity), 'the scratch is left as found');
    }
  }
});
