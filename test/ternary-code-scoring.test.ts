/**
 * Ternary scored on its codes (issue 22; native-kernels/src/ternary-code-scoring.cc, twin
 * src/kernels/ternary-code-kernels.ts): a hand-computed case, the native kernel against the twin bit
 * for bit (at sizes around the SIMD widths, on the widest path and in child processes on AVX2 and
 * scalar), every path and aarch64's NEON under qemu against the twin through a C++ harness, the
 * distance to ColBERT's decompress-and-MaxSim within the bound the quantisation gives, and a ternary
 * index whose exact stage now scores on the codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { prepareCodeQuery, supportsCodeScoring, supportsFastScan, tokenInverseNormsCache, type TernaryCodeQuery } from '../src/codec/code-scorer.js';
import { TERNARY_NBITS, ternaryBytes } from '../src/kernels/ternary-kernels.js';
import { codeLutBound, codeLutLanes } from '../src/kernels/code-kernels.js';
import { isPlaitError } from '../src/errors/index.js';
import { REPO_ROOT, inCi, needsNative, requireNative } from './helpers/requirements.js';
import { makeCodeCase, type CodeCase } from './helpers/clustered-tokens.js';
import { bitIdentityOnNarrowerPaths } from './helpers/narrower-paths.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { exactScoresBy } from '../src/search/plaid.js';

/** Set in the child processes that re-run the bit-identity test on a narrower native path. */
const CHILD = process.env.PLAIT_TERNARY_CODES_CHILD === '1';

type Case = CodeCase<typeof TERNARY_NBITS>;

/** A fitted ternary codec over k centroids, nDocs documents of 0..maxLen tokens (document 3 empty), a query. */
function makeCase(seed: number, dim: number, qLen: number, weighted: boolean, k = 12, nDocs = 9, maxLen = 7): Case {
  return makeCodeCase(seed, dim, TERNARY_NBITS, qLen, weighted, k, nDocs, maxLen);
}

function ternaryQuery(c: Case, kernels: Kernels): TernaryCodeQuery {
  const cq = prepareCodeQuery(c.codec, c.q, c.qLen, kernels, 'fastscan');
  assert.equal(cq.kind, 'ternary');
  return cq as TernaryCodeQuery;
}

