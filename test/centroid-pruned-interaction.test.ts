/**
 * PLAID's stage-2 pruned centroid interaction read from the IVF (src/search/centroid-pruned-interaction.ts,
 * Kernels.ivfInteraction): a hand-computed case on both kernels, the native `centroidInteraction`
 * kernel over the codes as the oracle bit for bit for the native and the TypeScript `ivfInteraction`
 * (with and without query weights, two segments, passages without kept tokens, candidates that are
 * a subset of the index), the TypeScript codes kernel within float32 rounding, the choice between
 * the two paths by entries read, and argument errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels, type Kernels } from '../src/kernels/index.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { candidateTokens, ivfEntriesOf, ivfPrunedInteraction, keptCentroids, prunedInteractionScores } from '../src/search/centroid-pruned-interaction.js';
import { interactionScores, type EncodedQuery, type ScoringArrays } from '../src/search/plaid.js';
import { needsNative, requireNative } from './helpers/requirements.js';

/** An index of the given passages' codes (one segment per entry of `split`), with its IVF (centroid → sorted unique pids). */
function arraysOf(docs: number[][], nCentroids: number, split: number[] = [docs.length]): ScoringArrays {
  const doclens = Int32Array.from(docs, (d) => d.length);
  const tokenStarts = new Int32Array(docs.length);
  const segments: ScoringArrays['segments'] = [];
  let pid = 0;
  for (const passages of split) {
    const codes: number[] = [];
    for (let p = pid; p < pid + passages; p++) {
      tokenStarts[p] = codes.length;
      codes.push(...docs[p]!);
    }
    segments.push({ firstPid: pid, passages, codes: Int32Array.from(codes), residuals: new Uint8Array(codes.length * 32) });
    pid += passages;
  }
  const lists: number[][] = Array.from({ length: nCentroids }, () => []);
  docs.forEach((d, p) => new Set(d).forEach((c) => lists[c]!.push(p)));
  const ivfOffsets = new Float64Array(nCentroids + 1);
  lists.forEach((l, c) => (ivfOffsets[c + 1] = ivfOffsets[c]! + l.length));
  return { dim: 128, nbits: 2, nCentroids, centroids: new Float32Array(nCentroids * 128), weights: new Float32Array(4), doclens, tokenStarts, segments, ivf: Int32Array.from(lists.flat()), ivfOffsets };
}

test('hand-computed: three centroids, two query tokens, one passage without kept tokens', () => {
  // S (K × qLen): c0 (0.9, 0.1), c1 (0.2, 0.8), c2 (0.7, 0.7); keep c0 and c1 only.
  const s = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.7, 0.7]);
  const keep = Uint8Array.from([1, 1, 0]);
  // pid 0: codes c0 c2 → kept c0 only: 0.9 + 0.1; pid 1: c1 c0 c1 → max(0.2, 0.9) + max(0.8, 0.1); pid 2: c2 → no kept token: 0.
  const a = arraysOf([[0, 2], [1, 0, 1], [2]], 3);
  const q: EncodedQuery = { vectors: new Float32Array(256), length: 2, weights: null };
  for (const kernels of allKernels()) {
    const out = ivfPrunedInteraction(a, s, q, Int32Array.from([0, 1, 2]), keptCentroids(keep), kernels);
    assert.deepEqual([...out], [Math.fround(Math.fround(0.9) + Math.fround(0.1)), Math.fround(Math.fround(0.9) + Math.fround(0.8)), 0], kernels.name);
    // Weights multiply each token's maximum: 2 · 0.9 + 0.5 · 0.1.
    const w = ivfPrunedInteraction(a, s, { ...q, weights: new Float32Array([2, 0.5]) }, Int32Array.from([0]), keptCentroids(keep), kernels);
    assert.equal(w[0], Math.fround(Math.fround(2 * Math.fround(0.9)) + Math.fround(0.5 * Math.fround(0.1))), kernels.name);
  }
});

function allKernels(): Kernels[] {
  const native = nativeKernels();
  return native === null ? [typescriptKernels] : [typescriptKernels, native];
}

function randomCase(seed: number, nDocs: number, nCentroids: number, qLen: number, keepShare: number): { a: ScoringArrays; s: Float32Array; keep: Uint8Array; pids: Int32Array } {
  const rnd = mulberry32(seed);
  const docs = Array.from({ length: nDocs }, () => Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * nCentroids)));
  const a = arraysOf(docs, nCentroids, [Math.floor(nDocs / 3), nDocs - Math.floor(nDocs / 3)]);
  const s = Float32Array.from({ length: nCentroids * qLen }, () => rnd() * 2 - 1);
  const keep = Uint8Array.from({ length: nCentroids }, () => (rnd() < keepShare ? 1 : 0));
  const pids = Int32Array.from({ length: nDocs }, (_, p) => p).filter(() => rnd() < 0.6);
  return { a, s, keep, pids };
}

