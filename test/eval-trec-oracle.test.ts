/**
 * `evaluateRun` against an independent reference: trec_eval's own definitions, re-written here in
 * trec_eval's style (relevance levels counted per grade, the ideal DCG walked level by level as
 * m_ndcg_cut.c does, hits ordered by form_res_rels.c's comp_sim_docno: score descending, then
 * docno descending by strcmp), on runs with graded and 0-graded judgments, negative grades, ties,
 * queries with no relevant document and runs that miss judged documents.
 *
 * The reference was itself checked against trec_eval 10.0 built from its source (usnistgov/trec_eval,
 * `make`): on randomised cases built as the one below (300 queries, grades -1..3, 6 score levels,
 * runs up to 60 deep; seeds 7, 11, 12) written as TREC qrels and run (trec_eval -c
 * -m ndcg_cut.10 -m map_cut.100 -m recall.10,100 -m P.10, and -m recip_rank on each query's top 10
 * in trec_eval order) every mean agreed with plait's to trec_eval's 4 printed decimals (seed 7:
 * nDCG@10 0.1050, MAP@100 0.1213, MRR@10 0.2191, R@100 0.6212, P@10 0.1060); plait before this
 * fix gave 0.1137, 0.1314, 0.2373, 0.6728, 0.1148 over 277 of the 300 queries.
 *
 * What it caught: a query judged only 0 (or negative) was left out of plait's means, where
 * trec_eval, pytrec_eval and BEIR (mean over `len(scores)`) count it 0 — plait's figures were
 * higher than theirs on any qrels holding such a query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRun, METRIC_NAMES, type MetricName } from '../src/eval/metrics.js';
import { parseQrels } from '../src/eval/qrels.js';
import { parseRun } from '../src/eval/run.js';

type OracleQrels = Map<string, Map<string, number>>;
type OracleRun = Map<string, { docno: string; sim: number }[]>;
type Measures = Record<'ndcg_cut.10' | 'recip_rank.10' | 'map_cut.100' | 'recall.100' | 'recall.10' | 'recall.1000' | 'P.10', number>;

const RELEVANCE_LEVEL = 1; // trec_eval's -l default: a grade ≥ 1 is relevant
const NONPOOL = -1; // form_res_rels.c's RELVALUE_NONPOOL

/** trec_eval's per-query measures, one query (the -c rule: a query without results has an empty list). */
function oracleQuery(judged: Map<string, number>, results: { docno: string; sim: number }[]): Measures {
  // comp_sim_docno: sim descending, ties by strcmp(p2->docno, p1->docno) (docno descending, bytes).
  const ranked = [...results].sort((p1, p2) => (p1.sim > p2.sim ? -1 : p1.sim < p2.sim ? 1 : Buffer.compare(Buffer.from(p2.docno), Buffer.from(p1.docno))));
  const rels = ranked.map((r) => judged.get(r.docno) ?? NONPOOL);
  // rel_levels[k] = judged docs with grade k ≥ 0; num_rel = those at levels ≥ relevance_level.
  let maxRel = 0;
  for (const g of judged.values()) maxRel = Math.max(maxRel, g);
  const relLevels = new Array<number>(maxRel + 1).fill(0);
  for (const g of judged.values()) if (g >= 0) relLevels[g]!++;
  let numRel = 0;
  let numRelLevels = 0;
  for (let i = 0; i <= maxRel; i++) {
    if (relLevels[i]! > 0) {
      numRelLevels = i + 1;
      if (i >= RELEVANCE_LEVEL) numRel += relLevels[i]!;
    }
  }
  // ndcg_cut.10 (trec_eval 9+: every rank discounted by log2(rank + 1)).
  let dcg = 0;
  for (let i = 0; i < Math.min(10, rels.length); i++) if (rels[i]! > 0) dcg += rels[i]! / Math.log2(i + 2);
  let idcg = 0;
  let curLvl = numRelLevels - 1;
  let lvlCount = 0;
  for (let i = 0; i < 10 && curLvl > 0; i++) {
    lvlCount++;
    while (curLvl > 0 && lvlCount > relLevels[curLvl]!) {
      curLvl--;
      lvlCount = 1;
    }
    if (curLvl <= 0) break;
    idcg += curLvl / Math.log2(i + 2);
  }
  const ndcg = idcg > 0 ? dcg / idcg : dcg;
  // recip_rank_cut.10 (BEIR's MRR@10): the first relevant within 10.
  let rr = 0;
  for (let i = 0; i < Math.min(10, rels.length); i++) {
    if (rels[i]! >= RELEVANCE_LEVEL) {
      rr = 1 / (i + 1);
      break;
    }
  }
  const relRetAt = (k: number): number => rels.slice(0, k).filter((r) => r >= RELEVANCE_LEVEL).length;
  let apSum = 0;
  let relSoFar = 0;
  for (let i = 0; i < Math.min(100, rels.length); i++) {
    if (rels[i]! >= RELEVANCE_LEVEL) {
      relSoFar++;
      apSum += relSoFar / (i + 1);
    }
  }
  const ofRel = (x: number): number => (numRel > 0 ? x / numRel : 0);
  return {
    'ndcg_cut.10': ndcg,
    'recip_rank.10': rr,
    'map_cut.100': ofRel(apSum),
    'recall.10': ofRel(relRetAt(10)),
    'recall.100': ofRel(relRetAt(100)),
    'recall.1000': ofRel(relRetAt(1000)),
    'P.10': relRetAt(10) / 10,
  };
}