/** Scores on the codes with a fresh norm cache (returned too, to compare the norms). */
function scoreCase(c: Case, kernels: Kernels, normalise = true): { out: Float32Array; norms: Float32Array | null } {
  const cq = ternaryQuery(c, kernels);
  const out = new Float32Array(c.lens.length);
  const norms = normalise ? new Float32Array(c.codes.length).fill(NaN) : null;
  kernels.maxsimTernaryCodes(c.s, c.qLen, cq.lut, cq.scales, c.codes, c.residuals, c.dim, c.starts, c.lens, c.lens.length, out, c.qWeights, norms, c.codec.centroids, c.codec.weights);
  return { out, norms };
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

test('a hand-computed case: one byte, one query token, two tokens', () => {
  // c = e1, levels (−0.5, 0, 0.5); token A trits (2, 2, 0, 0, 0) → r = (0.5, 0.5, −0.5, −0.5, −0.5), token B trits
  // (1, 1, 1, 1, 1) → r = 0. q = (0.6, 0.8, 0, 0, 0), so S = q·c = 0.6.
  // A: q·(c + r) = 0.6·1.5 + 0.8·0.5 = 1.3, ‖c + r‖² = 2.25 + 0.25 + 3·0.25 = 3.25 → 1.3/√3.25 = 0.72111;
  // B: 0.6/1 = 0.6. MaxSim = 0.72111.
  const dim = 5;
  const centroids = Float32Array.of(1, 0, 0, 0, 0);
  const weights = Float32Array.of(-0.5, 0, 0.5);
  const residuals = Uint8Array.of(2 * 81 + 2 * 27, 121);
  const q = Float32Array.of(0.6, 0.8, 0, 0, 0);
  for (const k of [typescriptKernels, nativeKernels()].filter((x): x is Kernels => x !== null)) {
    const lanes = codeLutLanes(1);
    const lut = new Int16Array(256 * lanes);
    const scales = new Float32Array(lanes);
    k.buildTernaryCodeLut(q, 1, dim, weights, lut, scales);
    // max |q·r| over byte values: trits (2, 2, ·) give 0.3 + 0.4 = 0.7, the bound's unit is 0.7/32767.
    assert.ok(Math.abs(scales[0]! - 0.7 / 32767) < 1e-9, k.name);
    assert.equal(lut[(2 * 81 + 2 * 27) * lanes], 32767);
    assert.equal(lut[121 * lanes], 0);
    assert.equal(lut[0], -32767);
    const out = new Float32Array(1);
    const norms = new Float32Array(2).fill(NaN);
    k.maxsimTernaryCodes(Float32Array.of(0.6), 1, lut, scales, Int32Array.of(0, 0), residuals, dim, Int32Array.of(0), Int32Array.of(2), 1, out, null, norms, centroids, weights);
    assert.ok(Math.abs(out[0]! - 1.3 / Math.sqrt(3.25)) < 1e-5, `${k.name}: ${out[0]}`);
    assert.ok(Math.abs(norms[0]! - 1 / Math.sqrt(3.25)) < 1e-6 && norms[1] === 1, k.name);
    // Without the norm cache the scores are not divided: max(1.3, 0.6).
    k.maxsimTernaryCodes(Float32Array.of(0.6), 1, lut, scales, Int32Array.of(0, 0), residuals, dim, Int32Array.of(0), Int32Array.of(2), 1, out, null);
    assert.ok(Math.abs(out[0]! - 1.3) < 1e-4, k.name);
  }
});

test('ternary indexes score on codes, never through fast-scan; bad arguments are INVALID_ARGUMENT', () => {
  const c = makeCase(3, 16, 4, false);
  assert.ok(supportsCodeScoring(TERNARY_NBITS));
  assert.equal(supportsFastScan(c.codec), false);
  for (const method of ['codes', 'codes-normalized', 'fastscan'] as const) assert.equal(prepareCodeQuery(c.codec, c.q, c.qLen, typescriptKernels, method).kind, 'ternary');
  for (const k of [typescriptKernels, nativeKernels()].filter((x): x is Kernels => x !== null)) {
    const cq = ternaryQuery(c, k);
    const out = new Float32Array(c.lens.length);
    assert.throws(() => k.buildTernaryCodeLut(c.q, 4, 16, c.codec.weights, cq.lut.subarray(1), cq.scales), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), k.name);
    assert.throws(() => k.maxsimTernaryCodes(c.s, 4, cq.lut, cq.scales, c.codes, c.residuals, 16, c.starts, c.lens, c.lens.length, out, null, new Float32Array(c.codes.length)), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), `${k.name}: invNorms without centroids`);
    const bad = Int32Array.from(c.codes);
    bad[0] = 12;
    assert.throws(() => k.maxsimTernaryCodes(c.s, 4, cq.lut, cq.scales, bad, c.residuals, 16, c.starts, c.lens, c.lens.length, out), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'), `${k.name}: code ≥ K`);
  }
});

/** Shapes around the SIMD widths: dims whose last byte is partial (the codec needs multiples of 8; the harness has 7 and 130), 8, 16 and 32 lanes. */
const SHAPES: ReadonlyArray<readonly [number, number]> = [
  [8, 1],
  [8, 9],
  [16, 15],
  [40, 16],
  [24, 17],
  [128, 31],
  [128, 32],
  [136, 33],
  [512, 9],
  [96, 47],
];

