/**
 * Ternary scored on its codes (issue 22), speed: ns per document token on one core, in one process
 * and on the same documents, for
 *   - float MaxSim over the uncompressed tokens (`maxsim`, the baseline the issue's goal names),
 *   - 2-bit fast-scan, warm (the default exact stage of a 2-bit index),
 *   - ternary decompress-and-MaxSim (the exact stage of a ternary index before this kernel),
 *   - ternary on its codes (src/kernels/ternary-code-kernels.ts): warm (the norm cache filled), without
 *     the norm (the kernel alone) and cold (the first call fills the cache), plus its LUT build per query,
 * at 128 d × 32 query tokens (ColBERTv2's shape) and 512 d × 9 (the bundled model's short queries),
 * K = 4,096 centroids, documents of 40–180 tokens near their centroids (bench/code-scoring.ts's data).
 * Every figure is the best of five windows of this process's CPU time, so ratios hold on a loaded machine.
 *
 * Run: `node dist/bench/ternary-code-scoring.js [nDocs]` (default 1,500 documents).
 */
import { loadavg } from 'node:os';
import { mulberry32 as rng } from '../src/util/random.js';
import { getKernels, kernelsStatus, type Kernels } from '../src/kernels/index.js';
import { ResidualCodec } from '../src/codec/residual-codec.js';
import { prepareCodeQuery, scoreOnCodes } from '../src/codec/code-scorer.js';
import { TERNARY_NBITS } from '../src/kernels/validate.js';
import { K, documentSpans, nearCentroids, timeIt, unitRows } from './code-scoring.js';
import { isMain, machine } from './common.js';

export interface TernaryShapeResult {
  dim: number;
  qLen: number;
  tokens: number;
  nsPerToken: { float: number; fastscan2: number; ternaryDecompress: number; ternaryCodes: number; ternaryNoNorm: number; ternaryCold: number };
  lutBuildUs: number;
}

export function benchTernaryShape(kernels: Kernels, dim: number, qLen: number, nDocs: number): TernaryShapeResult {
  const rand = rng(dim * 1000 + qLen);
  const centroids = unitRows(rand, K, dim);
  const heldout = nearCentroids(rand, centroids, 20_000, dim);
  const ternary = ResidualCodec.fit(centroids, dim, TERNARY_NBITS, heldout, kernels);
  const twoBit = ResidualCodec.fit(centroids, dim, 2, heldout, kernels);
  const { lens, starts, tokens } = documentSpans(rand, nDocs);
  const docs = nearCentroids(rand, centroids, tokens, dim);
  const t = ternary.compress(docs, tokens);
  const b = twoBit.compress(docs, tokens);
  const q = unitRows(rand, qLen, dim);
  const s = new Float32Array(K * qLen);
  kernels.matmulTransB(centroids, K, q, qLen, dim, s);
  const out = new Float32Array(nDocs);
  const float = timeIt(() => kernels.maxsim(q, qLen, dim, docs, starts, lens, nDocs, out));
  const fq = prepareCodeQuery(twoBit, q, qLen, kernels, 'fastscan');
  scoreOnCodes(twoBit, fq, s, b.codes, b.residuals, starts, lens, nDocs, false, kernels, out, null);
  const fastscan2 = timeIt(() => scoreOnCodes(twoBit, fq, s, b.codes, b.residuals, starts, lens, nDocs, false, kernels, out, null));
  const decompress = timeIt(() => kernels.maxsimCompressed(q, qLen, dim, t.codes, t.residuals, starts, lens, nDocs, centroids, ternary.weights, TERNARY_NBITS, out));
  const tq = prepareCodeQuery(ternary, q, qLen, kernels, 'fastscan');
  if (tq.kind !== 'ternary') throw new Error('expected a ternary code query');
  const cold = (() => {
    const inv = new Float32Array(t.codes.length).fill(NaN);
    const u0 = process.cpuUsage();
    kernels.maxsimTernaryCodes(s, qLen, tq.lut, tq.scales, t.codes, t.residuals, dim, starts, lens, nDocs, out, null, inv, centroids, ternary.weights);
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / 1e6;
  })();
  scoreOnCodes(ternary, tq, s, t.codes, t.residuals, starts, lens, nDocs, false, kernels, out, null);
  const codes = timeIt(() => scoreOnCodes(ternary, tq, s, t.codes, t.residuals, starts, lens, nDocs, false, kernels, out, null));
  const noNorm = timeIt(() => kernels.maxsimTernaryCodes(s, qLen, tq.lut, tq.scales, t.codes, t.residuals, dim, starts, lens, nDocs, out, null));
  const lut = timeIt(() => prepareCodeQuery(ternary, q, qLen, kernels));
  const ns = (sec: number): number => (sec * 1e9) / tokens;
  return {
    dim,
    qLen,
    tokens,
    nsPerToken: { float: ns(float), fastscan2: ns(fastscan2), ternaryDecompress: ns(decompress), ternaryCodes: ns(codes), ternaryNoNorm: ns(noNorm), ternaryCold: ns(cold) },
    lutBuildUs: lut * 1e6,
  };
}

if (isMain(import.meta.url)) {
  const nDocs = Number(process.argv[2] ?? 1500);
  const kernels = getKernels();
  console.log(`# ternary code scoring, ${kernels.name}, ${machine().cpu}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(JSON.stringify(kernelsStatus().cpu));
  for (const [dim, qLen] of [
    [128, 32],
    [512, 9],
  ] as const) {
    const r = benchTernaryShape(kernels, dim, qLen, nDocs);
    const n = r.nsPerToken;
    const f = (x: number): string => x.toFixed(1);
    console.log(
      `dim ${dim} qLen ${qLen} (${r.tokens} tokens): ns/token float ${f(n.float)}, 2-bit fastscan ${f(n.fastscan2)}, ternary decompress ${f(n.ternaryDecompress)}, ternary on codes ${f(n.ternaryCodes)} (no norm ${f(n.ternaryNoNorm)}, cold ${f(n.ternaryCold)}); LUT ${f(r.lutBuildUs)} µs/query; on codes vs float ${(n.float / n.ternaryCodes).toFixed(2)}×, vs ternary decompress ${(n.ternaryDecompress / n.ternaryCodes).toFixed(2)}×, vs 2-bit fastscan ${(n.fastscan2 / n.ternaryCodes).toFixed(2)}×`,
    );
  }
  console.log(`# load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}
