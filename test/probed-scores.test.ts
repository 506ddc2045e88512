/**
 * Probed-token ranking's pairs on the codes in one call (Kernels.probedPairScores;
 * native-kernels/src/probed-scores.cc and its twin src/kernels/probed-scores.ts, issue 22 part F):
 * the twin against part E's path (the pair scan, then one one-token fast-scan call a query token over
 * its rows, folded by max) bit for bit, the native kernel against the twin bit for bit (the inverse-norm
 * cache too), the similarities against float dot products of the decompressed tokens, argument
 * errors on both; and depthCut (the depth cut's selection) against Kernels.topK's set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { randomCandidates, randomProbeLists } from './helpers/probe-case.js';
import { depthCut } from '../src/search/probed-token-interaction.js';
import { requireNative } from './helpers/requirements.js';

interface ScoreCase {
  s: Float32Array;
  qLen: number;
  q: Float32Array;
  tables: Uint8Array;
  scales: Float32Array;
  offsets: Float32Array;
  codes: Int32Array;
  residuals: Uint8Array;
  dim: number;
  nbits: number;
  tokenStarts: Int32Array;
  doclens: Int32Array;
  pids: Int32Array;
  docs: Int32Array;
  head: Int32Array;
  next: Int32Array;
  perToken: number;
  centroids: Float32Array;
  weights: Float32Array;
}

const unit = (v: Float32Array): Float32Array => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};

/** Random unit centroids and query tokens, random residual bytes, probe lists as probed-token-interaction.ts builds them. */
function randomCase(seed: number, nbits: number, dim: number): ScoreCase {
  const rnd = mulberry32(seed);
  const nCells = 1 + Math.floor(rnd() * 40);
  const nPassages = 1 + Math.floor(rnd() * 120);
  const doclens = Int32Array.from({ length: nPassages }, () => Math.floor(rnd() * 9));
  const tokenStarts = new Int32Array(nPassages);
  for (let p = 1; p < nPassages; p++) tokenStarts[p] = tokenStarts[p - 1]! + doclens[p - 1]!;
  const rows = tokenStarts[nPassages - 1]! + doclens[nPassages - 1]!;
  const codes = Int32Array.from({ length: rows }, () => Math.floor(rnd() * nCells));
  const nBytes = (dim * nbits) / 8;
  const residuals = Uint8Array.from({ length: rows * nBytes }, () => Math.floor(rnd() * 256));
  const centroids = new Float32Array(nCells * dim);
  for (let c = 0; c < nCells; c++) centroids.set(unit(Float32Array.from({ length: dim }, () => rnd() - 0.5)), c * dim);
  const weights = Float32Array.from({ length: 1 << nbits }, (_, b) => (b - ((1 << nbits) - 1) / 2) * 0.02);
  const qLen = 1 + Math.floor(rnd() * 10);
  const q = new Float32Array(qLen * dim);
  for (let i = 0; i < qLen; i++) q.set(unit(Float32Array.from({ length: dim }, () => rnd() - 0.5)), i * dim);
  const s = new Float32Array(nCells * qLen);
  typescriptKernels.matmulTransB(centroids, nCells, q, qLen, dim, s);
  const tables = new Uint8Array(nBytes * 32 * qLen);
  const scales = new Float32Array(qLen);
  const offsets = new Float32Array(qLen);
  typescriptKernels.buildFastScanTables(q, qLen, dim, weights, nbits, tables, scales, offsets);
  const perToken = 1 + Math.floor(rnd() * 5);
  const { head, next } = randomProbeLists(rnd, nCells, qLen, perToken);
  const { pids, docs } = randomCandidates(rnd, nPassages, 0.8);
  return { s, qLen, q, tables, scales, offsets, codes, residuals, dim, nbits, tokenStarts, doclens, pids, docs, head, next, perToken, centroids, weights };
}

/** The kernel's e (started at -∞) and the inverse-norm cache it filled (started at NaN). */
function scoresOf(k: Kernels, c: ScoreCase): { e: Float32Array; inv: Float32Array } {
  const e = new Float32Array(c.pids.length * c.qLen).fill(-Infinity);
  const inv = new Float32Array(c.codes.length).fill(NaN);
  k.probedPairScores(c.s, c.qLen, c.tables, c.scales, c.offsets, c.codes, c.residuals, c.dim, c.nbits, c.tokenStarts, c.doclens, c.pids, c.docs, c.head, c.next, c.perToken, inv, c.centroids, c.weights, e);
  return { e, inv };
}

