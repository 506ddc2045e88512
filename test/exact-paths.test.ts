/**
 * One exact score for a (query, passage), whatever path scores it (issue 22). Under the default
 * exact-stage method ('fastscan': the 2-bit codes through uint8 nibble tables, q·c from the
 * stage-1 centroid scores, the exact norm from a per-thread cache) a passage gets the same float32
 * bits from PLAID's stage 4, exhaustive search, a filtered exact scan, stored-document scoring
 * (rerank; hybrid's BM25-only documents), explain, scoring workers, and the shard of a 2-shard
 * build that holds it (same codebook) — and the kernel gives a document the same bits alone or in
 * any batch, at any position in its 64-token blocks, with a cold or a warm norm cache, natively and
 * in the TypeScript twin. The cluster check that once failed (a coordinator's hybrid RRF top-10
 * against one index's) came from a tie of fused scores broken differently, not from a score that
 * moved: test/plaid.test.ts holds that tie, test/cluster-search.test.ts the end-to-end check.
 * Tiny generated ColBERT model (32 d) on examples/sample-corpus.jsonl; no evaluation data.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { buildShardedIndex } from '../src/cluster/sharded-build.js';
import { openIndex, type PlaitIndex, type SearchHit } from '../src/search/plait-index.js';
import { EXACT_SCORING_DEFAULTS } from '../src/config/defaults.js';
import { exactScoringMethod } from '../src/codec/code-scorer.js';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { mulberry32 } from '../src/util/random.js';
import { needsNative } from './helpers/requirements.js';
import { isPlaitError } from '../src/errors/index.js';

// The method under test, whatever the caller's environment says (scoring workers inherit it).
process.env.PLAIT_EXACT_SCORING = 'fastscan';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-corpus.jsonl', import.meta.url));
const QUERIES = ['why does bread dough rise with yeast', 'wings and lift on an aircraft', 'coral bleaching in warm water', 'how are tea leaves oxidised', 'volcano'];

let dir: string;
let whole: PlaitIndex;
let pooled: PlaitIndex;
let shards: PlaitIndex[];
let docIds: string[];

/** The float32 bits of a score (a JS number holding a float32), so equality is bitwise. */
const bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-exact-paths-'));
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 32 });
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l.trim() !== '');
  docIds = [];
  const docs = lines.map((l, i) => {
    const d = JSON.parse(l) as { _id: string };
    docIds.push(d._id);
    return JSON.stringify({ ...d, metadata: { parity: i % 2 } });
  });
  writeFileSync(join(dir, 'corpus.jsonl'), `${docs.join('\n')}\n`);
  await buildShardedIndex(join(dir, 'corpus.jsonl'), { index: join(dir, 'cl'), shards: 2, model, unshardedIndex: join(dir, 'whole'), encoderOptions: { threads: 0 } });
  whole = await openIndex(join(dir, 'whole'), { encoderOptions: { threads: 1 } });
  pooled = await openIndex(join(dir, 'whole'), { encoderOptions: { threads: 1 }, workers: 1 });
  shards = [await openIndex(join(dir, 'cl', 'shard-0'), { encoderOptions: { threads: 1 } }), await openIndex(join(dir, 'cl', 'shard-1'), { encoderOptions: { threads: 1 } })];
});

