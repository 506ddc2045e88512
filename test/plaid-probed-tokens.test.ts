/**
 * PLAID stage 3 with exact similarities for the probed tokens (src/search/probed-token-interaction.ts):
 * against exhaustive MaxSim when every cell is probed, against a direct transcription of its
 * definition when few are, and through the search API.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { getKernels, typescriptKernels } from '../src/kernels/index.js';
import { centroidScores, exhaustiveScores, probeAndMask, ivfUnion, type EncodedQuery, type ScoringArrays } from '../src/search/plaid.js';
import { probedTokenScores } from '../src/search/probed-token-interaction.js';
import { isPlaitError } from '../src/errors/index.js';
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

/** The module header's definition, written out: exact max over matched tokens, else the centroid max. */
function oracle(q: EncodedQuery, s: Float32Array, probed: Int32Array, pids: Int32Array, kernels: Kernels): Float32Array {
  const seg = a.segments[0]!;
  const p = probed.length / q.length;
  const out = new Float32Array(pids.length);
  pids.forEach((pid, d) => {
    const start = a.tokenStarts[pid]!;
    const len = a.doclens[pid]!;
    const dec = new Float32Array(len * DIM);
    kernels.decompress(seg.codes.subarray(start, start + len), seg.residuals.subarray((start * DIM * a.nbits) / 8), len, DIM, a.centroids, a.weights, a.nbits, dec);
    let total = 0;
    for (let i = 0; i < q.length; i++) {
      const cells = new Set(Array.from(probed.subarray(i * p, (i + 1) * p)).filter((c) => c >= 0));
      let exact = -Infinity;
      let centroid = -Infinity;
      for (let j = 0; j < len; j++) {
        const c = seg.codes[start + j]!;
        centroid = Math.max(centroid, s[c * q.length + i]!);
        if (!cells.has(c)) continue;
        let dot = 0;
        for (let k = 0; k < DIM; k++) dot += q.vectors[i * DIM + k]! * dec[j * DIM + k]!;
        exact = Math.max(exact, dot);
      }
      total += (q.weights === null ? 1 : q.weights[i]!) * (exact > -Infinity ? exact : centroid);
    }
    out[d] = total;
  });
  return out;
}

for (const [name, kernels] of [
  ['typescript', typescriptKernels],
  ['active', getKernels()],
] as const) {
  test(`${name} kernels: with every cell probed, probed-token scores are exact MaxSim`, () => {
    const pids = allPids();
    for (const q of queries) {
      const s = centroidScores(a, q, kernels);
      const { probed } = probeAndMask(s, a.nCentroids, q.length, a.nCentroids, -1, undefined, undefined, kernels);
      const got = probedTokenScores(a, q, s, probed, pids, kernels);
      const exact = exhaustiveScores(a, q, kernels);
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

test('search with interactionScoring probed-tokens: every cell probed finds the exhaustive top-10, scores stay exact', () => {
  for (const q of queries) {
    const emb = { vectors: q.vectors, length: q.length, tokenIds: new Int32Array(q.length) };
    const exhaustive = index.searchEncoded('', emb, { mode: 'late', exhaustive: true, topK: 10 }).hits;
    const plaid = index.searchEncoded('', emb, { mode: 'late', topK: 10, nIvfProbe: a.nCentroids, centroidScoreThreshold: -1, ndocs: 4096, interactionScoring: 'probed-tokens', nExact: 10 }).hits;
    assert.deepEqual(
      plaid.map((h) => h.docId),
      exhaustive.map((h) => h.docId),
    );
    plaid.forEach((h, i) => assert.ok(Math.abs(h.score - exhaustive[i]!.score) < 1e-4));
  }
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
