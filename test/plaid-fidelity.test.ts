/**
 * PLAID against exhaustive search where a miss would show: a synthetic index with a planted,
 * well-separated top-10 per query (so the exhaustive top-10 is the planted set, not a crowd of
 * near-ties), queries of 4, 8, 16 (the bundled model's lengths: one 16-lane panel in the kernels)
 * and 32 tokens; topK larger than the index; an index with fewer passages than centroids; and
 * hybrid search checked rank by rank (not only its top-1) against fusion recomputed from the late
 * and BM25 lists. The real-text counterpart is test/plaid-fidelity-cisi.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { buildIndex } from '../src/index.js';
import { fuseMinMax, fuseRrf } from '../src/search/fusion.js';
import { SEARCH_DEFAULTS } from '../src/config/defaults.js';
import { Random } from '../src/util/random.js';
import { normalizeRows } from '../src/util/vectors.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic } from '../fixtures/synthetic-index.js';

const DIM = 32;
const TOPICS = 24;
const PLANTED = 10;
const BACKGROUND = 1200;
const QUERY_LENGTHS = [4, 8, 16, 32];

let dir: string;
let planted: PlaitIndex;
let plantedPassages: TokenEmbeddings[];
/** queries[t][l]: topic t's query of QUERY_LENGTHS[l] tokens. */
let queries: TokenEmbeddings[][];
let small: PlaitIndex;
let smallPassages: TokenEmbeddings[];

const rng = new Random(20261129);

function unit(n: number): Float32Array {
  const v = new Float32Array(n * DIM);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  normalizeRows(v, n, DIM);
  return v;
}

/** `n` rows, each a row of `base` (cycled from `from`) plus Gaussian noise of scale `noise`, normalised. */
function noisy(base: Float32Array, baseRows: number, n: number, noise: number, from = 0): Float32Array {
  const v = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const b = ((from + i) % baseRows) * DIM;
    for (let k = 0; k < DIM; k++) v[i * DIM + k] = base[b + k]! + noise * rng.normal();
  }
  normalizeRows(v, n, DIM);
  return v;
}

function passage(vectors: Float32Array): TokenEmbeddings {
  const length = vectors.length / DIM;
  return { vectors, length, tokenIds: Int32Array.from({ length }, () => rng.int(1000)) };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-fidelity-'));
  // Each topic has 16 token directions. Its 10 planted passages hold all 16 (a little noise) among
  // 10 background tokens; background passages hold 10–30 unrelated tokens. A topic's query is a
  // noisier copy of some of its directions, so its planted passages score far above the rest.
  plantedPassages = [];
  const topicTokens: Float32Array[] = [];
  for (let t = 0; t < TOPICS; t++) {
    const tokens = unit(16);
    topicTokens.push(tokens);
    for (let r = 0; r < PLANTED; r++) plantedPassages.push(passage(concat(noisy(tokens, 16, 16, 0.08, r), unit(10))));
  }
  for (let b = 0; b < BACKGROUND; b++) plantedPassages.push(passage(unit(10 + rng.int(21))));
  queries = topicTokens.map((tokens) => QUERY_LENGTHS.map((len) => passage(noisy(tokens, 16, len, 0.15))));
  await buildSynthetic(join(dir, 'planted'), plantedPassages, DIM);
  planted = await openIndex(join(dir, 'planted'));

  // 12 passages of 30–40 tokens from 400 token directions: far more centroids than passages.
  const directions = unit(400);
  smallPassages = Array.from({ length: 12 }, () => {
    const len = 30 + rng.int(11);
    return passage(noisy(directions, 400, len, 0.05, rng.int(400)));
  });
  await buildSynthetic(join(dir, 'small'), smallPassages, DIM);
  small = await openIndex(join(dir, 'small'));
});

after(async () => {
  await planted?.close();
  await small?.close();
  rmSync(dir, { recursive: true, force: true });
});

const pidOf = (docId: string): number => Number(docId.slice(1));

