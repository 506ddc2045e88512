/**
 * Probed-token ranking's estimate walk (Kernels.centroidEstimateWalk; native-kernels/src/probed-walk.cc
 * and its twin src/kernels/probed-walk.ts, issue 22 part E): a hand-computed case, the twin against a
 * plain oracle (best centroid score among the walked cells, else the last walked cell's score) and
 * the native kernel against the twin bit for bit on random IVFs, and argument errors on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { randomCandidates, randomProbeLists } from './helpers/probe-case.js';
import { needsNative, requireNative } from './helpers/requirements.js';

interface Walk {
  s: Float32Array;
  qLen: number;
  top: Int32Array;
  cells: number;
  offsets: Float64Array;
  ivf: Int32Array;
  nPassages: number;
  pids: Int32Array;
  weights: Float32Array | null;
}

function run(k: Kernels, w: Walk): { est: Float32Array; ci: Float32Array } {
  const est = new Float32Array(w.qLen * w.pids.length).fill(7);
  const ci = new Float32Array(w.pids.length).fill(7);
  k.centroidEstimateWalk(w.s, w.qLen, w.top, w.cells, w.offsets, w.ivf, w.nPassages, w.pids, w.weights, est, ci);
  return { est, ci };
}

/** IVF of random passages: each passage's tokens get random cells; ivf[c] lists the passages with a token in c, ascending. */
function randomWalk(seed: number, nCells: number, nPassages: number, qLen: number, cells: number, nCand: number, weighted: boolean): Walk & { cellsOf: Set<number>[] } {
  const rnd = mulberry32(seed);
  const cellsOf = Array.from({ length: nPassages }, () => {
    const set = new Set<number>();
    const len = 1 + Math.floor(rnd() * 6);
    for (let t = 0; t < len; t++) set.add(Math.floor(rnd() * nCells));
    return set;
  });
  const lists: number[][] = Array.from({ length: nCells }, () => []);
  cellsOf.forEach((set, pid) => set.forEach((c) => lists[c]!.push(pid)));
  const offsets = new Float64Array(nCells + 1);
  for (let c = 0; c < nCells; c++) offsets[c + 1] = offsets[c]! + lists[c]!.length;
  const ivf = Int32Array.from(lists.flat());
  // Scores with ties (multiples of 1/8) so "first listed cell" and "best score" can disagree only in order, not value.
  const s = Float32Array.from({ length: nCells * qLen }, () => Math.floor(rnd() * 16) / 8 - 1);
  const top = new Int32Array(qLen * cells).fill(-1);
  for (let i = 0; i < qLen; i++) {
    const order = Array.from({ length: nCells }, (_, c) => c).sort((x, y) => s[y * qLen + i]! - s[x * qLen + i]! || x - y);
    for (let j = 0; j < Math.min(cells, nCells); j++) top[i * cells + j] = order[j]!;
  }
  const all = Array.from({ length: nPassages }, (_, p) => p);
  for (let x = all.length - 1; x > 0; x--) {
    const y = Math.floor(rnd() * (x + 1));
    [all[x], all[y]] = [all[y]!, all[x]!];
  }
  const pids = Int32Array.from(all.slice(0, nCand));
  const weights = weighted ? Float32Array.from({ length: qLen }, (_, i) => (i % 5 === 3 ? 0 : 0.25 + rnd())) : null;
  return { s, qLen, top, cells, offsets, ivf, nPassages, pids, weights, cellsOf };
}

test('hand-computed: two tokens, three cells, three candidates', () => {
  // ivf: cell 0 → {0, 2}, cell 1 → {1}, cell 2 → {2}; S (3 × 2): token 0 prefers 1, 0; token 1 prefers 2, 0.
  const w: Walk = {
    s: Float32Array.from([0.5, 0.25, 0.75, -1, 0, 1]),
    qLen: 2,
    top: Int32Array.from([1, 0, 2, 0]),
    cells: 2,
    offsets: Float64Array.from([0, 2, 3, 4]),
    ivf: Int32Array.from([0, 2, 1, 2]),
    nPassages: 3,
    pids: Int32Array.from([2, 0, 1]),
    weights: Float32Array.from([1, 2]),
  };
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    const { est, ci } = run(k, w);
    // token 0: pid 1 in cell 1 (0.75), pids 2 and 0 in cell 0 (0.5). token 1: pid 2 in cell 2 (1), pid 0 in cell 0 (0.25), pid 1 unlisted → last (0.25).
    assert.deepEqual([...est], [0.5, 0.5, 0.75, 1, 0.25, 0.25], k.name);
    assert.deepEqual([...ci], [2.5, 1, 1.25], k.name);
  }
});

