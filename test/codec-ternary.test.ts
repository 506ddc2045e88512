/**
 * The ternary codec (issue 22): its byte layout by hand-built bytes, the fit by a hand-computed
 * case, native against TypeScript kernels bit for bit (every SIMD path too), and an index built,
 * searched, added to, compacted and reopened with it, plus the manifest's version rule and the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelsStatus, nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { TERNARY_NBITS, ternaryBytes } from '../src/kernels/ternary-kernels.js';
import { parseNbits, nbitsName } from '../src/kernels/validate.js';
import { fitTernary } from '../src/codec/ternary-fit.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { readManifest } from '../src/format/index-reader.js';
import { FORMAT_VERSION, MANIFEST_FILE, TERNARY_FORMAT_VERSION } from '../src/format/manifest.js';
import { openIndex } from '../src/search/plait-index.js';
import { compactIndex, updateIndex } from '../src/mutate/index-updater.js';
import { isPlaitError } from '../src/errors/index.js';
import { Random } from '../src/util/random.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { encodedDoc, strayFiles } from './helpers/living.js';
import { runPlait } from './helpers/cli.js';
import { Engine, resolveServerOptions, serveEngine } from '../src/server/index.js';
import { Reranker } from '../src/index.js';
import { REPO_ROOT, inCi, needsNative, requireNative } from './helpers/requirements.js';

const native = nativeKernels();
const impls: Array<[string, Kernels | null]> = [
  ['typescript', typescriptKernels],
  ['native', native],
];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-ternary-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// Residuals -1 0 0.5 0.2 -0.5 0.7 -0.6 against cutoffs (-0.5, 0.5) → trits 0 1 2 1 1 | 2 0 (a value
// equal to a cutoff goes above it) → byte 0·81 + 1·27 + 2·9 + 1·3 + 1 = 49, byte 2·81 + 0 (three
// padding digits 0) = 162.
const LAYOUT = { dim: 7, vector: [-1, 0, 0.5, 0.2, -0.5, 0.7, -0.6], bytes: [49, 162] };

for (const [label, k] of impls) {
  test(`ternary layout: compress gives the hand-built bytes, decompress reads them back [${label}]`, { skip: k ? false : needsNative() }, () => {
    const kernels = k ?? requireNative();
    const { dim } = LAYOUT;
    // Two rows on centroid 1 (zeros), centroid 0 a decoy: pins the row stride and the code lookup.
    const centroids = new Float32Array([...Array<number>(dim).fill(5), ...Array<number>(dim).fill(0)]);
    const vectors = new Float32Array([...LAYOUT.vector, ...LAYOUT.vector]);
    const codes = new Int32Array([1, 1]);
    const out = new Uint8Array(4);
    kernels.compress(vectors, 2, dim, centroids, codes, Float32Array.of(-0.5, 0.5), TERNARY_NBITS, out);
    assert.deepEqual(Array.from(out), [...LAYOUT.bytes, ...LAYOUT.bytes]);
    // weights (-1, 0, 1): the vector (-1 0 1 0 0 1 -1) has norm 2.
    const back = new Float32Array(2 * dim);
    kernels.decompress(codes, out, 2, dim, centroids, Float32Array.of(-1, 0, 1), TERNARY_NBITS, back);
    assert.deepEqual(Array.from(back.subarray(0, dim)), [-0.5, 0, 0.5, 0, 0, 0.5, -0.5]);
    // A byte never written (>= 243) reads as the digits of byte − 243: 250 → 7 = 0·81 + 0·27 + 0·9 + 2·3 + 1.
    const odd = new Float32Array(5);
    kernels.decompress(new Int32Array([1]), Uint8Array.of(250), 1, 5, new Float32Array(10), Float32Array.of(-1, 0, 1), TERNARY_NBITS, odd);
    // Trits 0 0 0 2 1 → (-1 -1 -1 1 0), norm 2.
    assert.deepEqual(Array.from(odd), [-0.5, -0.5, -0.5, 0.5, 0]);
  });
}

test('ternary bytes a token: ceil(dim / 5) — 26 at 128 d against 2-bit\'s 32', () => {
  assert.deepEqual([1, 5, 6, 128, 512].map(ternaryBytes), [1, 1, 2, 26, 103]);
  assert.equal(parseNbits('ternary'), TERNARY_NBITS);
  assert.equal(parseNbits('2'), 2);
  assert.equal(nbitsName(TERNARY_NBITS), 'ternary');
  assert.throws(() => parseNbits('3'), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  const codec = new ResidualCodec(128, TERNARY_NBITS, new Float32Array(128), Float32Array.of(-1, 1), Float32Array.of(-2, 0, 2), typescriptKernels);
  assert.equal(codec.bytesPerToken, 26);
  assert.throws(() => new ResidualCodec(128, TERNARY_NBITS, new Float32Array(128), Float32Array.of(-1, 0, 1), Float32Array.of(-2, 0, 2)), (e) => isPlaitError(e, 'INDEX_CORRUPT'));
});

test('fitTernary: Lloyd–Max with the middle level at 0, by hand', () => {
  // |r| = 3 1 0 0 1 3: mean 4/3, t0 = 0.933 → a = mean(3 1 1 3) = 2 → t = 1 → a = mean(|r| > 1) = 3
  // → t = 1.5 → a = 3: settled.
  const fit = fitTernary(Float32Array.of(-3, -1, 0, 0, 1, 3));
  assert.deepEqual(Array.from(fit.cutoffs), [-1.5, 1.5]);
  assert.deepEqual(Array.from(fit.weights), [-3, 0, 3]);
  // All zeros: every level 0 (and no NaN from an empty outer cell).
  assert.deepEqual(Array.from(fitTernary(new Float32Array(10)).weights), [-0, 0, 0]);
  assert.deepEqual(Array.from(fitTernary(new Float32Array(0)).weights), [-0, 0, 0]);
});

test('fitTernary: its levels have a lower squared error than thresholds 10% either side (Laplacian residuals)', () => {
  const rng = new Random(3);
  const values = new Float32Array(20_000);
  for (let i = 0; i < values.length; i++) values[i] = (rng.next() < 0.5 ? -1 : 1) * -Math.log(1 - rng.next()) * 0.05;
  const fit = fitTernary(values);
  const t = fit.cutoffs[1]!;
  const mse = (th: number): number => {
    let above = 0;
    let n = 0;
    for (const v of values) if (Math.abs(v) > th) (above += Math.abs(v)), n++;
    const a = n > 0 ? above / n : 0;
    let e = 0;
    for (const v of values) e += Math.abs(v) > th ? (Math.abs(v) - a) ** 2 : v * v;
    return e / values.length;
  };
  assert.ok(mse(t) < mse(t * 0.9) && mse(t) < mse(t * 1.1), `${mse(t)} vs ${mse(t * 0.9)}, ${mse(t * 1.1)}`);
  // For a Laplacian of scale b the fixed point is analytic: the tail's mean above t is t + b, so
  // a = t + b and t = a/2 give t = b, a = 2b, and a share 1 − 1/e of the values on 0.
  assert.ok(Math.abs(t - 0.05) < 0.0025, `t ${t}`);
  assert.ok(Math.abs(fit.weights[2]! - 0.1) < 0.005, `a ${fit.weights[2]}`);
  const zeros = values.filter((v) => Math.abs(v) < t).length / values.length;
  assert.ok(Math.abs(zeros - (1 - 1 / Math.E)) < 0.02, `share on 0: ${zeros}`);
});

test('1-bit weights are the mean residual on each side of the median (MSE-optimal for that cutoff), by hand', () => {
  // Residuals -4 -2 -1 1 2 6 (one centroid at 0): median cutoff 0 (quantile 1/2 between -1 and 1),
  // weights mean(-4, -2, -1) = -7/3 and mean(1, 2, 6) = 3, not the quantiles at 1/4 and 3/4.
  const codec = ResidualCodec.fromResiduals(new Float32Array(1 * 8), 8, 1, Float32Array.of(6, -2, 1, -4, 2, -1), typescriptKernels);
  assert.equal(codec.cutoffs[0], 0);
  assert.deepEqual(Array.from(codec.weights), [Math.fround(-7 / 3), 3]);
});

test('reconstruction error: 1-bit > ternary > 2-bit on the same held-out fit (synthetic clusters)', () => {
  const dim = 64;
  const gen = new SyntheticVectors({ dim, clusters: 32, spread: 0.3, seed: 11 });
  const centroids = gen.vectors(32);
  const heldout = gen.vectors(600);
  const test = gen.vectors(400);
  const errorOf = (nbits: 1 | 2 | typeof TERNARY_NBITS): number => {
    const codec = ResidualCodec.fit(centroids, dim, nbits, heldout, typescriptKernels);
    const { codes, residuals } = codec.compress(test, 400);
    assert.equal(residuals.length, 400 * codec.bytesPerToken);
    const back = codec.decompress(codes, residuals, 400);
    let err = 0;
    for (let i = 0; i < test.length; i++) err += (test[i]! - back[i]!) ** 2;
    return err;
  };
  const [e1, eT, e2] = [errorOf(1), errorOf(TERNARY_NBITS), errorOf(2)];
  assert.ok(e1 > eT && eT > e2, `errors 1-bit ${e1}, ternary ${eT}, 2-bit ${e2}`);
});

/** Random unit-ish vectors near random centroids, their codes and the fitted codec levels. */
function randomCase(dim: number, n: number, seed: number): { vectors: Float32Array; centroids: Float32Array; codes: Int32Array; cutoffs: Float32Array; weights: Float32Array } {
  const rng = new Random(seed);
  const k = 7;
  const centroids = new Float32Array(k * dim).map(() => rng.next() * 2 - 1);
  const codes = new Int32Array(n).map(() => Math.floor(rng.next() * k));
  const vectors = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) vectors[i * dim + d] = centroids[codes[i]! * dim + d]! + (rng.next() - 0.5) * 0.4;
  return { vectors, centroids, codes, cutoffs: Float32Array.of(-0.07, 0.07), weights: Float32Array.of(-0.13, 0, 0.13) };
}

