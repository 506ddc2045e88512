/**
 * Stage-1 centroid scores on int8 codes (src/search/centroid-quantisation.ts,
 * Kernels.centroidScoresInt8): a hand-computed case, the TypeScript twin against the native
 * kernel bit for bit at sizes around the 16-lane chunk and the 8- and 4-centroid blocks, the
 * same bits on every native path (AVX-512 VNNI, AVX-VNNI, scalar: child processes with
 * PLAIT_SIMD), the quantisation error within its bound, and argument errors; and the relative
 * pruning pass (`keepWithinMargin`) native against the twin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { centroidScoresInt8, quantiseCentroids, quantiseQuery } from '../src/search/centroid-quantisation.js';
import { centroidScores, type ScoringArrays } from '../src/search/plaid.js';
import { needsNative, requireNative } from './helpers/requirements.js';
import { SIZES, bytesOf, hashOf, randomRows, run } from './helpers/int8-digest.js';

function floatScores(c: Float32Array, k: number, q: Float32Array, qLen: number, dim: number): Float64Array {
  const out = new Float64Array(k * qLen);
  for (let j = 0; j < k; j++) for (let i = 0; i < qLen; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += c[j * dim + d]! * q[i * dim + d]!;
    out[j * qLen + i] = s;
  }
  return out;
}

test('hand-computed: two centroids, one token, dim 4', () => {
  // c0 = (1, 0, 0, 0): scale 1/127, codes (127, 0, 0, 0); c1 = (0.5, −0.5, 0, 0): scale 0.5/127, codes (127, −127, 0, 0).
  // q = (1, 1, 0, 0): scale 1/127, codes (127, 127, 0, 0). Integer dots 16,129 and 0.
  const c = new Float32Array([1, 0, 0, 0, 0.5, -0.5, 0, 0]);
  const qc = quantiseCentroids(c, 2, 4);
  assert.deepEqual([...qc.bytes], [255, 128, 128, 128, 255, 1, 128, 128]);
  const qq = quantiseQuery(new Float32Array([1, 1, 0, 0]), 1, 4);
  assert.deepEqual([...qq.panel.subarray(0, 4)], [127, 127, 0, 0]);
  assert.equal(qq.corrections[0], 128 * 254);
  const out = centroidScoresInt8(c, 2, 4, new Float32Array([1, 1, 0, 0]), 1, typescriptKernels);
  const s = Math.fround(1 / 127);
  assert.equal(out[0], Math.fround(16_129 * Math.fround(s * s)));
  assert.ok(Math.abs(out[0]! - 1) < 1e-6);
  assert.equal(out[1], 0);
});

test('an all-zero row scores 0 (scale 0, no NaN)', () => {
  const out = centroidScoresInt8(new Float32Array(8), 2, 4, new Float32Array([0.3, -0.2, 0.1, 0.9]), 1, typescriptKernels);
  assert.deepEqual([...out], [0, 0]);
});

test('int8 scores stay within the quantisation bound of the float scores', () => {
  for (const [k, qLen, dim] of [
    [50, 7, 128],
    [33, 32, 512],
    [9, 3, 4],
  ] as const) {
    const c = randomRows(k * 31 + dim, k, dim);
    const q = randomRows(qLen * 17 + dim, qLen, dim);
    const got = centroidScoresInt8(c, k, dim, q, qLen, typescriptKernels);
    const want = floatScores(c, k, q, qLen, dim);
    const qc = quantiseCentroids(c, k, dim);
    const qq = quantiseQuery(q, qLen, dim);
    for (let j = 0; j < k; j++) for (let i = 0; i < qLen; i++) {
      // |err| ≤ s_c/2 · ‖q‖₁ + s_q/2 · ‖c‖₁ + dim · s_c · s_q / 4 (plus float32 rounding).
      let l1q = 0;
      let l1c = 0;
      for (let d = 0; d < dim; d++) {
        l1q += Math.abs(q[i * dim + d]!);
        l1c += Math.abs(c[j * dim + d]!);
      }
      const sc = qc.scales[j]!;
      const sq = qq.scales[i]!;
      const bound = (sc / 2) * l1q + (sq / 2) * l1c + (dim * sc * sq) / 4 + 1e-6;
      assert.ok(Math.abs(got[j * qLen + i]! - want[j * qLen + i]!) <= bound, `k ${k} qLen ${qLen} dim ${dim} (${j}, ${i})`);
    }
  }
});

test('centroidScores: int8 by default, float32 when asked; both close', () => {
  const k = 40;
  const dim = 128;
  const centroids = randomRows(5, k, dim);
  const a: ScoringArrays = { dim, nbits: 2, nCentroids: k, centroids, weights: new Float32Array(4), doclens: new Int32Array(0), tokenStarts: new Int32Array(0), segments: [], ivf: new Int32Array(0), ivfOffsets: new Float64Array(k + 1) };
  const q = { vectors: randomRows(6, 5, dim), length: 5, weights: null };
  const int8 = centroidScores(a, q, typescriptKernels);
  const f32 = centroidScores({ ...a, centroidScoring: 'float32' }, q, typescriptKernels);
  assert.deepEqual(int8, centroidScoresInt8(centroids, k, dim, q.vectors, 5, typescriptKernels));
  assert.notDeepEqual(int8, f32);
  for (let x = 0; x < f32.length; x++) assert.ok(Math.abs(int8[x]! - f32[x]!) < 0.01);
});

test('native kernel equals the TypeScript twin bit for bit (sizes around SIMD blocks), row maxima included', { skip: needsNative() }, () => {
  const native = requireNative();
  for (const [k, qLen, dim] of SIZES) {
    const ma = new Float32Array(k);
    const mb = new Float32Array(k);
    assert.ok(bytesOf(run(native, k, qLen, dim, ma)).equals(bytesOf(run(typescriptKernels, k, qLen, dim, mb))), `k ${k} qLen ${qLen} dim ${dim}`);
    assert.ok(bytesOf(ma).equals(bytesOf(mb)), `row maxima: k ${k} qLen ${qLen} dim ${dim}`);
  }
});

test('row maxima: each row’s largest score (hand-checked against the scores), written whatever rowMax held', () => {
  for (const kernels of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    for (const [k, qLen, dim] of SIZES) {
      const rowMax = new Float32Array(k).fill(99);
      const s = run(kernels, k, qLen, dim, rowMax);
      for (let c = 0; c < k; c++) assert.equal(rowMax[c], Math.max(...s.subarray(c * qLen, (c + 1) * qLen)), `${kernels.name} k ${k} qLen ${qLen} c ${c}`);
    }
  }
});

/** K × qLen scores shaped like stage 1's: most rows low, a few rows high for some tokens (and a NaN row). */
function skewedScores(seed: number, k: number, qLen: number): { s: Float32Array; rowMax: Float32Array } {
  const r = mulberry32(seed);
  const s = Float32Array.from({ length: k * qLen }, () => r() * 0.4 - 0.2);
  for (let n = 0; n < Math.ceil(k / 20); n++) s[Math.floor(r() * k) * qLen + Math.floor(r() * qLen)] = 0.5 + r() * 0.5;
  if (k > 3) s.fill(NaN, 3 * qLen, 4 * qLen);
  const rowMax = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let m = -Infinity;
    for (let i = 0; i < qLen; i++) if (s[c * qLen + i]! > m) m = s[c * qLen + i]!;
    rowMax[c] = m;
  }
  return { s, rowMax };
}