test('twin against the oracle: best walked cell score per candidate, else the last walked cell', () => {
  for (const [seed, nCells, nPassages, qLen, cells, nCand, weighted] of [
    [1, 40, 300, 5, 3, 120, false],
    [2, 64, 500, 9, 8, 500, true],
    [3, 8, 50, 3, 20, 10, true],
    [4, 100, 1000, 1, 1, 999, false],
  ] as const) {
    const w = randomWalk(seed, nCells, nPassages, qLen, cells, nCand, weighted);
    const { est, ci } = run(typescriptKernels, w);
    const n = w.pids.length;
    const expectCi = new Float32Array(n);
    for (let i = 0; i < qLen; i++) {
      const wi = w.weights === null ? 1 : w.weights[i]!;
      const walked = [...w.top.subarray(i * cells, (i + 1) * cells)].filter((c) => c >= 0);
      const last = w.s[walked[walked.length - 1]! * qLen + i]!;
      for (let d = 0; d < n; d++) {
        let best = -Infinity;
        for (const c of walked) if (w.cellsOf[w.pids[d]!]!.has(c)) best = Math.max(best, w.s[c * qLen + i]!);
        const expect = wi === 0 ? -Infinity : best > -Infinity ? best : last;
        assert.equal(est[i * n + d], expect, `seed ${seed} token ${i} candidate ${d}`);
        if (wi !== 0) expectCi[d] = expectCi[d]! + wi * expect;
      }
    }
    assert.deepEqual(ci, expectCi, `seed ${seed} ci`);
  }
});

test('native against the twin: the same bits on random IVFs', { skip: needsNative() }, () => {
  const native = requireNative();
  for (let seed = 10; seed < 40; seed++) {
    const rnd = mulberry32(seed);
    const nCells = 1 + Math.floor(rnd() * 200);
    const nPassages = 1 + Math.floor(rnd() * 2000);
    const w = randomWalk(seed, nCells, nPassages, 1 + Math.floor(rnd() * 32), 1 + Math.floor(rnd() * 12), Math.floor(rnd() * nPassages), rnd() < 0.5);
    const a = run(typescriptKernels, w);
    const b = run(native, w);
    assert.deepEqual(new Uint32Array(b.est.buffer), new Uint32Array(a.est.buffer), `seed ${seed} est`);
    assert.deepEqual(new Uint32Array(b.ci.buffer), new Uint32Array(a.ci.buffer), `seed ${seed} ci`);
    // The per-thread marks are reset: a second call with other candidates gives the twin's bits too.
    const w2 = { ...w, pids: w.pids.slice(0, w.pids.length >> 1) };
    assert.deepEqual(run(native, w2), run(typescriptKernels, w2), `seed ${seed} again`);
  }
});