test('native and TypeScript ternary kernels agree bit for bit (dims around 5 and 8, odd row offsets)', { skip: needsNative() }, () => {
  const nk = requireNative();
  for (const dim of [1, 4, 5, 7, 8, 10, 15, 16, 33, 64, 127, 128, 130]) {
    const n = 13;
    const c = randomCase(dim, n, dim);
    const bytesA = new Uint8Array(n * ternaryBytes(dim));
    const bytesB = new Uint8Array(n * ternaryBytes(dim));
    typescriptKernels.compress(c.vectors, n, dim, c.centroids, c.codes, c.cutoffs, TERNARY_NBITS, bytesA);
    nk.compress(c.vectors, n, dim, c.centroids, c.codes, c.cutoffs, TERNARY_NBITS, bytesB);
    assert.deepEqual(bytesB, bytesA, `compress dim ${dim}`);
    // Rows 3.. of the arrays: an odd offset into codes and residuals.
    const from = 3;
    const codes = c.codes.subarray(from);
    const res = bytesA.subarray(from * ternaryBytes(dim));
    const a = new Float32Array((n - from) * dim);
    const b = new Float32Array((n - from) * dim);
    typescriptKernels.decompress(codes, res, n - from, dim, c.centroids, c.weights, TERNARY_NBITS, a);
    nk.decompress(codes, res, n - from, dim, c.centroids, c.weights, TERNARY_NBITS, b);
    assert.deepEqual(new Uint32Array(b.buffer), new Uint32Array(a.buffer), `decompress dim ${dim}`);
    // maxsimCompressed = decompress then maxsim, on each implementation; across them within float error.
    const q = new Float32Array(3 * dim).map((_, i) => Math.sin(i + dim));
    const starts = Int32Array.of(0, 2, 2);
    const lens = Int32Array.of(2, 0, n - from - 2);
    for (const kk of [typescriptKernels, nk]) {
      const fused = new Float32Array(3);
      const plain = new Float32Array(3);
      const rows = new Float32Array((n - from) * dim);
      kk.maxsimCompressed(q, 3, dim, codes, res, starts, lens, 3, c.centroids, c.weights, TERNARY_NBITS, fused);
      kk.decompress(codes, res, n - from, dim, c.centroids, c.weights, TERNARY_NBITS, rows);
      kk.maxsim(q, 3, dim, rows, starts, lens, 3, plain);
      assert.deepEqual(fused, plain, `${kk.name} dim ${dim}`);
    }
    const x = new Float32Array(3);
    const y = new Float32Array(3);
    typescriptKernels.maxsimCompressed(q, 3, dim, codes, res, starts, lens, 3, c.centroids, c.weights, TERNARY_NBITS, x);
    nk.maxsimCompressed(q, 3, dim, codes, res, starts, lens, 3, c.centroids, c.weights, TERNARY_NBITS, y);
    for (let d = 0; d < 3; d++) assert.ok(Math.abs(x[d]! - y[d]!) < 1e-4, `maxsimCompressed dim ${dim} doc ${d}: ${x[d]} vs ${y[d]}`);
  }
});

