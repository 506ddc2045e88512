/**
 * Stage-1 centroid scores: float32 (matmulTransB) against int8 codes (centroidScoresInt8, VNNI
 * where the CPU has it), measured in the same process.
 *
 *  1. Speed on random unit vectors at the sizes PLAID sees: K = 8,192 (cisi, cranfield),
 *     16,384 (scifact, wordnet-scale), 131,072 (1M MS MARCO-shaped passages); 128 d; 32-token
 *     (ColBERT-padded) and 6-token (keyword) queries. Median of `reps` calls.
 *  2. With an index and a data set: how far int8 moves PLAID on the data set's real natural and
 *     2–4-word keyword queries — probed cells that differ (per token's top nIvfProbe), pruning-mask
 *     flips, and the share of the float path's PLAID top-10 documents the int8 path still returns
 *     (ColBERT's defaults for k = 10 and k = 100, or plait's with PLAIT_BENCH_DEFAULTS=plait), the
 *     share of the exhaustive top-k passages each path finds, and the int8 scores' largest error.
 *
 * Run: `node dist/bench/centroid-scores.js [reps=20]` or
 *      `node dist/bench/centroid-scores.js 20 <dataset> <index>`.
 */
import { getKernels, kernelsStatus } from '../src/kernels/index.js';
import { colbertDefaultsFor, plaidDefaultsFor, type PlaidParams } from '../src/config/defaults.js';
import { centroidScores, exhaustiveScores, plaidSearch, probeAndMask, probeRescoreFor, scratchMarks, type EncodedQuery, type ScoringArrays } from '../src/search/plaid.js';
import { openIndex } from '../src/search/plait-index.js';
import { idfWeights } from '../src/search/idf.js';
import { Random } from '../src/util/random.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { isMain, machine, percentiles } from './common.js';

function unitRows(rng: Random, n: number, dim: number): Float32Array {
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (x[i * dim + d] = rng.normal()) ** 2;
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) x[i * dim + d]! *= inv;
  }
  return x;
}

/** Median and minimum ms of each function, the calls interleaved (a loaded machine's drift hits both alike). */
function timeBoth(reps: number, fns: ReadonlyArray<() => void>): Array<{ p50: number; min: number }> {
  const ms = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    fns.forEach((fn, i) => {
      const t = performance.now();
      fn();
      ms[i]!.push(performance.now() - t);
    });
  }
  return ms.map((m) => ({ p50: percentiles(m).p50, min: Math.min(...m) }));
}

