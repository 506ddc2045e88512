/**
 * The kernel contract, run against both implementations (the TypeScript twin and, when built, the
 * native addon): hand-computed cases, then native-vs-TypeScript differential tests at sizes around
 * the SIMD widths and on subarray views at odd offsets. Run with PLAIT_SIMD=avx2 or =scalar to test
 * the narrower native paths (test/kernels-simd-paths.test.ts does).
 */
import { mulberry32 as rng } from '../src/util/random.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels, kernelsStatus, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';

const native = nativeKernels();
const impls: Array<[string, Kernels | null]> = [
  ['typescript', typescriptKernels],
  ['native', native],
];
const skipNative = native ? false : `native addon not built (${kernelsStatus().nativeError ?? 'unknown'}); run npm run build:native`;

function forEachImpl(title: string, body: (k: Kernels) => void): void {
  for (const [label, k] of impls) {
    test(`${title} [${label}]`, { skip: k ? false : skipNative }, () => body(k!));
  }
}


function randomRows(rand: () => number, rows: number, dim: number, normalise = true): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let t = 0; t < dim; t++) {
      const v = rand() * 2 - 1;
      out[r * dim + t] = v;
      n += v * v;
    }
    if (normalise && n > 0) for (let t = 0; t < dim; t++) out[r * dim + t]! /= Math.sqrt(n);
  }
  return out;
}

