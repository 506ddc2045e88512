/**
 * Retrieval metrics with trec_eval's definitions, computed per query and averaged BEIR-style.
 *
 * Per query, with the run's hits in trec_eval order (score descending, then doc id descending; see
 * `compareTrecEval`), rel(i) the qrel grade of the hit at 1-based rank i (0 when unjudged), and
 * R = the number of the query's judged docs with grade > 0:
 *
 * - `ndcg@10` (trec_eval ≥ 9 `ndcg_cut.10`, "i+2 since doc i has rank i+1"): DCG =
 *   Σ_{i≤10} max(rel(i), 0) / log2(i + 1) — linear gain, the grade itself — divided by the ideal
 *   DCG, the same sum over all of the query's grades > 0 sorted descending. (trec_eval 8 left
 *   ranks 1 and 2 undiscounted, dividing by log2(i) from rank 2; pytrec_eval and BEIR use ≥ 9.)
 * - `mrr@10`: 1 / rank of the first hit with grade > 0 within the first 10, else 0 (BEIR's
 *   MRR@10; trec_eval's `recip_rank` has no cut-off).
 * - `map@100` (trec_eval `map_cut.100`): Σ over relevant hits at rank i ≤ 100 of
 *   (relevant hits in ranks 1..i) / i, divided by R (not by the relevant hits retrieved).
 * - `recall@k` (trec_eval `recall.k`), k = 10, 100, 1000: relevant hits in ranks 1..k / R.
 * - `p@10` (trec_eval `P.10`): relevant hits in ranks 1..10 / 10, also when fewer than 10 came back.
 *
 * Averaging: the mean is over the queries of the qrels, those judged with no grade > 0 included:
 * they score 0 on every metric, as trec_eval and pytrec_eval compute them (form_res_rels.c: no
 * relevant document, every value 0) and as BEIR averages them (over `len(scores)`, every run query
 * the qrels hold). They had been left out, raising the mean: 20 cisi queries with relevant
 * judgments and 5 judged only 0 gave BM25 nDCG@10 0.385 where trec_eval gives 0.308
 * (test/eval-trec-oracle.test.ts). A judged query missing from the run scores 0 on every metric by
 * default (as trec_eval -c does), or is left out with `missingQueries: 'skip'` (what BEIR's
 * pytrec_eval averaging does); queries of the run absent from the qrels are left out. Qrels with no
 * grade > 0 at all are refused (INVALID_INPUT): every metric would be 0 whatever the ranking.
 *
 * Identical ids: BEIR drops a hit whose doc id equals its query id (`ignore_identical_ids`, on by
 * default), for the sets where a query is itself a corpus document (Quora, ArguAna, CQADupStack),
 * which would otherwise rank itself first. trec_eval keeps every hit. By default (`'auto'`) plait
 * applies BEIR's rule unless the qrels judge some document under its own query's id: then query and
 * document ids are two separate numberings, as in cisi (7 such pairs, all relevant) and cranfield
 * (query 225 ↔ document 225, grade 2), and the rule would drop judged relevant documents and shift
 * the ranks below every other query's namesake. Applied there it had given cisi BM25 nDCG@10 0.3866
 * and P@10 0.3539 where trec_eval gives 0.3876 and 0.3553 (test/cli-second-hour.test.ts). `true`
 * and `false` force the rule either way; `EvalResult.identicalIds` says what was done.
 */

import { disjointIdsHint } from './id-mismatch.js';
import { PlaitError, checkMap } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { Qrels } from './qrels.js';
import { compareTrecEval, type Run, type RunHit } from './run.js';

export const METRIC_NAMES = ['ndcg@10', 'mrr@10', 'map@100', 'recall@10', 'recall@100', 'recall@1000', 'p@10'] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

export type MetricValues = Record<MetricName, number>;

export interface EvaluateOptions {
  /**
   * Drop hits whose doc id equals the query id, as BEIR does: `true`, `false` (trec_eval), or `'auto'`
   * (default): drop them unless the qrels judge a document under its own query's id (the ids are then
   * separate numberings; see the module comment).
   */
  ignoreIdenticalIds?: boolean | 'auto';
  /** 'trec-eval' (default) re-sorts hits as trec_eval does; 'as-given' keeps the run's order. */
  order?: 'trec-eval' | 'as-given';
  /** 'zero' (default) scores a judged query absent from the run 0; 'skip' leaves it out of the mean. */
  missingQueries?: 'zero' | 'skip';
}