after(async () => {
  await whole?.close();
  await pooled?.close();
  for (const s of shards ?? []) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** docId → [pid, score bits] of every hit. */
function byDoc(hits: readonly SearchHit[]): Map<string, [number, number]> {
  return new Map(hits.map((h) => [h.docId, [h.pid, bits(h.score)]]));
}

test("the default exact stage is 'fastscan', and these indexes use it (2 bits, 32 d)", () => {
  assert.equal(EXACT_SCORING_DEFAULTS.method, 'fastscan');
  assert.equal(exactScoringMethod({}), 'fastscan');
  assert.equal(whole.manifest.nbits, 2);
});

test('every path gives a passage the bits exhaustive search gives it: PLAID, filtered, rerank, explain, hybrid, workers, shards', async () => {
  const n = docIds.length;
  let compared = 0;
  for (const query of QUERIES) {
    for (const idfWeighting of [false, true]) {
      const o = { idfWeighting };
      const ref = byDoc((await whole.search(query, { ...o, mode: 'late', exhaustive: true, topK: n })).hits);
      assert.equal(ref.size, n);
      const same = (hits: readonly SearchHit[], path: string): void => {
        for (const h of hits) {
          const [pid, b] = ref.get(h.docId)!;
          if (h.pid !== pid) continue; // a document's other passage (PLAID may not reach its best)
          assert.equal(bits(h.score), b, `${path}: ${query} (idf ${idfWeighting}) ${h.docId}`);
          compared++;
        }
      };
      // PLAID at wide and default settings (stage 4 reuses stage 1's centroid scores).
      const plaid = (await whole.search(query, { ...o, mode: 'late', topK: 10 })).hits;
      same(plaid, 'PLAID');
      same((await whole.search(query, { ...o, mode: 'late', topK: n, nIvfProbe: 8, centroidScoreThreshold: -1, ndocs: 4 * n })).hits, 'PLAID, wide');
      same((await whole.search(query, { ...o, mode: 'late', exhaustive: true, topK: n, filter: { parity: 1 } })).hits, 'filtered exact scan');
      same((await whole.search(query, { ...o, mode: 'late', topK: 10, filter: { parity: 0 } })).hits, 'filtered PLAID');
      // Stored-document scoring: rerank of given ids, in two orders and batch sizes.
      same(await whole.rerank(query, docIds, o), 'rerank, all');
      same(await whole.rerank(query, docIds.slice().reverse().slice(0, 7), o), 'rerank, 7 reversed');
      for (const id of docIds.slice(0, 3)) same(await whole.rerank(query, [id], o), 'rerank, alone');
      // Hybrid: the BM25-only documents are scored by id; every fused hit carries its late score.
      for (const h of (await whole.search(query, { ...o, mode: 'hybrid', topK: 10 })).hits) {
        if (h.fusion?.late == null) continue;
        const [pid, b] = ref.get(h.docId)!;
        if (h.pid === pid) assert.equal(bits(h.fusion.late), b, `hybrid late part: ${query} ${h.docId}`);
      }
      // Explain sums the kernel's own similarities in the kernel's order.
      for (const h of plaid.slice(0, 3)) {
        const ex = await whole.explain(query, { pid: h.pid }, { mode: 'late', idfWeighting });
        assert.equal(bits(ex.lateScore), bits(h.score), `explain: ${query} ${h.docId}`);
      }
      // A scoring worker (its own thread, its own norm cache).
      same((await pooled.search(query, { ...o, mode: 'late', exhaustive: true, topK: n })).hits, 'worker, exhaustive');
      same((await pooled.search(query, { ...o, mode: 'late', topK: 10 })).hits, 'worker, PLAID');
    }
    // Each shard of the 2-shard build scores its passages as the whole index does (without IDF:
    // a shard's own IDF is its own corpus's; the coordinator passes the cluster's).
    let seen = 0;
    for (const shard of shards) {
      const hits = (await shard.search(query, { mode: 'late', exhaustive: true, topK: n })).hits;
      seen += hits.length;
      same2(hits, ref2(await whole.search(query, { mode: 'late', exhaustive: true, topK: n })), query);
    }
    assert.equal(seen, n, 'the shards hold every document once');
  }
  assert.ok(compared > QUERIES.length * 2 * 40, `${compared} comparisons`);
});

function ref2(r: { hits: readonly SearchHit[] }): Map<string, number> {
  return new Map(r.hits.map((h) => [h.docId, bits(h.score)]));
}
function same2(hits: readonly SearchHit[], ref: Map<string, number>, query: string): void {
  for (const h of hits) assert.equal(bits(h.score), ref.get(h.docId), `shard vs whole: ${query} ${h.docId}`);
}

/** Random 2-bit codes at 128 d (32 bytes a token) with unit centroids, and a 32-token query's tables. */
function kernelCase(k: Kernels, seed: number) {
  const rand = mulberry32(seed);
  const dim = 128;
  const nbits = 2;
  const qLen = 32;
  const K = 48;
  const centroids = new Float32Array(K * dim);
  for (let c = 0; c < K; c++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += (centroids[c * dim + t] = rand() - 0.5) ** 2;
    for (let t = 0; t < dim; t++) centroids[c * dim + t]! /= Math.sqrt(s);
  }
  const weights = Float32Array.of(-0.04, -0.012, 0.012, 0.04);
  const q = Float32Array.from({ length: qLen * dim }, () => rand() - 0.5);
  const s = Float32Array.from({ length: K * qLen }, () => rand() * 2 - 1);
  const qWeights = Float32Array.from({ length: qLen }, () => 0.5 + rand());
  // Documents of 0–150 tokens: they start and end anywhere in the kernel's 64-token blocks.
  const lens = Int32Array.from({ length: 30 }, (_, d) => (d === 4 ? 0 : 1 + Math.floor(rand() * 150)));
  const starts = new Int32Array(lens.length);
  let rows = 0;
  lens.forEach((l, d) => {
    starts[d] = rows;
    rows += l;
  });
  const codes = Int32Array.from({ length: rows }, () => Math.floor(rand() * K));
  const residuals = Uint8Array.from({ length: rows * 32 }, () => Math.floor(rand() * 256));
  const tables = new Uint8Array(32 * 32 * qLen);
  const scales = new Float32Array(qLen);
  const offsets = new Float32Array(qLen);
  k.buildFastScanTables(q, qLen, dim, weights, nbits, tables, scales, offsets);
  return { dim, nbits, qLen, centroids, weights, s, qWeights, lens, starts, codes, residuals, tables, scales, offsets };
}

test('the kernel: a document scores the same bits alone, in any batch and order, cold or warm, native or twin', { skip: needsNative() }, () => {
  const native = nativeKernels()!;
  for (const seed of [1, 2]) {
    const c = kernelCase(typescriptKernels, seed);
    const nDocs = c.lens.length;
    const score = (k: Kernels, order: readonly number[], inv: Float32Array, qWeights: Float32Array | null): Uint32Array => {
      const starts = Int32Array.from(order, (d) => c.starts[d]!);
      const lens = Int32Array.from(order, (d) => c.lens[d]!);
      const out = new Float32Array(order.length);
      k.maxsimFastScan(c.s, c.qLen, c.tables, c.scales, c.offsets, c.codes, c.residuals, c.dim, c.nbits, starts, lens, order.length, out, qWeights, inv, c.centroids, c.weights);
      const byDoc = new Uint32Array(nDocs);
      order.forEach((d, i) => (byDoc[d] = new Uint32Array(out.buffer)[i]!));
      return byDoc;
    };
    const cold = (): Float32Array => new Float32Array(c.codes.length).fill(NaN);
    const all = Array.from({ length: nDocs }, (_, d) => d);
    for (const qWeights of [null, c.qWeights]) {
      const warm = cold();
      const ref = score(native, all, cold(), qWeights);
      score(native, all, warm, qWeights);
      assert.deepEqual(score(native, all, warm, qWeights), ref, 'warm cache');
      assert.deepEqual(score(typescriptKernels, all, cold(), qWeights), ref, 'twin');
      assert.deepEqual(score(native, all.slice().reverse(), cold(), qWeights), ref, 'reversed');
      const shuffled = all.slice().sort((a, b) => ((a * 7919) % 31) - ((b * 7919) % 31));
      assert.deepEqual(score(native, shuffled, warm, qWeights), ref, 'shuffled');
      for (let d = 0; d < nDocs; d++) {
        const alone = score(native, [d], d % 2 === 0 ? cold() : warm, qWeights);
        assert.equal(alone[d], ref[d], `document ${d} alone`);
      }
      // Every document twice in one batch, the second copy at another block offset.
      const twice = [...all, ...all.slice(3), ...all.slice(0, 3)];
      const starts = Int32Array.from(twice, (d) => c.starts[d]!);
      const lens = Int32Array.from(twice, (d) => c.lens[d]!);
      const out = new Float32Array(twice.length);
      native.maxsimFastScan(c.s, c.qLen, c.tables, c.scales, c.offsets, c.codes, c.residuals, c.dim, c.nbits, starts, lens, twice.length, out, qWeights, cold(), c.centroids, c.weights);
      const ob = new Uint32Array(out.buffer);
      twice.forEach((d, i) => assert.equal(ob[i], ref[d], `copy ${i} of document ${d}`));
    }
  }
});

test('a code outside [0, K) is refused by position, negative or K itself, first or last token (the native check is branch-free first)', { skip: needsNative() }, () => {
  const native = nativeKernels()!;
  const c = kernelCase(typescriptKernels, 3);
  const K = c.centroids.length / c.dim;
  const out = new Float32Array(c.lens.length);
  const inv = new Float32Array(c.codes.length).fill(NaN);
  const last = c.codes.length - 1;
  // The last document holds the last row (every document here has tokens but one, which is not last).
  assert.equal(c.starts[c.lens.length - 1]! + c.lens[c.lens.length - 1]! - 1, last);
  for (const k of [native, typescriptKernels]) {
    for (const [at, bad] of [[0, -1], [last, K], [last, -2147483648], [17, K + 5]] as const) {
      const codes = c.codes.slice();
      codes[at] = bad;
      assert.throws(
        () => k.maxsimFastScan(c.s, c.qLen, c.tables, c.scales, c.offsets, codes, c.residuals, c.dim, c.nbits, c.starts, c.lens, c.lens.length, out, null, inv, c.centroids, c.weights),
        (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT' && (k !== native || e.message.includes(`codes[${at}] is ${bad}`)),
        `${k.name}: codes[${at}] = ${bad}`,
      );
    }
    // K − 1 and 0 are fine.
    const ok = c.codes.slice();
    ok[0] = 0;
    ok[last] = K - 1;
    k.maxsimFastScan(c.s, c.qLen, c.tables, c.scales, c.offsets, ok, c.residuals, c.dim, c.nbits, c.starts, c.lens, c.lens.length, out, null, inv.slice(), c.centroids, c.weights);
  }
});