test('ternary kernels refuse short arrays and bad codes with INVALID_ARGUMENT', () => {
  for (const [, k] of impls) {
    if (k === null) continue;
    const c = randomCase(8, 2, 1);
    assert.throws(() => k.compress(c.vectors, 2, 8, c.centroids, c.codes, c.cutoffs, TERNARY_NBITS, new Uint8Array(3)), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => k.decompress(Int32Array.of(0, 99), new Uint8Array(4), 2, 8, c.centroids, c.weights, TERNARY_NBITS, new Float32Array(16)), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => k.decompress(c.codes, new Uint8Array(4), 2, 8, c.centroids, Float32Array.of(0, 1), TERNARY_NBITS, new Float32Array(16)), (e) => isPlaitError(e, 'INVALID_ARGUMENT'));
  }
});

const PATHS_CHILD = `
const { nativeKernels, kernelsStatus } = await import(process.env.KERNELS_URL);
const { TERNARY_NBITS } = await import(process.env.TERNARY_URL);
const k = nativeKernels();
const dim = 128, n = 40;
const centroids = new Float32Array(3 * dim).map((_, i) => Math.sin(i * 0.7));
const codes = new Int32Array(n).map((_, i) => i % 3);
const res = new Uint8Array(n * 26).map((_, i) => (i * 37) % 256);
const w = Float32Array.of(-0.11, 0, 0.11);
const out = new Float32Array(n * dim);
k.decompress(codes, res, n, dim, centroids, w, TERNARY_NBITS, out);
const q = new Float32Array(32 * dim).map((_, i) => Math.cos(i * 0.3));
const s = new Float32Array(2);
k.maxsimCompressed(q, 32, dim, codes, res, Int32Array.of(0, 17), Int32Array.of(17, 23), 2, centroids, w, TERNARY_NBITS, s);
console.log(JSON.stringify({ active: kernelsStatus().active, bits: Array.from(new Uint32Array(out.buffer)), scores: Array.from(s) }));
`;

