/**
 * Writes that cost what they change (issue 20): an add writes its own doclens and IVF lists as a
 * delta, a delete writes no doclens or IVF at all, and the merged arrays a reader sees are exactly
 * those of the old rewrite-everything path (deltaMergeShare 0), write after write, folds included.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIndexData } from '../src/format/index-reader.js';
import { readManifest } from '../src/format/index-reader.js';
import type { FsOp } from '../src/format/index-transaction.js';
import { updateIndex, type UpdateRequest } from '../src/mutate/index-updater.js';
import { getKernels } from '../src/kernels/index.js';
import { openIndex } from '../src/search/plait-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { asLegacyBuild, encodedDoc } from './helpers/living.js';

const DIM = 32;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-write-cost-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('deltas give a reader exactly the arrays of rewriting everything, through adds, deletes and folds', async () => {
  const base = join(dir, 'base');
  await buildSynthetic(base, syntheticPassages(200, DIM, 3, 32, 0.35).passages, DIM);
  const rewrite = join(dir, 'rewrite');
  const delta = join(dir, 'delta');
  cpSync(base, rewrite, { recursive: true });
  cpSync(base, delta, { recursive: true });
  const gen = new SyntheticVectors({ dim: DIM, clusters: 32, spread: 0.35, seed: 8 });
  const writes: UpdateRequest[] = [];
  for (let w = 0; w < 8; w++) {
    writes.push({ add: Array.from({ length: 3 + w * 2 }, (_, i) => encodedDoc(`w${w}-${i}`, gen.passage(10 + ((i * 7) % 20)))), delete: w % 3 === 2 ? [`d${w}`, `w${w - 1}-0`] : [] });
  }
  let sawDeltas = 0;
  let sawFold = false;
  for (const req of writes) {
    updateIndex(rewrite, req, { deltaMergeShare: 0, autoCompactShare: 1 });
    const before = readManifest(delta).deltas?.length ?? 0;
    updateIndex(delta, req, { autoCompactShare: 1 });
    const now = readManifest(delta).deltas?.length ?? 0;
    sawDeltas = Math.max(sawDeltas, now);
    if (now < before) sawFold = true;
    assert.equal(readManifest(rewrite).deltas, undefined);
    const a = loadIndexData(rewrite, getKernels(), { verify: 'full' });
    const b = loadIndexData(delta, getKernels(), { verify: 'full' });
    assert.deepEqual(b.doclens, a.doclens);
    assert.deepEqual(b.ivfOffsets, a.ivfOffsets);
    assert.deepEqual(b.ivf, a.ivf);
  }
  assert.ok(sawDeltas >= 2 && sawFold, `deltas accumulated (${sawDeltas}) and were folded into a new base`);
  const [ra, rb] = [await openIndex(rewrite), await openIndex(delta)];
  try {
    for (let q = 0; q < 5; q++) {
      const query = gen.passage(8);
      assert.deepEqual(rb.searchEncoded('', query, { topK: 10 }).hits.map((h) => h.docId), ra.searchEncoded('', query, { topK: 10 }).hits.map((h) => h.docId));
    }
  } finally {
    await ra.close();
    await rb.close();
  }
});

test("a delete writes no doclens or IVF; an add writes doclens and IVF for its own passages only; a build's store is changed in place from the first write (an older build's is copied once)", async () => {
  const path = join(dir, 'ops');
  await buildSynthetic(path, syntheticPassages(300, DIM, 4, 32, 0.35).passages, DIM);
  const created = (req: UpdateRequest, at = path): string[] => {
    const names: string[] = [];
    updateIndex(at, req, { autoCompactShare: 1, onOp: (op: FsOp) => void (op.op === 'create' && !op.name.includes('.tmp-') && names.push(op.name)) });
    return names.sort();
  };
  // A build's store is born in place (schema 4, WAL): the first write changes it, no copy.
  const docs = readManifest(path).fileNames?.docstore ?? 'docs.sqlite';
  const first = created({ delete: ['d0'] });
  assert.deepEqual(first.map((n) => n.split('.')[0]).sort(), ['tombstones'], "the first write on a build does not copy its store");
  assert.equal(readManifest(path).fileNames?.docstore ?? 'docs.sqlite', docs);
  // A build from before (rollback journal, listed with its CRC) is copied once, into an in-place store.
  const legacy = join(dir, 'ops-legacy');
  await buildSynthetic(legacy, syntheticPassages(300, DIM, 4, 32, 0.35).passages, DIM);
  asLegacyBuild(legacy);
  assert.deepEqual(created({ delete: ['d0'] }, legacy).map((n) => n.split('.')[0]).sort(), ['docs', 'tombstones']);
  assert.deepEqual(created({ delete: ['d1'] }, legacy).map((n) => n.split('.')[0]).sort(), ['tombstones'], 'then in place');
  const del = created({ delete: ['d1', 'd2'] });
  assert.deepEqual(del.map((n) => n.split('.')[0]).sort(), ['tombstones'], 'the document store is changed in place');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 32, spread: 0.35, seed: 9 });
  const add = created({ add: [encodedDoc('x', gen.passage(12)), encodedDoc('y', gen.passage(20))] });
  assert.deepEqual(add.map((n) => n.split('.')[0]).sort(), ['codes', 'doclens', 'ivf', 'ivf-offsets', 'residuals', 'tombstones']);
  const m = readManifest(path);
  assert.equal(m.fileNames?.docstore ?? 'docs.sqlite', docs, 'the same store, written in place');
  assert.equal(m.files.docstore.inPlace, true);
  const d = m.deltas!.at(-1)!;
  assert.equal(d.doclens.entry.bytes, 2 * 4, 'doclens of the two added passages only');
  assert.ok(d.ivf.entry.bytes <= (12 + 20) * 4, 'IVF entries of the added passages only');
  assert.equal(m.files.doclens.bytes, 300 * 4, 'the base doclens is not rewritten');
  // While no deleted passage awaits compaction there is no bitmap to write: an add to a build, or
  // after a compaction, writes none (a build's manifest has none either).
  const append = join(dir, 'append');
  await buildSynthetic(append, syntheticPassages(300, DIM, 4, 32, 0.35).passages, DIM);
  const appended = created({ add: [encodedDoc('z', gen.passage(9))] }, append);
  assert.deepEqual(appended.map((n) => n.split('.')[0]).sort(), ['codes', 'doclens', 'ivf', 'ivf-offsets', 'residuals']);
  assert.equal(readManifest(append).tombstones, undefined);
  assert.deepEqual(created({ delete: ['z'] }, append).map((n) => n.split('.')[0]), ['tombstones'], 'a delete writes the bitmap');
  assert.equal(readManifest(append).tombstones!.deleted, 1);
});
