/**
 * Calibration on a living index (issue 20): after deletes and adds, document rowids have gaps and
 * run past the live document count. The replay must rank only live passages (the exhaustive
 * reference included), size its per-document scratch by the rowid span, and match plaidSearch at
 * every grid point; pseudo-queries come from live documents only; the record is committed through
 * the index transaction and refused when the content it measured is no longer the committed one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { getKernels } from '../src/kernels/index.js';
import { plaidSearch, scratchMarks, type EncodedQuery } from '../src/search/plaid.js';
import { PlaidReplayer } from '../src/calibrate/plaid-replay.js';
import { drawPseudoQueries } from '../src/calibrate/pseudo-queries.js';
import { writeCalibration, type IndexCalibration } from '../src/format/calibration-record.js';
import { commitIdOf, contentCommitOf } from '../src/format/index-transaction.js';
import { readManifest } from '../src/format/index-reader.js';
import { updateIndex, type EncodedDocument } from '../src/mutate/index-updater.js';
import { isPlaitError } from '../src/errors/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { Random } from '../src/util/random.js';

const DIM = 32;
let dir: string;
let path: string;
let passages: TokenEmbeddings[];

/** Words unique to document `i` ("qbaa", "qbab", …: content words, no digits). */
function wordsOf(i: number, n: number): string {
  const tag = (x: number): string => String.fromCharCode(97 + (x % 26)) + String.fromCharCode(97 + (Math.floor(x / 26) % 26));
  return Array.from({ length: n }, (_, j) => `q${tag(i)}${tag(j)}`).join(' ');
}