test('the native codes kernel, bit for bit: qLen around the 16 lanes, with and without weights, sparse and dense pruning', { skip: needsNative() }, () => {
  const native: Kernels = requireNative();
  let seed = 1;
  for (const qLen of [1, 15, 16, 17, 32]) {
    for (const keepShare of [0.02, 0.3, 1]) {
      const { a, s, keep, pids } = randomCase(seed++, 300, 257, qLen, keepShare);
      const rnd = mulberry32(seed);
      for (const weights of [null, Float32Array.from({ length: qLen }, () => rnd() * 3)]) {
        const q: EncodedQuery = { vectors: new Float32Array(qLen * 128), length: qLen, weights };
        const want = interactionScores(a, s, q, pids, keep, native);
        for (const kernels of [native, typescriptKernels]) {
          const got = ivfPrunedInteraction(a, s, q, pids, keptCentroids(keep), kernels);
          assert.equal(got.length, pids.length);
          for (let j = 0; j < pids.length; j++) assert.ok(Object.is(got[j], want[j]), `${kernels.name} qLen ${qLen} keep ${keepShare} pid ${pids[j]}: ${got[j]} vs ${want[j]}`);
        }
        // Both paths of the chooser give the same bits.
        const chosen = prunedInteractionScores(a, s, q, pids, keep, native, interactionScores);
        assert.deepEqual([...chosen], [...want]);
      }
    }
  }
});

test('the TypeScript codes kernel within float32 rounding (it sums in float64)', () => {
  const { a, s, keep, pids } = randomCase(99, 200, 64, 32, 0.2);
  const q: EncodedQuery = { vectors: new Float32Array(32 * 128), length: 32, weights: null };
  const want = interactionScores(a, s, q, pids, keep, typescriptKernels);
  const got = ivfPrunedInteraction(a, s, q, pids, keptCentroids(keep), typescriptKernels);
  let zeros = 0;
  for (let j = 0; j < pids.length; j++) {
    assert.ok(Math.abs(got[j]! - want[j]!) <= 1e-5 * Math.max(1, Math.abs(want[j]!)), `pid ${pids[j]}: ${got[j]} vs ${want[j]}`);
    if (want[j] === 0) zeros++;
  }
  assert.ok(zeros < pids.length, 'some passage has a kept token');
});

test('the chooser reads the IVF when the kept lists are shorter than the candidates’ tokens, the codes otherwise', () => {
  const { a, s, pids } = randomCase(7, 100, 50, 4, 0);
  const q: EncodedQuery = { vectors: new Float32Array(4 * 128), length: 4, weights: null };
  let codesCalls = 0;
  const codesPath = (...args: Parameters<typeof interactionScores>): Float32Array => {
    codesCalls++;
    return interactionScores(...args);
  };
  const few = new Uint8Array(50);
  few[3] = 1;
  assert.ok(ivfEntriesOf(a, keptCentroids(few)) < candidateTokens(a, pids));
  prunedInteractionScores(a, s, q, pids, few, typescriptKernels, codesPath);
  assert.equal(codesCalls, 0);
  const all = new Uint8Array(50).fill(1);
  assert.ok(ivfEntriesOf(a, keptCentroids(all)) >= candidateTokens(a, pids));
  prunedInteractionScores(a, s, q, pids, all, typescriptKernels, codesPath);
  assert.equal(codesCalls, 1);
});

test('no candidates, or an empty query: zeros of the right length', () => {
  const a = arraysOf([[0, 1]], 2);
  const keep = Uint8Array.from([1, 1]);
  for (const kernels of allKernels()) {
    assert.deepEqual([...ivfPrunedInteraction(a, new Float32Array(0), { vectors: new Float32Array(0), length: 0, weights: null }, Int32Array.from([0]), keptCentroids(keep), kernels)], [0]);
    assert.equal(ivfPrunedInteraction(a, new Float32Array(2), { vectors: new Float32Array(128), length: 1, weights: null }, new Int32Array(0), keptCentroids(keep), kernels).length, 0);
  }
});

test('keptCentroids: the set bytes of a mask, at every length and offset around the 4-byte words', () => {
  const r = mulberry32(3);
  for (const len of [0, 1, 3, 4, 5, 8, 13, 64, 131]) {
    for (const offset of [0, 1, 4]) {
      const buf = new Uint8Array(len + offset);
      const mask = buf.subarray(offset);
      for (let i = 0; i < len; i++) mask[i] = r() < 0.2 ? 1 + Math.floor(r() * 3) : 0;
      const want = [...mask.keys()].filter((i) => mask[i] !== 0);
      assert.deepEqual([...keptCentroids(mask)], want, `len ${len} offset ${offset}`);
    }
  }
});

test('bad arguments: INVALID_ARGUMENT on both implementations', () => {
  const s = new Float32Array(4 * 2);
  const ok = { kept: Int32Array.from([1]), bounds: Int32Array.from([0, 2]), entries: Int32Array.from([3, 5]), pids: Int32Array.from([3, 5]) };
  for (const kernels of allKernels()) {
    const call = (o: Partial<typeof ok>): void => {
      const x = { ...ok, ...o };
      kernels.ivfInteraction(s, 2, x.kept, x.bounds, x.entries, x.pids, new Float32Array(x.pids.length));
    };
    call({});
    for (const bad of [{ kept: Int32Array.from([4]) }, { bounds: Int32Array.from([0, 3]) }, { bounds: Int32Array.from([0]) }, { pids: Int32Array.from([5, 3]) }, { pids: Int32Array.from([3, 3]) }]) {
      assert.throws(() => call(bad), (e: unknown) => isPlaitError(e) && e.code === 'INVALID_ARGUMENT', `${kernels.name} ${JSON.stringify(bad)}`);
    }
  }
});
