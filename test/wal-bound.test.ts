/**
 * A served store's WAL stays bounded (DocStoreReader.refoldWal, called by PlaitIndex.refresh): a
 * reader that always holds a snapshot taken just after the latest write kept SQLite from ever
 * restarting the WAL, which grew by every write's pages for as long as the server ran.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { listedFiles } from '../src/format/manifest.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc } from './helpers/living.js';
import { DocStoreReader } from '../src/docstore/docstore-reader.js';

const DIM = 32;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-wal-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a reader refreshed after every write keeps the WAL bounded, and serves each write', async () => {
  const path = join(dir, 'idx');
  await buildSynthetic(path, syntheticPassages(40, DIM, 5, 64, 0.35).passages, DIM);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 11 });
  updateIndex(path, { add: [encodedDoc('first', gen.passage(20))] }); // the store is in place (WAL) from here
  const store = join(path, listedFiles(readManifest(path)).find((f) => f.entry.inPlace === true)!.name);
  const index = await openIndex(path);
  const wal: number[] = [];
  try {
    for (let k = 0; k < 30; k++) {
      const v = gen.passage(20);
      updateIndex(path, { add: [encodedDoc(`n${k}`, v, { k })] });
      assert.equal(await index.refresh(), true);
      const hit = index.searchEncoded('', v, { topK: 1, exhaustive: true, includeText: true }).hits[0]!;
      assert.deepEqual([hit.docId, hit.metadata], [`n${k}`, { k }], 'the write is served, its document fetched');
      wal.push(statSync(`${store}-wal`).size);
    }
  } finally {
    await index.close();
  }
  assert.equal(readManifest(path).counts.documents, 40 + 1 + 30);
  // Without refoldWal the WAL grows by each write's pages (linearly: ~8x between write 4 and 30).
  assert.ok(wal[29]! <= 2 * wal[3]!, `WAL sizes after each write: ${wal.join(' ')}`);
});

test('refoldWal never moves a reader past its commit: after a newer write it declines', async () => {
  const path = join(dir, 'declines');
  await buildSynthetic(path, syntheticPassages(20, DIM, 5, 64, 0.35).passages, DIM);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 12 });
  updateIndex(path, { add: [encodedDoc('first', gen.passage(20))] });
  const store = join(path, listedFiles(readManifest(path)).find((f) => f.entry.inPlace === true)!.name);
  const reader = new DocStoreReader(store);
  try {
    updateIndex(path, { add: [encodedDoc('late', gen.passage(20))] });
    assert.equal(reader.refoldWal(), false, 'a write committed after the snapshot');
    assert.deepEqual(reader.getDocuments(['late']), [null], 'the reader still sees its own commit');
  } finally {
    reader.close();
  }
  const fresh = new DocStoreReader(store);
  try {
    assert.equal(fresh.refoldWal(), true);
    assert.equal(fresh.getDocuments(['late'])[0]?.docId, 'late');
  } finally {
    fresh.close();
  }
});
