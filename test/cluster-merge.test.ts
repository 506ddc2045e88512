/**
 * The coordinator's arithmetic without processes: corpus statistics summed from shards make each
 * shard's BM25 equal one store's over the whole corpus (a differential test against that store);
 * token IDF from aligned dfs equals the index's; the top-k merge and the hybrid fusion of shard
 * lists on hand-computed cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';
import { idfWeights, idfWeightsOf } from '../src/search/idf.js';
import { mergeHybrid, mergeLists } from '../src/cluster/cluster-index.js';
import { resolveSearch } from '../src/search/search-options.js';
import type { SearchHit } from '../src/search/search-result.js';
import type { ModelInfo } from '../src/encoder/types.js';

const TEXTS = [
  'the wing in a slipstream at high speed',
  'heat transfer in the boundary layer of a wing',
  'pressure distribution over a swept wing',
  'boundary layer transition at supersonic speed',
  'a note on heat conduction in plates',
  'slipstream effects on lift and drag',
  'supersonic flow past a cone, pressure and heat',
];

function store(path: string, docs: number[]): DocStoreReader {
  const w = new DocStoreWriter(path);
  for (const i of docs) {
    const rowid = w.addDocument({ docId: `d${i}`, title: '', text: TEXTS[i]! });
    w.addPassage(rowid, 0, TEXTS[i]!.length);
  }
  w.close();
  return DocStoreReader.open(path);
}

test('BM25 with summed shard statistics = BM25 of one store over the whole corpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-cluster-bm25-'));
  try {
    const whole = store(join(dir, 'whole.sqlite'), [0, 1, 2, 3, 4, 5, 6]);
    const shards = [store(join(dir, 'a.sqlite'), [0, 2, 4, 6]), store(join(dir, 'b.sqlite'), [1, 3, 5])];
    for (const q of ['wing heat', 'supersonic boundary layer pressure', 'slipstream']) {
      const totals = shards.map((s) => s.bm25Totals());
      const terms = [...shards[0]!.bm25Query(q).terms.keys()];
      const df: Record<string, number> = {};
      for (const s of shards) s.termDf(terms).forEach((n, i) => (df[terms[i]!] = (df[terms[i]!] ?? 0) + n));
      const documents = totals.reduce((a, t) => a + t.documents, 0);
      const corpus = { documents, avgLength: totals.reduce((a, t) => a + t.totalLength, 0) / documents, df };
      assert.equal(documents, 7);
      const expected = new Map(whole.bm25(q, 10).map((h) => [h.docId, h.score]));
      const got = shards.flatMap((s) => s.bm25(q, 10, { corpus }));
      assert.equal(got.length, expected.size, q);
      for (const h of got) assert.equal(h.score, expected.get(h.docId), `${q}: ${h.docId}`);
      // Without the corpus statistics a shard scores on its own scale: the test would notice.
      const local = shards[0]!.bm25(q, 10);
      assert.ok(local.some((h) => h.score !== expected.get(h.docId)), q);
      // explain agrees with search under the same statistics.
      const top = shards[1]!.bm25(q, 1, { corpus })[0];
      if (top !== undefined) {
        const terms = shards[1]!.bm25Explain(q, top.docRowid, { corpus });
        assert.ok(Math.abs(terms.reduce((a, t) => a + t.contribution, 0) - top.score) < 1e-12);
      }
    }
    for (const s of [whole, ...shards]) s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('token IDF from dfs aligned with the query equals the index-wide form', () => {
  const df = Int32Array.of(0, 5, 1, 9, 2);
  const tokens = Int32Array.of(3, 1, 1, 4, 7); // 7: past the table → df 0
  const aligned = Int32Array.of(9, 5, 5, 2, 0);
  assert.deepEqual(idfWeightsOf(aligned, 20), idfWeights(tokens, df, 20));
});

function hit(docId: string, score: number, extra: Partial<SearchHit> = {}): SearchHit {
  return { docId, pid: 0, score, rank: 0, ...extra };
}

test('mergeLists: the top k of the shards\' lists, equal scores by docId, ranked from 1', () => {
  const merged = mergeLists([[hit('b', 0.9), hit('c', 0.5)], [hit('a', 0.5), hit('d', 0.7)]], 3);
  assert.deepEqual(merged.map((h) => [h.docId, h.score, h.rank]), [['b', 0.9, 1], ['d', 0.7, 2], ['a', 0.5, 3]]);
  assert.deepEqual(mergeLists([[], []], 10), []);
});

const MODEL = { defaultMode: 'hybrid', idfWeighting: false } as unknown as ModelInfo;

test('mergeHybrid: min-max over the merged lists, BM25-only documents with their exact late score', () => {
  // Shard A: late a .9, b .5; BM25 b 3, c 1; c's late score .2 (BM25-only there). Shard B: late d .7; BM25 d 2.
  const parts = [
    { hits: [hit('a', 0.9), hit('b', 0.5)], bm25: [hit('b', 3), hit('c', 1)], extraLate: [hit('c', 0.2, { pid: 7 })] },
    { hits: [hit('d', 0.7)], bm25: [hit('d', 2)], extraLate: [] },
  ];
  const r = resolveSearch({ mode: 'hybrid', topK: 3, alpha: 0.3 }, MODEL);
  // late min-max over {.9, .5, .7, .2}: a 1, b 3/7, d 5/7, c 0; BM25 over {3, 2, 1}: b 1, d .5, c 0, a 0.
  const expected = { a: 0.3 * 1, b: 0.3 * (3 / 7) + 0.7 * 1, d: 0.3 * (5 / 7) + 0.7 * 0.5, c: 0 };
  const got = mergeHybrid(parts, r);
  assert.deepEqual(got.map((h) => h.docId), ['b', 'd', 'a']);
  for (const h of got) assert.ok(Math.abs(h.score - expected[h.docId as keyof typeof expected]) < 1e-12, h.docId);
  assert.deepEqual(got.map((h) => h.rank), [1, 2, 3]);
  assert.equal(got[0]!.fusion!.late, 0.5);
  assert.equal(got[0]!.fusion!.bm25, 3);
  assert.equal(got[2]!.fusion!.bm25, null);
  // RRF (k = 60), late order a, d, b, c and BM25 order b, d, c: b 3rd and 1st, d 2nd and 2nd, c 4th and 3rd, a 1st late only.
  const rrf = mergeHybrid(parts, resolveSearch({ mode: 'hybrid', topK: 4, fusion: 'rrf', rrfK: 60 }, MODEL));
  const want: Record<string, number> = { a: 1 / 61, d: 1 / 62 + 1 / 62, b: 1 / 63 + 1 / 61, c: 1 / 64 + 1 / 63 };
  assert.deepEqual(rrf.map((h) => h.docId), ['b', 'd', 'c', 'a']);
  for (const h of rrf) assert.ok(Math.abs(h.score - want[h.docId]!) < 1e-12, h.docId);
  assert.equal(rrf.find((h) => h.docId === 'c')!.pid, 7);
});