/** EvaluateOptions' keys (util/option-keys.ts): `{ ignoreIdenticalIDs: false }` had scored with BEIR's rule left on. */
const EVALUATE_OPTION_KEYS = { ignoreIdenticalIds: true, order: true, missingQueries: true } as const satisfies OptionKeys<EvaluateOptions>;

export interface EvalResult {
  /** The evaluated queries (every query of the qrels, those judged only ≤ 0 included, less skipped missing ones), in qrels order. */
  queryIds: string[];
  /** Metric values of each evaluated query. */
  perQuery: Map<string, MetricValues>;
  /** Arithmetic mean of `perQuery` over `queryIds`. */
  mean: MetricValues;
  /** Judged queries absent from the run (scored 0, or left out with missingQueries 'skip'). */
  missingFromRun: string[];
  /** Run queries not evaluated (absent from the qrels). */
  ignoredRunQueries: number;
  /**
   * BEIR's identical-id rule as applied: `dropped` whether it ran, `hitsDropped` the hits it took out
   * (over the evaluated queries), `judgedPairs` the qrels' (query, document) pairs of one id, which
   * make `'auto'` keep every hit.
   */
  identicalIds: { dropped: boolean; hitsDropped: number; judgedPairs: number };
}

/** The queries whose qrels judge a document of the query's own id (any grade): separate id numberings. */
export function judgedIdenticalPairs(qrels: Qrels): number {
  let n = 0;
  for (const [qid, judged] of qrels) if (judged.has(qid)) n++;
  return n;
}

/** Metrics of one query's ranked hits (already in the final order) against its judgments. */
export function queryMetrics(hits: readonly RunHit[], judged: ReadonlyMap<string, number>): MetricValues {
  const grades: number[] = [];
  for (const g of judged.values()) if (g > 0) grades.push(g);
  const numRel = grades.length;
  grades.sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(10, grades.length); i++) idcg += grades[i]! / Math.log2(i + 2);

  let dcg = 0;
  let firstRelRank = 0;
  let relSoFar = 0;
  let apSum = 0;
  let rel10 = 0;
  let rel100 = 0;
  const depth = Math.min(hits.length, 1000);
  for (let i = 0; i < depth; i++) {
    const grade = judged.get(hits[i]!.docId) ?? 0;
    if (grade <= 0) continue;
    relSoFar++;
    if (i < 10) {
      dcg += grade / Math.log2(i + 2);
      if (firstRelRank === 0) firstRelRank = i + 1;
      rel10 = relSoFar;
    }
    if (i < 100) {
      apSum += relSoFar / (i + 1);
      rel100 = relSoFar;
    }
  }
  const safe = (num: number, den: number): number => (den > 0 ? num / den : 0);
  return {
    'ndcg@10': safe(dcg, idcg),
    'mrr@10': firstRelRank > 0 ? 1 / firstRelRank : 0,
    'map@100': safe(apSum, numRel),
    'recall@10': safe(rel10, numRel),
    'recall@100': safe(rel100, numRel),
    'recall@1000': safe(relSoFar, numRel),
    'p@10': rel10 / 10,
  };
}

