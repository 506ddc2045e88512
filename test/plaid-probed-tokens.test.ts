/**
 * PLAID's probed-token scores (src/search/probed-token-interaction.ts): against exhaustive MaxSim on
 * the codes when every cell is probed, against a direct transcription of their definition when few
 * are, and through the search API.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { getKernels, typescriptKernels } from '../src/kernels/index.js';
import { centroidScores, exhaustiveRange, probeAndMask, ivfUnion, plaidSearch, probedTokenWalk, usesProbedTokens, type EncodedQuery, type ScoringArrays } from '../src/search/plaid.js';
import { prepareCodeQuery, scoreOnCodes } from '../src/codec/code-scorer.js';
import { centroidEstimates, probedTokenRanking, probedTokenScores } from '../src/search/probed-token-interaction.js';
import { isPlaitError } from '../src/errors/index.js';
import { CANDIDATE_DEFAULTS, plaidDefaultsFor } from '../src/config/defaults.js';
import type { Kernels } from '../src/kernels/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';

const DIM = 32;
let dir: string;
let index: PlaitIndex;
let a: ScoringArrays;
let queries: EncodedQuery[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-probed-'));
  const data = syntheticPassages(400, DIM, 7, 256, 0.2);
  // Queries of 1, 3, 5 and 17 tokens (short keyword-like ones and one past a 16-lane panel), some with weights.
  queries = [1, 3, 5, 17].map((len, qi) => {
    const src = data.passages[(qi * 53) % data.passages.length]!;
    const v = new Float32Array(len * DIM);
    for (let i = 0; i < len; i++) v.set(src.vectors.subarray((i % src.length) * DIM, ((i % src.length) + 1) * DIM), i * DIM);
    const weights = qi % 2 === 0 ? null : Float32Array.from({ length: len }, (_, i) => 0.5 + i / len);
    return { vectors: v, length: len, weights };
  });
  await buildSynthetic(join(dir, 'idx'), data.passages, DIM);
  index = await openIndex(join(dir, 'idx'));
  // float32 stage 1, so the probed cells are exactly each token's top cells by the scores used here.
  a = { ...index.scoringArrays, centroidScoring: 'float32' };
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

const allPids = (): Int32Array => Int32Array.from({ length: a.doclens.length }, (_, i) => i);

/**
 * The module header's definition, written out: per query token, the best code similarity over the
 * passage's tokens in its probed cells (each token scored alone with a one-hot weight), else the
 * passage's best centroid score when it has a token in the token's best `cells` cells (by S, ties to
 * the lower id), else the `cells`-th cell's score.
 */
function oracle(q: EncodedQuery, s: Float32Array, probed: Int32Array, pids: Int32Array, kernels: Kernels, cells: number): Float32Array {
  const seg = a.segments[0]!;
  const p = probed.length / q.length;
  const cq = prepareCodeQuery(a, q.vectors, q.length, kernels, 'fastscan');
  const one = new Float32Array(1);
  const oneHot = new Float32Array(q.length);
  const out = new Float32Array(pids.length);
  const m = Math.min(Math.max(cells, p), a.nCentroids);
  pids.forEach((pid, d) => {
    const start = a.tokenStarts[pid]!;
    let total = 0;
    for (let i = 0; i < q.length; i++) {
      const w = q.weights === null ? 1 : q.weights[i]!;
      const cells = new Set(Array.from(probed.subarray(i * p, (i + 1) * p)).filter((c) => c >= 0));
      const byScore = Array.from({ length: a.nCentroids }, (_, c) => c).sort((x, y) => s[y * q.length + i]! - s[x * q.length + i]! || x - y);
      const walked = new Set(byScore.slice(0, m));
      let matched = -Infinity;
      let centroid = -Infinity;
      for (let j = 0; j < a.doclens[pid]!; j++) {
        const c = seg.codes[start + j]!;
        if (walked.has(c)) centroid = Math.max(centroid, s[c * q.length + i]!);
        if (!cells.has(c) || w === 0) continue;
        oneHot.fill(0);
        oneHot[i] = 1;
        scoreOnCodes(a, cq, s, seg.codes, seg.residuals, Int32Array.of(start + j), Int32Array.of(1), 1, false, kernels, one, oneHot);
        matched = Math.max(matched, one[0]!);
      }
      if (centroid === -Infinity) centroid = s[byScore[m - 1]! * q.length + i]!;
      total += w * (matched > -Infinity ? matched : centroid);
    }
    out[d] = total;
  });
  return out;
}

