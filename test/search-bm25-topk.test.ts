/** BM25's bounded top-k accumulator (issue 8, item 16) against a full sort, the oracle; bm25Ranking's mask and count against the full ranking. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Accumulator } from '../src/docstore/bm25.js';
import { mulberry32 } from '../src/util/random.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';

function oracle(scores: Map<number, number>, k: number): Array<{ doc: number; score: number }> {
  return [...scores]
    .map(([doc, score]) => ({ doc, score }))
    .sort((a, b) => b.score - a.score || a.doc - b.doc)
    .slice(0, k);
}

test('hand-computed: sums per document, highest first, ties to the lower document', () => {
  const acc = new Bm25Accumulator(10);
  acc.add(7, 1);
  acc.add(3, 0.5);
  acc.add(3, 0.5);
  acc.add(9, 2);
  acc.add(1, 1);
  assert.deepEqual(acc.takeTop(3), [
    { doc: 9, score: 2 },
    { doc: 1, score: 1 },
    { doc: 3, score: 1 },
  ]);
  // The accumulator is empty again: a second query starts from zero.
  acc.add(7, 0.25);
  assert.deepEqual(acc.takeTop(5), [{ doc: 7, score: 0.25 }]);
  assert.deepEqual(acc.takeTop(5), []);
  acc.add(2, 1);
  assert.deepEqual(acc.takeTop(0), []);
  assert.deepEqual(acc.takeTop(1), []);
});

test('equals a full sort on random queries with many ties, for k below, at and above the matches', () => {
  const rand = mulberry32(77);
  const n = 3000;
  const acc = new Bm25Accumulator(n);
  for (let query = 0; query < 20; query++) {
    const truth = new Map<number, number>();
    const m = Math.floor(rand() * 2500);
    for (let i = 0; i < m; i++) {
      const doc = Math.floor(rand() * n);
      const v = (1 + Math.floor(rand() * 8)) / 4;
      acc.add(doc, v);
      truth.set(doc, (truth.get(doc) ?? 0) + v);
    }
    const k = [1, 10, 100, truth.size, truth.size + 5][query % 5]!;
    assert.deepEqual(acc.takeTop(k), oracle(truth, k));
  }
});

test('reset() forgets a query that failed half-way', () => {
  const acc = new Bm25Accumulator(4);
  acc.add(0, 3);
  acc.reset();
  acc.add(1, 1);
  assert.deepEqual(acc.takeTop(4), [{ doc: 1, score: 1 }]);
});

test('bm25Ranking: a masked ranking = the unmasked ranking filtered, and `matched` = the documents holding a query term (the filter\'s): the count behind totalHits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bm25-count-'));
  try {
    const rand = mulberry32(12);
    const words = Array.from({ length: 40 }, (_, i) => `w${i}x`);
    const w = new DocStoreWriter(join(dir, 'docs.sqlite'));
    for (let d = 0; d < 300; d++) {
      const text = Array.from({ length: 3 + Math.floor(rand() * 8) }, () => words[Math.floor(rand() * rand() * words.length)]!).join(' ');
      w.addPassage(w.addDocument({ docId: `d${d}`, title: '', text }), 0, text.length);
    }
    w.close();
    const r = DocStoreReader.open(join(dir, 'docs.sqlite'));
    try {
      for (let q = 0; q < 30; q++) {
        const query = Array.from({ length: 1 + (q % 3) }, () => words[Math.floor(rand() * words.length)]!).join(' ');
        const every = r.bm25(query, 10_000);
        const unmasked = r.bm25Ranking(query, 5);
        assert.equal(unmasked.matched, every.length, query);
        assert.deepEqual(unmasked.hits, every.slice(0, 5), query);
        const allowed = new Uint8Array(r.rowidSpan);
        for (let i = 0; i < allowed.length; i++) allowed[i] = rand() < 0.3 ? 1 : 0;
        const kept = every.filter((h) => allowed[h.docRowid] === 1);
        for (const k of [1, 7, 500]) {
          const masked = r.bm25Ranking(query, k, {}, allowed);
          assert.equal(masked.matched, kept.length, `${query} k ${k}`);
          assert.deepEqual(masked.hits, kept.slice(0, k), `${query} k ${k}`);
        }
      }
    } finally {
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
