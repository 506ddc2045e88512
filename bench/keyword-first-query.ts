/**
 * A keyword query's first search against its repeat, ColBERT's rule against plait's defaults
 * (trial5). bench/keyword-stages.ts times each query's fastest of several rounds, with both
 * settings interleaved on one open index, so every figure there is of a query whose passages'
 * token norms are already in the exact stage's per-thread norm cache (code-scorer.ts: computed on
 * first use) — filled, for plait, by ColBERT's rule's search of the same query and vice versa. A
 * query an index has not seen pays that fill: probed-token ranking normalises every candidate
 * token in a probed cell, so plait's defaults pay it for far more tokens than ColBERT's rule does.
 *
 * Each setting gets its own freshly opened, warmed-up index (`openIndex(…, { warmUp: true })`: a new
 * norm cache) and searches each of the set's 2–4-word keyword queries (bench/calibration.ts
 * keywordOf), encoded beforehand, twice in a row through `searchEncoded` at k (wall time, no
 * encoder running beside it): "first" is the first search, "again" the repeat. The settings alternate plait, colbert, colbert, plait over `pairs` × 2 opens. Figures are
 * p50 over queries in ms; the ratios are plait ÷ ColBERT.
 *
 * Run: `PLAIT_DATA_DIR=… node dist/bench/keyword-first-query.js <dataset> <index> [pairs=1] [k=10]`.
 */
import { openIndex, type SearchOptions } from '../src/search/plait-index.js';
import { plaidDefaultsFor } from '../src/config/defaults.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { loadavg } from 'node:os';
import { isMain, machine, percentiles } from './common.js';

export async function keywordFirstQuery(dataset: string, indexPath: string, pairs: number, k: number): Promise<object> {
  const texts = (await judgedQueries(dataset)).map((q, i) => keywordOf(q.text, i));
  const settings: Record<'plait' | 'colbert', SearchOptions> = { plait: { ...plaidDefaultsFor(k) }, colbert: { plaidDefaults: 'colbert' } };
  const ms: Record<string, { first: number[]; again: number[] }> = { plait: { first: [], again: [] }, colbert: { first: [], again: [] } };
  const loadBefore = loadavg()[0]!;
  for (let p = 0; p < pairs; p++) {
    for (const name of ['plait', 'colbert', 'colbert', 'plait'] as const) {
      const index = await openIndex(indexPath, { warmUp: true, workers: 0, encoderOptions: { threads: 1 } });
      try {
        const emb = await (await index.encoder()).encodeQueries(texts);
        texts.forEach((text, i) => {
          for (const pass of ['first', 'again'] as const) {
            const t0 = performance.now();
            index.searchEncoded(text, emb[i]!, { mode: 'late', topK: k, ...settings[name] });
            ms[name]![pass].push(performance.now() - t0);
          }
        });
      } finally {
        await index.close();
      }
    }
  }
  const p50 = (x: number[]): number => +percentiles(x).p50.toFixed(2);
  const fig = (name: string): { first: number; again: number } => ({ first: p50(ms[name]!.first), again: p50(ms[name]!.again) });
  const plait = fig('plait');
  const colbert = fig('colbert');
  return {
    dataset,
    index: indexPath,
    queries: texts.length,
    k,
    machine: machine(),
    kernels: kernelsStatus().active,
    load: [loadBefore, loadavg()[0]!],
    p50Ms: { plait, colbert },
    ratio: { first: +(plait.first / colbert.first).toFixed(2), again: +(plait.again / colbert.again).toFixed(2) },
  };
}

if (isMain(import.meta.url)) {
  const [dataset, index, pairs = '1', k = '10'] = process.argv.slice(2);
  if (dataset === undefined || index === undefined) {
    console.error('usage: node dist/bench/keyword-first-query.js <dataset> <index> [pairs=1] [k=10]');
    process.exit(2);
  }
  console.log(JSON.stringify(await keywordFirstQuery(dataset, index, Number(pairs), Number(k)), null, 2));
}