/** A copy of `data` viewed at an odd element offset inside a larger buffer. */
function atOddOffset(data: Float32Array, offset = 3): Float32Array {
  const big = new Float32Array(data.length + offset + 5).fill(Number.NaN);
  big.set(data, offset);
  return big.subarray(offset, offset + data.length);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: expected ${e} but got ${a}`);
  }
}

// --- hand-computed MaxSim -------------------------------------------------------------------
// q1 = [1,2,0,0], q2 = [0,1,-1,0]; d1 = [1,0,0,0], d2 = [0,1,0,1], d3 = [1,1,1,1].
// q1·d = 1, 2, 3 → max 3.  q2·d = 0, 1, 0 → max 1.  MaxSim = 4; weights (0.5, 2) → 1.5 + 2 = 3.5.
const Q = new Float32Array([1, 2, 0, 0, 0, 1, -1, 0]);
const D = new Float32Array([1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1]);

forEachImpl('maxsim: 2×4 query against a 3×4 document, computed on paper', (k) => {
  const out = new Float32Array(4).fill(-99);
  // doc 0: all three rows; doc 1: only d2 (single token); doc 2: empty (ColBERT's -9999 per query
  // token: ranks last); doc 3: d1 alone
  k.maxsim(Q, 2, 4, D, new Int32Array([0, 1, 3, 0]), new Int32Array([3, 1, 0, 1]), 4, out);
  assert.deepEqual(Array.from(out), [4, 3, 2 * -9999, 1]);
});

forEachImpl('maxsim: query weights', (k) => {
  const out = new Float32Array(2);
  k.maxsim(Q, 2, 4, D, new Int32Array([0, 3]), new Int32Array([3, 0]), 2, out, new Float32Array([0.5, 2]));
  assert.deepEqual(Array.from(out), [3.5, 2.5 * -9999]);
});

forEachImpl('maxsim: negative similarities keep their sign (max starts at -inf, not 0)', (k) => {
  const out = new Float32Array(1);
  k.maxsim(new Float32Array([1, 0]), 1, 2, new Float32Array([-1, 0, -0.5, 0]), new Int32Array([0]), new Int32Array([2]), 1, out);
  assert.equal(out[0], -0.5);
});

forEachImpl('maxsim: a NaN token similarity never wins the max (same rule on every path)', (k) => {
  // d1 has a NaN component, so q·d1 is NaN for every query token; d2 scores 1 and 0.5.
  const docs = new Float32Array([Number.NaN, 0, 1, 0.5]);
  const out = new Float32Array(2);
  k.maxsim(new Float32Array([1, 0, 0, 1]), 2, 2, docs, new Int32Array([0, 1]), new Int32Array([2, 1]), 2, out);
  assert.deepEqual(Array.from(out), [1.5, 1.5]);
});

forEachImpl('an empty document ranks below a document of only negative similarities', (k) => {
  const out = new Float32Array(2);
  const q = new Float32Array([1, 0]);
  k.maxsim(q, 1, 2, new Float32Array([-1, 0]), new Int32Array([0, 0]), new Int32Array([1, 0]), 2, out);
  assert.deepEqual(Array.from(out), [-1, -9999]);
  assert.deepEqual(Array.from(k.topK(out, 2, 2)), [0, 1]);
  // The compressed kernel agrees (one centroid, every residual bucket weight 0).
  const cOut = new Float32Array(2);
  const q4 = new Float32Array([1, 0, 0, 0]);
  k.maxsimCompressed(q4, 1, 4, new Int32Array([0]), new Uint8Array(1), new Int32Array([0, 0]), new Int32Array([1, 0]), 2, new Float32Array([-1, 0, 0, 0]), new Float32Array(4), 2, cOut);
  assert.deepEqual(Array.from(cOut), [-1, -9999]);
});

forEachImpl('maxsim: zero query tokens and zero documents', (k) => {
  const out = new Float32Array(1).fill(7);
  k.maxsim(new Float32Array(0), 0, 4, D, new Int32Array([0]), new Int32Array([3]), 1, out);
  assert.equal(out[0], 0);
  k.maxsim(Q, 2, 4, D, new Int32Array(0), new Int32Array(0), 0, new Float32Array(0));
});

// --- differential: native vs TypeScript ---------------------------------------------------------
const DIMS = [8, 16, 24, 96, 128, 136];
const QLENS = [1, 7, 31, 32, 33];
const DOCLENS = [0, 1, 3, 15, 16, 17, 181];

test('maxsim: native equals TypeScript around SIMD widths, on odd-offset views', { skip: skipNative }, () => {
  const rand = rng(1);
  for (const dim of DIMS) {
    const total = DOCLENS.reduce((a, b) => a + b, 0);
    const docs = atOddOffset(randomRows(rand, total, dim));
    const starts = new Int32Array(DOCLENS.length);
    for (let d = 1; d < DOCLENS.length; d++) starts[d] = starts[d - 1]! + DOCLENS[d - 1]!;
    const lens = new Int32Array(DOCLENS);
    for (const qLen of QLENS) {
      const q = atOddOffset(randomRows(rand, qLen, dim), 1);
      const w = atOddOffset(Float32Array.from({ length: qLen }, () => rand() * 2), 5);
      for (const weights of [null, w]) {
        const a = new Float32Array(DOCLENS.length);
        const b = new Float32Array(DOCLENS.length);
        typescriptKernels.maxsim(q, qLen, dim, docs, starts, lens, DOCLENS.length, a, weights);
        native!.maxsim(q, qLen, dim, docs, starts, lens, DOCLENS.length, b, weights);
        assertClose(b, a, 1e-5, `maxsim dim=${dim} qLen=${qLen} weighted=${weights !== null}`);
      }
    }
  }
});

/** Brute-force nearest centroid in double precision. */
function bruteNearest(v: Float32Array, n: number, c: Float32Array, k: number, dim: number): { codes: number[]; scores: number[] } {
  const codes: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let arg = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += v[i * dim + t]! * c[j * dim + t]!;
      if (s > best) {
        best = s;
        arg = j;
      }
    }
    codes.push(arg);
    scores.push(best);
  }
  return { codes, scores };
}

forEachImpl('assignNearest equals brute force (sizes around panel and chunk widths)', (k) => {
  const rand = rng(2);
  for (const [n, kc, dim] of [
    [1, 1, 8],
    [33, 7, 24],
    [65, 300, 128],
    [31, 17, 136],
  ] as const) {
    const v = atOddOffset(randomRows(rand, n, dim));
    const c = atOddOffset(randomRows(rand, kc, dim), 7);
    const codes = new Int32Array(n);
    const scores = new Float32Array(n);
    k.assignNearest(v, n, c, kc, dim, codes, scores);
    const want = bruteNearest(v, n, c, kc, dim);
    for (let i = 0; i < n; i++) {
      // A float32 near-tie may pick the other centroid; then its score must equal the best.
      if (codes[i] !== want.codes[i]) assert.ok(Math.abs(want.scores[i]! - scores[i]!) < 1e-5, `n=${n} k=${kc} row ${i}`);
      assert.ok(Math.abs(scores[i]! - want.scores[i]!) < 1e-5);
    }
  }
});

forEachImpl('assignNearest: ties go to the lower centroid id; bestScores optional', (k) => {
  // Centroids 1 and 3 are identical and both best for the vector; 0 and 2 are worse.
  const c = new Float32Array([0, 1, 1, 0, 0, -1, 1, 0]);
  const codes = new Int32Array(2);
  k.assignNearest(new Float32Array([1, 0, 0, 1]), 2, c, 4, 2, codes);
  assert.deepEqual(Array.from(codes), [1, 0]);
});

forEachImpl('matmulTransB equals the definition', (k) => {
  const rand = rng(3);
  for (const [m, n, dim] of [
    [1, 1, 8],
    [33, 17, 24],
    [2, 300, 136],
  ] as const) {
    const a = atOddOffset(randomRows(rand, m, dim, false));
    const b = atOddOffset(randomRows(rand, n, dim, false), 1);
    const out = new Float32Array(m * n);
    k.matmulTransB(a, m, b, n, dim, out);
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < dim; t++) s += a[i * dim + t]! * b[j * dim + t]!;
        want[i * n + j] = s;
      }
    assertClose(out, want, 1e-5, `matmulTransB ${m}x${n}x${dim}`);
  }
});

// --- codec ------------------------------------------------------------------------------------

interface CodecCase {
  dim: number;
  k: number;
  n: number;
  centroids: Float32Array;
  vectors: Float32Array;
  codes: Int32Array;
  cutoffs: Float32Array;
  weights: Float32Array;
}

/** Vectors near random centroids; cutoffs/weights from residual quantiles (as ColBERTv2 fits them). */
function codecCase(seed: number, nbits: number, dim = 128, k = 16, n = 200): CodecCase {
  const rand = rng(seed);
  const centroids = randomRows(rand, k, dim);
  const codes = new Int32Array(n);
  const vectors = new Float32Array(n * dim);
  const residuals: number[] = [];
  for (let i = 0; i < n; i++) {
    codes[i] = Math.floor(rand() * k);
    let norm = 0;
    for (let t = 0; t < dim; t++) {
      const v = centroids[codes[i]! * dim + t]! + (rand() - 0.5) * 0.1;
      vectors[i * dim + t] = v;
      norm += v * v;
    }
    for (let t = 0; t < dim; t++) {
      vectors[i * dim + t]! /= Math.sqrt(norm);
      residuals.push(vectors[i * dim + t]! - centroids[codes[i]! * dim + t]!);
    }
  }
  residuals.sort((a, b) => a - b);
  const quantile = (p: number): number => residuals[Math.min(residuals.length - 1, Math.floor(p * residuals.length))]!;
  const nb = 1 << nbits;
  const cutoffs = Float32Array.from({ length: nb - 1 }, (_, i) => quantile((i + 1) / nb));
  const weights = Float32Array.from({ length: nb }, (_, i) => quantile((i + 0.5) / nb));
  return { dim, k, n, centroids, vectors, codes, cutoffs, weights };
}

forEachImpl('compress → decompress: reconstruction error shrinks as nbits grows (1, 2, 4)', (k) => {
  const errors: number[] = [];
  for (const nbits of [1, 2, 4]) {
    const c = codecCase(4, nbits);
    const packed = new Uint8Array((c.n * c.dim * nbits) / 8);
    k.compress(c.vectors, c.n, c.dim, c.centroids, c.codes, c.cutoffs, nbits, packed);
    const back = new Float32Array(c.n * c.dim);
    k.decompress(c.codes, packed, c.n, c.dim, c.centroids, c.weights, nbits, back);
    let err = 0;
    for (let i = 0; i < back.length; i++) err += (back[i]! - c.vectors[i]!) ** 2;
    errors.push(Math.sqrt(err / c.n));
    // decompressed rows are unit length
    for (let i = 0; i < c.n; i += 37) {
      let nn = 0;
      for (let t = 0; t < c.dim; t++) nn += back[i * c.dim + t]! ** 2;
      assert.ok(Math.abs(nn - 1) < 1e-5);
    }
  }
  assert.ok(errors[0]! > errors[1]! && errors[1]! > errors[2]!, `errors ${errors.join(', ')}`);
  // each extra bit roughly halves the quantisation step; 1 → 4 bits must cut the error several-fold
  assert.ok(errors[2]! < errors[0]! / 4, `errors ${errors.join(", ")}`);
});

test('compress/decompress: native equals TypeScript (bytes exactly, floats within 1e-6)', { skip: skipNative }, () => {
  for (const nbits of [1, 2, 4, 8]) {
    for (const dim of [8, 24, 136]) {
      const c = codecCase(5 + nbits, nbits, dim, 9, 41);
      const a = new Uint8Array((c.n * dim * nbits) / 8);
      const b = new Uint8Array(a.length);
      typescriptKernels.compress(c.vectors, c.n, dim, c.centroids, c.codes, c.cutoffs, nbits, a);
      native!.compress(atOddOffset(c.vectors), c.n, dim, c.centroids, c.codes, c.cutoffs, nbits, b);
      assert.deepEqual(b, a, `compress nbits=${nbits} dim=${dim}`);
      const x = new Float32Array(c.n * dim);
      const y = new Float32Array(c.n * dim);
      typescriptKernels.decompress(c.codes, a, c.n, dim, c.centroids, c.weights, nbits, x);
      native!.decompress(c.codes, a, c.n, dim, c.centroids, c.weights, nbits, y);
      assertClose(y, x, 1e-6, `decompress nbits=${nbits} dim=${dim}`);
    }
  }
});

forEachImpl('maxsimCompressed equals decompress + maxsim within 1e-5', (k) => {
  const rand = rng(6);
  for (const nbits of [1, 2, 4]) {
    for (const [dim, qLen] of [
      [128, 32],
      [24, 7],
      [136, 33],
    ] as const) {
      const c = codecCase(7 + nbits + dim, nbits, dim, 13, 240);
      const packed = new Uint8Array((c.n * dim * nbits) / 8);
      k.compress(c.vectors, c.n, dim, c.centroids, c.codes, c.cutoffs, nbits, packed);
      const lens = new Int32Array([0, 1, 3, 15, 16, 17, 181]);
      const starts = new Int32Array([5, 0, 7, 20, 40, 1, 59]);
      const q = randomRows(rand, qLen, dim);
      const w = Float32Array.from({ length: qLen }, () => rand());
      for (const weights of [null, w]) {
        const fused = new Float32Array(lens.length);
        k.maxsimCompressed(q, qLen, dim, c.codes, packed, starts, lens, lens.length, c.centroids, c.weights, nbits, fused, weights);
        const dense = new Float32Array(c.n * dim);
        k.decompress(c.codes, packed, c.n, dim, c.centroids, c.weights, nbits, dense);
        const plain = new Float32Array(lens.length);
        k.maxsim(q, qLen, dim, dense, starts, lens, lens.length, plain, weights);
        assertClose(fused, plain, 1e-5, `nbits=${nbits} dim=${dim}`);
        if (k !== typescriptKernels) {
          const oracle = new Float32Array(lens.length);
          typescriptKernels.maxsimCompressed(q, qLen, dim, c.codes, packed, starts, lens, lens.length, c.centroids, c.weights, nbits, oracle, weights);
          assertClose(fused, oracle, 1e-5, `vs TypeScript nbits=${nbits} dim=${dim}`);
        }
      }
    }
  }
});

// --- centroid interaction -------------------------------------------------------------------------
// K = 3 centroids, qLen = 2: c0 = (0.9, 0.1), c1 = (0.2, 0.6), c2 = (0.4, 0.3).
// Threshold 0.5 keeps c0 (max 0.9) and c1 (0.6), drops c2 (0.4).
// doc A codes [0, 2]: full max(0.9,0.4) + max(0.1,0.3) = 1.2; pruned (c0 only) 0.9 + 0.1 = 1.0.
// doc B codes [2]: full 0.7; pruned: no kept code → 0.
// doc C codes [1, 0]: 0.9 + 0.6 = 1.5 either way.  Weights (2, 1) on doc A, full: 1.8 + 0.3 = 2.1.
const CS = new Float32Array([0.9, 0.1, 0.2, 0.6, 0.4, 0.3]);
const CI_CODES = new Int32Array([0, 2, 2, 1, 0]);
const CI_STARTS = new Int32Array([0, 2, 3, 0]);
const CI_LENS = new Int32Array([2, 1, 2, 0]);

forEachImpl('centroidInteraction: hand case with and without pruning, weighted', (k) => {
  const out = new Float32Array(4);
  k.centroidInteraction(CS, 2, CI_CODES, CI_STARTS, CI_LENS, 4, null, out);
  assertClose(out, [1.2, 0.7, 1.5, 0], 1e-6, 'full');
  k.centroidInteraction(CS, 2, CI_CODES, CI_STARTS, CI_LENS, 4, new Uint8Array([1, 1, 0]), out);
  assertClose(out, [1.0, 0, 1.5, 0], 1e-6, 'pruned');
  k.centroidInteraction(CS, 2, CI_CODES, CI_STARTS, CI_LENS, 1, null, out, new Float32Array([2, 1]));
  assertClose(out.subarray(0, 1), [2.1], 1e-6, 'weighted');
});

test('centroidInteraction: native equals TypeScript on random data', { skip: skipNative }, () => {
  const rand = rng(8);
  for (const qLen of [1, 7, 32, 33]) {
    const K = 50;
    const cs = Float32Array.from({ length: K * qLen }, () => rand() * 2 - 1);
    const lens = new Int32Array([0, 1, 3, 15, 16, 17, 181]);
    const total = lens.reduce((a, b) => a + b, 0);
    const codes = Int32Array.from({ length: total }, () => Math.floor(rand() * K));
    const starts = new Int32Array(lens.length);
    for (let d = 1; d < lens.length; d++) starts[d] = starts[d - 1]! + lens[d - 1]!;
    const keep = Uint8Array.from({ length: K }, () => (rand() < 0.3 ? 1 : 0));
    for (const kp of [null, keep]) {
      const a = new Float32Array(lens.length);
      const b = new Float32Array(lens.length);
      typescriptKernels.centroidInteraction(cs, qLen, codes, starts, lens, lens.length, kp, a);
      native!.centroidInteraction(cs, qLen, codes, starts, lens, lens.length, kp, b);
      assertClose(b, a, 1e-5, `qLen=${qLen} pruned=${kp !== null}`);
    }
  }
});

// --- topK -----------------------------------------------------------------------------------------

forEachImpl('topK: highest first, ties by lower index, k > n clipped, k = 0, NaN last', (k) => {
  const s = new Float32Array([1, 3, 3, 2, 3]);
  assert.deepEqual(Array.from(k.topK(s, 5, 2)), [1, 2]);
  assert.deepEqual(Array.from(k.topK(s, 5, 10)), [1, 2, 4, 3, 0]);
  assert.deepEqual(Array.from(k.topK(s, 5, 0)), []);
  assert.deepEqual(Array.from(k.topK(s, 3, 5)), [1, 2, 0]);
  assert.deepEqual(Array.from(k.topK(new Float32Array([Number.NaN, -1, Number.NaN, 0]), 4, 4)), [3, 1, 0, 2]);
});

forEachImpl('topK equals a full sort on random scores with many ties', (k) => {
  const rand = rng(9);
  const n = 5000;
  const s = Float32Array.from({ length: n }, () => Math.floor(rand() * 300) / 7);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
  for (const kk of [1, 10, 257, n]) assert.deepEqual(Array.from(k.topK(s, n, kk)), order.slice(0, kk));
});

// --- bad sizes: an error, never a crash or an out-of-bounds read ----------------------------------

forEachImpl('bad sizes throw instead of reading out of bounds', (k) => {
  const out = new Float32Array(2);
  // document spans past the end of docs
  assert.throws(() => k.maxsim(Q, 2, 4, D, new Int32Array([2]), new Int32Array([2]), 1, out));
  // negative start
  assert.throws(() => k.maxsim(Q, 2, 4, D, new Int32Array([-1]), new Int32Array([1]), 1, out));
  // query shorter than qLen×dim
  assert.throws(() => k.maxsim(Q, 3, 4, D, new Int32Array([0]), new Int32Array([1]), 1, out));
  // out too short, nDocs beyond the doclens
  assert.throws(() => k.maxsim(Q, 2, 4, D, new Int32Array([0, 0, 0]), new Int32Array([1, 1, 1]), 3, out));
  assert.throws(() => k.maxsim(Q, 2, 4, D, new Int32Array([0]), new Int32Array([1]), 2, out));
  // non-integer / negative counts, zero dim
  assert.throws(() => k.maxsim(Q, 1.5, 4, D, new Int32Array([0]), new Int32Array([1]), 1, out));
  assert.throws(() => k.topK(out, -1, 1));
  assert.throws(() => k.matmulTransB(Q, 2, D, 3, 0, new Float32Array(6)));
  assert.throws(() => k.matmulTransB(Q, 2, D, 3, 4, new Float32Array(5)));
  // unsupported nbits, code out of range, residuals too short
  const c = new Float32Array(8);
  assert.throws(() => k.compress(new Float32Array(8), 1, 8, c, new Int32Array([0]), new Float32Array(7), 3, new Uint8Array(3)));
  assert.throws(() => k.decompress(new Int32Array([1]), new Uint8Array(2), 1, 8, c, new Float32Array(4), 2, new Float32Array(8)));
  assert.throws(() => k.decompress(new Int32Array([0]), new Uint8Array(1), 1, 8, c, new Float32Array(4), 2, new Float32Array(8)));
  assert.throws(() =>
    k.centroidInteraction(CS, 2, new Int32Array([3]), new Int32Array([0]), new Int32Array([1]), 1, null, out),
  );
  assert.throws(() => k.assignNearest(new Float32Array(4), 1, new Float32Array(0), 0, 4, new Int32Array(1)));
});

/** Bad calls: every one must fail the same way on both paths (PlaitError INVALID_ARGUMENT), never TypeError/RangeError. */
const BAD_CALLS: Array<[string, (k: Kernels) => unknown]> = [
  ['wrong array class', (k) => k.maxsim(new Float64Array(8) as unknown as Float32Array, 2, 4, D, new Int32Array([0]), new Int32Array([1]), 1, new Float32Array(1))],
  ['wrong index array class', (k) => k.maxsim(Q, 2, 4, D, new Uint32Array([0]) as unknown as Int32Array, new Int32Array([1]), 1, new Float32Array(1))],
  ['a plain array', (k) => k.topK([1, 2] as unknown as Float32Array, 2, 1)],
  ['span past the end', (k) => k.maxsim(Q, 2, 4, D, new Int32Array([0]), new Int32Array([4]), 1, new Float32Array(1))],
  ['n beyond the scores', (k) => k.topK(new Float32Array(1), 2, 1)],
  ['negative count', (k) => k.topK(new Float32Array(1), -1, 1)],
  ['fractional count', (k) => k.maxsim(Q, 1.5, 4, D, new Int32Array([0]), new Int32Array([1]), 1, new Float32Array(1))],
  ['zero dim', (k) => k.matmulTransB(Q, 2, D, 3, 0, new Float32Array(6))],
  ['no centroids', (k) => k.assignNearest(new Float32Array(4), 1, new Float32Array(0), 0, 4, new Int32Array(1))],
  ['unsupported nbits', (k) => k.compress(new Float32Array(8), 1, 8, new Float32Array(8), new Int32Array([0]), new Float32Array(7), 3, new Uint8Array(3))],
  ['code out of range', (k) => k.decompress(new Int32Array([1]), new Uint8Array(2), 1, 8, new Float32Array(8), new Float32Array(4), 2, new Float32Array(8))],
  ['wrong keep class', (k) => k.centroidInteraction(CS, 2, new Int32Array([0]), new Int32Array([0]), new Int32Array([1]), 1, new Int32Array(4) as unknown as Uint8Array, new Float32Array(1))],
];

forEachImpl('bad calls throw PlaitError INVALID_ARGUMENT naming the kernel', (k) => {
  for (const [what, call] of BAD_CALLS) {
    assert.throws(() => call(k), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT') && !(e instanceof TypeError) && !(e instanceof RangeError), what);
  }
});

test('differential: native and TypeScript kernels fail the same calls with the same code', { skip: skipNative }, () => {
  for (const [what, call] of BAD_CALLS) {
    const codes = [native!, typescriptKernels].map((k) => {
      try {
        call(k);
        return 'no error';
      } catch (e) {
        return isPlaitError(e) ? e.code : (e as Error).name;
      }
    });
    assert.equal(codes[0], codes[1], what);
  }
  // The addon's own error is kept as the cause.
  try {
    native!.topK(new Float32Array(1), 2, 1);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.ok((e as Error).cause instanceof RangeError);
  }
});

test('kernelsStatus names the active path and the CPU features', () => {
  const s = kernelsStatus();
  assert.ok(['typescript', 'native-scalar', 'native-avx2', 'native-avx512'].includes(s.active));
  assert.equal(typeof s.cpu.avx2, 'boolean');
  if (native && process.env.PLAIT_KERNELS !== 'ts') assert.equal(s.active, native.name);
});
