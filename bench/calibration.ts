/**
 * PLAID calibration on judged data: fidelity (share of the exhaustive top-k found) and p50 at
 * ColBERT's defaults and at the settings `plait calibrate` chooses from pseudo-queries, with the
 * data set's natural queries and with 2–4-word keyword queries derived from them; plus where the
 * defaults lose documents (which stage drops each missed document's best passage), the centroid
 * score distribution, IVF list lengths and fidelity by query length.
 *
 * Run: `node dist/bench/calibration.js <dataset> <index> [budgetS=120] [maxQueries=all]`
 * (PLAIT_BENCH_DIAGNOSTICS=0 skips the per-stage loss attribution and geometry, the slow part)
 * (the index is only read: calibration runs with write: false and its settings are passed as
 * search options).
 */
import { join } from 'node:path';
import { openIndex, type PlaitIndex, type SearchOptions } from '../src/search/plait-index.js';
import { readQueries, readQrels } from '../src/eval/index.js';
import { calibrateIndex } from '../src/calibrate/calibrate-index.js';
import { isContentWord } from '../src/calibrate/pseudo-queries.js';
import { plaidDefaultsFor, type PlaidParams } from '../src/config/defaults.js';
import { getKernels } from '../src/kernels/index.js';
import { allInteractionScores, centroidScores, exhaustiveRange, ivfUnion, probeAndMask, type EncodedQuery } from '../src/search/plaid.js';
import { idfWeights } from '../src/search/idf.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { dataDir, isMain, machine, percentiles } from './common.js';

/** A 2–4-word keyword query from a natural one: its first n content words (n = 2 + i mod 3). */
export function keywordOf(text: string, i: number): string {
  const words = (text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? []).filter(isContentWord);
  return words.slice(0, 2 + (i % 3)).join(' ') || text;
}

export interface QuerySet {
  name: string;
  texts: string[];
  emb: TokenEmbeddings[];
  exact: string[][];
}

export function fidelityOf(got: string[][], exact: string[][], k: number): number {
  let found = 0;
  let total = 0;
  for (let i = 0; i < exact.length; i++) {
    const g = new Set(got[i]!.slice(0, k));
    for (const d of exact[i]!.slice(0, k)) {
      total++;
      if (g.has(d)) found++;
    }
  }
  return total === 0 ? 1 : found / total;
}

export function run(index: PlaitIndex, set: QuerySet, options: SearchOptions): { docs: string[][]; p50: number } {
  const ms: number[] = [];
  const docs = set.texts.map((t, i) => {
    const s = performance.now();
    const r = index.searchEncoded(t, set.emb[i]!, { mode: 'late', ...options });
    ms.push(performance.now() - s);
    return r.hits.map((h) => h.docId);
  });
  return { docs, p50: percentiles(ms).p50 };
}

const fmt = (p: PlaidParams): string => `${p.nIvfProbe} / ${p.centroidScoreThreshold} / ${p.ndocs}`;

/** Where the defaults lose each missed document: the stage that dropped its best passage. */
function lossByStage(index: PlaitIndex, set: QuerySet, params: PlaidParams, k: number): Record<string, number> {
  const a = index.scoringArrays;
  const kernels = getKernels();
  const pidToDoc = index.docstore.pidToDoc;
  const df = index.docstore.tokenDf();
  const mark = new Uint8Array(a.doclens.length);
  const out = { missed: 0, total: 0, candidates: 0, prune: 0, interaction: 0, other: 0 };
  const nP = a.doclens.length;
  for (let qi = 0; qi < set.texts.length; qi++) {
    const e = set.emb[qi]!;
    const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
    const exact = exhaustiveRange(a, q, 0, nP, kernels);
    // Best passage per document.
    const bestPid = new Map<number, number>();
    for (let p = 0; p < nP; p++) {
      const d = pidToDoc[p]!;
      const b = bestPid.get(d);
      if (b === undefined || exact[p]! > exact[b]!) bestPid.set(d, p);
    }
    const docsRanked = [...bestPid.entries()].sort((x, y) => exact[y[1]]! - exact[x[1]]! || x[0] - y[0]).slice(0, k);
    const s = centroidScores(a, q, kernels);
    const { probed, keep } = probeAndMask(s, a.nCentroids, q.length, params.nIvfProbe, params.centroidScoreThreshold);
    const cand = ivfUnion(a, probed, mark);
    const candSet = new Set(cand);
    const pruned = allInteractionScores(a, s, q, keep, kernels);
    const full = allInteractionScores(a, s, q, null, kernels);
    const topBy = (pids: Int32Array, sc: Float32Array, n: number): Int32Array => (pids.length <= n ? pids : Int32Array.from([...pids].sort((x, y) => sc[y]! - sc[x]! || x - y).slice(0, n)));
    const s2 = topBy(cand, pruned, params.ndocs);
    const s3 = topBy(s2, full, Math.max(1, Math.floor(params.ndocs / 4)));
    const s2Set = new Set(s2);
    const s3Set = new Set(s3);
    const survivorsDocs = new Map<number, number>();
    for (const p of s3) {
      const d = pidToDoc[p]!;
      if ((survivorsDocs.get(d) ?? -Infinity) < exact[p]!) survivorsDocs.set(d, exact[p]!);
    }
    const topSurv = new Set([...survivorsDocs.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k).map((x) => x[0]));
    for (const [d, p] of docsRanked) {
      out.total++;
      if (topSurv.has(d)) continue;
      out.missed++;
      if (!candSet.has(p)) out.candidates++;
      else if (!s2Set.has(p)) out.prune++;
      else if (!s3Set.has(p)) out.interaction++;
      else out.other++;
    }
  }
  return out;
}

