/**
 * Pins the residual bit layout of src/kernels/types.ts with hand-built bytes for each nbits: byte b
 * holds dimensions [b·8/nbits, (b+1)·8/nbits), the first in the most significant bits; the bucket
 * of x is the number of cutoffs <= x. Index files depend on this layout: if this test changes, the
 * index format version must change too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { needsNative, requireNative } from './helpers/requirements.js';

const native = nativeKernels();
const impls: Array<[string, Kernels | null]> = [
  ['typescript', typescriptKernels],
  ['native', native],
];

interface LayoutCase {
  nbits: number;
  dim: number;
  centroid: number[];
  vector: number[];
  cutoffs: number[];
  bytes: number[];
}

const CASES: LayoutCase[] = [
  {
    // cutoff 0: bucket 1 iff residual >= 0. Residuals -1 1 1 -1 -1 -1 1 0 → 0 1 1 0 0 0 1 1 = 0x63.
    nbits: 1,
    dim: 8,
    centroid: [0, 0, 0, 0, 0, 0, 0, 0],
    vector: [-1, 1, 1, -1, -1, -1, 1, 0],
    cutoffs: [0],
    bytes: [0x63],
  },
  {
    // cutoffs (-0.5, 0, 0.5); residuals -1 -0.5 0 0.7 | 0.2 -0.2 0.5 -0.6 → buckets 0 1 2 3 | 2 1 3 0
    // (a value equal to a cutoff goes above it) → 00 01 10 11 = 0x1B, 10 01 11 00 = 0x9C.
    // The centroid is non-zero: the residual is vector − centroid.
    nbits: 2,
    dim: 8,
    centroid: [1, 1, 1, 1, 1, 1, 1, 1],
    vector: [0, 0.5, 1, 1.7, 1.2, 0.8, 1.5, 0.4],
    cutoffs: [-0.5, 0, 0.5],
    bytes: [0x1b, 0x9c],
  },
  {
    // cutoffs -7..7; residuals -8 7.5 0 -0.5 → buckets 0 15 8 7 → 0x0F, 0x87.
    nbits: 4,
    dim: 4,
    centroid: [0, 0, 0, 0],
    vector: [-8, 7.5, 0, -0.5],
    cutoffs: Array.from({ length: 15 }, (_, i) => i - 7),
    bytes: [0x0f, 0x87],
  },
  {
    // cutoffs -127..127; residuals 0 and -200 → buckets 128 and 0.
    nbits: 8,
    dim: 2,
    centroid: [0, 0],
    vector: [0, -200],
    cutoffs: Array.from({ length: 255 }, (_, i) => i - 127),
    bytes: [128, 0],
  },
];

for (const [label, k] of impls) {
  for (const c of CASES) {
    test(`layout nbits=${c.nbits}: compress gives the hand-built bytes, decompress reads them back [${label}]`, { skip: k ? false : needsNative() }, () => {
      const kernels = k ?? requireNative();
      // Two rows, the second using centroid 1, to pin the row stride and the code lookup.
      const centroids = new Float32Array([...c.centroid.map(() => 5), ...c.centroid]);
      const vectors = new Float32Array([...c.vector, ...c.vector]);
      const codes = new Int32Array([1, 1]);
      const out = new Uint8Array(c.bytes.length * 2);
      kernels.compress(vectors, 2, c.dim, centroids, codes, new Float32Array(c.cutoffs), c.nbits, out);
      assert.deepEqual(Array.from(out), [...c.bytes, ...c.bytes]);

      // Decompress with weights[b] = b: centroid + bucket index, then L2-normalised.
      const weights = Float32Array.from({ length: 1 << c.nbits }, (_, b) => b);
      const back = new Float32Array(c.dim);
      kernels.decompress(new Int32Array([1]), new Uint8Array(c.bytes), 1, c.dim, centroids, weights, c.nbits, back);
      const buckets: number[] = [];
      for (const byte of c.bytes)
        for (let s = 0; s < 8 / c.nbits; s++) buckets.push((byte >> (8 - c.nbits * (s + 1))) & ((1 << c.nbits) - 1));
      const raw = buckets.map((b, t) => c.centroid[t]! + b);
      const norm = Math.sqrt(raw.reduce((a, x) => a + x * x, 0));
      for (let t = 0; t < c.dim; t++) assert.ok(Math.abs(back[t]! - raw[t]! / norm) < 1e-6, `dim ${t}`);
    });
  }
}

test('layout nbits=2: explicit weights reconstruct each slot in order', () => {
  // bytes 0x1B 0x9C = buckets 0 1 2 3 2 1 3 0; weights (-1, -0.25, 0.25, 1); centroid 0
  // → (-1, -0.25, 0.25, 1, 0.25, -0.25, 1, -1) / sqrt(4.25)
  for (const k of needsNative() ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    const out = new Float32Array(8);
    k.decompress(new Int32Array([0]), new Uint8Array([0x1b, 0x9c]), 1, 8, new Float32Array(8), new Float32Array([-1, -0.25, 0.25, 1]), 2, out);
    const want = [-1, -0.25, 0.25, 1, 0.25, -0.25, 1, -1].map((x) => x / Math.sqrt(4.25));
    for (let t = 0; t < 8; t++) assert.ok(Math.abs(out[t]! - want[t]!) < 1e-6, `${k.name} dim ${t}`);
  }
});