test('ternary decompression gives the same bits on the AVX-512, AVX2 and scalar paths', { skip: needsNative() }, () => {
  requireNative();
  const cpu = kernelsStatus().cpu;
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const runs = (['', 'avx2', 'scalar'] as const)
    .filter((simd) => simd !== 'avx2' || (cpu.avx2 && cpu.fma))
    .map((simd) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', PATHS_CHILD], {
        env: {
          ...env,
          PLAIT_SIMD: simd,
          PLAIT_KERNELS: '',
          KERNELS_URL: new URL('../src/kernels/index.js', import.meta.url).href,
          TERNARY_URL: new URL('../src/kernels/ternary-kernels.js', import.meta.url).href,
        },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { active: string; bits: number[]; scores: number[] };
    });
  assert.ok(runs.some((r) => r.active === 'native-scalar'));
  for (const r of runs.slice(1)) {
    assert.deepEqual(r.bits, runs[0]!.bits, `${r.active} against ${runs[0]!.active}`);
    for (let d = 0; d < 2; d++) assert.ok(Math.abs(r.scores[d]! - runs[0]!.scores[d]!) < 1e-4);
  }
});

/** The harness's inputs (native-kernels/test/ternary-harness.cc): exact in float32 in both languages. */
function harnessInputs(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround((((i * 7919 + seed) % 2001) - 1000) / 1000));
}

