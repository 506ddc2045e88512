/**
 * Exact scoring on the stored codes (issue 22): a hand-computed case, the differential test of the
 * native kernel against its TypeScript twin (bit for bit, at sizes around the SIMD widths), the
 * same on the narrower native paths (child processes with PLAIT_SIMD), and the fidelity to
 * ColBERT's decompress-and-MaxSim that the formula promises.
 */
import { test } from 'node:test';
import { EXACT_SCORING_DEFAULTS } from '../src/config/defaults.js';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { kernelsStatus, nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { centroidNormsSq, exactScoringMethod, prepareCodeQuery, scoreOnCodes, supportsFastScan, type FastScanCodeQuery } from '../src/codec/code-scorer.js';
import { FAST_SCAN_MAX_BYTES, fastScanEntryMax } from '../src/kernels/fast-scan.js';
import { isPlaitError } from '../src/errors/index.js';
import { needsNative, requireNative } from './helpers/requirements.js';
import { makeCodeCase, type CodeCase } from './helpers/clustered-tokens.js';
import { bitIdentityOnNarrowerPaths } from './helpers/narrower-paths.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { centroidScores, plaidSearch, scratchMarks } from '../src/search/plaid.js';

/** Set in the child processes that re-run the bit-identity tests on a narrower native path. */
const CHILD = process.env.PLAIT_CODE_SCORING_CHILD === '1';

type Case = CodeCase<1 | 2 | 4>;

/** A random codec over k centroids, nDocs documents of 0..maxLen tokens (empty ones included), a query. */
function makeCase(seed: number, dim: number, nbits: 1 | 2 | 4, qLen: number, weighted: boolean, k = 12, nDocs = 9, maxLen = 7): Case {
  return makeCodeCase(seed, dim, nbits, qLen, weighted, k, nDocs, maxLen);
}

function scoreCase(c: Case, kernels: Kernels, normalize: boolean): Float32Array {
  const cq = prepareCodeQuery(c.codec, c.q, c.qLen, kernels);
  const out = new Float32Array(c.lens.length);
  scoreOnCodes(c.codec, cq, c.s, c.codes, c.residuals, c.starts, c.lens, c.lens.length, normalize, kernels, out, c.qWeights);
  return out;
}

function fastScanQuery(c: Case, kernels: Kernels): FastScanCodeQuery {
  const cq = prepareCodeQuery(c.codec, c.q, c.qLen, kernels, 'fastscan');
  assert.equal(cq.kind, 'fastscan');
  return cq as FastScanCodeQuery;
}

function scoreFastScan(c: Case, kernels: Kernels): Float32Array {
  const out = new Float32Array(c.lens.length);
  scoreOnCodes(c.codec, fastScanQuery(c, kernels), c.s, c.codes, c.residuals, c.starts, c.lens, c.lens.length, false, kernels, out, c.qWeights);
  return out;
}

/**
 * Σ_i w_i max_j q_i·(c_j + r_j) with r_j decoded from the residual bytes, or with `normalize`
 * q_i·(c_j + r_j)/‖c_j + r_j‖ (ColBERT's decompression), in float64: what code scoring
 * approximates; `bound` is Σ_i w_i · tokenBound(i) · max_j (1/‖c_j + r_j‖ when normalised, else 1).
 */
function exactOnDecoded(c: Case, d: number, tokenBound: (i: number) => number = () => 0, normalize = false): { score: number; bound: number } {
  const { centroids, weights } = c.codec;
  const { dim, nbits, qLen } = c;
  const mask = (1 << nbits) - 1;
  const perByte = 8 / nbits;
  const nBytes = (dim * nbits) / 8;
  let score = 0;
  let bound = 0;
  let maxInv = 1;
  for (let i = 0; i < qLen; i++) {
    let best = -Infinity;
    for (let j = c.starts[d]!; j < c.starts[d]! + c.lens[d]!; j++) {
      let dot = 0;
      let n2 = 0;
      for (let t = 0; t < dim; t++) {
        const byte = c.residuals[j * nBytes + Math.floor(t / perByte)]!;
        const bucket = (byte >> (8 - nbits * ((t % perByte) + 1))) & mask;
        const x = centroids[c.codes[j]! * dim + t]! + weights[bucket]!;
        dot += c.q[i * dim + t]! * x;
        n2 += x * x;
      }
      const inv = normalize ? 1 / Math.sqrt(n2) : 1;
      maxInv = Math.max(maxInv, inv);
      best = Math.max(best, dot * inv);
    }
    const w = c.qWeights ? c.qWeights[i]! : 1;
    score += w * best;
    bound += w * tokenBound(i);
  }
  bound *= maxInv;
  return { score, bound };
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** The sizes around the SIMD widths: qLen 1, 15–17, 31–33, 47; dims at every width's packing. */
const SHAPES: Array<[dim: number, nbits: 1 | 2 | 4, qLen: number]> = [
  [8, 1, 1],
  [8, 2, 16],
  [16, 4, 17],
  [64, 2, 15],
  [128, 2, 32],
  [128, 1, 31],
  [128, 4, 33],
  [96, 2, 47],
  [512, 2, 9],
];

/** dim 8, 2 bits, weights −0.3, −0.1, 0.1, 0.3, one centroid 0.5 · e0, the query e0. */
function handCase(): { dim: number; codec: ResidualCodec; q: Float32Array } {
  const dim = 8;
  const centroids = new Float32Array(dim);
  centroids[0] = 0.5;
  const codec = new ResidualCodec(dim, 2, centroids, new Float32Array([-0.2, 0, 0.2]), new Float32Array([-0.3, -0.1, 0.1, 0.3]), typescriptKernels);
  const q = new Float32Array(dim);
  q[0] = 1;
  return { dim, codec, q };
}

test('a 1-token query against 2-byte tokens, computed by hand', () => {
  // dim 8, 2 bits: weights ±0.1, ±0.3; q = e0, so only the first dimension's bucket counts.
  const { codec, q } = handCase();
  const cq = prepareCodeQuery(codec, q, 1, typescriptKernels);
  // Largest |entry| 0.3 → bound 16,383 (32,767 / 2 bytes): 0.1 is 5,461 units, 0.3 is 16,383.
  // Rows are value-major: lut[(v · nBytes + b) · 16 + i].
  assert.equal(cq.lut[(0b11_000000 * 2 + 0) * 16], 16383);
  assert.equal(cq.lut[(0b10_111111 * 2 + 0) * 16], 5461);
  assert.equal(cq.lut[(0b00_111111 * 2 + 0) * 16], -16383);
  assert.equal(cq.lut[(0xff * 2 + 1) * 16], 0);
  // Token 0: first bucket 3 (+0.3); token 1: first bucket 1 (−0.1). q·c = 0.5 for both.
  const residuals = new Uint8Array([0b11_000000, 0, 0b01_000000, 0]);
  const out = new Float32Array(2);
  const s = new Float32Array([0.5]);
  scoreOnCodes(codec, cq, s, new Int32Array(2), residuals, new Int32Array([0, 1]), new Int32Array([1, 1]), 2, false, typescriptKernels, out, null);
  assert.ok(Math.abs(out[0]! - 0.8) < 1e-6, `${out[0]}`);
  assert.ok(Math.abs(out[1]! - 0.4) < 1e-4, `${out[1]}`);
  // With the norm: ‖c‖² = 0.25; token 0's other seven dimensions hold bucket 0 (weight −0.3), so
  // ‖r‖² = 8 · 0.09 = 0.72 and the score is 0.8 / sqrt(0.97).
  scoreOnCodes(codec, cq, s, new Int32Array(2), residuals, new Int32Array([0, 1]), new Int32Array([1, 1]), 2, true, typescriptKernels, out, null);
  assert.ok(Math.abs(out[0]! - 0.8 / Math.sqrt(0.25 + 0.72)) < 1e-4, `${out[0]}`);
});

test('an empty document scores Σ w · −9999 and ranks last', () => {
  const c = makeCase(7, 16, 2, 3, true);
  const out = scoreCase(c, typescriptKernels, true);
  const w = c.qWeights!;
  assert.ok(Math.abs(out[3]! - -9999 * (w[0]! + w[1]! + w[2]!)) < 1e-2);
  for (let d = 0; d < out.length; d++) if (d !== 3) assert.ok(out[d]! > out[3]!);
});

test('unnormalised code scores equal q·(c + r) of the decoded residual (LUT quantisation only)', () => {
  for (const [dim, nbits, qLen] of SHAPES) {
    const c = makeCase(dim * 31 + qLen, dim, nbits, qLen, false);
    const got = scoreCase(c, typescriptKernels, false);
    const { centroids, weights } = c.codec;
    const mask = (1 << nbits) - 1;
    const perByte = 8 / nbits;
    const nBytes = (dim * nbits) / 8;
    for (let d = 0; d < c.lens.length; d++) {
      if (c.lens[d] === 0) continue;
      let total = 0;
      for (let i = 0; i < qLen; i++) {
        let best = -Infinity;
        for (let j = c.starts[d]!; j < c.starts[d]! + c.lens[d]!; j++) {
          let dot = 0;
          for (let t = 0; t < dim; t++) {
            const byte = c.residuals[j * nBytes + Math.floor(t / perByte)]!;
            const bucket = (byte >> (8 - nbits * ((t % perByte) + 1))) & mask;
            dot += c.q[i * dim + t]! * (centroids[c.codes[j]! * dim + t]! + weights[bucket]!);
          }
          best = Math.max(best, dot);
        }
        total += best;
      }
      // Rounding: half a LUT unit per byte position per query token.
      assert.ok(Math.abs(got[d]! - total) < 2e-3 * qLen, `dim ${dim} nbits ${nbits} qLen ${qLen} doc ${d}: ${got[d]} vs ${total}`);
    }
  }
});

test("code scores stay close to ColBERT's decompress-and-MaxSim: without a norm closer than with ‖c‖² + ‖r‖²", () => {
  // Unit tokens near unit centroids: ‖c + r‖ = 1 for the exact residual, so dropping the norm
  // ('codes') errs only by the quantised residual's norm; ‖c‖² + ‖r‖² ('codes-normalized') ignores
  // the cross term 2c·r ≈ −‖r‖² and over-shrinks (bench/RESULTS.md measures both on real sets).
  let worstPlain = 0;
  let worstNormed = 0;
  for (const [dim, nbits, qLen] of SHAPES) {
    if (dim < 64) continue;
    const c = makeCase(dim + nbits + qLen, dim, nbits, qLen, false, 12, 9, 7);
    const plain = scoreCase(c, typescriptKernels, false);
    const normed = scoreCase(c, typescriptKernels, true);
    const ref = new Float32Array(c.lens.length);
    typescriptKernels.maxsimCompressed(c.q, qLen, dim, c.codes, c.residuals, c.starts, c.lens, c.lens.length, c.codec.centroids, c.codec.weights, nbits, ref, null);
    for (let d = 0; d < ref.length; d++) {
      if (c.lens[d] === 0) continue;
      worstPlain = Math.max(worstPlain, Math.abs(plain[d]! - ref[d]!) / Math.abs(ref[d]!));
      worstNormed = Math.max(worstNormed, Math.abs(normed[d]! - ref[d]!) / Math.abs(ref[d]!));
    }
  }
  // Measured 0.053 (codes) and 0.119 (codes-normalized) on these shapes (noise 0.6: large residuals).
  assert.ok(worstPlain < 0.08, `codes: worst relative error ${worstPlain}`);
  assert.ok(worstPlain < worstNormed, `codes ${worstPlain} vs codes-normalized ${worstNormed}`);
});

test('fast-scan: a 1-token query against 2-byte tokens, computed by hand', () => {
  // dim 8, 2 bits, q = e0: nibble 0 (dims 0 and 1) has T[v] = w[v >> 2] ∈ {−0.3, −0.1, 0.1, 0.3},
  // every other nibble T = 0. 2 bytes: entries up to M = 255; R = 0.6, scale = 0.6 / 255,
  // offset = −0.3 (nibble 0's minimum); entries of nibble 0: round((w + 0.3) · 255 / 0.6) = 0, 85, 170, 255.
  const { dim, codec, q } = handCase();
  const cq = prepareCodeQuery(codec, q, 1, typescriptKernels, 'fastscan') as FastScanCodeQuery;
  assert.equal(cq.kind, 'fastscan');
  // tables[((b · qLen + i) · 2 + h) · 16 + v]: byte 0's high nibble holds dims 0 and 1.
  assert.deepEqual(Array.from(cq.tables.subarray(0, 16)), [0, 0, 0, 0, 85, 85, 85, 85, 170, 170, 170, 170, 255, 255, 255, 255]);
  assert.ok(cq.tables.subarray(16).every((e) => e === 0));
  assert.equal(fastScanEntryMax(2), 255);
  assert.equal(cq.scales[0], Math.fround(Math.fround(Math.fround(0.3) - Math.fround(-0.3)) / 255));
  assert.equal(cq.offsets[0], Math.fround(-0.3));
  // Token 0: first bucket 3 → q·(c + r) = 0.5 + 255 · scale − 0.3 = 0.8; token 1: bucket 1 → 0.5 + 85 · 0.6/255 − 0.3 = 0.4.
  // Divided by ‖c + r‖: the other seven dimensions hold bucket 0 (−0.3), so ‖c + r‖² = 0.8² + 7 · 0.09
  // = 1.27 for token 0 and 0.4² + 0.63 = 0.79 for token 1.
  const residuals = new Uint8Array([0b11_000000, 0, 0b01_000000, 0]);
  const out = new Float32Array(2);
  scoreOnCodes(codec, cq, new Float32Array([0.5]), new Int32Array(2), residuals, new Int32Array([0, 1]), new Int32Array([1, 1]), 2, false, typescriptKernels, out, null);
  assert.ok(Math.abs(out[0]! - 0.8 / Math.sqrt(1.27)) < 1e-6, `${out[0]}`);
  assert.ok(Math.abs(out[1]! - 0.4 / Math.sqrt(0.79)) < 1e-6, `${out[1]}`);
  // Without the norm cache the kernel gives the raw q·(c + r).
  typescriptKernels.maxsimFastScan(new Float32Array([0.5]), 1, cq.tables, cq.scales, cq.offsets, new Int32Array(2), residuals, dim, 2, new Int32Array([0, 1]), new Int32Array([1, 1]), 2, out, null);
  assert.ok(Math.abs(out[0]! - 0.8) < 1e-6 && Math.abs(out[1]! - 0.4) < 1e-6, `${out[0]} ${out[1]}`);
});

test('fast-scan scores are within the quantisation bound of q·(c + r)/‖c + r‖: nBytes · scale_i / ‖c + r‖ per query token', () => {
  // Each of the 2·nBytes entries is rounded by at most half a step: |Δ| ≤ nBytes · scale_i before
  // the division by the token's norm, and the max over tokens keeps that bound.
  for (const [dim, nbits, qLen] of SHAPES) {
    for (const weighted of [false, true]) {
      const c = makeCase(dim * 17 + qLen, dim, nbits, qLen, weighted, 12, 9, 90);
      const cq = fastScanQuery(c, typescriptKernels);
      const got = scoreFastScan(c, typescriptKernels);
      const nBytes = (dim * nbits) / 8;
      let slack = 0;
      for (let d = 0; d < c.lens.length; d++) {
        if (c.lens[d] === 0) continue;
        const { score, bound } = exactOnDecoded(c, d, (i) => nBytes * cq.scales[i]!, true);
        const err = Math.abs(got[d]! - score);
        assert.ok(err <= bound * 1.001 + 1e-4 * qLen, `dim ${dim} nbits ${nbits} qLen ${qLen} doc ${d}: |${got[d]} − ${score}| = ${err} > ${bound}`);
        slack = Math.max(slack, err / bound);
      }
      // Not vacuous: the errors use a good part of the bound somewhere.
      assert.ok(slack > 0.01, `dim ${dim} nbits ${nbits} qLen ${qLen}: largest error / bound ${slack}`);
    }
  }
});

test('fast-scan at the integer bound: every entry at its maximum sums below 2^16 exactly (128 and 256 bytes); 258 bytes are refused', { skip: needsNative() }, () => {
  requireNative();
  const native = nativeKernels()!;
  // A constant positive query token and increasing weights give every nibble the same table with
  // its maximum at v = 15 (buckets 3, 3), so every nibble spans the whole range and residual bytes
  // 0xFF read entry M everywhere: 2 · 128 · 255 = 65,280 at dim 512, 2 · 256 · 127 = 65,024 at 1,024.
  const weights = new Float32Array([-0.3, -0.1, 0.1, 0.3]);
  for (const [dim, sum] of [
    [512, 65280],
    [1024, 65024],
  ] as const) {
    const nBytes = (dim * 2) / 8;
    const m = fastScanEntryMax(nBytes);
    assert.equal(2 * nBytes * m, sum);
    const qLen = 3;
    const q = Float32Array.from({ length: qLen * dim }, (_, x) => 0.01 * (1 + Math.floor(x / dim)));
    const s = new Float32Array([0.25, -0.5, 0]);
    const residuals = new Uint8Array(2 * nBytes).fill(0xff);
    residuals.fill(0, nBytes); // the second token reads every nibble's minimum: entry 0
    for (const k of [typescriptKernels, native]) {
      const tables = new Uint8Array(nBytes * 32 * qLen);
      const scales = new Float32Array(qLen);
      const offsets = new Float32Array(qLen);
      k.buildFastScanTables(q, qLen, dim, weights, 2, tables, scales, offsets);
      for (let o = 0; o < tables.length; o += 16) {
        assert.equal(tables[o + 15], m);
        assert.equal(tables[o], 0);
      }
      const out = new Float32Array(2);
      k.maxsimFastScan(s, qLen, tables, scales, offsets, new Int32Array([0, 0]), residuals, dim, 2, new Int32Array([0, 1]), new Int32Array([1, 1]), 2, out, null);
      let want = 0;
      let wantMin = 0;
      for (let i = 0; i < qLen; i++) {
        want = Math.fround(want + Math.fround(Math.fround(s[i]! + Math.fround(scales[i]! * sum)) + offsets[i]!));
        wantMin = Math.fround(wantMin + Math.fround(Math.fround(s[i]! + 0) + offsets[i]!));
      }
      assert.equal(out[0], want, `${k.name} dim ${dim}`);
      assert.equal(out[1], wantMin, `${k.name} dim ${dim}`);
    }
  }
  const weightsWide = weights;
  for (const k of [typescriptKernels, native]) {
    const tooWide = 1032;
    assert.throws(
      () => k.buildFastScanTables(new Float32Array(tooWide), 1, tooWide, weightsWide, 2, new Uint8Array(258 * 32), new Float32Array(1), new Float32Array(1)),
      (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && /256/.test(e.message),
      k.name,
    );
  }
  // Wider tokens fall back to the int16 table ('codes').
  const wide = new ResidualCodec(1032, 2, new Float32Array(1032), new Float32Array(3), weights, typescriptKernels);
  assert.equal(supportsFastScan(wide), false);
  assert.equal(prepareCodeQuery(wide, new Float32Array(1032), 1, typescriptKernels, 'fastscan').kind, 'lut');
});

test('fast-scan with the norm cache refuses a dim that is not a multiple of 8 (the norm is summed eight dimensions at a time), natively and in the twin', () => {
  const dim = 4; // 2 bits: one residual byte a token, accepted without the cache
  const tables = new Uint8Array(32);
  const [scales, offsets, out] = [new Float32Array(1), new Float32Array(1), new Float32Array(1)];
  const args = [new Float32Array(1), 1, tables, scales, offsets, new Int32Array(1), new Uint8Array(1), dim, 2, new Int32Array([0]), new Int32Array([1]), 1, out, null] as const;
  for (const k of [typescriptKernels, ...(nativeKernels() ? [nativeKernels()!] : [])]) {
    k.maxsimFastScan(...args);
    assert.throws(
      () => k.maxsimFastScan(...args, new Float32Array(1).fill(NaN), new Float32Array(dim), new Float32Array(4)),
      (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && /multiple of 8/.test(e.message),
      k.name,
    );
  }
});

test('‖c‖² per centroid, cached per centroid array', () => {
  const c = makeCase(3, 16, 2, 2, false);
  const t = centroidNormsSq(c.codec);
  for (let j = 0; j < c.codec.nCentroids; j++) {
    let n = 0;
    for (let d = 0; d < 16; d++) n += c.codec.centroids[j * 16 + d]! ** 2;
    assert.ok(Math.abs(t[j]! - n) < 1e-6);
  }
  assert.equal(centroidNormsSq(c.codec), t);
});

test('PLAIT_EXACT_SCORING picks the method and rejects unknown names', () => {
  assert.equal(exactScoringMethod({ PLAIT_EXACT_SCORING: 'decompress' }), 'decompress');
  assert.equal(exactScoringMethod({ PLAIT_EXACT_SCORING: 'codes-normalized' }), 'codes-normalized');
  assert.equal(exactScoringMethod({ PLAIT_EXACT_SCORING: 'fastscan' }), 'fastscan');
  assert.equal(exactScoringMethod({}), EXACT_SCORING_DEFAULTS.method);
  assert.equal(EXACT_SCORING_DEFAULTS.method, 'fastscan', 'the default exact stage: one passage, one score on every path (test/exact-paths.test.ts)');
  assert.throws(() => exactScoringMethod({ PLAIT_EXACT_SCORING: 'fast' }), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && /codes-normalized/.test(e.message));
});

test('8-bit indexes have no code scoring (a clear error)', () => {
  const codec = new ResidualCodec(8, 8, new Float32Array(8), new Float32Array(255), new Float32Array(256), typescriptKernels);
  assert.throws(() => prepareCodeQuery(codec, new Float32Array(8), 1, typescriptKernels), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT');
});

test('bad arguments are INVALID_ARGUMENT on both implementations', { skip: needsNative() }, () => {
  for (const k of [typescriptKernels, nativeKernels()!]) {
    const c = makeCase(5, 16, 2, 4, false);
    const cq = prepareCodeQuery(c.codec, c.q, 4, k);
    const out = new Float32Array(c.lens.length);
    const call = (lens: Int32Array, codes = c.codes): void =>
      k.maxsimCodes(c.s, 4, cq.lut, cq.scales, codes, c.residuals, 16, 2, c.starts, lens, lens.length, null, c.codec.weights, out, null);
    assert.throws(() => call(Int32Array.from(c.lens, (l) => l + 100)), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', k.name);
    assert.throws(() => call(c.lens, Int32Array.from(c.codes, () => 99)), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', k.name);
    assert.throws(() => k.buildCodeLut(c.q, 4, 16, c.codec.weights, 8, cq.lut, cq.scales), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', k.name);
  }
});

test(`native code scoring is bit-identical to the TypeScript twin (${process.env.PLAIT_SIMD ?? 'widest'} path)`, { skip: needsNative() }, () => {
  requireNative();
  const native = nativeKernels()!;
  for (const [dim, nbits, qLen] of SHAPES) {
    for (const weighted of [false, true]) {
      const c = makeCase(dim * 7 + qLen + (weighted ? 1 : 0), dim, nbits, qLen, weighted, 40, 13, 20);
      const tq = prepareCodeQuery(c.codec, c.q, qLen, typescriptKernels);
      const nq = prepareCodeQuery(c.codec, c.q, qLen, native);
      assert.deepEqual(Array.from(nq.lut), Array.from(tq.lut), `LUT dim ${dim} nbits ${nbits} qLen ${qLen}`);
      assert.deepEqual(bits(nq.scales), bits(tq.scales));
      for (const normalize of [false, true]) {
        const want = scoreCase(c, typescriptKernels, normalize);
        const got = scoreCase(c, native, normalize);
        assert.deepEqual(bits(got), bits(want), `dim ${dim} nbits ${nbits} qLen ${qLen} weighted ${weighted} normalize ${normalize}`);
      }
    }
  }
});

test(`native fast-scan is bit-identical to the TypeScript twin (${process.env.PLAIT_SIMD ?? 'widest'} path)`, { skip: needsNative() }, () => {
  requireNative();
  const native = nativeKernels()!;
  // Documents of up to 150 tokens: they span the kernel's 64-token blocks, and empty ones sit between.
  for (const [dim, nbits, qLen] of SHAPES) {
    for (const weighted of [false, true]) {
      const c = makeCase(dim * 11 + qLen + (weighted ? 1 : 0), dim, nbits, qLen, weighted, 40, 13, 150);
      const tq = fastScanQuery(c, typescriptKernels);
      const nq = fastScanQuery(c, native);
      assert.deepEqual(Array.from(nq.tables), Array.from(tq.tables), `tables dim ${dim} nbits ${nbits} qLen ${qLen}`);
      assert.deepEqual(bits(nq.scales), bits(tq.scales));
      assert.deepEqual(bits(nq.offsets), bits(tq.offsets));
      assert.deepEqual(bits(scoreFastScan(c, native)), bits(scoreFastScan(c, typescriptKernels)), `dim ${dim} nbits ${nbits} qLen ${qLen} weighted ${weighted}`);
      // Each kernel fills its own norm cache: the cached 1/‖c + r‖ and the scores agree as bits.
      const [outN, outT] = [new Float32Array(c.lens.length), new Float32Array(c.lens.length)];
      const [invN, invT] = [new Float32Array(c.codes.length).fill(NaN), new Float32Array(c.codes.length).fill(NaN)];
      const { centroids, weights } = c.codec;
      native.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, c.starts, c.lens, c.lens.length, outN, c.qWeights, invN, centroids, weights);
      typescriptKernels.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, c.starts, c.lens, c.lens.length, outT, c.qWeights, invT, centroids, weights);
      assert.deepEqual(bits(invN), bits(invT), `norms dim ${dim} nbits ${nbits}`);
      assert.ok(invN.some((x) => !Number.isNaN(x)));
      assert.deepEqual(bits(outN), bits(outT));
    }
  }
  // Block edges: a 128-token document (two full 64-token blocks), then 64 (one block), 1 and 63
  // (a block ending mid-way), 127, 130 and 255 tokens (blocks ending anywhere).
  const c = makeCase(5, 128, 2, 32, false, 20, 3, 8);
  const lens = new Int32Array([128, 64, 1, 63, 127, 130, 255]);
  const starts = new Int32Array(lens.length);
  for (let i = 1; i < lens.length; i++) starts[i] = starts[i - 1]! + lens[i - 1]!;
  const rows = starts[lens.length - 1]! + lens[lens.length - 1]!;
  const residuals = Uint8Array.from({ length: rows * 32 }, (_, i) => (i * 37 + 11) & 255);
  const codes = Int32Array.from({ length: rows }, (_, i) => i % 20);
  const d: Case = { ...c, residuals, codes, lens, starts };
  const got = scoreFastScan(d, native);
  assert.deepEqual(bits(got), bits(scoreFastScan(d, typescriptKernels)));
  // Each document alone (its own blocks from token 0) scores the same bits as in the batch.
  for (let i = 0; i < lens.length; i++) {
    const one: Case = { ...d, lens: lens.subarray(i, i + 1), starts: starts.subarray(i, i + 1) };
    assert.deepEqual(bits(scoreFastScan(one, native)), [bits(got)[i]], `document ${i} alone`);
  }
});

/**
 * The fast-scan path this process should run: PLAIT_SIMD's choice, else on x86-64 Linux the VBMI +
 * VNNI path where /proc/cpuinfo lists both (read here, not from the addon's own detection), else
 * null (not pinned: another OS or architecture).
 */
function expectedFastScanPath(): string | null {
  const forced = process.env.PLAIT_SIMD;
  if (forced === 'avx512bw' || forced === 'avx2' || forced === 'scalar') return forced;
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  if (flags.has('avx512vbmi') && flags.has('avx512_vnni') && flags.has('avx512vl')) return 'avx512-vbmi-vnni';
  if (flags.has('avx512bw') && flags.has('avx512vl')) return 'avx512bw';
  return flags.has('avx2') ? 'avx2' : 'scalar';
}

// The VBMI path looks up quads (residual bytes 2q, 2q + 1): an odd nBytes (1 bit, 8 × odd d) leaves
// the last quad half empty, nBytes past 32 takes a second 16-quad pass of the layout with a masked tail; 1, 2 and 4 bits
// at 64–512 d; query tokens around its groups of 4 (1–5, 8, 13) and past 32 (33, 47).
test(`native fast-scan is bit-identical to the TypeScript twin at every quad layout (${process.env.PLAIT_SIMD ?? 'widest'} path)`, { skip: needsNative() }, () => {
  requireNative();
  const native = nativeKernels()!;
  const want = expectedFastScanPath();
  if (want !== null) assert.equal(kernelsStatus().fastScanPath, want, 'the fast-scan path that runs');
  const shapes: Array<[dim: number, nbits: 1 | 2 | 4]> = [
    [8, 1], [40, 1], [72, 1], [264, 1], [136, 2], [88, 4],
    [64, 1], [96, 1], [128, 1], [512, 1], [64, 2], [96, 2], [128, 2], [512, 2], [64, 4], [96, 4], [128, 4], [512, 4],
  ];
  const qLens = [1, 2, 3, 4, 5, 8, 13, 32, 33, 47];
  shapes.forEach(([dim, nbits], n) => {
    const qLen = qLens[n % qLens.length]!;
    const c = makeCase(dim * 5 + nbits + qLen, dim, nbits, qLen, n % 2 === 1, 30, 5, 140);
    const tq = fastScanQuery(c, typescriptKernels);
    const [outN, outT] = [new Float32Array(c.lens.length), new Float32Array(c.lens.length)];
    native.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, c.starts, c.lens, c.lens.length, outN, c.qWeights);
    typescriptKernels.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, c.starts, c.lens, c.lens.length, outT, c.qWeights);
    assert.deepEqual(bits(outN), bits(outT), `dim ${dim} nbits ${nbits} qLen ${qLen}`);
  });
  // Every query length from 1 to 40 at one shape (a 2-quad tail group at each remainder).
  for (let qLen = 1; qLen <= 40; qLen++) {
    const c = makeCase(1000 + qLen, 64, 2, qLen, false, 20, 3, 70);
    assert.deepEqual(bits(scoreFastScan(c, native)), bits(scoreFastScan(c, typescriptKernels)), `qLen ${qLen}`);
  }
  // Past 32 query tokens the VBMI path's chunks go through token rows (its epilogue reads the chunks
  // itself up to 32): 3 and 4 groups of 16 lanes, and past 64 the scalar epilogue; with the norm cache
  // filled on first use, as the default method runs.
  for (const qLen of [48, 61, 64, 65, 80]) {
    const c = makeCase(2000 + qLen, 128, 2, qLen, qLen % 2 === 1, 20, 3, 150);
    assert.deepEqual(bits(scoreFastScan(c, native)), bits(scoreFastScan(c, typescriptKernels)), `qLen ${qLen}`);
    const tq = fastScanQuery(c, typescriptKernels);
    const [outN, outT] = [new Float32Array(c.lens.length), new Float32Array(c.lens.length)];
    const [invN, invT] = [new Float32Array(c.codes.length).fill(NaN), new Float32Array(c.codes.length).fill(NaN)];
    const { centroids, weights } = c.codec;
    native.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, 128, 2, c.starts, c.lens, c.lens.length, outN, c.qWeights, invN, centroids, weights);
    typescriptKernels.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, 128, 2, c.starts, c.lens, c.lens.length, outT, c.qWeights, invT, centroids, weights);
    assert.deepEqual(bits(outN), bits(outT), `qLen ${qLen} with the norm`);
  }
});

test(`native fast-scan token similarities are bit-identical to the TypeScript twin (${process.env.PLAIT_SIMD ?? 'widest'} path)`, { skip: needsNative() }, () => {
  requireNative();
  const native = nativeKernels()!;
  // Passages of 1, 63, 64, 65, 128 and 150 rows (block edges) at odd starts; qLen around every lane
  // group (1, 16, 17, 32, 33, 47, 65); with the norm cache cold (filled by each kernel), warm and absent.
  const shapes: Array<[dim: number, nbits: 1 | 2 | 4, qLen: number]> = [...SHAPES, [128, 2, 65], [512, 2, 20]];
  shapes.forEach(([dim, nbits, qLen], n) => {
    const c = makeCase(3000 + dim + qLen + nbits, dim, nbits, qLen, false, 25, 4, 150);
    const rows = c.codes.length;
    const tq = fastScanQuery(c, typescriptKernels);
    const { centroids, weights } = c.codec;
    const [invN, invT] = [new Float32Array(rows).fill(NaN), new Float32Array(rows).fill(NaN)];
    for (const len of [1, 63, 64, 65, 128, 150]) {
      if (len > rows) continue;
      const start = (n * 7 + len) % (rows - len + 1);
      for (const norm of [true, false]) {
        const [outN, outT] = [new Float32Array(qLen * len).fill(NaN), new Float32Array(qLen * len).fill(NaN)];
        native.fastScanTokenSimilarities(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, start, len, outN, norm ? invN : null, centroids, weights);
        typescriptKernels.fastScanTokenSimilarities(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, start, len, outT, norm ? invT : null, centroids, weights);
        assert.deepEqual(bits(outN), bits(outT), `dim ${dim} nbits ${nbits} qLen ${qLen} rows [${start}, +${len}) norm ${norm}`);
        assert.deepEqual(bits(invN), bits(invT), `norm cache dim ${dim} rows [${start}, +${len})`);
      }
    }
    // The maximum of each query row over a one-passage batch is maxsimFastScan's (unweighted) score.
    const len = Math.min(rows, 70);
    const sims = new Float32Array(qLen * len);
    native.fastScanTokenSimilarities(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, 0, len, sims, invN, centroids, weights);
    const ones = new Float32Array(qLen);
    let want = 0;
    for (let i = 0; i < qLen; i++) {
      ones.fill(0);
      ones[i] = 1;
      const one = new Float32Array(1);
      native.maxsimFastScan(c.s, qLen, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, dim, nbits, new Int32Array([0]), new Int32Array([len]), 1, one, ones, invN, centroids, weights);
      assert.equal(one[0], Math.max(...sims.subarray(i * len, (i + 1) * len)), `row ${i} of dim ${dim} qLen ${qLen}`);
    }
  });
  // Rows past the codes and short outputs are INVALID_ARGUMENT on both.
  const c = makeCase(7, 64, 2, 4, false, 10, 3, 20);
  const tq = fastScanQuery(c, typescriptKernels);
  for (const k of [native, typescriptKernels]) {
    assert.throws(() => k.fastScanTokenSimilarities(c.s, 4, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, 64, 2, c.codes.length - 1, 2, new Float32Array(8)), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), k.name);
    assert.throws(() => k.fastScanTokenSimilarities(c.s, 4, tq.tables, tq.scales, tq.offsets, c.codes, c.residuals, 64, 2, 0, 2, new Float32Array(7)), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), k.name);
  }
});