test(`native ternary code scoring is bit-identical to the TypeScript twin (${process.env.PLAIT_SIMD ?? 'widest'} path)`, { skip: needsNative() }, () => {
  const native = requireNative();
  for (const [dim, qLen] of SHAPES) {
    for (const weighted of [false, true]) {
      const c = makeCase(dim * 7 + qLen + (weighted ? 1 : 0), dim, qLen, weighted, 40, 13, 20);
      const tq = ternaryQuery(c, typescriptKernels);
      const nq = ternaryQuery(c, native);
      assert.deepEqual(Array.from(nq.lut), Array.from(tq.lut), `LUT dim ${dim} qLen ${qLen}`);
      assert.deepEqual(bits(nq.scales), bits(tq.scales));
      for (const normalise of [true, false]) {
        const want = scoreCase(c, typescriptKernels, normalise);
        const got = scoreCase(c, native, normalise);
        assert.deepEqual(bits(got.out), bits(want.out), `dim ${dim} qLen ${qLen} weighted ${weighted} normalise ${normalise}`);
        if (normalise) assert.deepEqual(bits(got.norms!), bits(want.norms!), `norms dim ${dim}`);
      }
    }
  }
});

/**
 * Σ_i w_i max_j q_i · decompress(token j) in float64 from the decompressed rows (decompression's own
 * floats), and the bound the quantisation allows: Σ_i |w_i| · (nBytes · scale_i / 2) · max_j inv_j.
 */
function againstDecompression(c: Case, cq: TernaryCodeQuery, d: number): { score: number; bound: number } {
  const { dim, qLen } = c;
  const len = c.lens[d]!;
  const rows = new Float32Array(len * dim);
  typescriptKernels.decompress(c.codes.subarray(c.starts[d]!, c.starts[d]! + len), c.residuals.subarray(c.starts[d]! * ternaryBytes(dim), (c.starts[d]! + len) * ternaryBytes(dim)), len, dim, c.codec.centroids, c.codec.weights, TERNARY_NBITS, rows);
  const norms = new Float32Array(c.codes.length).fill(NaN);
  typescriptKernels.maxsimTernaryCodes(c.s, qLen, cq.lut, cq.scales, c.codes, c.residuals, dim, c.starts.subarray(d, d + 1), c.lens.subarray(d, d + 1), 1, new Float32Array(1), null, norms, c.codec.centroids, c.codec.weights);
  let maxInv = 0;
  for (let j = c.starts[d]!; j < c.starts[d]! + len; j++) maxInv = Math.max(maxInv, norms[j]!);
  let score = 0;
  let bound = 0;
  for (let i = 0; i < qLen; i++) {
    let best = -Infinity;
    for (let j = 0; j < len; j++) {
      let dot = 0;
      for (let t = 0; t < dim; t++) dot += c.q[i * dim + t]! * rows[j * dim + t]!;
      best = Math.max(best, dot);
    }
    const w = c.qWeights ? c.qWeights[i]! : 1;
    score += w * best;
    bound += Math.abs(w) * ((ternaryBytes(dim) * cq.scales[i]!) / 2) * maxInv;
  }
  return { score, bound };
}

test('scores on the codes stay within the quantisation bound of decompress-and-MaxSim, and the bound is tight enough to matter', () => {
  let worstShare = 0;
  for (const [dim, qLen] of SHAPES) {
    for (const weighted of [false, true]) {
      const c = makeCase(dim * 13 + qLen + (weighted ? 5 : 0), dim, qLen, weighted, 30, 11, 15);
      const cq = ternaryQuery(c, typescriptKernels);
      const { out } = scoreCase(c, typescriptKernels);
      for (let d = 0; d < c.lens.length; d++) {
        if (c.lens[d] === 0) continue;
        const { score, bound } = againstDecompression(c, cq, d);
        // Float slack: S = q·c in float32 and decompression's rounding, ~1e-6 a query token.
        const slack = 1e-5 * qLen;
        const diff = Math.abs(out[d]! - score);
        assert.ok(diff <= bound + slack, `dim ${dim} qLen ${qLen} doc ${d}: |${out[d]} − ${score}| = ${diff} > ${bound}`);
        worstShare = Math.max(worstShare, diff / (bound + slack));
      }
    }
  }
  // The scores do move (the kernel is not secretly decompressing), and the bound is not vacuous: q·r
  // sums nBytes rounded entries, so the error reaches a visible share of the worst case.
  assert.ok(worstShare > 0.01, `worst share of the bound ${worstShare}`);
});

