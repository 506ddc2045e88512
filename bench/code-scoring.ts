/**
 * Exact scoring on the codes (issue 22), speed: ns per document token on one core for
 *   - float MaxSim over uncompressed documents (`maxsim`, the baseline the goal names),
 *   - ColBERT's decompress-and-MaxSim (`maxsimCompressed`, PLAID's exact stage before issue 22),
 *   - code scoring without a norm ('codes') and with the ‖c‖² + ‖r‖² norm ('codes-normalized'),
 *     plus the per-query LUT build (µs), which a search pays once,
 *   - fast-scan ('fastscan': uint8 nibble tables, pshufb over 64-token blocks whose transposed
 *     layout is built per block inside the call, so its cost is in the figure), divided by the
 *     exact norm from its per-token cache once warm (the method), without the norm (the kernel
 *     alone), and its first call filling the cache (cold); plus its table build,
 * at two shapes: 128 d × 32 query tokens (ColBERTv2, the MS MARCO-shaped benchmark; 1, 2 and 4 bits)
 * and 512 d × 9 tokens (the bundled model's short queries, 2 bits), K = 4,096 centroids, documents of 40–180
 * tokens near their centroids. Every figure is the best of five windows of CPU time, all in this
 * process, so the ratios hold on a loaded machine. Fidelity (nDCG@10 per method) is measured by
 * `plait eval` with PLAIT_EXACT_SCORING (bench/RESULTS.md, "Exact scoring on the codes").
 *
 * Run: `node dist/bench/code-scoring.js [nDocs]` (default 2,000 documents).
 */
import { loadavg } from 'node:os';
import { mulberry32 as rng } from '../src/util/random.js';
import { getKernels, kernelsStatus, type Kernels } from '../src/kernels/index.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { prepareCodeQuery, scoreOnCodes } from '../src/codec/code-scorer.js';
import { isMain, machine } from './common.js';

export const K = 4096;
const MIN_LEN = 40;
const MAX_LEN = 180;
const WINDOWS = 5;
const MIN_SECONDS = 1;

export function unitRows(rand: () => number, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let t = 0; t < dim; t++) n += (out[r * dim + t] = rand() * 2 - 1) ** 2;
    const inv = 1 / Math.sqrt(n);
    for (let t = 0; t < dim; t++) out[r * dim + t] = out[r * dim + t]! * inv;
  }
  return out;
}

export function nearCentroids(rand: () => number, centroids: Float32Array, rows: number, dim: number): Float32Array {
  const noise = unitRows(rand, rows, dim);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const c = Math.floor(rand() * K);
    let n = 0;
    for (let t = 0; t < dim; t++) n += (out[r * dim + t] = centroids[c * dim + t]! + 0.6 * noise[r * dim + t]!) ** 2;
    const inv = 1 / Math.sqrt(n);
    for (let t = 0; t < dim; t++) out[r * dim + t] = out[r * dim + t]! * inv;
  }
  return out;
}

/**
 * Best-of-windows CPU seconds per call of fn (windows of at least minSeconds each): this process's
 * own CPU time (process.cpuUsage), not the wall clock, so time spent waiting for a core on a shared
 * machine does not count.
 */
export function timeIt(fn: () => void, windows = WINDOWS, minSeconds = MIN_SECONDS): number {
  let best = Infinity;
  for (let w = 0; w < windows; w++) {
    let calls = 0;
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    do {
      fn();
      calls++;
    } while (performance.now() - t0 < minSeconds * 1000);
    const u = process.cpuUsage(u0);
    best = Math.min(best, (u.user + u.system) / 1e6 / calls);
  }
  return best;
}

/** nDocs documents of MIN_LEN–MAX_LEN tokens, laid end to end: their lengths, first rows and total tokens. */
export function documentSpans(rand: () => number, nDocs: number): { lens: Int32Array; starts: Int32Array; tokens: number } {
  const lens = Int32Array.from({ length: nDocs }, () => MIN_LEN + Math.floor(rand() * (MAX_LEN - MIN_LEN + 1)));
  const starts = new Int32Array(nDocs);
  let tokens = 0;
  for (let d = 0; d < nDocs; d++) {
    starts[d] = tokens;
    tokens += lens[d]!;
  }
  return { lens, starts, tokens };
}

export interface ShapeResult {
  dim: number;
  qLen: number;
  tokens: number;
  nsPerToken: { float: number; decompress: number; codes: number; codesNormalized: number; fastscan: number; fastscanNoNorm: number; fastscanCold: number };
  lutBuildUs: number;
  fastScanTablesUs: number;
  /** float / fastscan. */
  fastscanVsFloat: number;
  /** codes / fastscan: the old code kernel against the new one. */
  fastscanVsCodes: number;
  /** float / codes: how many times faster code scoring is per document token. */
  codesVsFloat: number;
  codesVsDecompress: number;
}

/** The benchmark's shapes: [dim, qLen, nbits]; PLAIT_BENCH_SHAPES=0,3 picks a subset by index. */
export const SHAPES = [
  [128, 32, 2],
  [128, 32, 1],
  [128, 32, 4],
  [512, 9, 2],
] as const;

export function pickedShapes(): ReadonlyArray<(typeof SHAPES)[number]> {
  const pick = process.env.PLAIT_BENCH_SHAPES?.split(',').map(Number);
  return pick ? SHAPES.filter((_, i) => pick.includes(i)) : SHAPES;
}

