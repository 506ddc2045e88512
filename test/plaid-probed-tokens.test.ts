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
import { centroidScores, exhaustiveRange, probeAndMask, ivfUnion, usesProbedTokens, type EncodedQuery, type ScoringArrays } from '../src/search/plaid.js';
import { prepareCodeQuery, scoreOnCodes } from '../src/codec/code-scorer.js';
import { probedTokenScores } from '../src/search/probed-token-interaction.js';
import { isPlaitError } from '../src/errors/index.js';
import { CANDIDATE_DEFAULTS } from '../src/config/defaults.js';
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
 * best centroid score over all its tokens.
 */
function oracle(q: EncodedQuery, s: Float32Array, probed: Int32Array, pids: Int32Array, kernels: Kernels): Float32Array {
  const seg = a.segments[0]!;
  const p = probed.length / q.length;
  const cq = prepareCodeQuery(a, q.vectors, q.length, kernels, 'fastscan');
  const one = new Float32Array(1);
  const oneHot = new Float32Array(q.length);
  const out = new Float32Array(pids.length);
  pids.forEach((pid, d) => {
    const start = a.tokenStarts[pid]!;
    let total = 0;
    for (let i = 0; i < q.length; i++) {
      const w = q.weights === null ? 1 : q.weights[i]!;
      const cells = new Set(Array.from(probed.subarray(i * p, (i + 1) * p)).filter((c) => c >= 0));
      let matched = -Infinity;
      let centroid = -Infinity;
      for (let j = 0; j < a.doclens[pid]!; j++) {
        const c = seg.codes[start + j]!;
        centroid = Math.max(centroid, s[c * q.length + i]!);
        if (!cells.has(c) || w === 0) continue;
        oneHot.fill(0);
        oneHot[i] = 1;
        scoreOnCodes(a, cq, s, seg.codes, seg.residuals, Int32Array.of(start + j), Int32Array.of(1), 1, false, kernels, one, oneHot);
        matched = Math.max(matched, one[0]!);
      }
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

  test(`${name} kernels: with 1–3 cells a token, probed-token scores follow their definition`, () => {
    for (const q of queries) {
      for (const nProbe of [1, 3]) {
        const s = centroidScores(a, q, kernels);
        const { probed } = probeAndMask(s, a.nCentroids, q.length, nProbe, -1, undefined, undefined, kernels);
        // Candidates and a shuffled subset of other passages (some that no token retrieved from).
        const cand = ivfUnion(a, probed, new Uint8Array(a.doclens.length));
        const pids = Int32Array.from(new Set([...Array.from(cand).reverse(), 0, 5, 99, 398]));
        const got = probedTokenScores(a, q, s, probed, pids, kernels);
        const want = oracle(q, s, probed, pids, kernels);
        let corrected = 0;
        const ci = new Float32Array(pids.length);
        kernels.centroidInteraction(s, q.length, a.segments[0]!.codes, Int32Array.from(pids, (p) => a.tokenStarts[p]!), Int32Array.from(pids, (p) => a.doclens[p]!), pids.length, null, ci, q.weights);
        for (let d = 0; d < pids.length; d++) {
          assert.ok(Math.abs(got[d]! - want[d]!) < 1e-4, `qLen ${q.length}, ${nProbe} probes, pid ${pids[d]}: ${got[d]} vs ${want[d]}`);
          if (Math.abs(got[d]! - ci[d]!) > 1e-4) corrected++;
        }
        // The residuals change most candidates' scores (else the test would not tell the stages apart).
        assert.ok(corrected > cand.length / 2, `${corrected} of ${cand.length} candidates corrected`);
      }
    }
  });
}

test('no passages, or an empty query, score nothing', () => {
  const q = queries[1]!;
  const s = centroidScores(a, q, typescriptKernels);
  const { probed } = probeAndMask(s, a.nCentroids, q.length, 2, -1);
  assert.equal(probedTokenScores(a, q, s, probed, new Int32Array(0), typescriptKernels).length, 0);
  const empty: EncodedQuery = { vectors: new Float32Array(0), length: 0, weights: null };
  assert.deepEqual(Array.from(probedTokenScores(a, empty, new Float32Array(0), new Int32Array(0), Int32Array.of(0, 1), typescriptKernels)), [0, 0]);
});

test('search with interactionScoring probed-tokens: every cell probed finds the exhaustive top-10 among 20 exactly scored', () => {
  for (const q of queries.filter((x) => x.length <= CANDIDATE_DEFAULTS.probedTokensMaxQueryTokens)) {
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

test('a query longer than probedTokensMaxQueryTokens keeps centroid interaction', () => {
  const q = queries.find((x) => x.length > CANDIDATE_DEFAULTS.probedTokensMaxQueryTokens)!;
  const emb = { vectors: q.vectors, length: q.length, tokenIds: new Int32Array(q.length) };
  const base = { mode: 'late', topK: 10, nIvfProbe: 2, ndocs: 64 } as const;
  assert.deepEqual(index.searchEncoded('', emb, { ...base, interactionScoring: 'probed-tokens' }).hits, index.searchEncoded('', emb, { ...base, interactionScoring: 'centroids' }).hits);
  assert.equal(usesProbedTokens(a, q, { ...base, centroidScoreThreshold: 0.5, interactionScoring: 'probed-tokens' }), false);
  const short = queries[1]!;
  assert.equal(usesProbedTokens(a, short, { ...base, centroidScoreThreshold: 0.5, interactionScoring: 'probed-tokens' }), true);
  assert.equal(usesProbedTokens({ ...a, nbits: 8 }, short, { ...base, centroidScoreThreshold: 0.5, interactionScoring: 'probed-tokens' }), false);
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