test('planted index: the exhaustive top-10 is each topic\'s planted passages (the oracle is sharp)', () => {
  for (let t = 0; t < TOPICS; t++) {
    for (let l = 0; l < QUERY_LENGTHS.length; l++) {
      const hits = planted.searchEncoded('', queries[t]![l]!, { mode: 'late', exhaustive: true, topK: 11 }).hits;
      const top10 = hits.slice(0, 10).map((h) => pidOf(h.docId)).sort((a, b) => a - b);
      assert.deepEqual(top10, Array.from({ length: PLANTED }, (_, r) => t * PLANTED + r), `topic ${t}, ${QUERY_LENGTHS[l]} tokens`);
      // Separated: the 11th is clearly below the 10th (so a PLAID miss cannot be a near-tie).
      assert.ok(hits[9]!.score - hits[10]!.score > 0.05 * QUERY_LENGTHS[l]!, `topic ${t}: 10th ${hits[9]!.score}, 11th ${hits[10]!.score}`);
    }
  }
});

for (const [l, len] of QUERY_LENGTHS.entries()) {
  test(`PLAID at the defaults for k = 10 finds ≥ 99% of the exhaustive top-10, ${len}-token queries`, () => {
    const counts = planted.manifest.counts;
    assert.ok(counts.passages > 256, 'more passages than ndocs (256 at k = 10): PLAID prunes');
    let found = 0;
    for (let t = 0; t < TOPICS; t++) {
      const exact = planted.searchEncoded('', queries[t]![l]!, { mode: 'late', exhaustive: true, topK: 10 }).hits;
      const plaid = planted.searchEncoded('', queries[t]![l]!, { mode: 'late', topK: 10 }).hits;
      assert.equal(plaid.length, 10);
      const exactScore = new Map(exact.map((h) => [h.docId, h.score]));
      for (const h of plaid) {
        const s = exactScore.get(h.docId);
        if (s === undefined) continue;
        assert.ok(Math.abs(s - h.score) < 1e-4, `PLAID scores ${h.docId} ${h.score}, exhaustive ${s}`);
        found++;
      }
    }
    const recall = found / (TOPICS * 10);
    assert.ok(recall >= 0.99, `PLAID found ${(100 * recall).toFixed(1)}% of the exhaustive top-10`);
  });
}

test('topK beyond the index: every passage once, ranked, PLAID and exhaustive agreeing on every score', () => {
  const n = plantedPassages.length;
  for (const exhaustive of [false, true]) {
    const hits = planted.searchEncoded('', queries[0]![2]!, { mode: 'late', topK: n + 500, exhaustive }).hits;
    assert.equal(hits.length, n, `exhaustive ${exhaustive}`);
    assert.equal(new Set(hits.map((h) => h.docId)).size, n);
    hits.forEach((h, i) => {
      assert.equal(h.rank, i + 1);
      if (i > 0) assert.ok(h.score <= hits[i - 1]!.score);
    });
  }
  const a = planted.searchEncoded('', queries[0]![2]!, { mode: 'late', topK: n + 500 }).hits;
  const b = new Map(planted.searchEncoded('', queries[0]![2]!, { mode: 'late', topK: n + 500, exhaustive: true }).hits.map((h) => [h.docId, h.score]));
  for (const h of a) assert.ok(Math.abs(h.score - b.get(h.docId)!) < 1e-4, h.docId);
});

test('fewer passages than centroids: PLAID finds the best passage, scores as exhaustive search does, and topK beyond the index returns all 12', () => {
  const c = small.manifest.counts;
  assert.equal(c.passages, 12);
  assert.ok(c.centroids > c.passages, `${c.centroids} centroids for ${c.passages} passages`);
  for (let qi = 0; qi < smallPassages.length; qi++) {
    // A query made of 8 of passage qi's own tokens, slightly perturbed: passage qi must win.
    const p = smallPassages[qi]!;
    const q = passage(noisy(p.vectors, p.length, 8, 0.02));
    const exact = small.searchEncoded('', q, { mode: 'late', exhaustive: true, topK: 5 }).hits;
    const plaid = small.searchEncoded('', q, { mode: 'late', topK: 5 }).hits;
    assert.equal(pidOf(exact[0]!.docId), qi);
    // Below rank 1 the passages share nothing with the query (near-ties that PLAID's candidate
    // generation may legitimately not reach); what PLAID does return is scored exactly.
    assert.equal(plaid[0]!.docId, exact[0]!.docId);
    const all = new Map(small.searchEncoded('', q, { mode: 'late', exhaustive: true, topK: 12 }).hits.map((h) => [h.docId, h.score]));
    for (const h of plaid) assert.ok(Math.abs(h.score - all.get(h.docId)!) < 1e-4, h.docId);
    for (const topK of [12, 50]) {
      const hits = small.searchEncoded('', q, { mode: 'late', topK }).hits;
      assert.equal(hits.length, 12);
      assert.equal(new Set(hits.map((h) => h.docId)).size, 12);
    }
  }
});