test('argument errors: INVALID_ARGUMENT from both', () => {
  const base = randomWalk(5, 10, 40, 2, 3, 20, false);
  const cases: [string, Walk][] = [
    ['pids', { ...base, pids: Int32Array.from([0, 40]) }],
    ['ivf', { ...base, ivf: base.ivf.map((p, e) => (e === 0 ? 99 : p)), top: Int32Array.from({ length: 6 }, () => base.ivf.length > 0 ? 0 : -1) }],
    ['top', { ...base, top: Int32Array.from([10, 0, 0, 0, 0, 0]) }],
    ['ivfOffsets', { ...base, offsets: base.offsets.map((o, c) => (c === 1 ? 1e6 : o)), top: Int32Array.from([0, 0, 0, 0, 0, 0]) }],
  ];
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    for (const [name, w] of cases) assert.throws(() => run(k, w), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', `${k.name} ${name}`);
    assert.throws(() => k.centroidEstimateWalk(base.s, 2, base.top, 3, base.offsets, base.ivf, 40, base.pids, null, new Float32Array(1), new Float32Array(20)), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', `${k.name} est`);
    // A bad call leaves the per-thread marks clean: the next good call gives the oracle's answer.
    assert.deepEqual(run(k, base), run(typescriptKernels, base), `${k.name} after errors`);
  }
});

interface PairCase {
  codes: Int32Array;
  tokenStarts: Int32Array;
  doclens: Int32Array;
  pids: Int32Array;
  docs: Int32Array;
  head: Int32Array;
  next: Int32Array;
  perToken: number;
  qLen: number;
}

function pairsOf(k: Kernels, c: PairCase, room?: number): { total: number; first: Int32Array; rows: Int32Array; docOf: Int32Array } {
  const first = new Int32Array(c.qLen + 1);
  const rows = new Int32Array(room ?? 0);
  const docOf = new Int32Array(room ?? 0);
  const total = k.probedPairs(c.codes, c.tokenStarts, c.doclens, c.pids, c.docs, c.head, c.next, c.perToken, c.qLen, first, rows, docOf);
  if (room !== undefined) return { total, first, rows, docOf };
  return pairsOf(k, c, total);
}

/** Random passages' codes, probe lists as probe-token-interaction.ts builds them (-1 pads, chains newest first). */
function randomPairCase(seed: number): PairCase {
  const rnd = mulberry32(seed);
  const nCells = 1 + Math.floor(rnd() * 60);
  const nPassages = 1 + Math.floor(rnd() * 200);
  const doclens = Int32Array.from({ length: nPassages }, () => Math.floor(rnd() * 9));
  const tokenStarts = new Int32Array(nPassages);
  for (let p = 1; p < nPassages; p++) tokenStarts[p] = tokenStarts[p - 1]! + doclens[p - 1]!;
  const codes = Int32Array.from({ length: tokenStarts[nPassages - 1]! + doclens[nPassages - 1]! }, () => Math.floor(rnd() * nCells));
  const qLen = 1 + Math.floor(rnd() * 12);
  const perToken = 1 + Math.floor(rnd() * 6);
  const { head, next } = randomProbeLists(rnd, nCells, qLen, perToken);
  const { pids, docs } = randomCandidates(rnd, nPassages, 0.7);
  return { codes, tokenStarts, doclens, pids, docs, head, next, perToken, qLen };
}

test('probedPairs: the twin against a plain triple loop, the native kernel against the twin', () => {
  const native = nativeKernels();
  for (let seed = 100; seed < 140; seed++) {
    const c = randomPairCase(seed);
    // Oracle: every (token, doc, row) by scanning each token's probe slots, stably grouped by token.
    const byToken: [number, number][][] = Array.from({ length: c.qLen }, () => []);
    for (const d of c.docs) {
      const pid = c.pids[d]!;
      for (let row = c.tokenStarts[pid]!; row < c.tokenStarts[pid]! + c.doclens[pid]!; row++) {
        for (let slot = c.head[c.codes[row]!]!; slot >= 0; slot = c.next[slot]!) byToken[Math.floor(slot / c.perToken)]!.push([row, d]);
      }
    }
    const twin = pairsOf(typescriptKernels, c);
    assert.deepEqual([...twin.first], [0, ...byToken.map((_, i) => byToken.slice(0, i + 1).flat().length)], `seed ${seed} first`);
    assert.deepEqual([...twin.rows], byToken.flat().map(([r]) => r), `seed ${seed} rows`);
    assert.deepEqual([...twin.docOf], byToken.flat().map(([, d]) => d), `seed ${seed} docOf`);
    if (native !== null) {
      assert.deepEqual(pairsOf(native, c), twin, `seed ${seed} native`);
      // Too little room: the total and offsets come back, no pair is written.
      if (twin.total > 0) {
        const short = pairsOf(native, c, twin.total - 1);
        assert.equal(short.total, twin.total);
        assert.deepEqual(short.rows, new Int32Array(twin.total - 1));
      }
    }
  }
});

test('probedPairs argument errors: INVALID_ARGUMENT from both', () => {
  const c = randomPairCase(7);
  c.docs = Int32Array.from([0]);
  c.pids = Int32Array.from([0]);
  c.doclens[0] = 2;
  const bad: [string, PairCase][] = [
    ['docs', { ...c, docs: Int32Array.from([1]) }],
    ['pids', { ...c, pids: Int32Array.from([c.tokenStarts.length]) }],
    ['span', { ...c, tokenStarts: c.tokenStarts.map((v, p) => (p === 0 ? c.codes.length : v)) }],
    ['codes', { ...c, codes: c.codes.map((v, r) => (r === c.tokenStarts[0] ? c.head.length : v)) }],
    ['next', { ...c, next: new Int32Array(c.qLen * c.perToken + 1) }],
  ];
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, requireNative()]) {
    for (const [name, b] of bad) assert.throws(() => pairsOf(k, b, 1000), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', `${k.name} ${name}`);
  }
});