for (const [name, kernels] of [
  ['typescript', typescriptKernels],
  ['active', getKernels()],
] as const) {
  test(`${name} kernels: with every cell probed, probed-token scores are MaxSim on the codes (fast-scan)`, () => {
    const pids = allPids();
    for (const q of queries) {
      const s = centroidScores(a, q, kernels);
      const { probed } = probeAndMask(s, a.nCentroids, q.length, a.nCentroids, -1, undefined, undefined, kernels);
      const got = probedTokenScores(a, q, s, probed, pids, kernels);
      const exact = exhaustiveRange(a, q, 0, pids.length, kernels, undefined, 'fastscan');
      for (let d = 0; d < pids.length; d++) assert.ok(Math.abs(got[d]! - exact[d]!) < 1e-4, `qLen ${q.length}, pid ${d}: ${got[d]} vs exact ${exact[d]}`);
    }
  });

  test(`${name} kernels: with 1–3 cells a token, probed-token scores follow their definition (estimates from 4, 16 or every cell)`, () => {
    for (const q of queries) {
      for (const [nProbe, cells] of [
        [1, 4],
        [3, 16],
        [3, a.nCentroids],
      ] as const) {
        const s = centroidScores(a, q, kernels);
        const { probed } = probeAndMask(s, a.nCentroids, q.length, nProbe, -1, undefined, undefined, kernels);
        // Candidates and a shuffled subset of other passages (some that no token retrieved from).
        const cand = ivfUnion(a, probed, new Uint8Array(a.doclens.length));
        const pids = Int32Array.from(new Set([...Array.from(cand).reverse(), 0, 5, 99, 398]));
        const got = probedTokenScores(a, q, s, probed, pids, kernels, undefined, cells);
        const want = oracle(q, s, probed, pids, kernels, cells);
        let corrected = 0;
        const ci = new Float32Array(pids.length);
        kernels.centroidInteraction(s, q.length, a.segments[0]!.codes, Int32Array.from(pids, (p) => a.tokenStarts[p]!), Int32Array.from(pids, (p) => a.doclens[p]!), pids.length, null, ci, q.weights);
        for (let d = 0; d < pids.length; d++) {
          assert.ok(Math.abs(got[d]! - want[d]!) < 1e-4, `qLen ${q.length}, ${nProbe} probes, ${cells} cells, pid ${pids[d]}: ${got[d]} vs ${want[d]}`);
          if (Math.abs(got[d]! - ci[d]!) > 1e-4) corrected++;
        }
        // The residuals change most candidates' scores (else the test would not tell the stages apart).
        assert.ok(corrected > cand.length / 2, `${corrected} of ${cand.length} candidates corrected`);
      }
    }
  });

  test(`${name} kernels: a depth cut keeps the best candidates by centroid estimates, scored as without the cut`, () => {
    for (const q of queries) {
      const s = centroidScores(a, q, kernels);
      const { probed } = probeAndMask(s, a.nCentroids, q.length, 2, -1, undefined, undefined, kernels);
      const cand = ivfUnion(a, probed, new Uint8Array(a.doclens.length));
      const depth = Math.floor(cand.length / 3);
      assert.ok(depth >= 5, `${cand.length} candidates`);
      const est = centroidEstimates(a, s, q, cand, CANDIDATE_DEFAULTS.estimateCells, kernels);
      const ci = Array.from(cand, (_, d) => Array.from({ length: q.length }, (_, i) => (q.weights === null ? 1 : q.weights[i]!) * est[i * cand.length + d]!).reduce((x, y) => x + y, 0));
      const want = Array.from(cand.keys()).sort((x, y) => ci[y]! - ci[x]! || x - y).slice(0, depth).map((d) => cand[d]!).sort((x, y) => x - y);
      const ranked = probedTokenRanking(a, q, s, probed, cand, depth, kernels);
      assert.deepEqual(Array.from(ranked.pids), want);
      const full = probedTokenScores(a, q, s, probed, cand, kernels);
      ranked.pids.forEach((pid, x) => assert.equal(ranked.scores[x], full[cand.indexOf(pid)]));
    }
  });
}

