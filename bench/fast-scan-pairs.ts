/**
 * Fast-scan part I (issue 22): how often two quads' table lookups could be summed in uint8 before one
 * vpdpbusd, and what coarser tables that always allow it would cost, on real queries and real
 * stored tokens.
 *
 * Pairs: the VBMI path's quads 2c and 2c + 1 (residual bytes 4c..4c + 3); lane j of a dword pairs
 * nibble positions 8c + j and 8c + 4 + j. With today's tables (as fastScanKernels.buildFastScanTables quantises them, in float64;
 * unchanged) a pair fits for query token i when maxE[8c + j] + maxE[8c + 4 + j] <= 255 for j = 0..3
 * (scheme A, bit-identical). Reported: the share of (pair, query token) that fit, and of (pair, group
 * of G consecutive query tokens) where all G fit (the kernel takes G = 4 tokens a pass).
 *
 * Fidelity proxy of table schemes (float64): per query token and sampled stored token, the error of
 * the acc-derived residual score, Σ_p (step_p · E_p[nibble_p] + m_p) − Σ_p T_p[nibble_p], RMS and max,
 * for today's tables (one step R_i / M), 7-bit entries (R_i / 127), part E's byte-pair step
 * (max_b range_2b + range_2b+1, / 254), the quad-pair step (max over pairs, / 254), scheme B with
 * a continuous unit (weighted pairs: step u_i · w_P, w_P = ceil(range_P / (254 u_i)), u_i the least
 * with Σ_P 255 w_P <= 65,535) and B as part I built it on every path (W found bit by bit; measured,
 * then reverted: the kernel was not faster). "today" is the tables as they are (one step R_i / M). Part E's nDCG@10 deltas on
 * cranfield (today −0.0015, 7-bit −0.0022, byte-pair −0.0024, PLAID) calibrate the proxy; figures in
 * bench/RESULTS.md, "Fast-scan part I".
 *
 * Run: `node dist/bench/fast-scan-pairs.js [queries=100] [tokens=256]` (indexes as in `SETS`, data
 * at ../shared/data or PLAIT_DATA_DIR; the 128-d set reads /tmp/s1m's cached MS MARCO-shaped queries).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { fastScanEntryMax } from '../src/kernels/fast-scan.js';
import { judgedQueries } from './calibration.js';
import { isMain } from './common.js';

interface SetSpec {
  name: string;
  index: string;
  /** A BEIR set under the data dir, or a file of 32 × dim float32 query blocks. */
  queries: { dataset: string } | { file: string };
}

const SETS: SetSpec[] = [
  { name: 'cisi', index: '/tmp/cgen-idx/cisi', queries: { dataset: 'cisi' } },
  { name: 'cranfield', index: '/tmp/cgen-idx/cranfield', queries: { dataset: 'cranfield' } },
  { name: 'scifact', index: '/tmp/qr-idx/scifact', queries: { dataset: 'scifact' } },
  { name: 'msmarco-shaped 1M (128 d, synthetic)', index: '/tmp/s1m/head1m', queries: { file: '/tmp/s1m/queries-p1000000-s110-n100.f32' } },
];

interface Manifest {
  dim: number;
  nbits: number;
  codec: { weights: number[] };
  segments: Array<{ tokens: number }>;
}

/** One query's tokens as rows of dim floats. */
type Query = Float32Array[];

async function queriesOf(spec: SetSpec, dim: number, n: number): Promise<Query[]> {
  if ('file' in spec.queries) {
    const buf = readFileSync(spec.queries.file);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const per = 32 * dim;
    const out: Query[] = [];
    for (let q = 0; q < Math.min(n, all.length / per); q++) out.push(Array.from({ length: 32 }, (_, i) => all.subarray(q * per + i * dim, q * per + (i + 1) * dim)));
    return out;
  }
  const texts = (await judgedQueries(spec.queries.dataset)).slice(0, n).map((q) => q.text);
  const index = await openIndex(spec.index, { encoderOptions: { threads: 1 } });
  try {
    const emb = await (await index.encoder()).encodeQueries(texts);
    return emb.map((e) => Array.from({ length: e.length }, (_, i) => e.vectors.subarray(i * dim, (i + 1) * dim)));
  } finally {
    await index.close();
  }
}

/** `n` stored tokens' residual bytes, evenly spread over the first segment. */
function sampledTokens(index: string, tokens: number, nBytes: number, n: number): Uint8Array[] {
  const fd = openSync(join(index, 'residuals.0000.u8'), 'r');
  try {
    return Array.from({ length: n }, (_, k) => {
      const b = new Uint8Array(nBytes);
      readSync(fd, b, 0, nBytes, Math.floor(((k + 0.5) * tokens) / n) * nBytes);
      return b;
    });
  } finally {
    closeSync(fd);
  }
}

/** A scheme's tables for one query token: entry E[p][v] and step[p] (m_p is the same for all). */
interface SchemeTables {
  e: Int32Array; // [p][16]
  step: Float64Array; // [p]
}