/** One shape's data, the same for a given (dim, qLen, nDocs, nbits) in every run and benchmark. */
export interface CodeScoringCase {
  codec: ResidualCodec;
  centroids: Float32Array;
  lens: Int32Array;
  starts: Int32Array;
  tokens: number;
  /** tokens × dim uncompressed document tokens. */
  docs: Float32Array;
  codes: Int32Array;
  residuals: Uint8Array;
  /** qLen × dim query. */
  q: Float32Array;
  /** K × qLen centroid scores of the query. */
  s: Float32Array;
}

export function codeScoringCase(kernels: Kernels, dim: number, qLen: number, nDocs: number, nbits: 1 | 2 | 4): CodeScoringCase {
  const rand = rng(dim * 1000 + qLen);
  const centroids = unitRows(rand, K, dim);
  const codec = ResidualCodec.fit(centroids, dim, nbits, nearCentroids(rand, centroids, 20_000, dim), kernels);
  const { lens, starts, tokens } = documentSpans(rand, nDocs);
  const docs = nearCentroids(rand, centroids, tokens, dim);
  const { codes, residuals } = codec.compress(docs, tokens);
  const q = unitRows(rand, qLen, dim);
  const s = new Float32Array(K * qLen);
  kernels.matmulTransB(centroids, K, q, qLen, dim, s);
  return { codec, centroids, lens, starts, tokens, docs, codes, residuals, q, s };
}

export function benchShape(kernels: Kernels, dim: number, qLen: number, nDocs: number, nbits: 1 | 2 | 4 = 2): ShapeResult {
  const { codec, centroids, lens, starts, tokens, docs, codes, residuals, q, s } = codeScoringCase(kernels, dim, qLen, nDocs, nbits);
  const out = new Float32Array(nDocs);
  const cq = prepareCodeQuery(codec, q, qLen, kernels);
  const float = timeIt(() => kernels.maxsim(q, qLen, dim, docs, starts, lens, nDocs, out));
  const decompress = timeIt(() => kernels.maxsimCompressed(q, qLen, dim, codes, residuals, starts, lens, nDocs, centroids, codec.weights, nbits, out));
  const onCodes = timeIt(() => scoreOnCodes(codec, cq, s, codes, residuals, starts, lens, nDocs, false, kernels, out, null));
  const normalized = timeIt(() => scoreOnCodes(codec, cq, s, codes, residuals, starts, lens, nDocs, true, kernels, out, null));
  const lut = timeIt(() => prepareCodeQuery(codec, q, qLen, kernels));
  const fq = prepareCodeQuery(codec, q, qLen, kernels, 'fastscan');
  if (fq.kind !== 'fastscan') throw new Error('fast-scan does not support this shape');
  const cold = (() => {
    const inv = new Float32Array(codes.length).fill(NaN);
    const u0 = process.cpuUsage();
    kernels.maxsimFastScan(s, qLen, fq.tables, fq.scales, fq.offsets, codes, residuals, dim, nbits, starts, lens, nDocs, out, null, inv, centroids, codec.weights);
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / 1e6;
  })();
  const fast = timeIt(() => scoreOnCodes(codec, fq, s, codes, residuals, starts, lens, nDocs, false, kernels, out, null));
  const fastNoNorm = timeIt(() => kernels.maxsimFastScan(s, qLen, fq.tables, fq.scales, fq.offsets, codes, residuals, dim, nbits, starts, lens, nDocs, out, null));
  const fastTables = timeIt(() => prepareCodeQuery(codec, q, qLen, kernels, 'fastscan'));
  const ns = (sec: number): number => (sec * 1e9) / tokens;
  return {
    dim,
    qLen,
    tokens,
    nsPerToken: { float: ns(float), decompress: ns(decompress), codes: ns(onCodes), codesNormalized: ns(normalized), fastscan: ns(fast), fastscanNoNorm: ns(fastNoNorm), fastscanCold: ns(cold) },
    lutBuildUs: lut * 1e6,
    fastScanTablesUs: fastTables * 1e6,
    fastscanVsFloat: float / fast,
    fastscanVsCodes: onCodes / fast,
    codesVsFloat: float / onCodes,
    codesVsDecompress: decompress / onCodes,
  };
}

if (isMain(import.meta.url)) {
  const nDocs = Number(process.argv[2] ?? 2000);
  const kernels = getKernels();
  console.log(`# code scoring, ${kernels.name}, ${machine().cpu}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(JSON.stringify(kernelsStatus().cpu));
  for (const [dim, qLen, nbits] of pickedShapes()) {
    const r = benchShape(kernels, dim, qLen, nDocs, nbits);
    const f = (x: number): string => x.toFixed(1);
    console.log(
      `dim ${dim} qLen ${qLen} nbits ${nbits} (${r.tokens} tokens): ns/token float ${f(r.nsPerToken.float)}, decompress ${f(r.nsPerToken.decompress)}, codes ${f(r.nsPerToken.codes)}, codes-normalized ${f(r.nsPerToken.codesNormalized)}, fastscan ${f(r.nsPerToken.fastscan)} (no norm ${f(r.nsPerToken.fastscanNoNorm)}, cold ${f(r.nsPerToken.fastscanCold)}); LUT ${f(r.lutBuildUs)} µs/query, fast-scan tables ${f(r.fastScanTablesUs)} µs/query; codes vs float ${r.codesVsFloat.toFixed(2)}×, vs decompress ${r.codesVsDecompress.toFixed(2)}×; fastscan vs float ${r.fastscanVsFloat.toFixed(2)}×, vs codes ${r.fastscanVsCodes.toFixed(2)}×`,
    );
  }
}