/** Part E's path: the pairs grouped by token (probedPairs), each token's rows scored as one-token documents by maxsimFastScan with its own tables. */
function partE(k: Kernels, c: ScoreCase): Float32Array {
  const e = new Float32Array(c.pids.length * c.qLen).fill(-Infinity);
  const first = new Int32Array(c.qLen + 1);
  const none = new Int32Array(0);
  const total = k.probedPairs(c.codes, c.tokenStarts, c.doclens, c.pids, c.docs, c.head, c.next, c.perToken, c.qLen, first, none, none);
  const rows = new Int32Array(total);
  const docOf = new Int32Array(total);
  k.probedPairs(c.codes, c.tokenStarts, c.doclens, c.pids, c.docs, c.head, c.next, c.perToken, c.qLen, first, rows, docOf);
  const nBytes = (c.dim * c.nbits) / 8;
  const inv = new Float32Array(c.codes.length).fill(NaN);
  const nCells = c.head.length;
  for (let i = 0; i < c.qLen; i++) {
    const lo = first[i]!;
    const hi = first[i + 1]!;
    if (hi === lo) continue;
    const tables = new Uint8Array(nBytes * 32);
    for (let b = 0; b < nBytes; b++) tables.set(c.tables.subarray((b * c.qLen + i) * 32, (b * c.qLen + i + 1) * 32), b * 32);
    const col = Float32Array.from({ length: nCells }, (_, x) => c.s[x * c.qLen + i]!);
    const sims = new Float32Array(hi - lo);
    k.maxsimFastScan(col, 1, tables, c.scales.slice(i, i + 1), c.offsets.slice(i, i + 1), c.codes, c.residuals, c.dim, c.nbits, rows.subarray(lo, hi), new Int32Array(hi - lo).fill(1), hi - lo, sims, null, inv, c.centroids, c.weights);
    for (let x = lo; x < hi; x++) {
      const at = docOf[x]! * c.qLen + i;
      if (sims[x - lo]! > e[at]!) e[at] = sims[x - lo]!;
    }
  }
  return e;
}

const SHAPES: [number, number][] = [
  [1, 8],
  [1, 72],
  [2, 16],
  [2, 128],
  [4, 8],
  [4, 40],
];

test("probedPairScores: the twin gives part E's bits (pair scan + one-token fast-scan a token), the native kernel the twin's", () => {
  const native = nativeKernels();
  let pairs = 0;
  for (const [nbits, dim] of SHAPES) {
    for (let seed = 1; seed <= 12; seed++) {
      const c = randomCase(seed * 31 + nbits, nbits, dim);
      const twin = scoresOf(typescriptKernels, c);
      assert.deepEqual(twin.e, partE(typescriptKernels, c), `nbits ${nbits} dim ${dim} seed ${seed}`);
      pairs += twin.e.filter((x) => x > -Infinity).length;
      if (native === null) continue;
      const got = scoresOf(native, c);
      assert.deepEqual(got.e, twin.e, `native nbits ${nbits} dim ${dim} seed ${seed}`);
      assert.deepEqual(got.inv, twin.inv, `native norms nbits ${nbits} dim ${dim} seed ${seed}`);
      assert.deepEqual(got.e, partE(native, c), `native part E nbits ${nbits} dim ${dim} seed ${seed}`);
    }
  }
  assert.ok(pairs > 500, `only ${pairs} matched (candidate, token) entries: the cases test little`);
});

