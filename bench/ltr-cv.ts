/**
 * Learning to rank against the fixed rankers and fusions (issue 25): nDCG@10, MRR@10 and R@100 of
 * BM25, late interaction (PLAID), hybrid min-max (α = SEARCH_DEFAULTS.hybridAlpha), hybrid RRF,
 * a re-fusing pipeline, and LambdaMART (rank:ndcg and rank:pairwise) over the candidates of
 * `hybrid:<candidates>`, with plait eval's paired randomisation test against hybrid min-max.
 *
 * - `cv` (cranfield, cisi): k-fold cross-validation by query (seeded shuffle): each fold is scored
 *   by a model trained on the other folds (which hold out their own validation queries for early
 *   stopping); the folds' runs are joined into one run over every judged query.
 * - `split` (scifact): trained on qrels/train.tsv's queries, scored on qrels/test.tsv's.
 * Features are computed once per query (the candidate list does not depend on the fold).
 *
 * Run: `node dist/bench/ltr-cv.js <index> <beir-folder> cv|split [folds=5] [candidates=200]`,
 * e.g. `node dist/bench/ltr-cv.js cranfield ../shared/data/cranfield cv`.
 */
import path from 'node:path';
import { openIndex, type PlaitIndex, type SearchOptions } from '../src/search/plait-index.js';
import { readQueries, readQrels, evaluateRun, buildComparison, renderTable, type ModeInput, type Run, type Qrels } from '../src/eval/index.js';
import type { EvalQuery } from '../src/eval/queries.js';
import { evaluatePipeline } from '../src/eval/pipeline-modes.js';
import { collectLtrGroups, trainLtrModel } from '../src/ltr/train-ltr.js';
import type { LtrGroup, XgboostTrainOptions } from '../src/ltr/xgboost-train.js';
import type { LtrModel } from '../src/ltr/ltr-model.js';
import { queryFolds } from '../src/ltr/query-folds.js';
import { isMain, machine } from './common.js';

const DEPTH = 100;

async function modeRun(index: PlaitIndex, queries: readonly EvalQuery[], options: SearchOptions): Promise<Run> {
  const run: Run = new Map();
  for (const q of queries) run.set(q.id, (await index.search(q.text, { ...options, topK: DEPTH })).hits.map((h) => ({ docId: h.docId, score: h.score })));
  return run;
}

function scoreGroups(model: LtrModel, groups: readonly LtrGroup[], run: Run): void {
  for (const g of groups) {
    const scores = model.score(g.rows, g.docIds.length);
    const order = g.docIds.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    run.set(g.queryId, order.slice(0, DEPTH).map((i) => ({ docId: g.docIds[i]!, score: scores[i]! })));
  }
}

function judgedOnly(queries: readonly EvalQuery[], qrels: Qrels): EvalQuery[] {
  return queries.filter((q) => qrels.has(q.id));
}

async function main(): Promise<void> {
  const [indexName, folder, mode = 'cv', foldArg = '5', candArg = '200'] = process.argv.slice(2);
  if (indexName === undefined || folder === undefined || (mode !== 'cv' && mode !== 'split')) throw new Error('usage: ltr-cv.js <index> <beir-folder> cv|split [folds] [candidates]');
  const k = Number(foldArg);
  const candidates = `hybrid:${Number(candArg)}`;
  const index = await openIndex(indexName);
  const all = await readQueries(path.join(folder, 'queries.jsonl'));
  const testQrels = await readQrels(path.join(folder, 'qrels', 'test.tsv'));
  const evalQueries = judgedOnly(all, testQrels);
  const t0 = performance.now();
  const log = (s: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);

  const inputs: ModeInput[] = [];
  const fixed: Array<[string, SearchOptions]> = [
    ['bm25', { mode: 'bm25' }],
    ['late (plaid)', { mode: 'late' }],
    ['hybrid min-max', { mode: 'hybrid' }],
    ['hybrid rrf', { mode: 'hybrid', fusion: 'rrf' }],
  ];
  for (const [name, options] of fixed) {
    inputs.push({ name, result: evaluateRun(await modeRun(index, evalQueries, options), testQrels) });
    log(name);
  }
  for (const spec of ['bm25:1000 > hybrid:100', `${candidates} > late:100`]) {
    const row = await evaluatePipeline(index, spec, evalQueries, testQrels);
    inputs.push({ name: row.input.name, result: row.input.result });
    log(spec);
  }

  const testGroups = (await collectLtrGroups(index, evalQueries, testQrels, { candidates })).groups;
  log(`features of ${testGroups.length} evaluation queries`);
  let trainGroups: LtrGroup[] = [];
  let features: string[] = [];
  if (mode === 'split') {
    const trainQrels = await readQrels(path.join(folder, 'qrels', 'train.tsv'));
    const c = await collectLtrGroups(index, judgedOnly(all, trainQrels), trainQrels, { candidates });
    trainGroups = c.groups;
    features = c.features;
    log(`features of ${trainGroups.length} training queries`);
  } else features = (await collectLtrGroups(index, [], testQrels, { candidates })).features;

  const importances = new Map<string, number>();
  for (const objective of ['rank:ndcg', 'rank:pairwise'] as const) {
    const options: XgboostTrainOptions = { objective };
    const run: Run = new Map();
    const rounds: number[] = [];
    if (mode === 'split') {
      const model = await trainLtrModel(trainGroups, features, candidates, options);
      rounds.push(model.file.training!.rounds);
      scoreGroups(model, testGroups, run);
      if (objective === 'rank:ndcg') for (const f of model.importance()) importances.set(f.name, f.gain);
    } else {
      const byId = new Map(testGroups.map((g) => [g.queryId, g] as const));
      for (const fold of queryFolds(testGroups.map((g) => g.queryId), k, 42)) {
        const held = new Set(fold);
        const model = await trainLtrModel(testGroups.filter((g) => !held.has(g.queryId)), features, candidates, options);
        rounds.push(model.file.training!.rounds);
        scoreGroups(model, fold.map((id) => byId.get(id)!), run);
        if (objective === 'rank:ndcg') for (const f of model.importance()) importances.set(f.name, (importances.get(f.name) ?? 0) + f.gain);
      }
    }
    inputs.push({ name: `${candidates} > ltr:100 (${objective})`, result: evaluateRun(run, testQrels) });
    log(`${objective}: rounds kept ${rounds.join(', ')}`);
  }
  const comparison = buildComparison(inputs, { baseline: 'hybrid min-max', depth: DEPTH, title: `${indexName}: ${mode === 'cv' ? `${k}-fold cross-validation by query` : 'trained on train qrels, scored on test'}` });
  process.stdout.write(`${renderTable(comparison)}\n`);
  const total = [...importances.values()].reduce((a, b) => a + b, 0) || 1;
  process.stdout.write(`feature importance (rank:ndcg, total split gain${mode === 'cv' ? ', summed over folds' : ''}): ${[...importances].sort((a, b) => b[1] - a[1]).map(([n, g]) => `${n} ${((100 * g) / total).toFixed(1)}%`).join(', ')}\n`);
  process.stdout.write(`machine: ${JSON.stringify(machine())}; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  await index.close();
}

if (isMain(import.meta.url)) await main();