function quantise(t: Float64Array, m: Float64Array, nNib: number, stepOf: (p: number) => number, max: number): SchemeTables {
  const e = new Int32Array(nNib * 16);
  const step = new Float64Array(nNib);
  for (let p = 0; p < nNib; p++) {
    const s = stepOf(p);
    step[p] = s;
    for (let v = 0; v < 16; v++) e[p * 16 + v] = s === 0 ? 0 : Math.min(max, Math.max(0, Math.floor((t[p * 16 + v]! - m[p]!) / s + 0.5)));
  }
  return { e, step };
}

/** Partner of position p in its quad pair (-1: an unpaired last quad or a position past 2 nBytes). */
function partner(p: number, nNib: number): number {
  const c = p >> 3;
  const j = p & 3;
  const other = (p & 4) === 0 ? 8 * c + 4 + j : 8 * c + j;
  return other < nNib ? other : -1;
}

/** Scheme B's base unit u and weights per position (a pair's two positions share theirs). */
function weightedSteps(range: Float64Array, nNib: number): Float64Array {
  const pairRange = (p: number): number => range[p]! + (partner(p, nNib) >= 0 ? range[partner(p, nNib)]! : 0);
  const leaders: number[] = [];
  for (let p = 0; p < nNib; p++) if (partner(p, nNib) < 0 || (p & 4) === 0) leaders.push(p);
  const maxR = Math.max(...leaders.map(pairRange));
  const step = new Float64Array(nNib);
  if (maxR === 0) return step;
  const weightsAt = (u: number): number[] => leaders.map((p) => Math.max(1, Math.ceil(pairRange(p) / (254 * u))));
  const fits = (u: number): boolean => weightsAt(u).reduce((s, w) => s + 255 * w, 0) <= 65535 && Math.max(...weightsAt(u)) <= 127;
  let lo = maxR / (254 * 127) / 2;
  let hi = maxR / 254;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  const ws = weightsAt(hi);
  leaders.forEach((p, k) => {
    step[p] = hi * ws[k]!;
    if (partner(p, nNib) >= 0) step[partner(p, nNib)] = hi * ws[k]!;
  });
  return step;
}

/**
 * Scheme B as part I built it (commit 330499f, then reverted: bench/RESULTS.md, "Fast-scan part I"):
 * lane l's ρ_l = r_l / R, w_l(W) = min(W, max(1, ⌈ρ_l·W⌉)), W the largest ≤ 127 with Σ_l w_l ≤ 257
 * (found bit by bit), u = R / (253·W); each position's step u·w of its lane.
 */
function bitByBitSteps(range: Float64Array, nNib: number): Float64Array {
  const nLanes = 4 * Math.ceil(nNib / 8);
  const rho = new Float64Array(nLanes);
  let rmax = 0;
  for (let l = 0; l < nLanes; l++) {
    const p = 8 * Math.floor(l / 4) + (l % 4);
    rho[l] = (p < nNib ? range[p]! : 0) + (p + 4 < nNib ? range[p + 4]! : 0);
    rmax = Math.max(rmax, rho[l]!);
  }
  const step = new Float64Array(nNib);
  if (rmax === 0) return step;
  for (let l = 0; l < nLanes; l++) rho[l] = rho[l]! / rmax;
  const weightOf = (l: number, w: number): number => Math.min(w, Math.max(1, Math.ceil(rho[l]! * w)));
  let big = 1;
  for (let bit = 64; bit >= 1; bit >>= 1) {
    let total = 0;
    for (let l = 0; l < nLanes; l++) total += weightOf(l, big + bit);
    if (big + bit <= 127 && total <= 257) big += bit;
  }
  const u = rmax / (253 * big);
  for (let l = 0; l < nLanes; l++) {
    const p = 8 * Math.floor(l / 4) + (l % 4);
    for (const pp of [p, p + 4]) if (pp < nNib) step[pp] = u * weightOf(l, big);
  }
  return step;
}

interface Stat {
  n: number;
  sq: number;
  max: number;
}