test('probedPairScores: each entry is the best probed pair by float dot product of the decompressed token, within the tables quantisation', () => {
  const k = nativeKernels() ?? typescriptKernels;
  for (const [nbits, dim] of SHAPES) {
    const c = randomCase(900 + nbits + dim, nbits, dim);
    const { e } = scoresOf(k, c);
    const nBytes = (dim * nbits) / 8;
    const perByte = 8 / nbits;
    const token = new Float32Array(dim);
    const want = new Float64Array(e.length).fill(-Infinity);
    for (const d of c.docs) {
      const pid = c.pids[d]!;
      for (let row = c.tokenStarts[pid]!; row < c.tokenStarts[pid]! + c.doclens[pid]!; row++) {
        const cell = c.codes[row]!;
        for (let t = 0; t < dim; t++) {
          const byte = c.residuals[row * nBytes + Math.floor(t / perByte)]!;
          token[t] = c.centroids[cell * dim + t]! + c.weights[(byte >> (8 - nbits * ((t % perByte) + 1))) & ((1 << nbits) - 1)]!;
        }
        const norm = Math.hypot(...token);
        for (let slot = c.head[cell]!; slot >= 0; slot = c.next[slot]!) {
          const i = Math.floor(slot / c.perToken);
          let dot = 0;
          for (let t = 0; t < dim; t++) dot += c.q[i * dim + t]! * token[t]!;
          want[d * c.qLen + i] = Math.max(want[d * c.qLen + i]!, dot / norm);
        }
      }
    }
    for (let x = 0; x < e.length; x++) {
      if (want[x] === -Infinity) assert.equal(e[x], -Infinity, `entry ${x} has no probed pair`);
      else assert.ok(Math.abs(e[x]! - want[x]!) < 0.02, `nbits ${nbits} dim ${dim} entry ${x}: ${e[x]} vs ${want[x]}`);
    }
  }
});

test('probedPairScores keeps a larger e: it folds by max', () => {
  const c = randomCase(5, 2, 16);
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    const e = new Float32Array(c.pids.length * c.qLen).fill(2);
    k.probedPairScores(c.s, c.qLen, c.tables, c.scales, c.offsets, c.codes, c.residuals, c.dim, c.nbits, c.tokenStarts, c.doclens, c.pids, c.docs, c.head, c.next, c.perToken, new Float32Array(c.codes.length).fill(NaN), c.centroids, c.weights, e);
    assert.ok(e.every((x) => x === 2), k.name);
  }
});

test('probedPairScores argument errors: INVALID_ARGUMENT from both', () => {
  const c = randomCase(7, 2, 16);
  c.docs = Int32Array.from([0]);
  c.pids = Int32Array.from([0]);
  c.doclens[0] = Math.max(1, c.doclens[0]!);
  const bad: [string, ScoreCase][] = [
    ['docs', { ...c, docs: Int32Array.from([1]) }],
    ['pids', { ...c, pids: Int32Array.from([c.tokenStarts.length]) }],
    ['span', { ...c, tokenStarts: c.tokenStarts.map((v, p) => (p === 0 ? c.codes.length : v)) }],
    ['codes', { ...c, codes: c.codes.map((v, r) => (r === c.tokenStarts[0] ? c.head.length : v)) }],
    ['next', { ...c, next: new Int32Array(c.qLen * c.perToken + 1) }],
    ['tables', { ...c, tables: c.tables.subarray(1) }],
    ['nbits', { ...c, nbits: 3 }],
    ['scores', { ...c, s: c.s.subarray(1) }],
  ];
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    for (const [name, b] of bad) assert.throws(() => scoresOf(k, b), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', `${k.name} ${name}`);
  }
});

test('depthCut selects the set Kernels.topK selects, in index order (ties: lower index; NaN lowest)', () => {
  assert.deepEqual([...depthCut(Float32Array.from([0.5, 2, -1, 2, 0.5, 3]), 6, 3)], [1, 3, 5]);
  assert.deepEqual([...depthCut(Float32Array.from([1, 1, 1, 1]), 4, 2)], [0, 1]);
  assert.deepEqual([...depthCut(Float32Array.from([NaN, -Infinity, NaN, 0]), 4, 2)], [0, 3]);
  const rnd = mulberry32(77);
  for (let trial = 0; trial < 300; trial++) {
    const n = 2 + Math.floor(rnd() * 300);
    const levels = 1 + Math.floor(rnd() * 20);
    const ci = Float32Array.from({ length: n }, () => {
      const r = rnd();
      return r < 0.05 ? NaN : r < 0.1 ? -Infinity : Math.floor(rnd() * levels) / levels;
    });
    const depth = 1 + Math.floor(rnd() * (n - 1));
    const want = [...typescriptKernels.topK(ci, n, depth)].sort((x, y) => x - y);
    assert.deepEqual([...depthCut(ci, n, depth)], want, `trial ${trial}: n ${n} depth ${depth}`);
  }
});