function fnv(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** What the harness prints, from `kernels` on the same inputs. */
function harnessLines(kernels: Kernels): string[] {
  const n = 37;
  const k = 5;
  return [7, 128, 130].map((dim) => {
    const centroids = harnessInputs(k * dim, 1);
    const vectors = harnessInputs(n * dim, 2);
    const codes = Int32Array.from({ length: n }, (_, i) => i % k);
    const bytes = new Uint8Array(n * ternaryBytes(dim));
    kernels.compress(vectors, n, dim, centroids, codes, Float32Array.of(-0.3, 0.3), TERNARY_NBITS, bytes);
    const out = new Float32Array(n * dim);
    kernels.decompress(codes, bytes, n, dim, centroids, Float32Array.of(-0.45, 0, 0.45), TERNARY_NBITS, out);
    return `dim ${dim} bytes ${fnv(bytes)} floats ${fnv(new Uint8Array(out.buffer))}`;
  });
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ARM_TOOLS = ['g++', 'aarch64-linux-gnu-g++', 'qemu-aarch64-static'];
const missingArmTools = ARM_TOOLS.filter((t) => !has(t));

test(
  'ternary kernels give the same bits on aarch64 (qemu), on this machine and in the addon and the TypeScript twin',
  { skip: missingArmTools.length > 0 && !inCi() ? `missing ${missingArmTools.join(', ')} (.ci/run installs them; in CI this fails)` : needsNative() },
  () => {
    const nk = requireNative();
    const expected = harnessLines(typescriptKernels);
    assert.deepEqual(harnessLines(nk), expected, 'addon against the TypeScript twin');
    const native = join(REPO_ROOT, 'native-kernels');
    const sources = ['test/ternary-harness.cc', 'src/ternary-kernels.cc'];
    const out = mkdtempSync(join(tmpdir(), 'plait-ternary-arm-'));
    try {
      for (const [cxx, extra, runner] of [
        ['g++', [], null],
        ['aarch64-linux-gnu-g++', ['-static'], 'qemu-aarch64-static'],
      ] as const) {
        const bin = join(out, cxx);
        // -ffp-contract=off as binding.gyp builds the file: without it aarch64 fuses the sums of squares and the bits differ.
        const build = spawnSync(cxx, ['-O3', '-std=c++17', '-ffp-contract=off', ...extra, '-Isrc', ...sources, '-o', bin], { cwd: native, encoding: 'utf8', timeout: 120_000 });
        assert.equal(build.status, 0, `${cxx}: ${build.stderr}`);
        const r = runner === null ? spawnSync(bin, [], { encoding: 'utf8', timeout: 120_000 }) : spawnSync(runner, [bin], { encoding: 'utf8', timeout: 120_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split('\n'), expected, cxx);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

const DIM = 32;

test('a ternary index: format version, sizes, search, add, compaction, reopen', async () => {
  const { passages } = syntheticPassages(60, DIM, 11, 48, 0.3);
  const path = join(dir, 'tern');
  await buildSynthetic(path, passages, DIM, TERNARY_NBITS);
  const m = readManifest(path);
  assert.equal(m.nbits, TERNARY_NBITS);
  assert.equal(m.formatVersion, TERNARY_FORMAT_VERSION);
  assert.notEqual(m.formatVersion, FORMAT_VERSION, 'a reader older than the codec refuses it with INDEX_VERSION');
  assert.equal(m.codec.cutoffs.length, 2);
  assert.equal(m.codec.weights[1], 0);
  assert.ok(m.codec.weights[2]! > 0 && m.codec.weights[0] === -m.codec.weights[2]!);
  const residualBytes = m.segments.reduce((s, g) => s + g.residuals.bytes, 0);
  assert.equal(residualBytes, m.counts.tokens * Math.ceil(DIM / 5));
  assert.equal(statSync(join(path, 'residuals.0000.u8')).size, m.segments[0]!.residuals.bytes);

  const top1 = async (p: string, queries: TokenEmbeddings[], exhaustive: boolean): Promise<number> => {
    const index = await openIndex(p);
    try {
      return queries.filter((q, i) => index.searchEncoded('', q, { topK: 1, exhaustive }).hits[0]?.docId === `d${i}`).length;
    } finally {
      await index.close();
    }
  };
  // Each passage as its own query finds itself first, in PLAID and exhaustive search.
  for (const exhaustive of [true, false]) assert.ok((await top1(path, passages, exhaustive)) >= 57, `exhaustive ${exhaustive}`);
  // Code scoring has no ternary tables: asked for, PLAID's exact stage decompresses instead.
  process.env.PLAIT_EXACT_SCORING = 'codes';
  try {
    assert.ok((await top1(path, passages, false)) >= 57, 'PLAIT_EXACT_SCORING=codes');
  } finally {
    delete process.env.PLAIT_EXACT_SCORING;
  }

  // A living-index add compresses with the same codec; compaction rewrites ternary residuals.
  const gen = new SyntheticVectors({ dim: DIM, clusters: 48, spread: 0.3, seed: 5 });
  const added = Array.from({ length: 4 }, () => gen.passage(15));
  updateIndex(path, { add: added.map((e, i) => encodedDoc(`n${i}`, e)), delete: ['d0', 'd1'] });
  const m1 = readManifest(path);
  assert.equal(m1.formatVersion, TERNARY_FORMAT_VERSION);
  assert.equal(m1.segments.at(-1)!.residuals.bytes, m1.segments.at(-1)!.tokens * Math.ceil(DIM / 5));
  compactIndex(path);
  const m2 = readManifest(path);
  assert.deepEqual([m2.nbits, m2.formatVersion, m2.counts.documents], [TERNARY_NBITS, TERNARY_FORMAT_VERSION, 62]);
  assert.deepEqual(strayFiles(path), []);
  const index = await openIndex(path);
  try {
    added.forEach((e, i) => assert.equal(index.searchEncoded('', e, { topK: 1 }).hits[0]!.docId, `n${i}`));
    assert.equal(index.searchEncoded('', passages[5]!, { topK: 1, exhaustive: true }).hits[0]!.docId, 'd5');
    assert.ok(!index.searchEncoded('', passages[0]!, { topK: 62 }).hits.some((h) => h.docId === 'd0'));
  } finally {
    await index.close();
  }
});

test('the manifest\'s version must match its codec: INDEX_VERSION / INDEX_CORRUPT otherwise', async () => {
  const { passages } = syntheticPassages(20, DIM, 2, 16, 0.3);
  const path = join(dir, 'versions');
  await buildSynthetic(path, passages, DIM, TERNARY_NBITS);
  const file = join(path, MANIFEST_FILE);
  const original = readFileSync(file, 'utf8');
  const edit = (patch: Record<string, unknown>): void => writeFileSync(file, JSON.stringify({ ...JSON.parse(original), ...patch }));
  edit({ formatVersion: FORMAT_VERSION });
  assert.throws(() => readManifest(path), (e) => isPlaitError(e, 'INDEX_CORRUPT'));
  edit({ nbits: 2 });
  assert.throws(() => readManifest(path), (e) => isPlaitError(e, 'INDEX_VERSION'));
  edit({ formatVersion: TERNARY_FORMAT_VERSION + 1 });
  assert.throws(() => readManifest(path), (e) => isPlaitError(e, 'INDEX_VERSION'));
  writeFileSync(file, original);
  assert.equal(readManifest(path).nbits, TERNARY_NBITS);
});

test('CLI: plait index --nbits ternary, then info and search', () => {
  const sample = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
  const built = runPlait(dir, ['index', sample, '--index', 'cli-tern', '--nbits', 'ternary', '--threads', '1', '--quiet', '--json']);
  assert.equal(built.code, 0, built.stderr);
  const info = runPlait(dir, ['info', 'cli-tern', '--json']);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout) as { bytesPerToken: number; manifest: { nbits: number; dim: number } };
  assert.equal(parsed.manifest.nbits, TERNARY_NBITS);
  // ceil(dim / 5) residual bytes and a 4-byte centroid id (2-bit: dim / 4 + 4).
  assert.equal(parsed.bytesPerToken, Math.ceil(parsed.manifest.dim / 5) + 4);
  assert.match(runPlait(dir, ['info', 'cli-tern']).stdout, /nbits\s+ternary/);
  const s = runPlait(dir, ['search', 'cli-tern', 'honeybee waggle dance', '-k', '3', '--json']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((JSON.parse(s.stdout) as { hits: unknown[] }).hits.length, 3);
  const bad = runPlait(dir, ['index', sample, '--index', 'bad', '--nbits', '3', '--quiet']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /ternary/);
});

test('the server reports a ternary index\'s nbits as 1.6 (not truncated to an integer)', async () => {
  const path = join(dir, 'indexes', 'cli-tern');
  const index = await openIndex(path, { workers: 0, encoderOptions: { threads: 0 } });
  const reranker = await Reranker.create({ encoder: await index.encoder() });
  const resolved = resolveServerOptions({ host: '127.0.0.1', port: 0, logLevel: false, defaultMetrics: false }, {});
  const engine = new Engine({ indexes: [{ name: 'tern', index, borrowed: true }], rerankers: [{ names: ['bundled:use-lite'], reranker, borrowed: true }] }, resolved);
  await engine.warmUp();
  const server = await serveEngine(engine);
  try {
    const list = (await (await fetch(`${server.url}/v1/indexes`)).json()) as { indexes: Array<{ name: string; nbits: number }> };
    assert.deepEqual(list.indexes.map((i) => [i.name, i.nbits]), [['tern', TERNARY_NBITS]]);
  } finally {
    await server.close();
    await index.close();
  }
});