/** Evaluates a run against qrels; see the module comment for every definition. @throws PlaitError INVALID_ARGUMENT for an unknown option key. */
export function evaluateRun(run: Run, qrels: Qrels, options: EvaluateOptions = {}): EvalResult {
  checkOptionKeys(options, EVALUATE_OPTION_KEYS, 'evaluateRun option');
  checkMap('run', run, 'a run (a Map of query id to hits)');
  checkMap('qrels', qrels, 'qrels (a Map of query id to a Map of document id to grade)');
  const identicalRule = options.ignoreIdenticalIds ?? 'auto';
  if (identicalRule !== true && identicalRule !== false && identicalRule !== 'auto') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected true, false or 'auto' for ignoreIdenticalIds but received ${String(identicalRule)}`, name: 'ignoreIdenticalIds' });
  }
  const judgedPairs = judgedIdenticalPairs(qrels);
  const ignoreIdentical = identicalRule === 'auto' ? judgedPairs === 0 : identicalRule;
  const dropped = { count: 0 };
  const order = options.order ?? 'trec-eval';
  const missing = options.missingQueries ?? 'zero';
  if (order !== 'trec-eval' && order !== 'as-given') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected 'trec-eval' or 'as-given' for order but received ${String(order)}`, name: 'order' });
  }
  if (missing !== 'zero' && missing !== 'skip') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected 'zero' or 'skip' for missingQueries but received ${String(missing)}`, name: 'missingQueries' });
  }
  const skipMissing = missing === 'skip';
  const queryIds: string[] = [];
  const perQuery = new Map<string, MetricValues>();
  const missingFromRun: string[] = [];
  let anyRelevant = false;
  for (const judged of qrels.values()) {
    for (const g of judged.values()) if (g > 0) anyRelevant = true;
  }
  if (!anyRelevant) throw new PlaitError('INVALID_INPUT', { message: 'no query to evaluate: the qrels hold no query with a grade above 0' });
  for (const [qid, judged] of qrels) {
    const given = run.get(qid);
    if (given === undefined) {
      missingFromRun.push(qid);
      if (skipMissing) continue;
    }
    const hits = prepareHits(qid, given ?? [], ignoreIdentical, order, dropped);
    queryIds.push(qid);
    perQuery.set(qid, queryMetrics(hits, judged));
  }
  if (queryIds.length === 0) {
    throw new PlaitError('INVALID_INPUT', { message: `no query to evaluate: none of the judged queries is in the run${disjointIdsHint([...run.keys()], 'the run', [...qrels.keys()], 'the qrels')}` });
  }
  let ignoredRunQueries = 0;
  for (const qid of run.keys()) if (!perQuery.has(qid)) ignoredRunQueries++;
  return {
    queryIds,
    perQuery,
    mean: meanOf(queryIds.map((q) => perQuery.get(q)!)),
    missingFromRun,
    ignoredRunQueries,
    identicalIds: { dropped: ignoreIdentical, hitsDropped: dropped.count, judgedPairs },
  };
}

/** One metric's per-query values in `queryIds` order (for significance tests). */
export function metricVector(result: EvalResult, metric: MetricName, queryIds: readonly string[] = result.queryIds): Float64Array {
  const out = new Float64Array(queryIds.length);
  for (let i = 0; i < queryIds.length; i++) {
    const values = result.perQuery.get(queryIds[i]!);
    if (values === undefined) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `query "${queryIds[i]}" was not evaluated in this result`, name: 'queryIds' });
    }
    out[i] = values[metric];
  }
  return out;
}

function prepareHits(qid: string, hits: readonly RunHit[], ignoreIdentical: boolean, order: 'trec-eval' | 'as-given', dropped: { count: number }): RunHit[] {
  const kept: RunHit[] = [];
  const seen = new Set<string>();
  for (const hit of hits) {
    if (!Number.isFinite(hit.score)) {
      throw new PlaitError('INVALID_INPUT', { message: `score ${hit.score} of doc "${hit.docId}" for query "${qid}" is not finite`, queryId: qid, docId: hit.docId });
    }
    if (seen.has(hit.docId)) {
      throw new PlaitError('INVALID_INPUT', { message: `doc "${hit.docId}" appears twice for query "${qid}"`, queryId: qid, docId: hit.docId });
    }
    seen.add(hit.docId);
    if (ignoreIdentical && hit.docId === qid) {
      dropped.count++;
      continue;
    }
    kept.push(hit);
  }
  if (order === 'trec-eval') kept.sort(compareTrecEval);
  return kept;
}

function meanOf(rows: MetricValues[]): MetricValues {
  const mean = Object.fromEntries(METRIC_NAMES.map((m) => [m, 0])) as MetricValues;
  for (const row of rows) for (const m of METRIC_NAMES) mean[m] += row[m];
  for (const m of METRIC_NAMES) mean[m] /= rows.length;
  return mean;
}