const docOf = (id: string, i: number, e: TokenEmbeddings): EncodedDocument => ({ doc: { docId: id, title: '', text: wordsOf(i, 24) }, passages: [{ start: 0, end: 0 }], embeddings: [e] });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-calib-living-'));
  path = join(dir, 'idx');
  passages = syntheticPassages(160, DIM, 5, 32, 0.35).passages;
  await buildSynthetic(path, passages, DIM);
  // Living: the first 60 documents deleted, 70 added with copies of their vectors (so a deleted
  // passage would score as well as a live one), the newest rowids past the live count.
  updateIndex(path, { delete: Array.from({ length: 60 }, (_, i) => `d${i}`) }, { autoCompactShare: 1 });
  updateIndex(path, { add: Array.from({ length: 70 }, (_, i) => docOf(`n${i}`, 1000 + i, passages[i % 60]!)) }, { autoCompactShare: 1 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function queryFrom(p: TokenEmbeddings, rng: Random): EncodedQuery {
  const n = 6;
  const v = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const j = rng.int(p.length);
    let norm = 0;
    for (let k = 0; k < DIM; k++) {
      const x = p.vectors[j * DIM + k]! + 0.3 * rng.normal();
      v[i * DIM + k] = x;
      norm += x * x;
    }
    for (let k = 0; k < DIM; k++) v[i * DIM + k]! /= Math.sqrt(norm);
  }
  return { vectors: v, length: n, weights: null };
}

test('the replay on a living index ranks live passages only, sees rowids past the live count, and matches plaidSearch at every point', async () => {
  const index = await openIndex(path);
  try {
    const store = index.docstore;
    assert.equal(store.nDocuments, 170);
    assert.ok(store.rowidSpan > store.nDocuments, `rowids run past the live count (${store.rowidSpan} > ${store.nDocuments})`);
    const kernels = getKernels();
    const a = index.scoringArrays;
    const K = index.manifest.counts.centroids;
    // The last grid point probes every cell without pruning and keeps every candidate: PLAID is exhaustive there.
    const grid = { nIvfProbe: [1, 4, K], centroidScoreThreshold: [0.5, -1], ndocs: [16, 4096], centroidScoreMargin: [null], nIvfProbeTotal: [null], ndocsQueryTokens: [null] };
    const replayer = new PlaidReplayer({ arrays: a, kernels, pidToDoc: store.pidToDoc, docSpan: store.rowidSpan, grid, bucketK: [10, 100] });
    const tomb = a.tombstones!;
    const dead = (pid: number): boolean => (tomb[pid >> 3]! & (1 << (pid & 7))) !== 0;
    const mark = scratchMarks(a);
    const rng = new Random(5);
    const exhaustivePoint = replayer.points.findIndex((p) => p.nIvfProbe === K && p.centroidScoreThreshold === -1 && p.ndocs === 4096);
    let compared = 0;
    let newestSeen = 0;
    // Queries about deleted passages (whose copies are live under new rowids) and about kept ones.
    for (const src of [0, 5, 17, 33, 59, 70, 100, 150]) {
      const q = queryFrom(passages[src]!, rng);
      const r = replayer.replay(q, (point, survivors, exact) => {
        for (const pid of survivors) assert.ok(!dead(pid), `point ${point}: deleted passage ${pid} is a candidate`);
        const real = plaidSearch(a, q, replayer.points[point]!, kernels, mark).hits;
        const got = [...survivors].map((pid, i) => [pid, exact[i]!] as const).sort((x, y) => y[1] - x[1] || x[0] - y[0]);
        const want = [...real.pids].map((pid, i) => [pid, real.scores[i]!] as const).sort((x, y) => y[1] - x[1] || x[0] - y[0]);
        assert.deepEqual(got, want);
        if (point === exhaustivePoint) for (const pid of survivors) if (store.pidToDoc[pid]! >= store.nDocuments) newestSeen++;
        compared++;
      });
      // At the exhaustive point PLAID finds the whole exhaustive top-k: the reference holds no deleted passage.
      assert.deepEqual([...r.found.subarray(exhaustivePoint * 2, exhaustivePoint * 2 + 2)], [...r.total], `query from ${src}`);
      assert.deepEqual([...r.total], [10, 100]);
    }
    assert.equal(compared, 8 * replayer.points.length);
    assert.ok(newestSeen > 0, 'documents with rowids past the live count are ranked');
  } finally {
    await index.close();
  }
});

test('pseudo-queries are drawn from live documents only, the newest rowids included', async () => {
  const index = await openIndex(path);
  try {
    const qs = drawPseudoQueries(index.docstore, { count: 200, seed: 3 });
    assert.ok(qs.length > 50, `${qs.length} queries`);
    const owner = (w: string): number => {
      for (let i = 1000; i < 1070; i++) if (wordsOf(i, 24).split(' ').includes(w)) return i;
      return -1;
    };
    // Only the added documents have text; every word of every query is one of theirs.
    const owners = new Set<number>();
    for (const q of qs) for (const w of q.text.split(' ')) {
      const o = owner(w);
      assert.ok(o >= 1000, `"${w}" of "${q.text}" comes from no live document`);
      owners.add(o);
    }
    assert.ok([...owners].some((o) => 160 + (o - 1000) >= 170), 'some queries come from documents whose rowid is past the live count');
  } finally {
    await index.close();
  }
});

test('a calibration record is a commit (new commit id, same content id) and is refused once the content it measured changed', () => {
  const before = readManifest(path);
  const record = { createdAt: 'now', target: 0.99, source: 'corpus', queries: 1, queriesByKind: {}, gridPoints: 1, costMs: 1, budgetMs: 1, truncated: false, documents: 170, passages: before.counts.passages, buckets: [] } as IndexCalibration;
  const measured = contentCommitOf(before);
  const after1 = writeCalibration(path, record, { measured });
  assert.notEqual(commitIdOf(after1), commitIdOf(before), 'readers see a new commit');
  assert.equal(after1.generation, (before.generation ?? 0) + 1);
  assert.equal(contentCommitOf(after1), measured, 'the content it measured is still the committed one');
  assert.deepEqual(readManifest(path).calibration, record);
  // A second record on the same measurement is fine; after a write, the old measurement is refused.
  writeCalibration(path, { ...record, createdAt: 'later' }, { measured });
  updateIndex(path, { add: [docOf('late', 2000, passages[3]!)] }, { autoCompactShare: 1 });
  assert.throws(() => writeCalibration(path, record, { measured }), (e) => isPlaitError(e, 'INDEX_CHANGED'));
  assert.equal(readManifest(path).calibration?.createdAt, 'later', 'the refused record changed nothing');
});
