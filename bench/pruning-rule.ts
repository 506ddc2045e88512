/**
 * ColBERT's candidate generation against plait's rules — the relative pruning margin
 * (PlaidParams.centroidScoreMargin) and the query-level probe minimum (nIvfProbeTotal): for each
 * rule, the cheapest grid point that finds ≥ 0.99 of
 * the exhaustive top-k with both the natural queries and 2–4-word keyword queries derived from
 * them, by replay (src/calibrate/plaid-replay.ts), then timed with the real plaidSearch.
 *
 * Run: `node dist/bench/pruning-rule.js <dataset> <index> [maxQueries=all] [margin|total]`
 */
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readQueries, readQrels } from '../src/eval/index.js';
import { PlaidReplayer } from '../src/calibrate/plaid-replay.js';
import { chooseSettings, FidelityTally } from '../src/calibrate/choose-settings.js';
import { getKernels } from '../src/kernels/index.js';
import { plaidSearch, type EncodedQuery } from '../src/search/plaid.js';
import { idfWeights } from '../src/search/idf.js';
import { keywordOf } from './calibration.js';
import { dataDir, isMain, percentiles } from './common.js';

export async function pruningRuleBench(dataset: string, indexPath: string, maxQueries: number, axis: 'margin' | 'total' = 'total'): Promise<object> {
  const data = dataDir()!;
  const [queries, qrels] = await Promise.all([readQueries(join(data, dataset, 'queries.jsonl')), readQrels(join(data, dataset, 'qrels', 'test.tsv'))]);
  const judged = queries.filter((q) => qrels.has(q.id)).slice(0, maxQueries);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const enc = await index.encoder();
    const df = index.docstore.tokenDf();
    const kinds: Array<[string, string[]]> = [
      ['natural', judged.map((q) => q.text)],
      ['keyword', judged.map((q, i) => keywordOf(q.text, i))],
    ];
    const kernels = getKernels();
    const margins = axis === 'margin' ? [null, 0, 0.1] : [null];
    const totals = axis === 'total' ? [null, 16, 32, 64] : [null];
    const grid = { nIvfProbe: [1, 2, 4, 8], centroidScoreThreshold: [0.5, 0.45, 0.3], ndocs: [256, 512, 1024, 2048, 4096], centroidScoreMargin: margins, nIvfProbeTotal: totals };
    const ruleOf = (p: { centroidScoreMargin?: number; nIvfProbeTotal?: number }): number | null => (axis === 'margin' ? (p.centroidScoreMargin ?? null) : (p.nIvfProbeTotal ?? null));
    const rulesList = axis === 'margin' ? margins : totals;
    const bucketK = [10, 100];
    const replayer = new PlaidReplayer({ arrays: index.scoringArrays, kernels, pidToDoc: index.docstore.pidToDoc, docSpan: index.docstore.rowidSpan, grid, bucketK });
    const points = replayer.points;
    const tally = new FidelityTally(points.length, bucketK.length);
    const encoded: EncodedQuery[] = [];
    for (const [kind, texts] of kinds) {
      const emb = await enc.encodeQueries(texts);
      for (const e of emb) {
        const q = { vectors: e.vectors, length: e.length, weights: idfWeights(e.tokenIds, df.df, df.n) };
        encoded.push(q);
        const r = replayer.replay(q);
        tally.add(kind, r.found, r.total, r.estMs);
      }
    }
    const rows = [];
    const mark = new Uint8Array(index.scoringArrays.doclens.length);
    for (const margin of rulesList) {
      // Restrict the tally to this rule's points by choosing among them only.
      const idx = points.map((p, i) => ({ p, i })).filter(({ p }) => ruleOf(p) === margin);
      const sub = new FidelityTally(idx.length, bucketK.length);
      for (const [kind, found] of tally.found) {
        const f = new Float64Array(idx.length * bucketK.length);
        idx.forEach(({ i }, j) => {
          for (let b = 0; b < bucketK.length; b++) f[j * bucketK.length + b] = found[i * bucketK.length + b]!;
        });
        sub.found.set(kind, f);
        sub.total.set(kind, tally.total.get(kind)!);
        sub.queries.set(kind, tally.queries.get(kind)!);
      }
      idx.forEach(({ i }, j) => (sub.estMsSum[j] = tally.estMsSum[i]!));
      sub.nQueries = tally.nQueries;
      const choices = chooseSettings(idx.map(({ p }) => p), sub, 0.99);
      for (let b = 0; b < bucketK.length; b++) {
        const c = choices[b]!;
        const ms: number[] = [];
        for (const q of encoded) {
          const t = performance.now();
          plaidSearch(index.scoringArrays, q, c.params, kernels, mark);
          ms.push(performance.now() - t);
        }
        rows.push({ rule: margin === null ? 'ColBERT (fixed ncells, absolute threshold)' : axis === 'margin' ? `threshold or margin ${margin}` : `at least ${margin} probes per query`, k: bucketK[b], params: c.params, reached: c.reached, fidelityByKind: c.fidelityByKind, estMs: c.estMs, p50Ms: percentiles(ms).p50 });
      }
    }
    return { dataset, queries: judged.length, gridPoints: points.length, rows };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, maxQ, axis] = process.argv.slice(2);
  const r = await pruningRuleBench(dataset!, indexPath!, Number(maxQ ?? Infinity), axis === 'margin' ? 'margin' : 'total');
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