test('probeCentroids and keepWithinMargin with row maxima: the same probes and masks as reading every row', () => {
  const native = nativeKernels();
  for (const kernels of native === null ? [typescriptKernels] : [typescriptKernels, native]) {
    for (const [k, qLen, p] of [
      [1, 1, 1],
      [50, 3, 2],
      [1000, 16, 1],
      [2000, 32, 9],
      [300, 17, 40],
      [10, 4, 0],
    ] as const) {
      const { s, rowMax } = skewedScores(k * 31 + qLen + p, k, qLen);
      for (const threshold of [0.5, 0.1, -1]) {
        const plain = { probed: new Int32Array(qLen * p), keep: new Uint8Array(k) };
        const skip = { probed: new Int32Array(qLen * p), keep: new Uint8Array(k) };
        kernels.probeCentroids(s, k, qLen, p, threshold, plain.probed, plain.keep);
        kernels.probeCentroids(s, k, qLen, p, threshold, skip.probed, skip.keep, rowMax);
        assert.deepEqual(skip.probed, plain.probed, `${kernels.name} k ${k} qLen ${qLen} p ${p} threshold ${threshold}`);
        assert.deepEqual(skip.keep, plain.keep, `${kernels.name} k ${k} qLen ${qLen} p ${p} threshold ${threshold}`);
        // The margin pass from each token's best (or a NaN floor), on top of the threshold's mask.
        const floor = Float32Array.from({ length: qLen }, (_, i) => (i === 1 ? NaN : (p > 0 && plain.probed[i * p]! >= 0 ? s[plain.probed[i * p]! * qLen + i]! : -Infinity) - 0.05));
        const a = plain.keep.slice();
        const b = plain.keep.slice();
        kernels.keepWithinMargin(s, k, qLen, floor, a);
        kernels.keepWithinMargin(s, k, qLen, floor, b, rowMax);
        assert.deepEqual(b, a, `${kernels.name} margin k ${k} qLen ${qLen} p ${p} threshold ${threshold}`);
      }
    }
  }
});