/** trec_eval -c: every query of the qrels, averaged; queries of the run without qrels are not evaluated. */
function oracle(qrels: OracleQrels, run: OracleRun): { perQuery: Map<string, Measures>; mean: Measures } {
  const perQuery = new Map<string, Measures>();
  for (const [qid, judged] of qrels) perQuery.set(qid, oracleQuery(judged, run.get(qid) ?? []));
  const mean = { 'ndcg_cut.10': 0, 'recip_rank.10': 0, 'map_cut.100': 0, 'recall.10': 0, 'recall.100': 0, 'recall.1000': 0, 'P.10': 0 } as Measures;
  for (const m of perQuery.values()) for (const k of Object.keys(mean) as (keyof Measures)[]) mean[k] += m[k] / perQuery.size;
  return { perQuery, mean };
}

const PLAIT_TO_TREC: Record<MetricName, keyof Measures> = {
  'ndcg@10': 'ndcg_cut.10',
  'mrr@10': 'recip_rank.10',
  'map@100': 'map_cut.100',
  'recall@10': 'recall.10',
  'recall@100': 'recall.100',
  'recall@1000': 'recall.1000',
  'p@10': 'P.10',
};

/** Texts read by the oracle on its own (a plain split), and by plait through its readers. */
function oracleQrelsOf(text: string): OracleQrels {
  const q: OracleQrels = new Map();
  for (const line of text.split('\n').slice(1)) {
    if (line === '') continue;
    const [qid, docno, rel] = line.split('\t') as [string, string, string];
    if (!q.has(qid)) q.set(qid, new Map());
    q.get(qid)!.set(docno, Number.parseInt(rel, 10));
  }
  return q;
}
function oracleRunOf(text: string): OracleRun {
  const r: OracleRun = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [qid, , docno, , sim] = line.split(' ') as [string, string, string, string, string];
    if (!r.has(qid)) r.set(qid, []);
    r.get(qid)!.push({ docno, sim: Number.parseFloat(sim) });
  }
  return r;
}

