/**
 * Two builds of the native addon's fast-scan kernel against each other in one process (issue 22,
 * "Fast-scan part H"): both .node files are loaded side by side and timed in interleaved rounds
 * (A, B, A, B, ...) on the same data, so a shared machine's load drifts over both alike; separate
 * processes run minutes apart moved by ±10% on the loaded 2-core machine. Per shape of
 * bench/code-scoring.ts (1,500 documents by default, warm norm cache, fast-scan with the norm):
 * ns a document token of each round (best of WINDOWS windows of CPU time), the min and median
 * ratios A ÷ B (> 1: B is faster), whether both builds' scores are the same bits, and the float
 * kernel's ns a token (the goal's baseline). Two copies of one binary read 0.97–1.01: the noise.
 *
 * Run: `node dist/bench/fast-scan-ab.js <a.node> <b.node> [nDocs] [rounds]`, e.g. main's addon
 * copied aside against native-kernels/build/Release/plait_kernels.node after an edit;
 * PLAIT_BENCH_SHAPES=0,3 picks shapes as in code-scoring. PLAIT_AB_FLOAT_ADDON=<old.node> also
 * times that build's float MaxSim kernel (`maxsim`, same data) in every round beside this build's,
 * e.g. the float kernel as it was when issue 22 was filed (commit aa45c90's addon).
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { getKernels, type Kernels } from '../src/kernels/index.js';
import { prepareCodeQuery } from '../src/codec/code-scorer.js';
import { codeScoringCase, pickedShapes, timeIt } from './code-scoring.js';
import { isMain } from './common.js';

const WINDOWS = 3;
const WINDOW_SECONDS = 0.4;

/** The part of an addon this benchmark calls. */
type FastScanAddon = Pick<Kernels, 'maxsimFastScan'>;
/** The part of an earlier build this benchmark calls for PLAIT_AB_FLOAT_ADDON. */
type FloatAddon = Pick<Kernels, 'maxsim'>;

/** Shorter windows than code-scoring's, so that rounds alternate often. */
function cpuSeconds(fn: () => void): number {
  return timeIt(fn, WINDOWS, WINDOW_SECONDS);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

function loadAddon(path: string): FastScanAddon {
  const addon = createRequire(import.meta.url)(resolve(path)) as Partial<FastScanAddon>;
  if (typeof addon.maxsimFastScan !== 'function') throw new Error(`${path} has no maxsimFastScan`);
  return { maxsimFastScan: addon.maxsimFastScan };
}

function loadFloatAddon(path: string): FloatAddon {
  const addon = createRequire(import.meta.url)(resolve(path)) as Partial<FloatAddon>;
  if (typeof addon.maxsim !== 'function') throw new Error(`${path} has no maxsim`);
  return { maxsim: addon.maxsim };
}

export interface AbShapeResult {
  shape: string;
  /** ns a document token, one a round. */
  a: number[];
  b: number[];
  sameBits: boolean;
  floatNs: number;
  /** ns a document token of PLAIT_AB_FLOAT_ADDON's float kernel and of this build's, one a round (empty without it). */
  otherFloat: number[];
  thisFloat: number[];
}

export function abShape(kernels: Kernels, a: FastScanAddon, b: FastScanAddon, dim: number, qLen: number, nbits: 1 | 2 | 4, nDocs: number, rounds: number, other: FloatAddon | null = null): AbShapeResult {
  const c = codeScoringCase(kernels, dim, qLen, nDocs, nbits);
  const fq = prepareCodeQuery(c.codec, c.q, qLen, kernels, 'fastscan');
  if (fq.kind !== 'fastscan') throw new Error('fast-scan does not support this shape');
  const caller = (addon: FastScanAddon) => {
    const out = new Float32Array(nDocs);
    const inv = new Float32Array(c.codes.length).fill(NaN);  // the norm cache, filled by the first call
    const call = (): void => {
      addon.maxsimFastScan(c.s, qLen, fq.tables, fq.scales, fq.offsets, c.codes, c.residuals, dim, nbits, c.starts, c.lens, nDocs, out, null, inv, c.centroids, c.codec.weights);
    };
    call();
    return { call, out };
  };
  const runA = caller(a);
  const runB = caller(b);
  const sameBits = Buffer.from(runA.out.buffer).equals(Buffer.from(runB.out.buffer));
  const ns = (sec: number): number => (sec * 1e9) / c.tokens;
  const floatNs = ns(cpuSeconds(() => kernels.maxsim(c.q, qLen, dim, c.docs, c.starts, c.lens, nDocs, runA.out)));
  const ta: number[] = [];
  const tb: number[] = [];
  const otherFloat: number[] = [];
  const thisFloat: number[] = [];
  const floatOut = new Float32Array(nDocs);
  for (let r = 0; r < rounds; r++) {
    ta.push(ns(cpuSeconds(runA.call)));
    tb.push(ns(cpuSeconds(runB.call)));
    if (other === null) continue;
    otherFloat.push(ns(cpuSeconds(() => other.maxsim(c.q, qLen, dim, c.docs, c.starts, c.lens, nDocs, floatOut))));
    thisFloat.push(ns(cpuSeconds(() => kernels.maxsim(c.q, qLen, dim, c.docs, c.starts, c.lens, nDocs, floatOut))));
  }
  return { shape: `${dim} d x ${qLen} q, ${nbits} bit${nbits > 1 ? 's' : ''}`, a: ta, b: tb, sameBits, floatNs, otherFloat, thisFloat };
}

if (isMain(import.meta.url)) {
  const [pathA, pathB] = [process.argv[2], process.argv[3]];
  if (pathA === undefined || pathB === undefined) {
    console.error('usage: node dist/bench/fast-scan-ab.js <a.node> <b.node> [nDocs] [rounds]');
    process.exit(2);
  }
  const nDocs = Number(process.argv[4] ?? 1500);
  const rounds = Number(process.argv[5] ?? 6);
  const a = loadAddon(pathA);
  const b = loadAddon(pathB);
  const otherPath = process.env.PLAIT_AB_FLOAT_ADDON;
  const other = otherPath === undefined || otherPath === '' ? null : loadFloatAddon(otherPath);
  const kernels = getKernels();
  const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`# fast-scan A/B, A = ${pathA}, B = ${pathB}, ${nDocs} documents, ${rounds} rounds, load average ${load()}`);
  for (const [dim, qLen, nbits] of pickedShapes()) {
    const r = abShape(kernels, a, b, dim, qLen, nbits, nDocs, rounds, other);
    const f = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
    const minA = Math.min(...r.a);
    const minB = Math.min(...r.b);
    console.log(
      `${r.shape}: A ${f(r.a)} | B ${f(r.b)} ns/token | A÷B min ${(minA / minB).toFixed(3)}, median ${(median(r.a) / median(r.b)).toFixed(3)} | ` +
        `same bits ${r.sameBits} | float ${r.floatNs.toFixed(1)} ns: A ${(r.floatNs / minA).toFixed(2)}×, B ${(r.floatNs / minB).toFixed(2)}×`,
    );
    if (other !== null) {
      const minOther = Math.min(...r.otherFloat);
      const minThis = Math.min(...r.thisFloat);
      console.log(
        `  float kernel of ${otherPath}: ${f(r.otherFloat)} | this build's: ${f(r.thisFloat)} ns/token | ` +
          `B against the other's float (min) ${(minOther / minB).toFixed(2)}×, against this build's ${(minThis / minB).toFixed(2)}×`,
      );
    }
  }
  console.log(`# load average ${load()}`);
}