test('centroid estimates, by hand: the first walked cell listing a passage gives its best centroid score, the last walked cell bounds the rest', () => {
  // K = 4 cells, one query token scoring them 0.9, 0.7, 0.5, 0.1; passage 0 in cells 0 and 2, 1 in 1, 2 in 2, 3 in 3.
  const hand = {
    nCentroids: 4,
    doclens: Int32Array.of(2, 1, 1, 1),
    ivf: Int32Array.of(0, 1, 0, 2, 3),
    ivfOffsets: Float64Array.of(0, 1, 2, 4, 5),
  } as ScoringArrays;
  const q: EncodedQuery = { vectors: new Float32Array(4), length: 1, weights: null };
  const s = Float32Array.of(0.9, 0.7, 0.5, 0.1);
  const pids = Int32Array.of(3, 2, 1, 0);
  const at = (cells: number): number[] => Array.from(centroidEstimates(hand, s, q, pids, cells, typescriptKernels), (x) => +x.toFixed(4));
  assert.deepEqual(at(1), [0.9, 0.9, 0.9, 0.9]); // only passage 0 is in cell 0; the rest are bounded by 0.9
  assert.deepEqual(at(2), [0.7, 0.7, 0.7, 0.9]);
  assert.deepEqual(at(3), [0.5, 0.5, 0.7, 0.9]);
  assert.deepEqual(at(4), [0.1, 0.5, 0.7, 0.9]); // every cell walked: exact
  // A query token of weight 0 gets no estimate walk (its term cannot change a score).
  assert.deepEqual(Array.from(centroidEstimates(hand, s, { ...q, weights: Float32Array.of(0) }, pids, 4, typescriptKernels)), [-Infinity, -Infinity, -Infinity, -Infinity]);
});

test('no passages, or an empty query, score nothing', () => {
  const q = queries[1]!;
  const s = centroidScores(a, q, typescriptKernels);
  const { probed } = probeAndMask(s, a.nCentroids, q.length, 2, -1);
  assert.equal(probedTokenScores(a, q, s, probed, new Int32Array(0), typescriptKernels).length, 0);
  const empty: EncodedQuery = { vectors: new Float32Array(0), length: 0, weights: null };
  assert.deepEqual(Array.from(probedTokenScores(a, empty, new Float32Array(0), new Int32Array(0), Int32Array.of(0, 1), typescriptKernels)), [0, 0]);
});

test('search with interactionScoring probed-tokens: every cell probed finds the exhaustive top-10 among 20 exactly scored', () => {
  for (const q of queries) {
    const emb = { vectors: q.vectors, length: q.length, tokenIds: new Int32Array(q.length) };
    const exhaustive = index.searchEncoded('', emb, { mode: 'late', exhaustive: true, topK: 10 }).hits;
    const plaid = index.searchEncoded('', emb, { mode: 'late', topK: 10, nIvfProbe: a.nCentroids, centroidScoreThreshold: -1, ndocs: 4096, interactionScoring: 'probed-tokens', nExact: 20 }).hits;
    assert.deepEqual(
      plaid.map((h) => h.docId),
      exhaustive.map((h) => h.docId),
    );
    plaid.forEach((h, i) => assert.ok(Math.abs(h.score - exhaustive[i]!.score) < 1e-4));
  }
});

