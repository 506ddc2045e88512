/**
 * Two shortcuts of plaidSearch's candidate generation (issue 22 part F): probeAndMask's one pass for a
 * longer list (`wideCells`, probed-token ranking's estimate cells) gives the same probes and mask as
 * without it and the list Kernels.probeCentroids gives; ivfUnion's pass over the marks (a union that is
 * a large share of the index) gives what its sort gives, deleted passages left out and marked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, typescriptKernels } from '../src/kernels/index.js';
import { mulberry32 } from '../src/util/random.js';
import { ivfUnion, probeAndMask, scratchMarks, type ScoringArrays } from '../src/search/plaid.js';

test('probeAndMask with wideCells: the same probes and mask, the wide list is probeCentroids over that many cells', () => {
  const rnd = mulberry32(3);
  for (const k of nativeKernels() === null ? [typescriptKernels] : [typescriptKernels, nativeKernels()!]) {
    for (let trial = 0; trial < 40; trial++) {
      const nCentroids = 8 + Math.floor(rnd() * 200);
      const qLen = 1 + Math.floor(rnd() * 9);
      // Ties (multiples of 1/16) so the order among equal scores is tested too.
      const s = Float32Array.from({ length: nCentroids * qLen }, () => Math.floor(rnd() * 32) / 16 - 1);
      const nProbe = 1 + Math.floor(rnd() * 4);
      const total = rnd() < 0.5 ? undefined : 16;
      const wideCells = 1 + Math.floor(rnd() * 60);
      const plain = probeAndMask(s, nCentroids, qLen, nProbe, 0.25, undefined, total, k);
      const withWide = probeAndMask(s, nCentroids, qLen, nProbe, 0.25, undefined, total, k, undefined, undefined, wideCells);
      assert.deepEqual(withWide.probed, plain.probed, `${k.name} trial ${trial} probes`);
      assert.deepEqual(withWide.keep, plain.keep, `${k.name} trial ${trial} mask`);
      const p = plain.probed.length / qLen;
      if (Math.min(nCentroids, wideCells) <= p) {
        assert.equal(withWide.wide, undefined, `${k.name} trial ${trial}: no longer list than the probes`);
        continue;
      }
      const m = Math.min(nCentroids, wideCells);
      const direct = new Int32Array(qLen * m);
      k.probeCentroids(s, nCentroids, qLen, m, 0, direct, new Uint8Array(nCentroids));
      assert.equal(withWide.wide?.cells, m);
      assert.deepEqual(withWide.wide?.ids, direct, `${k.name} trial ${trial} wide list`);
    }
  }
});

/** A small IVF: passage p lists in cell p % 5, in cell 5 when p % 13 = 0 and in cell 6 when p % 97 = 0. */
function tinyArrays(nPassages: number, tombstones: number[]): ScoringArrays {
  const lists: number[][] = Array.from({ length: 7 }, () => []);
  for (let p = 0; p < nPassages; p++) {
    lists[p % 5]!.push(p);
    if (p % 13 === 0) lists[5]!.push(p);
    if (p % 97 === 0) lists[6]!.push(p);
  }
  const ivfOffsets = new Float64Array(8);
  lists.forEach((l, c) => (ivfOffsets[c + 1] = ivfOffsets[c]! + l.length));
  const t = new Uint8Array(Math.ceil(nPassages / 8));
  for (const pid of tombstones) t[pid >> 3]! |= 1 << (pid & 7);
  return {
    dim: 8,
    nbits: 2,
    nCentroids: 7,
    centroids: new Float32Array(56),
    weights: new Float32Array(4),
    doclens: new Int32Array(nPassages).fill(1),
    tokenStarts: Int32Array.from({ length: nPassages }, (_, p) => p),
    segments: [],
    ivf: Int32Array.from(lists.flat()),
    ivfOffsets,
    tombstones: t,
  };
}

test('ivfUnion: sorted unique pids of the cells, deleted passages out and still marked, by sort and by the marks pass alike', () => {
  // Cell 6 alone (~1/97 of the passages) takes the sort, the others (≥ 1/16) the marks pass.
  for (const nPassages of [2000, 20000]) {
    const dead = [0, 5, 6, 10, 97, 1999];
    const a = tinyArrays(nPassages, dead);
    for (const cells of [[6], [6, 6, -1], [0], [5, 6], [1, 6, -1], [2, 3, 4]]) {
      const mark = scratchMarks(a);
      const before = Uint8Array.from(mark);
      const got = ivfUnion(a, Int32Array.from(cells), mark);
      const want = [...new Set(cells.filter((c) => c >= 0).flatMap((c) => [...a.ivf.subarray(a.ivfOffsets[c]!, a.ivfOffsets[c + 1]!)]))].filter((p) => !dead.includes(p)).sort((x, y) => x - y);
      assert.deepEqual([...got], want, `${nPassages} passages, cells ${cells}`);
      assert.deepEqual(mark, before, `${nPassages} passages, cells ${cells}: the marks are as they were`);
    }
  }
});
