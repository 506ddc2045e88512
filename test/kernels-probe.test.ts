/**
 * probeCentroids, PLAID's candidate-generation pass (each query token's best nProbe centroids and
 * the pruning mask): a hand-computed case, then the native kernel against its TypeScript twin on
 * random scores, ties, NaN, nProbe above K, nProbe 0 and a threshold of −Infinity (widening).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { typescriptKernels } from '../src/kernels/index.js';
import { mulberry32 } from '../src/util/random.js';
import { isPlaitError } from '../src/errors/index.js';
import { needsNative, requireNative } from './helpers/requirements.js';

function run(k: typeof typescriptKernels, s: Float32Array, K: number, q: number, p: number, threshold: number): { probed: number[]; keep: number[] } {
  const probed = new Int32Array(q * p);
  const keep = new Uint8Array(K);
  k.probeCentroids(s, K, q, p, threshold, probed, keep);
  return { probed: Array.from(probed), keep: Array.from(keep) };
}

test('by hand: 4 centroids × 2 query tokens, nProbe 2, threshold 0.5', () => {
  // Row c = centroid c's scores against tokens 0 and 1.
  const s = Float32Array.from([0.1, 0.9, 0.7, 0.2, 0.7, 0.4, 0.3, 0.8]);
  const r = run(typescriptKernels, s, 4, 2, 2, 0.5);
  // Token 0: 0.7 (c1) and 0.7 (c2) tie → the lower centroid first; token 1: 0.9 (c0), 0.8 (c3).
  assert.deepEqual(r.probed, [1, 2, 0, 3]);
  // max per centroid: 0.9, 0.7, 0.7, 0.8 → all ≥ 0.5; with threshold 0.75 only c0 and c3.
  assert.deepEqual(r.keep, [1, 1, 1, 1]);
  assert.deepEqual(run(typescriptKernels, s, 4, 2, 2, 0.75).keep, [1, 0, 0, 1]);
  // nProbe above K: the missing slots stay -1.
  assert.deepEqual(run(typescriptKernels, s.subarray(0, 2), 1, 2, 2, 0).probed, [0, -1, 0, -1]);
});

test('native probeCentroids equals the TypeScript twin (random, ties, NaN, edge sizes)', { skip: needsNative() }, () => {
  const native = requireNative();
  const rand = mulberry32(7);
  for (const [K, q, p] of [[1, 1, 1], [5, 3, 4], [17, 32, 2], [300, 9, 1], [1024, 32, 4], [64, 0, 2], [64, 5, 0]] as const) {
    const s = new Float32Array(K * q);
    for (let i = 0; i < s.length; i++) s[i] = Math.round((rand() * 2 - 1) * 20) / 20; // coarse values: many ties
    if (s.length > 3) s[3] = NaN;
    for (const threshold of [0.5, -Infinity, 2]) {
      assert.deepEqual(run(native, s, K, q, p, threshold), run(typescriptKernels, s, K, q, p, threshold), `K ${K} q ${q} p ${p} threshold ${threshold}`);
    }
  }
});

test('bad arguments are INVALID_ARGUMENT on both paths', { skip: needsNative() }, () => {
  for (const k of [typescriptKernels, requireNative()]) {
    const bad = (): void => k.probeCentroids(new Float32Array(6), 4, 2, 1, 0.5, new Int32Array(2), new Uint8Array(4));
    assert.throws(bad, (e) => isPlaitError(e, 'INVALID_ARGUMENT'), k.name);
  }
});
