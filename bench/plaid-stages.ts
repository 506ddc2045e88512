/**
 * PLAID's stages one by one on one thread, over an MS MARCO-shaped index (issue 22: where a 1M
 * search's time goes, finer than the workers' per-stage timings): stage 1 split into the int8
 * centroid scores, the per-token probe and mask, the margin pass and the IVF union; then the pruned
 * and full centroid interactions and exact scoring, each timed alone.
 *
 *   node dist/bench/plaid-stages.js <index> [queries=50] [k=10]
 *
 * Queries: the cached `msmarco-compare` queries (made on first use). Prints means in ms, the
 * candidates, the kept (pruning mask) centroids and the pruned-interaction survivors.
 */
import { loadavg } from 'node:os';
import { getKernels, kernelsStatus } from '../src/kernels/index.js';
import { loadIndexData } from '../src/format/index-reader.js';
import { plaidDefaultsFor, effectiveNdocs } from '../src/config/defaults.js';
import { centroidScores, exactScoresOnCodes, interactionScores, ivfUnion, plaidSearch, probeAndMask, probeRescoreFor, scratchMarks, selectTop, type ScoringArrays } from '../src/search/plaid.js';
import { exactScoringMethod } from '../src/codec/code-scorer.js';
import { isMain, machine } from './common.js';
import { queriesOf } from './msmarco-compare.js';
import { prunedInteractionScores } from '../src/search/centroid-pruned-interaction.js';

async function main(path: string, n: number, k: number): Promise<object> {
  const kernels = getKernels();
  const d = loadIndexData(path, kernels);
  const a: ScoringArrays = { dim: d.manifest.dim, nbits: d.manifest.nbits, nCentroids: d.manifest.counts.centroids, centroids: d.centroids, weights: d.codec.weights, doclens: d.doclens, tokenStarts: d.tokenStarts, segments: d.segments, ivf: d.ivf, ivfOffsets: d.ivfOffsets };
  const params = plaidDefaultsFor(k);
  const mark = scratchMarks(a);
  const queries = queriesOf(d.manifest.counts.passages, n + 2);
  const sums: Record<string, number> = {};
  const add = (key: string, v: number): void => void (sums[key] = (sums[key] ?? 0) + v / n);
  // Warm-up: int8 centroids quantised once per thread, pages in.
  for (let i = n; i < n + 2; i++) plaidSearch(a, { vectors: queries[i]!.vectors, length: queries[i]!.length, weights: null }, params, kernels, mark);
  const scores = new Float32Array(a.nCentroids * queries[0]!.length);
  const rowMax = new Float32Array(a.nCentroids);
  for (let i = 0; i < n; i++) {
    const q = { vectors: queries[i]!.vectors, length: queries[i]!.length, weights: null };
    // As plaidSearch runs stage 1: scores into reused buffers with row maxima, then the probe
    // (with and without the float32 re-ranking of the shortlist) and the margin pass.
    let t = performance.now();
    const s = centroidScores(a, q, kernels, scores, rowMax);
    add('scoresMs', performance.now() - t);
    t = performance.now();
    probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold, undefined, params.nIvfProbeTotal, kernels, undefined, rowMax);
    add('probeMs', performance.now() - t);
    t = performance.now();
    const { probed, keep } = probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold, undefined, params.nIvfProbeTotal, kernels, probeRescoreFor(a, q), rowMax);
    add('probeAndRescoreMs', performance.now() - t);
    t = performance.now();
    const withMargin = probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold, params.centroidScoreMargin, params.nIvfProbeTotal, kernels, probeRescoreFor(a, q), rowMax);
    add('probeRescoreAndMarginMs', performance.now() - t);
    let kept = 0;
    let keptMargin = 0;
    let keptIvf = 0;
    for (let c = 0; c < a.nCentroids; c++) {
      kept += keep[c]!;
      keptMargin += withMargin.keep[c]!;
      if (withMargin.keep[c]) keptIvf += a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!;
    }
    add('keptCentroidsThreshold', kept);
    add('keptCentroids', keptMargin);
    add('keptIvfEntries', keptIvf);
    t = performance.now();
    const candidates = ivfUnion(a, probed, mark);
    add('ivfUnionMs', performance.now() - t);
    add('candidates', candidates.length);
    const ndocs = effectiveNdocs(params.ndocs, q.length, params.ndocsQueryTokens);
    t = performance.now();
    let pids = candidates;
    const codesScores = interactionScores(a, s, q, pids, withMargin.keep, kernels);
    add('prunedInteractionCodesMs', performance.now() - t);
    t = performance.now();
    const ivfScores = prunedInteractionScores(a, s, q, pids, withMargin.keep, kernels, interactionScores);
    add('prunedInteractionIvfMs', performance.now() - t);
    for (let j = 0; j < pids.length; j++) if (!Object.is(ivfScores[j], codesScores[j])) throw new Error(`stage 2 differs at pid ${pids[j]}: ${ivfScores[j]} vs ${codesScores[j]}`);
    if (pids.length > ndocs) pids = selectTop(kernels, pids, ivfScores, ndocs).pids;
    t = performance.now();
    const keepN = params.nExact ?? Math.max(1, Math.floor(ndocs / 4));
    if (pids.length > keepN) pids = selectTop(kernels, pids, interactionScores(a, s, q, pids, null, kernels), keepN).pids;
    add('fullInteractionMs', performance.now() - t);
    t = performance.now();
    const exact = exactScoringMethod();
    if (exact !== 'decompress') exactScoresOnCodes(a, q, s, pids, exact, kernels);
    add('exactMs', performance.now() - t);
    t = performance.now();
    plaidSearch(a, q, params, kernels, mark);
    add('wholeSearchMs', performance.now() - t);
  }
  return { benchmark: 'plaid-stages', machine: machine(), kernels: kernelsStatus(), index: path, k, queries: n, params, loadavg: loadavg(), means: sums };
}

if (isMain(import.meta.url)) {
  const [path, n, k] = process.argv.slice(2);
  console.log(JSON.stringify(await main(path!, Number(n ?? 50), Number(k ?? 10)), null, 2));
}
