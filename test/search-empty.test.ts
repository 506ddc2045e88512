/**
 * Empty things (issue 8, items 10, 16, 27): a passage without tokens ranks last in every mode and
 * path; fusion is not bent by it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { fuseMinMax } from '../src/search/fusion.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic } from './helpers/synthetic-index.js';
import { SyntheticVectors } from './helpers/synthetic.js';

const DIM = 16;
const N = 40;
const EMPTY = 17;
let dir: string;
let index: PlaitIndex;
let pooled: PlaitIndex;
let query: TokenEmbeddings;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-empty-'));
  const gen = new SyntheticVectors({ dim: DIM, clusters: 8, spread: 0.3, seed: 3 });
  // Every token near +e0 and the query's tokens at -e0: every real score is below 0, which a
  // score of 0 for the empty passage would have beaten.
  const nearE0 = (len: number, sign: number): TokenEmbeddings => {
    const t = gen.passage(len);
    for (let r = 0; r < len; r++) {
      const row = t.vectors.subarray(r * DIM, (r + 1) * DIM);
      for (let d = 0; d < DIM; d++) row[d] = 0.2 * row[d]! + (d === 0 ? sign : 0);
      const norm = Math.hypot(...row);
      for (let d = 0; d < DIM; d++) row[d] = row[d]! / norm;
    }
    return t;
  };
  const passages = Array.from({ length: N }, (_, i) => (i === EMPTY ? { vectors: new Float32Array(0), length: 0, tokenIds: new Int32Array(0) } : nearE0(gen.length(3, 6), 1)));
  query = nearE0(4, -1);
  await buildSynthetic(join(dir, 'idx'), passages, DIM);
  index = await openIndex(join(dir, 'idx'));
  pooled = await openIndex(join(dir, 'idx'), { workers: 1 });
});

after(async () => {
  await index?.close();
  await pooled?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a passage without tokens ranks last (ColBERT: -9999 per query token), exhaustive and PLAID, with and without workers', async () => {
  for (const idx of [index, pooled]) {
    for (const exhaustive of [true, false]) {
      const [r] = await idx.searchEncodedBatch([''], [query], { mode: 'late', topK: N, exhaustive });
      assert.equal(r!.hits.length, N);
      const last = r!.hits[N - 1]!;
      assert.equal(last.docId, `d${EMPTY}`);
      assert.equal(last.score, -9999 * query.length);
      assert.ok(r!.hits[N - 2]!.score < 0);
    }
  }
  const sync = index.searchEncoded('', query, { mode: 'late', topK: N, exhaustive: true });
  assert.equal(sync.hits[N - 1]!.docId, `d${EMPTY}`);
});

test('min-max fusion: a document without tokens takes 0 and does not squash the other late scores', () => {
  const late = [
    { key: 1, score: 2 },
    { key: 2, score: 1 },
    { key: 3, score: -9999 * 4 },
  ];
  const fused = fuseMinMax(late, [{ key: 2, score: 5 }], 0.5);
  // late normalised over [1, 2]: doc1 1, doc2 0, doc3 0 (empty); bm25: doc2 1.
  assert.deepEqual(
    fused.map((f) => [f.key, f.score]),
    [
      [1, 0.5],
      [2, 0.5],
      [3, 0],
    ],
  );
});