function speed(reps: number): object[] {
  const kernels = getKernels();
  const rng = new Random(22);
  const dim = 128;
  const rows = [];
  for (const k of [8192, 16_384, 131_072]) {
    const centroids = unitRows(rng, k, dim);
    for (const qLen of [32, 6]) {
      const vectors = unitRows(rng, qLen, dim);
      const q: EncodedQuery = { vectors, length: qLen, weights: null };
      const base = { dim, nbits: 2, nCentroids: k, centroids, weights: new Float32Array(4), doclens: new Int32Array(0), tokenStarts: new Int32Array(0), segments: [], ivf: new Int32Array(0), ivfOffsets: new Float64Array(k + 1) };
      const f32: ScoringArrays = { ...base, centroidScoring: 'float32' };
      const i8: ScoringArrays = { ...base, centroidScoring: 'int8' };
      centroidScores(i8, q, kernels); // quantises the centroids once (cached per thread), as an open index does
      const [f, i] = timeBoth(reps, [() => centroidScores(f32, q, kernels), () => centroidScores(i8, q, kernels)]);
      const a = centroidScores(f32, q, kernels);
      const b = centroidScores(i8, q, kernels);
      let maxErr = 0;
      for (let x = 0; x < a.length; x++) maxErr = Math.max(maxErr, Math.abs(a[x]! - b[x]!));
      rows.push({
        nCentroids: k,
        qLen,
        float32Ms: { p50: +f!.p50.toFixed(3), min: +f!.min.toFixed(3) },
        int8Ms: { p50: +i!.p50.toFixed(3), min: +i!.min.toFixed(3) },
        speedupP50: +(f!.p50 / i!.p50).toFixed(2),
        speedupMin: +(f!.min / i!.min).toFixed(2),
        maxAbsError: +maxErr.toFixed(5),
      });
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  }
  return rows;
}

async function onIndex(dataset: string, indexPath: string): Promise<object> {
  const judged = await judgedQueries(dataset);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const kernels = getKernels();
    const encoder = await index.encoder();
    const df = index.docstore.tokenDf();
    const base = index.scoringArrays;
    const f32: ScoringArrays = { ...base, centroidScoring: 'float32' };
    const i8: ScoringArrays = { ...base, centroidScoring: 'int8' };
    const mark = scratchMarks(base);
    const out: Record<string, object> = {};
    for (const [kind, texts] of [
      ['natural', judged.map((q) => q.text)],
      ['keyword', judged.map((q, i) => keywordOf(q.text, i))],
    ] as const) {
      const emb = await encoder.encodeQueries([...texts]);
      let probedDiff = 0;
      let probedAll = 0;
      let maskFlips = 0;
      let maxErr = 0;
      const topFound: Record<string, [number, number]> = { k10: [0, 0], k100: [0, 0] };
      // Share of the exhaustive top-k passages each path's PLAID finds: [float32 found, int8 found, total].
      const vsExact: Record<string, [number, number, number]> = { k10: [0, 0, 0], k100: [0, 0, 0] };
      for (const e of emb) {
        if (e.length === 0) continue;
        const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
        const a = centroidScores(f32, q, kernels);
        const b = centroidScores(i8, q, kernels);
        for (let x = 0; x < a.length; x++) maxErr = Math.max(maxErr, Math.abs(a[x]! - b[x]!));
        for (const p of [1, 2, 4]) {
          const pa = probeAndMask(a, base.nCentroids, q.length, p, 0.5, undefined, undefined, kernels);
          const pb = probeAndMask(b, base.nCentroids, q.length, p, 0.5, undefined, undefined, kernels, probeRescoreFor(i8, q));
          for (let i = 0; i < q.length; i++) {
            const sa = new Set(pa.probed.subarray(i * p, (i + 1) * p));
            for (const c of pb.probed.subarray(i * p, (i + 1) * p)) if (!sa.has(c)) probedDiff++;
            probedAll += p;
          }
          if (p === 1) for (let c = 0; c < base.nCentroids; c++) if (pa.keep[c] !== pb.keep[c]) maskFlips++;
        }
        const exact = exhaustiveScores(base, q, kernels);
        const order = Int32Array.from(exact.keys()).sort((x, y) => exact[y]! - exact[x]! || x - y);
        for (const [name, k] of [['k10', 10], ['k100', 100]] as const) {
          const params: PlaidParams = (process.env.PLAIT_BENCH_DEFAULTS === 'plait' ? plaidDefaultsFor : colbertDefaultsFor)(k);
          const ra = plaidSearch(f32, q, params, kernels, mark).hits.pids.slice(0, k);
          const rb = new Set(plaidSearch(i8, q, params, kernels, mark).hits.pids.slice(0, k));
          for (const pid of ra) if (rb.has(pid)) topFound[name]![0]++;
          topFound[name]![1] += ra.length;
          const sa = new Set(ra);
          for (const pid of order.subarray(0, k)) {
            if (sa.has(pid)) vsExact[name]![0]++;
            if (rb.has(pid)) vsExact[name]![1]++;
            vsExact[name]![2]++;
          }
        }
      }
      out[kind] = {
        queries: emb.length,
        probedCellsChanged: +(probedDiff / probedAll).toFixed(5),
        maskFlipsPerQuery: +(maskFlips / emb.length).toFixed(2),
        top10Kept: +(topFound.k10![0] / topFound.k10![1]).toFixed(5),
        top100Kept: +(topFound.k100![0] / topFound.k100![1]).toFixed(5),
        exhaustiveTop10Found: { float32: +(vsExact.k10![0] / vsExact.k10![2]).toFixed(5), int8: +(vsExact.k10![1] / vsExact.k10![2]).toFixed(5) },
        exhaustiveTop100Found: { float32: +(vsExact.k100![0] / vsExact.k100![2]).toFixed(5), int8: +(vsExact.k100![1] / vsExact.k100![2]).toFixed(5) },
        maxAbsError: +maxErr.toFixed(5),
      };
      process.stderr.write(`${kind}: ${JSON.stringify(out[kind])}\n`);
    }
    return { dataset, nCentroids: base.nCentroids, dim: base.dim, ...out };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const reps = Number(process.argv[2] ?? 20);
  const [dataset, indexPath] = process.argv.slice(3);
  const status = kernelsStatus();
  const result: Record<string, unknown> = { machine: machine(), kernels: status.active, intDotPath: status.intDotPath, speed: speed(reps) };
  if (dataset !== undefined && indexPath !== undefined) result.index = await onIndex(dataset, indexPath);
  console.log(JSON.stringify(result, null, 2));
}
