/**
 * Why the learnt ranker does not beat hybrid min-max (bench/RESULTS.md, "Learning to rank"): the
 * same 5-fold CV by query as ltr-cv.ts (same candidates, folds and seed), nDCG@10 and MRR@10 of
 * hybrid:200 > ltr:100 (rank:pairwise) under training variants, and of min-max fusion recomputed
 * from the features over the same candidates as the reference:
 * - defaults (validation 20%, early stopping 30 rounds);
 * - a larger validation fold (35%) and patience (60 rounds), against early stopping on noise;
 * - plus two derived columns, bm25 and late_idf min-max normalised within the candidate list (what
 *   hybrid fusion feeds its blend), to see whether trees lack that scale.
 *
 * Run: `node dist/bench/ltr-variants.js <index> <beir-folder>`.
 */
import path from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readQueries, readQrels, evaluateRun, type Run } from '../src/eval/index.js';
import { collectLtrGroups, trainLtrModel } from '../src/ltr/train-ltr.js';
import type { LtrGroup, XgboostTrainOptions } from '../src/ltr/xgboost-train.js';
import { SEARCH_DEFAULTS } from '../src/config/defaults.js';
import { queryFolds } from '../src/ltr/query-folds.js';
import { isMain } from './common.js';

function minMax(g: LtrGroup, width: number, col: number): Float64Array {
  const v = Float64Array.from(g.labels, (_, i) => g.rows[i * width + col]!);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return v.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0));
}

/** The group with bm25 and late_idf min-max normalised appended as two more columns. */
function withNormalised(g: LtrGroup, width: number, bm25: number, late: number): LtrGroup {
  const b = minMax(g, width, bm25);
  const l = minMax(g, width, late);
  const n = g.labels.length;
  const rows = new Float32Array(n * (width + 2));
  for (let i = 0; i < n; i++) {
    rows.set(g.rows.subarray(i * width, (i + 1) * width), i * (width + 2));
    rows[i * (width + 2) + width] = b[i]!;
    rows[i * (width + 2) + width + 1] = l[i]!;
  }
  return { ...g, rows };
}

function toRun(groups: readonly LtrGroup[], score: (g: LtrGroup) => ArrayLike<number>, run: Run): void {
  for (const g of groups) {
    const s = score(g);
    const order = g.docIds.map((_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
    run.set(g.queryId, order.slice(0, 100).map((i) => ({ docId: g.docIds[i]!, score: s[i]! })));
  }
}

async function main(): Promise<void> {
  const [indexName, folder] = process.argv.slice(2);
  if (indexName === undefined || folder === undefined) throw new Error('usage: ltr-variants.js <index> <beir-folder>');
  const index = await openIndex(indexName);
  const queries = await readQueries(path.join(folder, 'queries.jsonl'));
  const qrels = await readQrels(path.join(folder, 'qrels', 'test.tsv'));
  const { groups, features } = await collectLtrGroups(index, queries.filter((q) => qrels.has(q.id)), qrels, { candidates: 'hybrid:200' });
  await index.close();
  const width = features.length;
  const bm25 = features.indexOf('bm25');
  const late = features.indexOf('late_idf');
  const report = (name: string, run: Run): void => {
    const r = evaluateRun(run, qrels);
    process.stdout.write(`${indexName} ${name}: nDCG@10 ${r.mean['ndcg@10'].toFixed(3)}, MRR@10 ${r.mean['mrr@10'].toFixed(3)}\n`);
  };
  const fused: Run = new Map();
  const alpha = SEARCH_DEFAULTS.hybridAlpha;
  toRun(groups, (g) => minMax(g, width, late).map((l, i) => alpha * l + (1 - alpha) * minMax(g, width, bm25)[i]!), fused);
  report(`min-max fusion of the features (α ${alpha})`, fused);
  const byId = new Map(groups.map((g) => [g.queryId, g] as const));
  const variants: Array<[string, XgboostTrainOptions, boolean]> = [
    ['ltr defaults', {}, false],
    ['ltr valid 35%, patience 60', { validFraction: 0.35, earlyStoppingRounds: 60 }, false],
    ['ltr + min-max normalised bm25 and late_idf', {}, true],
  ];
  for (const [name, options, normalised] of variants) {
    const run: Run = new Map();
    const rounds: number[] = [];
    for (const fold of queryFolds(groups.map((g) => g.queryId), 5, 42)) {
      const held = new Set(fold);
      const prep = (g: LtrGroup): LtrGroup => (normalised ? withNormalised(g, width, bm25, late) : g);
      const names = normalised ? [...features, 'meta:bm25_minmax', 'meta:late_minmax'] : features;
      const model = await trainLtrModel(groups.filter((g) => !held.has(g.queryId)).map(prep), names, 'hybrid:200', { objective: 'rank:pairwise', ...options });
      rounds.push(model.file.training!.rounds);
      toRun(fold.map((id) => prep(byId.get(id)!)), (g) => model.score(g.rows, g.labels.length), run);
    }
    report(`${name} (rounds ${rounds.join(', ')})`, run);
  }
}

if (isMain(import.meta.url)) await main();