// ------------------------------------------------------------------ hybrid, rank by rank

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
let sampleIndex: PlaitIndex | undefined;

async function sample(): Promise<PlaitIndex> {
  if (sampleIndex === undefined) {
    const sampleDir = join(dir, 'sample');
    await buildIndex(SAMPLE, { index: sampleDir, encoderOptions: { threads: 1 } });
    sampleIndex = await openIndex(sampleDir, { encoderOptions: { threads: 1 } });
  }
  return sampleIndex;
}

after(async () => {
  await sampleIndex?.close();
});

const HYBRID_QUERIES = ['why does bread dough rise with yeast', 'how heat and water shape the earth', 'solar cells turn light into electricity', 'the history of music and dance in the city'];

test('hybrid: every rank of the fused list equals min-max (and RRF) fusion recomputed from the late and BM25 lists', async () => {
  const index = await sample();
  {
    const nDocs = index.manifest.counts.documents;
    const topK = 10;
    // Depth of each list: max(hybridDepth, 4·topK) ≥ nDocs here, so the late list is every document.
    assert.ok(Math.max(SEARCH_DEFAULTS.hybridDepth, 4 * topK) >= nDocs);
    for (const query of HYBRID_QUERIES) {
      const late = (await index.search(query, { mode: 'late', exhaustive: true, topK: nDocs })).hits;
      const bm25 = (await index.search(query, { mode: 'bm25', topK: Math.max(SEARCH_DEFAULTS.hybridDepth, 4 * topK) })).hits;
      assert.ok(bm25.length >= 2, `${query}: BM25 found ${bm25.length} documents, the check needs a list`);
      const key = new Map<string, number>();
      const k = (docId: string): number => {
        if (!key.has(docId)) key.set(docId, key.size);
        return key.get(docId)!;
      };
      const lateList = late.map((h) => ({ key: k(h.docId), score: h.score }));
      const bmList = bm25.map((h) => ({ key: k(h.docId), score: h.score }));
      const docOf = [...key.keys()];
      for (const [fusion, oracle] of [
        ['minmax', fuseMinMax(lateList, bmList, SEARCH_DEFAULTS.hybridAlpha)],
        ['rrf', fuseRrf(lateList, bmList, SEARCH_DEFAULTS.rrfK)],
      ] as const) {
        const hits = (await index.search(query, { mode: 'hybrid', fusion, exhaustive: true, topK })).hits;
        assert.equal(hits.length, topK, `${query} (${fusion})`);
        const want = new Map(oracle.map((f) => [docOf[f.key]!, f.score]));
        hits.forEach((h, i) => {
          assert.ok(Math.abs(h.score - oracle[i]!.score) < 1e-9, `${query} (${fusion}) rank ${i + 1}: ${h.score} vs ${oracle[i]!.score}`);
          assert.ok(Math.abs(h.score - want.get(h.docId)!) < 1e-9, `${query} (${fusion}) ${h.docId}`);
        });
      }
    }
  }
});

// On the 40-document sample PLAID's late-interaction top-10 equals exhaustive search's, yet its
// hybrid top-10 differs (measured: 8 of 10 shared for the last query): min-max fusion rescales the
// late list PLAID kept (its survivors), not every document, so the late part weighs differently.
// Kept as a failing `todo` until fusion normalises independently of PLAID's survivors.
test('PLAID hybrid returns exhaustive hybrid\'s top-10, rank by rank', { todo: 'min-max fusion rescales over PLAID\'s survivors (issue 8, hybrid beyond top-1)' }, async () => {
  const index = await sample();
  for (const query of HYBRID_QUERIES) {
    for (const fusion of ['minmax', 'rrf'] as const) {
      const exact = (await index.search(query, { mode: 'hybrid', fusion, exhaustive: true, topK: 10 })).hits.map((h) => h.docId);
      const plaid = (await index.search(query, { mode: 'hybrid', fusion, topK: 10 })).hits.map((h) => h.docId);
      assert.deepEqual(plaid, exact, `${query} (${fusion})`);
    }
  }
});
