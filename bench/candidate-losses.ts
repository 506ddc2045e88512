/**
 * Where PLAID loses the exhaustive top-10 (issue 22, part C): each missed document's best passage is
 * followed through the stages of src/search/plaid.ts at the given settings (plaidDefaultsFor(k),
 * or PLAIT_BENCH_PARAMS as JSON PlaidParams), and the stage that dropped it is counted together
 * with the rank it had there — how much deeper that stage would have had to go to keep it.
 *
 * Run: `node dist/bench/candidate-losses.js <dataset> <index> [natural|keyword] [k=10] [limit]`
 * (limit: only the first `limit` judged queries, for a quick look on a large set).
 */
import { openIndex } from '../src/search/plait-index.js';
import { plaidDefaultsFor, effectiveNdocs, type PlaidParams } from '../src/config/defaults.js';
import { getKernels } from '../src/kernels/index.js';
import { allInteractionScores, centroidScores, exhaustiveRange, ivfUnion, probeAndMask, exactDepth, probeRescoreFor, probedTokenDepth, usesProbedTokens, type EncodedQuery } from '../src/search/plaid.js';
import { centroidEstimates, probedTokenRanking } from '../src/search/probed-token-interaction.js';
import { CANDIDATE_DEFAULTS } from '../src/config/defaults.js';
import { idfWeights } from '../src/search/idf.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { isMain, machine } from './common.js';

/** Rank of `pid` among `pids` by `score` (0 = best; ties: lower pid first), or -1 when absent. */
function rankOf(pid: number, pids: Int32Array, score: (i: number) => number): number {
  const at = pids.indexOf(pid);
  if (at < 0) return -1;
  const mine = score(at);
  let r = 0;
  for (let i = 0; i < pids.length; i++) if (score(i) > mine || (score(i) === mine && pids[i]! < pid)) r++;
  return r;
}

export async function candidateLosses(dataset: string, indexPath: string, kind: string, k: number, limit = Infinity): Promise<object> {
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const params: PlaidParams = process.env.PLAIT_BENCH_PARAMS === undefined ? plaidDefaultsFor(k) : (JSON.parse(process.env.PLAIT_BENCH_PARAMS) as PlaidParams);
    const judged = (await judgedQueries(dataset)).slice(0, limit);
    const texts = judged.map((q, i) => (kind === 'keyword' ? keywordOf(q.text, i) : q.text));
    const emb = await (await index.encoder()).encodeQueries(texts);
    const a = index.scoringArrays;
    const kernels = getKernels();
    const pidToDoc = index.docstore.pidToDoc;
    const df = index.docstore.tokenDf();
    const mark = new Uint8Array(a.doclens.length);
    const nP = a.doclens.length;
    const out = { total: 0, missed: 0, candidates: 0, stage2: 0, stage3: 0, stage4: 0 };
    const stage2Ranks: number[] = [];
    const stage3Ranks: number[] = [];
    for (const e of emb) {
      if (e.length === 0) continue;
      const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
      const exact = exhaustiveRange(a, q, 0, nP, kernels);
      const bestPid = new Map<number, number>();
      for (let p = 0; p < nP; p++) {
        const d = pidToDoc[p]!;
        const b = bestPid.get(d);
        if (b === undefined || exact[p]! > exact[b]!) bestPid.set(d, p);
      }
      const top = [...bestPid.entries()].sort((x, y) => exact[y[1]]! - exact[x[1]]! || x[0] - y[0]).slice(0, k);
      const s = centroidScores(a, q, kernels);
      const { probed, keep } = probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold, params.centroidScoreMargin, params.nIvfProbeTotal, kernels, probeRescoreFor(a, q));
      const cand = ivfUnion(a, probed, mark);
      const ndocs = effectiveNdocs(params.ndocs, q.length, params.ndocsQueryTokens);
      const pruned = allInteractionScores(a, s, q, keep, kernels);
      const byScore = (pids: Int32Array, sc: (i: number) => number, n: number): Int32Array =>
        pids.length <= n ? pids : Int32Array.from(Array.from(pids.keys()).sort((x, y) => sc(y) - sc(x) || pids[x]! - pids[y]!).slice(0, n), (i) => pids[i]!);
      const pt = usesProbedTokens(a, q, params);
      const nExact = exactDepth(params.nExact, ndocs, pt);
      // Under probed-token ranking stage 2 is the cut to probedTokenDepth · ndocs by centroid estimates
      // (ranked here by Σ_i w_i · estimate), stage 3 the probed-token scores of those (plaidSearch).
      let s2: Int32Array;
      let s3Score: (i: number) => number;
      let s2Rank: (p: number) => number;
      if (pt) {
        const est = centroidEstimates(a, s, q, cand, Math.max(CANDIDATE_DEFAULTS.estimateCells, probed.length / q.length), kernels);
        const ci = Float32Array.from(cand, (_, d) => {
          let t = 0;
          for (let i = 0; i < q.length; i++) t += (q.weights === null ? 1 : q.weights[i]!) * est[i * cand.length + d]!;
          return t;
        });
        const ranked = probedTokenRanking(a, q, s, probed, cand, probedTokenDepth(ndocs, nExact), kernels);
        s2 = ranked.pids;
        s3Score = (i) => ranked.scores[i]!;
        s2Rank = (p) => rankOf(p, cand, (i) => ci[i]!);
      } else {
        s2 = byScore(cand, (i) => pruned[cand[i]!]!, ndocs);
        const full = allInteractionScores(a, s, q, null, kernels);
        s3Score = (i) => full[s2[i]!]!;
        s2Rank = (p) => rankOf(p, cand, (i) => pruned[cand[i]!]!);
      }
      const s3 = byScore(s2, s3Score, nExact);
      const survivors = new Map<number, number>();
      for (const p of s3) {
        const d = pidToDoc[p]!;
        if ((survivors.get(d) ?? -Infinity) < exact[p]!) survivors.set(d, exact[p]!);
      }
      const found = new Set([...survivors.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k).map((x) => x[0]));
      for (const [d, p] of top) {
        out.total++;
        if (found.has(d)) continue;
        out.missed++;
        if (!cand.includes(p)) out.candidates++;
        else if (!s2.includes(p)) {
          out.stage2++;
          stage2Ranks.push(s2Rank(p));
        } else if (!s3.includes(p)) {
          out.stage3++;
          stage3Ranks.push(rankOf(p, s2, s3Score));
        } else out.stage4++;
      }
    }
    const sorted = (xs: number[]): number[] => xs.sort((x, y) => x - y);
    return { dataset, kind, k, params, machine: machine(), ...out, stage2Ranks: sorted(stage2Ranks), stage3Ranks: sorted(stage3Ranks) };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, kind, k, limit] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/candidate-losses.js <dataset> <index> [natural|keyword] [k=10] [limit]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await candidateLosses(dataset, indexPath, kind ?? 'keyword', Number(k ?? 10), limit === undefined ? Infinity : Number(limit)), null, 2)}\n`);
}
