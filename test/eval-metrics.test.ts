import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateRun, metricVector, queryMetrics, type Qrels, type Run } from '../src/eval/index.js';

const close = (actual: number, expected: number, eps = 1e-9): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected} but got ${actual}`);
};

function qrelsOf(entries: Record<string, Record<string, number>>): Qrels {
  return new Map(Object.entries(entries).map(([q, docs]) => [q, new Map(Object.entries(docs))]));
}

function runOf(entries: Record<string, Array<[string, number]>>): Run {
  return new Map(Object.entries(entries).map(([q, hits]) => [q, hits.map(([docId, score]) => ({ docId, score }))]));
}

describe('queryMetrics (trec_eval definitions, hand-computed)', () => {
  // Judgments: d1 = 2, d2 = 1, d3 = 0 (judged non-relevant), d4 = 1 → R = 3 relevant docs.
  // Ranking: 1 d3 (0), 2 d1 (2), 3 dx (unjudged = 0), 4 d2 (1); d4 is never retrieved.
  const judged = new Map([['d1', 2], ['d2', 1], ['d3', 0], ['d4', 1]]);
  const hits = [
    { docId: 'd3', score: 0.9 },
    { docId: 'd1', score: 0.8 },
    { docId: 'dx', score: 0.7 },
    { docId: 'd2', score: 0.6 },
  ];
  const m = queryMetrics(hits, judged);

  it('nDCG@10 uses linear gains, log2(rank+1) discount, ideal from all judged grades', () => {
    // DCG  = 2/log2(3) + 1/log2(5) = 1.2618595 + 0.4306766 = 1.6925361
    // IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.6309298 + 0.5 = 3.1309298
    // nDCG = 1.6925361 / 3.1309298 = 0.5405858
    close(m['ndcg@10'], 0.5405858, 1e-6);
  });
  it('MRR@10 is 1 / rank of the first relevant hit', () => close(m['mrr@10'], 1 / 2));
  it('MAP@100 divides by all relevant docs, retrieved or not', () => {
    // precision at the relevant ranks: 1/2 (rank 2), 2/4 (rank 4); (0.5 + 0.5) / 3
    close(m['map@100'], 1 / 3);
  });
  it('recall@k counts relevant hits within k over R', () => {
    close(m['recall@10'], 2 / 3);
    close(m['recall@100'], 2 / 3);
    close(m['recall@1000'], 2 / 3);
  });
  it('P@10 divides by 10 even when fewer hits came back', () => close(m['p@10'], 0.2));

  it('cut-offs: a relevant doc at rank 11 counts for R@100 and MAP@100 only', () => {
    const deep = Array.from({ length: 11 }, (_, i) => ({ docId: `n${i}`, score: 100 - i }));
    deep[10] = { docId: 'r', score: 1 };
    const v = queryMetrics(deep, new Map([['r', 1]]));
    assert.equal(v['mrr@10'], 0);
    assert.equal(v['ndcg@10'], 0);
    assert.equal(v['recall@10'], 0);
    assert.equal(v['p@10'], 0);
    assert.equal(v['recall@100'], 1);
    close(v['map@100'], 1 / 11); // precision 1/11 at rank 11, one relevant doc
  });

  it('cut-offs: a relevant doc at rank 150 counts for R@1000 only', () => {
    const deep = Array.from({ length: 150 }, (_, i) => ({ docId: i === 149 ? 'r' : `n${i}`, score: 1000 - i }));
    const v = queryMetrics(deep, new Map([['r', 3]]));
    assert.equal(v['recall@100'], 0);
    assert.equal(v['map@100'], 0);
    assert.equal(v['recall@1000'], 1);
  });

  it('ideal DCG is cut at 10 when more than 10 docs are relevant', () => {
    // 12 relevant docs of grade 1, all retrieved at ranks 1..12: DCG@10 = IDCG@10 → 1.
    const docs = Array.from({ length: 12 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    const v = queryMetrics(docs.map((d, i) => ({ docId: d, score: 12 - i })), new Map(docs.map((d) => [d, 1])));
    close(v['ndcg@10'], 1);
    close(v['p@10'], 1);
    close(v['recall@10'], 10 / 12);
    close(v['map@100'], 1);
  });

  it('graded ideal ordering: a grade-1 doc above a grade-2 doc loses DCG', () => {
    // Ranking b (1), a (2): DCG = 1 + 2/log2(3) = 2.2618595; IDCG = 2 + 1/log2(3) = 2.6309298
    const v = queryMetrics([{ docId: 'b', score: 2 }, { docId: 'a', score: 1 }], new Map([['a', 2], ['b', 1]]));
    close(v['ndcg@10'], 2.2618595 / 2.6309298, 1e-6);
  });
});

describe('evaluateRun', () => {
  it('orders ties as trec_eval: score descending, then doc id descending', () => {
    const qrels = qrelsOf({ q: { a: 1 } });
    // Equal scores: trec_eval ranks "b" before "a" (strcmp descending) → a is at rank 2.
    const run = runOf({ q: [['a', 1], ['b', 1]] });
    const r = evaluateRun(run, qrels);
    close(r.mean['mrr@10'], 0.5);
    close(r.mean['ndcg@10'], 1 / Math.log2(3));
    // Kept as given, a is first.
    close(evaluateRun(run, qrels, { order: 'as-given' }).mean['mrr@10'], 1);
    // A higher score wins whatever the ids: scores are re-sorted regardless of the given order.
    close(evaluateRun(runOf({ q: [['b', 1], ['a', 2]] }), qrels).mean['mrr@10'], 1);
  });

  it('drops a hit whose doc id equals the query id (BEIR), unless told not to', () => {
    const qrels = qrelsOf({ q3: { z: 1 } });
    const run = runOf({ q3: [['q3', 5], ['z', 4]] });
    close(evaluateRun(run, qrels).mean['mrr@10'], 1);
    close(evaluateRun(run, qrels, { ignoreIdenticalIds: false }).mean['mrr@10'], 0.5);
  });

  it('averages over every judged query (one judged only 0 scores 0, as in trec_eval and pytrec_eval); missing ones score 0; unjudged run queries are ignored', () => {
    const qrels = qrelsOf({
      q1: { a: 1 }, // a at rank 1 → MRR 1
      q2: { b: 1, c: 1 }, // b at rank 2, c absent → MRR 1/2, R@10 1/2
      q3: { d: 0 }, // no relevant doc: evaluated, 0 on every metric (trec_eval, pytrec_eval, BEIR)
      q4: { e: 1 }, // absent from the run: zeros
    });
    const run = runOf({
      q1: [['a', 3], ['x', 2]],
      q2: [['y', 3], ['b', 2]],
      q3: [['d', 1]],
      q9: [['a', 1]],
    });
    const r = evaluateRun(run, qrels);
    assert.deepEqual(r.queryIds, ['q1', 'q2', 'q3', 'q4']);
    assert.deepEqual(r.missingFromRun, ['q4']);
    assert.equal(r.ignoredRunQueries, 1); // q9 (not in qrels)
    close(r.mean['mrr@10'], (1 + 0.5 + 0 + 0) / 4);
    close(r.mean['recall@10'], (1 + 0.5 + 0 + 0) / 4);
    close(r.mean['p@10'], (0.1 + 0.1 + 0 + 0) / 4);
    assert.deepEqual([...metricVector(r, 'mrr@10')], [1, 0.5, 0, 0]);
    assert.deepEqual([...metricVector(r, 'mrr@10', ['q4', 'q1'])], [0, 1]);
    // BEIR/pytrec_eval averaging leaves q4 out instead: (1 + 0.5 + 0) / 3.
    const skipped = evaluateRun(run, qrels, { missingQueries: 'skip' });
    assert.deepEqual(skipped.queryIds, ['q1', 'q2', 'q3']);
    assert.deepEqual(skipped.missingFromRun, ['q4']);
    close(skipped.mean['mrr@10'], 0.5);
  });

  it('refuses duplicate docs, non-finite scores, and qrels without relevant docs', () => {
    const qrels = qrelsOf({ q: { a: 1 } });
    assert.throws(() => evaluateRun(runOf({ q: [['a', 1], ['a', 0.5]] }), qrels), { code: 'INVALID_INPUT' });
    assert.throws(() => evaluateRun(runOf({ q: [['a', Number.NaN]] }), qrels), { code: 'INVALID_INPUT' });
    assert.throws(() => evaluateRun(runOf({ q: [['a', 1]] }), qrelsOf({ q: { a: 0 } })), { code: 'INVALID_INPUT' });
    assert.throws(() => metricVector(evaluateRun(new Map(), qrels), 'mrr@10', ['nope']), { code: 'INVALID_ARGUMENT' });
  });

  it('does not reorder the caller\'s run', () => {
    const run = runOf({ q: [['a', 1], ['b', 2]] });
    evaluateRun(run, qrelsOf({ q: { a: 1 } }));
    assert.deepEqual(run.get('q')!.map((h) => h.docId), ['a', 'b']);
  });
});