/** Centroid-score distribution, IVF list lengths, candidates per query. */
function geometry(index: PlaitIndex, set: QuerySet): Record<string, unknown> {
  const a = index.scoringArrays;
  const kernels = getKernels();
  const best: number[] = [];
  const gap2: number[] = [];
  const gap8: number[] = [];
  const keep45: number[] = [];
  const keep50: number[] = [];
  const qlen: number[] = [];
  for (const e of set.emb) {
    const q: EncodedQuery = { vectors: e.vectors, length: e.length, weights: null };
    const s = centroidScores(a, q, kernels);
    qlen.push(e.length);
    const maxC = new Float32Array(a.nCentroids).fill(-Infinity);
    for (let i = 0; i < e.length; i++) {
      const col: number[] = [];
      for (let c = 0; c < a.nCentroids; c++) {
        const v = s[c * e.length + i]!;
        col.push(v);
        if (v > maxC[c]!) maxC[c] = v;
      }
      col.sort((x, y) => y - x);
      best.push(col[0]!);
      gap2.push(col[0]! - col[1]!);
      gap8.push(col[0]! - col[7]!);
    }
    let k45 = 0;
    let k50 = 0;
    for (const v of maxC) {
      if (v >= 0.45) k45++;
      if (v >= 0.5) k50++;
    }
    keep45.push(k45 / a.nCentroids);
    keep50.push(k50 / a.nCentroids);
  }
  const lens: number[] = [];
  for (let c = 0; c < a.nCentroids; c++) lens.push(a.ivfOffsets[c + 1]! - a.ivfOffsets[c]!);
  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  };
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    queryTokens: { p10: q(qlen, 0.1), p50: q(qlen, 0.5), p90: q(qlen, 0.9) },
    tokenBestCentroidScore: { p10: r3(q(best, 0.1)), p50: r3(q(best, 0.5)), p90: r3(q(best, 0.9)) },
    gapBestToSecond: { p50: r3(q(gap2, 0.5)) },
    gapBestToEighth: { p50: r3(q(gap8, 0.5)) },
    centroidsKeptAt045: { p50: r3(q(keep45, 0.5)) },
    centroidsKeptAt050: { p50: r3(q(keep50, 0.5)) },
    ivfListPassages: { p50: q(lens, 0.5), p90: q(lens, 0.9), max: q(lens, 1), passages: a.doclens.length, centroids: a.nCentroids },
  };
}

/** A BEIR data set's judged test queries (those with qrels), from ../shared/data. */
export async function judgedQueries(dataset: string): Promise<Array<{ id: string; text: string }>> {
  const data = dataDir();
  if (data === null) throw new Error('no ../shared/data');
  const [queries, qrels] = await Promise.all([readQueries(join(data, dataset, 'queries.jsonl')), readQrels(join(data, dataset, 'qrels', 'test.tsv'))]);
  return queries.filter((q) => qrels.has(q.id));
}

export async function calibrationBench(dataset: string, indexPath: string, budgetS: number, maxQueries: number, withDiagnostics = true): Promise<object> {
  const judged = (await judgedQueries(dataset)).slice(0, maxQueries);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const t0 = performance.now();
    const { calibration } = await calibrateIndex(index, { budgetS, write: false, ...(process.env.PLAIT_BENCH_HEADROOM === undefined ? {} : { headroom: Number(process.env.PLAIT_BENCH_HEADROOM) }) });
    const calibrateS = (performance.now() - t0) / 1000;
    const encoder = await index.encoder();
    const sets: QuerySet[] = [];
    for (const [name, texts] of [
      ['natural', judged.map((q) => q.text)],
      ['keyword (2–4 words)', judged.map((q, i) => keywordOf(q.text, i))],
    ] as const) {
      const emb = await encoder.encodeQueries([...texts]);
      const set: QuerySet = { name, texts: [...texts], emb, exact: [] };
      set.exact = run(index, set, { exhaustive: true, topK: 100 }).docs;
      sets.push(set);
    }
    const rows = [];
    for (const set of sets) {
      for (const [b, k] of [
        [0, 10],
        [1, 100],
      ] as const) {
        const def = plaidDefaultsFor(k);
        const cal = calibration.buckets[b]!.params;
        const rd = run(index, set, { topK: k, ...def });
        const rc = run(index, set, { topK: k, ...cal });
        rows.push({
          queries: set.name,
          k,
          defaults: fmt(def),
          defaultsFidelity: fidelityOf(rd.docs, set.exact, k),
          defaultsTop10Fidelity: fidelityOf(rd.docs, set.exact, 10),
          defaultsP50: rd.p50,
          calibrated: fmt(cal),
          calibratedFidelity: fidelityOf(rc.docs, set.exact, k),
          calibratedTop10Fidelity: fidelityOf(rc.docs, set.exact, 10),
          calibratedP50: rc.p50,
        });
      }
    }
    const diagnostics = !withDiagnostics ? [] : sets.map((set) => ({
      queries: set.name,
      lossK10: lossByStage(index, set, plaidDefaultsFor(10), 10),
      lossK100: lossByStage(index, set, plaidDefaultsFor(100), 10),
      geometry: geometry(index, set),
    }));
    return { dataset, index: indexPath, machine: machine(), queries: judged.length, calibrateS, calibration, rows, diagnostics };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, budget, maxQ] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/calibration.js <dataset> <index> [budgetS] [maxQueries]\n');
    process.exit(2);
  }
  const r = await calibrationBench(dataset, indexPath, Number(budget ?? 120), Number(maxQ ?? Infinity), process.env.PLAIT_BENCH_DIAGNOSTICS !== '0');
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