export async function pairsBench(spec: SetSpec, nQueries: number, nTokens: number): Promise<object> {
  const manifest = JSON.parse(readFileSync(join(spec.index, 'manifest.json'), 'utf8')) as Manifest;
  const { dim, nbits } = manifest;
  const nBytes = (dim * nbits) / 8;
  const nNib = 2 * nBytes;
  const weights = Float32Array.from(manifest.codec.weights);
  const queries = await queriesOf(spec, dim, nQueries);
  const stored = sampledTokens(spec.index, manifest.segments[0]!.tokens, nBytes, nTokens);
  const entryMax = fastScanEntryMax(nBytes);
  const nPairs = Math.ceil(nBytes / 4); // quad pairs (the last may hold one quad)
  let fitTok = 0;
  let allTok = 0;
  const groupFit = { 2: [0, 0], 4: [0, 0] } as Record<2 | 4, [number, number]>;
  const schemes = ['today', '7-bit', 'byte-pair step', 'quad-pair step', 'B weighted pairs (continuous u)', 'B, W bit by bit (part I build)'] as const;
  const stats = Object.fromEntries(schemes.map((s) => [s, { n: 0, sq: 0, max: 0 } as Stat])) as Record<(typeof schemes)[number], Stat>;
  const mask = (1 << nbits) - 1;
  const perNibble = 4 / nbits;
  for (const q of queries) {
    const qLen = q.length;
    const flat = new Float32Array(qLen * dim);
    q.forEach((row, i) => flat.set(row, i * dim));
    // Scheme A: fit flags [pair][i] of today's tables ('today', computed below as buildFastScanTables does).
    const fit: boolean[][] = Array.from({ length: nPairs }, () => new Array<boolean>(qLen).fill(false));
    // Fidelity proxy, float64.
    for (let i = 0; i < qLen; i++) {
      const t = new Float64Array(nNib * 16);
      const m = new Float64Array(nNib);
      const range = new Float64Array(nNib);
      for (let p = 0; p < nNib; p++) {
        let mn = Infinity;
        let mx = -Infinity;
        for (let v = 0; v < 16; v++) {
          let s = 0;
          for (let k = 0; k < perNibble; k++) s += q[i]![p * perNibble + k]! * weights[(v >> (4 - nbits * (k + 1))) & mask]!;
          t[p * 16 + v] = s;
          mn = Math.min(mn, s);
          mx = Math.max(mx, s);
        }
        m[p] = mn;
        range[p] = mx - mn;
      }
      let r = 0;
      let rByte = 0;
      let rPair = 0;
      for (let p = 0; p < nNib; p++) {
        r = Math.max(r, range[p]!);
        if ((p & 1) === 0) rByte = Math.max(rByte, range[p]! + range[p + 1]!);
        if ((p & 4) === 0) rPair = Math.max(rPair, range[p]! + (partner(p, nNib) >= 0 ? range[partner(p, nNib)]! : 0));
      }
      const wSteps = weightedSteps(range, nNib);
      const bSteps = bitByBitSteps(range, nNib);
      const built: Record<(typeof schemes)[number], SchemeTables> = {
        today: quantise(t, m, nNib, () => r / entryMax, entryMax),
        '7-bit': quantise(t, m, nNib, () => r / 127, 127),
        'byte-pair step': quantise(t, m, nNib, () => rByte / 254, 255),
        'quad-pair step': quantise(t, m, nNib, () => rPair / 254, 255),
        'B weighted pairs (continuous u)': quantise(t, m, nNib, (p) => wSteps[p]!, 255),
        'B, W bit by bit (part I build)': quantise(t, m, nNib, (p) => bSteps[p]!, 255),
      };
      const today = built.today;
      const maxE = (p: number): number => (p >= nNib ? 0 : Math.max(...today.e.subarray(p * 16, p * 16 + 16)));
      for (let c = 0; c < nPairs; c++) {
        let ok = true;
        for (let j = 0; j < 4; j++) if (maxE(8 * c + j) + maxE(8 * c + 4 + j) > 255) ok = false;
        fit[c]![i] = ok;
        if (8 * c + 4 < nNib) {
          allTok++;
          if (ok) fitTok++;
        }
      }
      for (const s of schemes) {
        const { e, step } = built[s];
        const err = new Float64Array(nNib * 16);
        for (let p = 0; p < nNib; p++) for (let v = 0; v < 16; v++) err[p * 16 + v] = step[p]! * e[p * 16 + v]! - (t[p * 16 + v]! - m[p]!);
        const st = stats[s];
        for (const tok of stored) {
          let d = 0;
          for (let b = 0; b < nBytes; b++) d += err[(2 * b) * 16 + (tok[b]! >> 4)]! + err[(2 * b + 1) * 16 + (tok[b]! & 15)]!;
          st.n++;
          st.sq += d * d;
          st.max = Math.max(st.max, Math.abs(d));
        }
      }
    }
    for (const g of [2, 4] as const) {
      for (let i0 = 0; i0 + g <= qLen; i0 += g) {
        for (let c = 0; 8 * c + 4 < nNib; c++) {
          groupFit[g][1]++;
          if (fit[c]!.slice(i0, i0 + g).every((x) => x)) groupFit[g][0]++;
        }
      }
    }
  }
  return {
    set: spec.name,
    dim,
    nbits,
    nBytes,
    queries: queries.length,
    storedTokens: stored.length,
    fitPairToken: fitTok / allTok,
    fitPairGroup2: groupFit[2][0] / groupFit[2][1],
    fitPairGroup4: groupFit[4][0] / groupFit[4][1],
    proxy: Object.fromEntries(schemes.map((s) => [s, { rms: Math.sqrt(stats[s].sq / stats[s].n), max: stats[s].max }])),
    loadavg: loadavg(),
  };
}

if (isMain(import.meta.url)) {
  const nQueries = Number(process.argv[2] ?? 100);
  const nTokens = Number(process.argv[3] ?? 256);
  for (const spec of SETS) {
    if (!existsSync(spec.index)) {
      process.stderr.write(`skipping ${spec.name}: no ${spec.index}\n`);
      continue;
    }
    process.stdout.write(`${JSON.stringify(await pairsBench(spec, nQueries, nTokens))}\n`);
  }
}
