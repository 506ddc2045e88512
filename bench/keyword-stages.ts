/**
 * Where a keyword query's time goes, ColBERT's rule against plait's defaults (issue 22, part F).
 *
 * Searches a set's 2–4-word keyword queries (bench/calibration.ts keywordOf) through
 * `PlaitIndex.searchEncoded` at k, ColBERT's rule (`plaidDefaults: 'colbert'`) and plait's defaults
 * interleaved query by query, `rounds` times, and splits each search into PLAID's stages (the search's
 * own timings: 1 candidates, 2 prune, 3 interaction or probed-token ranking, 4 exact; "glue" is the
 * rest of the search: the document collapse, the document-level exact scores, hit building) and, for
 * plait, the probed-token ranking's stages (probedTokenClock: walk, cut, lists, pairs, score, fold).
 * Each figure is the median over queries of each query's fastest round (a loaded machine's scheduler
 * inflates that least), in ms; the totals' ratio is plait ÷ ColBERT.
 *
 * Run: `PLAIT_DATA_DIR=… node dist/bench/keyword-stages.js <dataset> <index> [rounds=5] [k=10]`.
 */
import { openIndex, type SearchOptions } from '../src/search/plait-index.js';
import { plaidDefaultsFor } from '../src/config/defaults.js';
import { probedTokenClock } from '../src/search/probed-token-interaction.js';
import { kernelsStatus } from '../src/kernels/index.js';
import { judgedQueries, keywordOf } from './calibration.js';
import { loadavg } from 'node:os';
import { isMain, machine, percentiles } from './common.js';

const STAGES = ['candidatesMs', 'pruneMs', 'interactionMs', 'exactMs'] as const;
const CLOCK = ['walk', 'cut', 'lists', 'pairs', 'score', 'fold'] as const;

export async function keywordStages(dataset: string, indexPath: string, rounds: number, k: number): Promise<object> {
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  try {
    const texts = (await judgedQueries(dataset)).map((q, i) => keywordOf(q.text, i));
    const emb = await (await index.encoder()).encodeQueries(texts);
    const settings: Record<string, SearchOptions> = { colbert: { plaidDefaults: 'colbert' }, plait: { ...plaidDefaultsFor(k) } };
    const names = Object.keys(settings);
    // best[setting][part][query]: the query's fastest round of each part.
    const parts = ['total', ...STAGES, 'glue', ...CLOCK];
    const best: Record<string, Record<string, number[]>> = Object.fromEntries(names.map((n) => [n, Object.fromEntries(parts.map((p) => [p, texts.map(() => Infinity)]))]));
    const loadBefore = loadavg()[0]!;
    for (let r = 0; r < rounds; r++) {
      texts.forEach((text, i) => {
        for (const name of r % 2 === 0 ? names : [...names].reverse()) {
          probedTokenClock.ms = {};
          probedTokenClock.on = name === 'plait';
          const t0 = performance.now();
          const res = index.searchEncoded(text, emb[i]!, { mode: 'late', topK: k, ...settings[name] });
          const total = performance.now() - t0;
          probedTokenClock.on = false;
          const b = best[name]!;
          const min = (part: string, ms: number): void => {
            b[part]![i] = Math.min(b[part]![i]!, ms);
          };
          min('total', total);
          let staged = 0;
          for (const s of STAGES) {
            const ms = res.timings[s] ?? 0;
            staged += ms;
            min(s, ms);
          }
          min('glue', total - staged);
          for (const c of CLOCK) min(c, probedTokenClock.ms[c] ?? 0);
        }
      });
    }
    const med = (xs: number[]): number => +percentiles(xs).p50.toFixed(3);
    const split = Object.fromEntries(names.map((n) => [n, Object.fromEntries(parts.map((p) => [p, med(best[n]![p]!)]))]));
    return {
      dataset,
      k,
      rounds,
      queries: texts.length,
      machine: machine(),
      kernels: kernelsStatus().active,
      load: `${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
      ratio: +(split.plait!.total! / split.colbert!.total!).toFixed(2),
      split,
    };
  } finally {
    await index.close();
  }
}

if (isMain(import.meta.url)) {
  const [dataset, indexPath, rounds, k] = process.argv.slice(2);
  if (dataset === undefined || indexPath === undefined) {
    process.stderr.write('usage: node dist/bench/keyword-stages.js <dataset> <index> [rounds=5] [k=10]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await keywordStages(dataset, indexPath, Number(rounds ?? 5), Number(k ?? 10)), null, 2)}\n`);
}