test('bound per entry: every LUT entry is within scale/2 of the exact q·(levels of the byte)', () => {
  const c = makeCase(77, 16, 3, false);
  const cq = ternaryQuery(c, typescriptKernels);
  const lanes = codeLutLanes(c.qLen);
  const nBytes = ternaryBytes(c.dim);
  const w = c.codec.weights;
  for (let v = 0; v < 256; v++) {
    for (let b = 0; b < nBytes; b++) {
      for (let i = 0; i < c.qLen; i++) {
        let e = 0;
        for (let s = 0; s < 5; s++) {
          const t = 5 * b + s;
          if (t < c.dim) e += c.q[i * c.dim + t]! * w[Math.floor(v / 3 ** (4 - s)) % 3]!;
        }
        const got = cq.lut[(v * nBytes + b) * lanes + i]! * cq.scales[i]!;
        assert.ok(Math.abs(got - e) <= cq.scales[i]! / 2 + 1e-6, `v ${v} b ${b} i ${i}: ${got} vs ${e}`);
        assert.ok(Math.abs(cq.lut[(v * nBytes + b) * lanes + i]!) <= codeLutBound(nBytes));
      }
    }
  }
});

test('a ternary index scores its exact stage on the codes by default, within the bound of decompression', async () => {
  const dim = 32;
  const dir = mkdtempSync(join(tmpdir(), 'plait-ternary-codes-'));
  try {
    const { passages } = syntheticPassages(60, dim, 21, 32, 0.3);
    const path = join(dir, 'tern');
    await buildSynthetic(path, passages, dim, TERNARY_NBITS);
    const index = await openIndex(path);
    try {
      const a = index.scoringArrays;
      assert.equal(a.nbits, TERNARY_NBITS);
      const q = { vectors: passages[5]!.vectors.subarray(0, 6 * dim), length: 6, weights: null };
      const pids = Int32Array.from({ length: a.doclens.length }, (_, i) => i);
      const kernels = typescriptKernels;
      const onCodes = exactScoresBy(a, q, pids, kernels);
      const decompressed = exactScoresBy(a, q, pids, kernels, undefined, 'decompress');
      const seg = a.segments[0]!;
      const cache = tokenInverseNormsCache(seg.residuals, seg.codes.length);
      assert.ok(!Number.isNaN(cache[0]!), 'the default method filled the ternary norm cache: it scored on the codes');
      let moved = 0;
      for (let p = 0; p < pids.length; p++) {
        assert.ok(Math.abs(onCodes[p]! - decompressed[p]!) < 0.01 * q.length, `pid ${p}: ${onCodes[p]} vs ${decompressed[p]}`);
        if (onCodes[p] !== decompressed[p]) moved++;
      }
      assert.ok(moved > 0, 'the two methods are different computations');
      assert.equal(onCodes.indexOf(Math.max(...onCodes)), decompressed.indexOf(Math.max(...decompressed)), 'the same top passage');
    } finally {
      await index.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** What native-kernels/test/ternary-code-harness.cc prints for each path, from the twin on the same inputs. */
function harnessLines(): string[] {
  const input = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround((((i * 7919 + seed) % 2001) - 1000) / 1000));
  const fnv = (a: ArrayBufferView): string => {
    let h = 2166136261;
    for (const b of new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) h = Math.imul(h ^ b, 16777619) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  const k = 5;
  const lens = Int32Array.of(3, 0, 1, 7, 2, 4);
  const rows = 17;
  const starts = Int32Array.of(0, 3, 3, 4, 11, 13);
  const lines: string[] = [];
  for (const dim of [7, 128, 130, 512]) {
    for (const qLen of [1, 9, 17, 32]) {
      const centroids = input(k * dim, 1);
      const codes = Int32Array.from({ length: rows }, (_, i) => i % k);
      const weights = Float32Array.of(-0.45, 0, 0.45);
      const bytes = new Uint8Array(rows * ternaryBytes(dim));
      typescriptKernels.compress(input(rows * dim, 2), rows, dim, centroids, codes, Float32Array.of(-0.3, 0.3), TERNARY_NBITS, bytes);
      const lanes = codeLutLanes(qLen);
      const lut = new Int16Array(ternaryBytes(dim) * 256 * lanes);
      const scales = new Float32Array(lanes);
      const out = new Float32Array(6);
      const norms = new Float32Array(rows).fill(NaN);
      typescriptKernels.buildTernaryCodeLut(input(qLen * dim, 3), qLen, dim, weights, lut, scales);
      typescriptKernels.maxsimTernaryCodes(input(k * qLen, 5), qLen, lut, scales, codes, bytes, dim, starts, lens, 6, out, input(qLen, 4), norms, centroids, weights);
      lines.push(`dim ${dim} qlen ${qLen} lut ${fnv(lut)} scales ${fnv(scales)} scores ${fnv(out)} norms ${fnv(norms)}`);
    }
  }
  return lines;
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const TOOLS = ['g++', 'aarch64-linux-gnu-g++', 'qemu-aarch64-static'];
const missingTools = TOOLS.filter((t) => !has(t));

test(
  "every native path (this machine's, and aarch64's scalar and NEON under qemu) gives the TypeScript twin's bits",
  { skip: missingTools.length > 0 && !inCi() ? `missing ${missingTools.join(', ')} (.ci/run installs them; in CI this fails)` : false },
  () => {
    const expected = harnessLines();
    const native = join(REPO_ROOT, 'native-kernels');
    const sources = ['test/ternary-code-harness.cc', 'src/ternary-code-scoring.cc', 'src/code-maxsim.cc', 'src/ternary-kernels.cc'];
    const out = mkdtempSync(join(tmpdir(), 'plait-ternary-codes-arm-'));
    try {
      for (const [cxx, extra, runner, paths] of [
        ['g++', ['src/cpu-features.cc'], null, ['scalar']],
        ['aarch64-linux-gnu-g++', ['-static'], 'qemu-aarch64-static', ['scalar', 'neon']],
      ] as const) {
        const bin = join(out, cxx);
        const build = spawnSync(cxx, ['-O3', '-std=c++17', '-ffp-contract=off', '-Isrc', ...sources, ...extra, '-o', bin], { cwd: native, encoding: 'utf8', timeout: 120_000 });
        assert.equal(build.status, 0, `${cxx}: ${build.stderr}`);
        const r = runner === null ? spawnSync(bin, [], { encoding: 'utf8', timeout: 120_000 }) : spawnSync(runner, [bin], { encoding: 'utf8', timeout: 120_000 });
        assert.equal(r.status, 0, r.stderr);
        const blocks = r.stdout.trim().split(/^path /m).filter((x) => x !== '');
        const names = blocks.map((b) => b.split('\n')[0]!);
        for (const p of paths) assert.ok(names.includes(p), `${cxx}: path ${p} ran (${names.join(', ')})`);
        for (const b of blocks) assert.deepEqual(b.trim().split('\n').slice(1), expected, `${cxx}, path ${b.split('\n')[0]}`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

if (!CHILD) {
  bitIdentityOnNarrowerPaths(fileURLToPath(import.meta.url), 'PLAIT_TERNARY_CODES_CHILD', (simd) => [`native ternary code scoring is bit-identical to the TypeScript twin (${simd} path)`]);
}
