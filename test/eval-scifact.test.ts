/**
 * Cross-check of the metric code against an independent reference: a tiny BM25 (k1 0.9, b 0.4,
 * lowercase, split on non-alphanumerics), written here and nowhere else, run on BEIR scifact test,
 * must land within ±0.01 of the figures in the shared data README (nDCG@10 0.661, MRR@10 0.630,
 * Recall@100 0.886; BEIR's paper reports nDCG@10 0.665).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateRun, readQrels, readQueries, type Run } from '../src/eval/index.js';
import { dataPath, needsData } from './helpers/requirements.js';

function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t !== '');
}

/** Minimal BM25 over an in-memory inverted index (Lucene's idf: ln(1 + (N − df + 0.5) / (df + 0.5))). */
class TinyBm25 {
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  private readonly postings = new Map<string, number[]>(); // term → [doc, tf, doc, tf, ...]

  add(id: string, text: string): void {
    const doc = this.ids.length;
    this.ids.push(id);
    const tokens = tokenize(text);
    this.lengths.push(tokens.length);
    const tf = new Map<string, number>();
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      let list = this.postings.get(t);
      if (list === undefined) this.postings.set(t, (list = []));
      list.push(doc, n);
    }
  }

  search(query: string, k: number, k1 = 0.9, b = 0.4): Array<{ docId: string; score: number }> {
    const n = this.ids.length;
    const avgdl = this.lengths.reduce((s, l) => s + l, 0) / n;
    const scores = new Float64Array(n);
    const touched: number[] = [];
    for (const term of tokenize(query)) {
      const list = this.postings.get(term);
      if (list === undefined) continue;
      const df = list.length / 2;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let i = 0; i < list.length; i += 2) {
        const doc = list[i]!;
        const tf = list[i + 1]!;
        if (scores[doc] === 0) touched.push(doc);
        scores[doc]! += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * this.lengths[doc]!) / avgdl));
      }
    }
    touched.sort((x, y) => scores[y]! - scores[x]!);
    return touched.slice(0, k).map((doc) => ({ docId: this.ids[doc]!, score: scores[doc]! }));
  }
}

describe('scifact BM25 cross-check', () => {
  it('lands within ±0.01 of the reference nDCG@10 / MRR@10 / Recall@100', { skip: needsData('scifact') }, async () => {
    const dir = dataPath('scifact');
    const bm25 = new TinyBm25();
    for (const line of readFileSync(join(dir, 'corpus.jsonl'), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const doc = JSON.parse(line) as { _id: string; title?: string; text?: string };
      bm25.add(doc._id, `${doc.title ?? ''} ${doc.text ?? ''}`);
    }
    const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
    const queries = (await readQueries(join(dir, 'queries.jsonl'))).filter((q) => qrels.has(q.id));
    assert.equal(queries.length, 300);
    const run: Run = new Map(queries.map((q) => [q.id, bm25.search(q.text, 1000)]));
    const { mean, queryIds } = evaluateRun(run, qrels);
    assert.equal(queryIds.length, 300);
    const near = (name: string, actual: number, expected: number): void =>
      assert.ok(Math.abs(actual - expected) <= 0.01, `${name}: expected ${expected} ± 0.01 but got ${actual.toFixed(4)}`);
    near('nDCG@10', mean['ndcg@10'], 0.661);
    near('MRR@10', mean['mrr@10'], 0.63);
    near('Recall@100', mean['recall@100'], 0.886);
  });
});
