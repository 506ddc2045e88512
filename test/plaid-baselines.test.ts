/**
 * `plaidDefaults: 'colbert'` (search-options.ts PlaidDefaultsTable): a search can run ColBERT's own
 * PLAID rule exactly — ColBERT's k-dependent table, no probe floor, no margin, centroid-only
 * ranking, calibration ignored — the baseline of bench/plaid-defaults.ts. Checked field by field
 * against ColBERT's table and, through the search API, against `plaidSearch` run directly with it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { resolveSearch } from '../src/search/search-options.js';
import { colbertDefaultsFor, plaidDefaultsFor } from '../src/config/defaults.js';
import { plaidSearch, scratchMarks, type EncodedQuery } from '../src/search/plaid.js';
import { getKernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import type { IndexCalibration } from '../src/format/calibration-record.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';

const DIM = 32;
let dir: string;
let index: PlaitIndex;
let queries: EncodedQuery[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-baselines-'));
  const data = syntheticPassages(600, DIM, 11, 128, 0.3);
  // Short queries (2–4 tokens: plait's probe floor and probed-token ranking apply to them) cut from passages.
  queries = [2, 3, 4, 3, 2, 4].map((len, qi) => {
    const src = data.passages[(qi * 97 + 5) % data.passages.length]!;
    const n = Math.min(len, src.length);
    return { vectors: src.vectors.slice(0, n * DIM), length: n, weights: null };
  });
  await buildSynthetic(join(dir, 'idx'), data.passages, DIM);
  index = await openIndex(join(dir, 'idx'), { workers: 0 });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A calibration record whose one bucket sets every PLAID field (only `buckets` is read by resolveSearch). */
const calibration = {
  buckets: [{ maxTopK: null, params: { nIvfProbe: 8, centroidScoreThreshold: 0.1, ndocs: 4096, centroidScoreMargin: 0.2, nIvfProbeTotal: 64, interactionScoring: 'probed-tokens', nExact: 500 } }],
} as unknown as IndexCalibration;

test("plaidDefaults 'colbert' resolves to ColBERT's table exactly, at every k bucket and its edges", () => {
  for (const topK of [1, 10, 11, 100, 101, 500, 2000]) {
    const colbert = index.resolveSearch({ topK, plaidDefaults: 'colbert' }).plaid;
    assert.deepEqual(colbert, colbertDefaultsFor(topK), `topK ${topK}`);
    // No plait rule leaks in (the previous bench's "ColBERT" column inherited these).
    assert.equal(colbert.centroidScoreMargin, undefined);
    assert.equal(colbert.nIvfProbeTotal, undefined);
    assert.equal(colbert.interactionScoring, undefined);
    assert.equal(colbert.nExact, undefined);
  }
  // Hand-written, so a changed table fails here too: ColBERT's searcher (k ≤ 10, ≤ 100, else).
  assert.deepEqual(index.resolveSearch({ topK: 10, plaidDefaults: 'colbert' }).plaid, { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 256 });
  assert.deepEqual(index.resolveSearch({ topK: 100, plaidDefaults: 'colbert' }).plaid, { nIvfProbe: 2, centroidScoreThreshold: 0.45, ndocs: 1024 });
  assert.deepEqual(index.resolveSearch({ topK: 2000, plaidDefaults: 'colbert' }).plaid, { nIvfProbe: 4, centroidScoreThreshold: 0.4, ndocs: 8000 });
  // The default table is plait's, with its rules.
  assert.deepEqual(index.resolveSearch({ topK: 10 }).plaid, plaidDefaultsFor(10));
  assert.deepEqual(index.resolveSearch({ topK: 10, plaidDefaults: 'plait' }).plaid, plaidDefaultsFor(10));
  assert.notDeepEqual(plaidDefaultsFor(10), colbertDefaultsFor(10));
});

test("plaidDefaults 'colbert' ignores a calibration record; 'plait' uses it; explicit fields override either", () => {
  const model = index.manifest.model;
  assert.deepEqual(resolveSearch({ topK: 10, plaidDefaults: 'colbert' }, model, calibration).plaid, colbertDefaultsFor(10));
  assert.equal(resolveSearch({ topK: 10 }, model, calibration).plaid.nIvfProbe, 8);
  assert.equal(resolveSearch({ topK: 10 }, model, calibration).plaid.nExact, 500);
  const mixed = resolveSearch({ topK: 10, plaidDefaults: 'colbert', ndocs: 512, interactionScoring: 'probed-tokens' }, model, calibration).plaid;
  assert.deepEqual(mixed, { nIvfProbe: 1, centroidScoreThreshold: 0.5, ndocs: 512, interactionScoring: 'probed-tokens' });
});

test('plaidDefaults: an unknown table is INVALID_ARGUMENT naming the field', () => {
  assert.throws(
    () => index.resolveSearch({ plaidDefaults: 'warp' as 'colbert' }),
    (e) => isPlaitError(e, 'INVALID_ARGUMENT') && /plaidDefaults/.test((e as Error).message),
  );
});

test("a search with plaidDefaults 'colbert' returns what plaidSearch returns at ColBERT's table", () => {
  const kernels = getKernels();
  const a = index.scoringArrays;
  let differsFromPlait = 0;
  let compared = 0;
  for (const topK of [5, 10, 50]) {
    for (const q of queries) {
      const direct = plaidSearch(a, q, colbertDefaultsFor(topK), kernels, scratchMarks(a)).hits;
      // Fewer survivors than topK documents: the search widens (late-ranking.ts), another policy.
      if (direct.pids.length < topK) continue;
      compared++;
      const want = Array.from(direct.pids.subarray(0, topK), (pid, r) => ({ docId: `d${pid}`, score: direct.scores[r]! }));
      const got = index.searchEncoded('', { vectors: q.vectors, length: q.length, tokenIds: new Int32Array(q.length) }, { mode: 'late', topK, idfWeighting: false, plaidDefaults: 'colbert' });
      assert.deepEqual(got.hits.map((h) => h.docId), want.map((h) => h.docId), `topK ${topK}`);
      got.hits.forEach((h, r) => assert.ok(Math.abs(h.score - want[r]!.score) < 1e-5));
      const plait = plaidSearch(a, q, plaidDefaultsFor(topK), kernels, scratchMarks(a)).hits;
      if (plait.pids.length !== direct.pids.length) differsFromPlait++;
    }
  }
  assert.ok(compared >= 10, `compared ${compared}`);
  // The two tables really search differently here (the probe floor widens these short queries).
  assert.ok(differsFromPlait > 0);
});