function compare(qrelsText: string, runText: string): void {
  const want = oracle(oracleQrelsOf(qrelsText), oracleRunOf(runText));
  const got = evaluateRun(parseRun(runText), parseQrels(qrelsText), { ignoreIdenticalIds: false });
  assert.deepEqual([...got.queryIds].sort(), [...want.perQuery.keys()].sort(), 'the same queries evaluated');
  for (const [qid, w] of want.perQuery) {
    for (const m of METRIC_NAMES) assert.ok(Math.abs(got.perQuery.get(qid)![m] - w[PLAIT_TO_TREC[m]]) < 1e-12, `${qid} ${m}: plait ${got.perQuery.get(qid)![m]}, trec_eval ${w[PLAIT_TO_TREC[m]]}`);
  }
  for (const m of METRIC_NAMES) assert.ok(Math.abs(got.mean[m] - want.mean[PLAIT_TO_TREC[m]]) < 1e-12, `mean ${m}: plait ${got.mean[m]}, trec_eval ${want.mean[PLAIT_TO_TREC[m]]}`);
}

test('hand case: graded and 0-graded judgments, a tie broken by docno descending, a query with no relevant document', () => {
  const qrels = 'query-id\tcorpus-id\tscore\n' + 'q1\ta\t2\nq1\tb\t0\nq1\tc\t1\nq1\td\t-1\n' + 'q2\ta\t0\nq2\tb\t0\n';
  // q1: b and c tie at 0.5: docno descending puts c (grade 1) first, at rank 2.
  const run = 'q1 Q0 a 1 0.9 t\nq1 Q0 b 2 0.5 t\nq1 Q0 c 3 0.5 t\nq1 Q0 d 4 0.1 t\nq2 Q0 a 1 1 t\n';
  const got = evaluateRun(parseRun(run), parseQrels(qrels));
  // DCG = 2/log2(2) + 1/log2(3); ideal: the same (grades 2, 1). MAP = (1/1 + 2/2) / 2.
  assert.ok(Math.abs(got.perQuery.get('q1')!['ndcg@10'] - 1) < 1e-12);
  assert.equal(got.perQuery.get('q1')!['map@100'], 1);
  assert.equal(got.perQuery.get('q1')!['p@10'], 0.2);
  // q2 is judged, only with 0: trec_eval scores it 0 and counts it in the mean.
  assert.deepEqual(got.queryIds, ['q1', 'q2']);
  assert.equal(got.perQuery.get('q2')!['ndcg@10'], 0);
  assert.equal(got.mean['ndcg@10'], 0.5);
  compare(qrels, run);
});

test('randomised differential against the trec_eval reference: 300 queries, grades -1..3, many ties, unicode ids, missed judged docs', () => {
  let seed = 20261207;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const docs = Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? `dé${i}` : i % 5 === 0 ? `D${i}` : `d${i}`));
  let qrels = 'query-id\tcorpus-id\tscore\n';
  let run = '';
  for (let q = 0; q < 300; q++) {
    const qid = `q${q}`;
    const zeroOnly = q % 17 === 0;
    const judgedCount = 1 + Math.floor(rand() * 25);
    const judgedDocs = new Set<string>();
    while (judgedDocs.size < judgedCount) judgedDocs.add(docs[Math.floor(rand() * docs.length)]!);
    if (q % 23 !== 5) for (const d of judgedDocs) qrels += `${qid}\t${d}\t${zeroOnly ? (rand() < 0.5 ? 0 : -1) : Math.floor(rand() * 5) - 1}\n`;
    if (q % 13 === 3) continue; // judged, absent from the run (trec_eval -c: 0)
    const retrieved = new Set<string>();
    const depth = Math.floor(rand() * 40);
    while (retrieved.size < depth) retrieved.add(docs[Math.floor(rand() * docs.length)]!);
    let rank = 1;
    for (const d of retrieved) run += `${qid} Q0 ${d} ${rank++} ${(Math.floor(rand() * 6) / 4).toFixed(2)} t\n`; // 6 scores: ties everywhere
  }
  compare(qrels, run);
});