test('the cost rule: probed-token ranking while the estimate walk is within probedTokensMaxWalk, else centroid stages', () => {
  const params = { ...plaidDefaultsFor(10), interactionScoring: 'probed-tokens' } as const;
  // The rule's arithmetic on the 1M MS MARCO-shaped index's shape: K = 131,072, 354 IVF entries a cell.
  const msmarco = { ...a, nCentroids: 131072, ivf: new Int32Array(131072 * 354) };
  assert.equal(probedTokenWalk(msmarco, 32), 32 * CANDIDATE_DEFAULTS.estimateCells * 354);
  assert.equal(usesProbedTokens(msmarco, { ...queries[0]!, length: 32 }, params), false); // 0.54M entries
  assert.equal(usesProbedTokens(msmarco, { ...queries[0]!, length: 8 }, params), true); // 0.14M
  assert.equal(usesProbedTokens({ ...a, nbits: 8 }, queries[1]!, params), false); // no code scoring
  assert.equal(usesProbedTokens(a, queries[1]!, { ...params, interactionScoring: 'centroids' }), false);
  // On this index: the longest query within the budget takes probed tokens, one token more does not,
  // and then the search equals ColBERT's centroid stages.
  const longest = Math.floor((CANDIDATE_DEFAULTS.probedTokensMaxWalk * a.nCentroids) / (CANDIDATE_DEFAULTS.estimateCells * a.ivf.length));
  const src = queries[3]!;
  const long = (len: number): EncodedQuery => ({ vectors: Float32Array.from({ length: len * DIM }, (_, t) => src.vectors[t % src.vectors.length]!), length: len, weights: null });
  assert.equal(usesProbedTokens(a, long(longest), params), true);
  assert.equal(usesProbedTokens(a, long(longest + 1), params), false);
  const kernels = getKernels();
  const mark = new Uint8Array(a.doclens.length);
  const over = long(longest + 1);
  assert.deepEqual(plaidSearch(a, over, params, kernels, mark).hits, plaidSearch(a, over, { ...params, interactionScoring: 'centroids' }, kernels, mark).hits);
  const within = queries[1]!;
  assert.notDeepEqual(plaidSearch(a, within, params, kernels, mark).hits.scores, plaidSearch(a, within, { ...params, interactionScoring: 'centroids' }, kernels, mark).hits.scores);
});

test('bad interactionScoring or nExact fails with INVALID_ARGUMENT', () => {
  const q = queries[0]!;
  const emb = { vectors: q.vectors, length: q.length, tokenIds: new Int32Array(q.length) };
  for (const bad of [{ interactionScoring: 'warp' }, { nExact: 0 }, { nExact: 2.5 }]) {
    assert.throws(
      () => index.searchEncoded('', emb, { mode: 'late', ...(bad as object) }),
      (e) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT',
    );
  }
});

test('two segments (a living index after an add): the same probed-token ranking and PLAID hits as one', () => {
  const seg = a.segments[0]!;
  const half = a.doclens.length >> 1;
  const rowOf = a.tokenStarts[half]!;
  const nBytes = seg.residuals.length / seg.codes.length;
  const split: ScoringArrays = {
    ...a,
    tokenStarts: Int32Array.from(a.tokenStarts, (t, pid) => (pid < half ? t : t - rowOf)),
    segments: [
      { firstPid: 0, passages: half, codes: seg.codes.subarray(0, rowOf), residuals: seg.residuals.subarray(0, rowOf * nBytes) },
      { firstPid: half, passages: a.doclens.length - half, codes: seg.codes.subarray(rowOf), residuals: seg.residuals.subarray(rowOf * nBytes) },
    ],
  };
  for (const kernels of [typescriptKernels, getKernels()]) {
    for (const q of queries) {
      const s = centroidScores(a, q, kernels);
      const { probed } = probeAndMask(s, a.nCentroids, q.length, 2, -1, undefined, undefined, kernels);
      const pids = ivfUnion(a, probed, new Uint8Array(a.doclens.length));
      const one = probedTokenRanking(a, q, s, probed, pids, 64, kernels);
      const two = probedTokenRanking(split, q, s, probed, pids, 64, kernels);
      assert.deepEqual(two.pids, one.pids, `${kernels.name} ${q.length} tokens: kept`);
      assert.deepEqual(two.scores, one.scores, `${kernels.name} ${q.length} tokens: scores`);
      const params = { ...plaidDefaultsFor(10), interactionScoring: 'probed-tokens' as const };
      assert.deepEqual(plaidSearch(split, q, params, kernels, new Uint8Array(a.doclens.length)).hits, plaidSearch(a, q, params, kernels, new Uint8Array(a.doclens.length)).hits, `${kernels.name} ${q.length} tokens: hits`);
    }
  }
});