test('rowMax of +∞ (an addon without row maxima leaves them so) reads every row: the same results', () => {
  const { s } = skewedScores(5, 500, 8);
  const inf = new Float32Array(500).fill(Infinity);
  const a = { probed: new Int32Array(8 * 2), keep: new Uint8Array(500) };
  const b = { probed: new Int32Array(8 * 2), keep: new Uint8Array(500) };
  typescriptKernels.probeCentroids(s, 500, 8, 2, 0.3, a.probed, a.keep);
  typescriptKernels.probeCentroids(s, 500, 8, 2, 0.3, b.probed, b.keep, inf);
  assert.deepEqual(b, a);
});

test('every native SIMD path gives the same bits (PLAIT_SIMD=avx2, scalar in child processes)', { skip: needsNative() }, () => {
  requireNative();
  const here = new URL(import.meta.url).href;
  const script = `import('${here.replace(/centroid-scores-int8\.test\.js$/, 'helpers/int8-digest.js')}').then((m) => console.log(m.digest()))`;
  const digests = new Map<string, string>();
  for (const simd of ['', 'avx2', 'scalar']) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, PLAIT_SIMD: simd, PLAIT_KERNELS: '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [path, hash] = r.stdout.trim().split(' ');
    digests.set(path!, hash!);
  }
  assert.ok(digests.has('scalar'), JSON.stringify([...digests]));
  assert.equal(new Set(digests.values()).size, 1, JSON.stringify([...digests]));
  assert.equal([...digests.values()][0], hashOf(typescriptKernels));
});

test('keepWithinMargin: hand-computed, and native equals the TypeScript twin', () => {
  // 3 centroids × 2 tokens; floor (0.5, 0.2): c0 passes on token 0, c1 on token 1 (equality passes), c2 never; NaN never passes.
  const s = new Float32Array([0.6, 0.0, 0.1, 0.2, 0.4, 0.1]);
  const floor = new Float32Array([0.5, 0.2]);
  const native = nativeKernels();
  for (const kernels of native === null ? [typescriptKernels] : [typescriptKernels, native]) {
    const keep = new Uint8Array([0, 0, 0]);
    kernels.keepWithinMargin(s, 3, 2, floor, keep);
    assert.deepEqual([...keep], [1, 1, 0], kernels.name);
    const kept = new Uint8Array([0, 0, 1]);
    kernels.keepWithinMargin(new Float32Array([NaN, NaN, 0, 0, 0, 0]), 3, 2, floor, kept);
    assert.deepEqual([...kept], [0, 0, 1], kernels.name);
  }
  if (native === null) return;
  for (const [k, qLen] of [
    [5, 1],
    [37, 15],
    [100, 16],
    [64, 17],
    [33, 32],
  ] as const) {
    const r = mulberry32(k * 7 + qLen);
    const x = Float32Array.from({ length: k * qLen }, () => r() * 2 - 1);
    // Floors high enough that some centroids fail every token: a token passes with probability (1 − f) / 2.
    const f = Float32Array.from({ length: qLen }, () => 1 - 0.2 / qLen);
    const a = new Uint8Array(k);
    const b = new Uint8Array(k);
    typescriptKernels.keepWithinMargin(x, k, qLen, f, a);
    native.keepWithinMargin(x, k, qLen, f, b);
    assert.deepEqual(b, a, `k ${k} qLen ${qLen}`);
    assert.ok(a.some((v) => v === 1) && a.some((v) => v === 0), `k ${k} qLen ${qLen}: the case must split`);
  }
});

test('bad arguments: INVALID_ARGUMENT on both implementations', () => {
  const native = nativeKernels();
  for (const kernels of native === null ? [typescriptKernels] : [typescriptKernels, native]) {
    const out = new Float32Array(6);
    const call = (dim: number, panel = new Uint8Array(16 * 8)): void =>
      kernels.centroidScoresInt8(new Uint8Array(2 * 8), new Float32Array(2), 2, dim, panel, new Float32Array(3), new Int32Array(3), 3, out);
    call(8);
    assert.throws(() => call(6), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', kernels.name);
    assert.throws(() => call(8, new Uint8Array(10)), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && /queryPanel/.test(e.message), kernels.name);
    assert.throws(() => kernels.centroidScoresInt8(new Int32Array(16) as unknown as Uint8Array, new Float32Array(2), 2, 8, new Uint8Array(128), new Float32Array(3), new Int32Array(3), 3, out), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', kernels.name);
  }
});