test("PLAID's stage 4 on codes ('codes' and 'fastscan'): the same survivors, each scored as the kernel scores it alone, near decompression", { skip: CHILD }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-codes-'));
  try {
    const dim = 32;
    const data = syntheticPassages(400, dim, 7, 1024, 0.15);
    await buildSynthetic(join(dir, 'idx'), data.passages, dim, 2);
    const index = await openIndex(join(dir, 'idx'), { workers: 0 });
    try {
      const a = index.scoringArrays;
      assert.equal(a.segments.length, 1);
      const kernels = nativeKernels() ?? typescriptKernels;
      const params = { nIvfProbe: 4, centroidScoreThreshold: 0.3, ndocs: 256 };
      for (const method of ['codes', 'fastscan'] as const) {
      let shared = 0;
      for (let qi = 0; qi < 8; qi++) {
        const p = data.passages[qi * 13]!;
        const q = { vectors: p.vectors.slice(0, 8 * dim), length: Math.min(8, p.vectors.length / dim), weights: null };
        const ref = plaidSearch(a, q, params, kernels, scratchMarks(a), undefined, 'decompress').hits;
        const got = plaidSearch(a, q, params, kernels, scratchMarks(a), undefined, method).hits;
        assert.deepEqual(Array.from(got.pids).sort(), Array.from(ref.pids).sort(), 'stage 4 rescoring keeps the same survivors');
        // Each survivor's score is exactly the kernel's on that passage alone (segment routing, token
        // starts and the centroid-score rows wired right), and near the decompressed score (the
        // dropped norm: ‖c + r‖ ≠ 1 after quantisation; at 32 d and 2 bits up to ~6%).
        const s = centroidScores(a, q, kernels);
        const cq = prepareCodeQuery(a, q.vectors, q.length, kernels, method);
        const seg = a.segments[0]!;
        const refScore = new Map(Array.from(ref.pids, (pid, i) => [pid, ref.scores[i]!]));
        for (let i = 0; i < got.pids.length; i++) {
          const pid = got.pids[i]!;
          const one = new Float32Array(1);
          scoreOnCodes(a, cq, s, seg.codes, seg.residuals, a.tokenStarts.subarray(pid, pid + 1), a.doclens.subarray(pid, pid + 1), 1, false, kernels, one, null);
          assert.equal(got.scores[i], one[0], `${method} pid ${pid}`);
          const r = refScore.get(pid)!;
          assert.ok(Math.abs(got.scores[i]! - r) <= 0.1 * Math.abs(r), `pid ${pid}: ${method} ${got.scores[i]} vs decompress ${r}`);
        }
        const top = (h: typeof ref): number[] => Array.from(h.pids.subarray(0, 5));
        shared += top(got).filter((pid) => top(ref).includes(pid)).length;
      }
      assert.ok(shared >= 32, `${method}: top-5 shared with decompression: ${shared} of 40`);
      }
    } finally {
      await index.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (!CHILD) {
  bitIdentityOnNarrowerPaths(
    fileURLToPath(import.meta.url),
    'PLAIT_CODE_SCORING_CHILD',
    (simd) => [
      `native code scoring is bit-identical to the TypeScript twin (${simd} path)`,
      `native fast-scan is bit-identical to the TypeScript twin (${simd} path)`,
      `native fast-scan is bit-identical to the TypeScript twin at every quad layout (${simd} path)`,
      `native fast-scan token similarities are bit-identical to the TypeScript twin (${simd} path)`,
    ],
    ['avx512bw', 'avx2', 'scalar'],
  );
}
