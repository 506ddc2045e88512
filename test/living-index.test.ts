/**
 * Living index (issue 12): generations, add/upsert/delete, tombstones, compaction, the write lock,
 * readers that keep their generation until refresh(), and a property test against a Map model.
 * Synthetic embeddings (buildIndexFromEmbeddings) keep it fast; living-text.test.ts drives the
 * same writes through the bundled model, BM25, hybrid, rerank, explain and the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { updateIndex, compactIndex } from '../src/mutate/index-updater.js';
import { acquireWriteLock, lockKind, LOCK_BREAK_FILE, LOCK_FILE, LOCK_RECORD_FILE } from '../src/format/write-lock.js';
import { isPlaitError } from '../src/errors/index.js';
import { Random } from '../src/util/random.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc, strayFiles } from './helpers/living.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { plaidSearch, scratchMarks } from '../src/search/plaid.js';
import { getKernels } from '../src/kernels/index.js';
import { livingInfoLines } from '../src/cli/commands/index-commands.js';
import { DRIFT_DEFAULTS, LIVING_DEFAULTS } from '../src/config/defaults.js';
import { loadIndexData } from '../src/format/index-reader.js';

const DIM = 32;
let dir: string;
let base: TokenEmbeddings[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-living-'));
  base = syntheticPassages(80, DIM, 5, 64, 0.35).passages;
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function fresh(name: string): Promise<string> {
  const path = join(dir, name);
  await buildSynthetic(path, base, DIM);
  return path;
}

test('a write commits a new generation; an open reader keeps its own until refresh()', async () => {
  const path = await fresh('gen');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 99 });
  const added = Array.from({ length: 5 }, () => gen.passage(20));
  const reader = await openIndex(path);
  try {
    assert.equal(reader.generation, 0);
    const r = updateIndex(path, { add: added.map((e, i) => encodedDoc(`n${i}`, e)), delete: ['d3', 'nope'] });
    assert.deepEqual([r.generation, r.added, r.replaced, r.deleted, r.missing], [1, 5, 0, 1, ['nope']]);
    const m = readManifest(path);
    assert.deepEqual(m.counts.documents, 84);
    assert.equal(m.counts.passages, 85);
    // The old reader still serves generation 0: d3 is there, n0 is not.
    const old = reader.searchEncoded('', base[3]!, { topK: 3, exhaustive: true });
    assert.equal(old.hits[0]!.docId, 'd3');
    assert.ok(!reader.searchEncoded('', added[0]!, { topK: 10, exhaustive: true }).hits.some((h) => h.docId.startsWith('n')));
    assert.equal(await reader.refresh(), true);
    assert.equal(reader.generation, 1);
    assert.equal(await reader.refresh(), false);
    for (const exhaustive of [true, false]) {
      const hits = reader.searchEncoded('', base[3]!, { topK: 84, exhaustive }).hits;
      assert.ok(!hits.some((h) => h.docId === 'd3'), 'a deleted document never comes back');
      added.forEach((e, i) => {
        const top = reader.searchEncoded('', e, { topK: 1, exhaustive }).hits[0]!;
        assert.equal(top.docId, `n${i}`);
        assert.equal(top.pid, 80 + i, 'new passages take the next pids');
      });
    }
    // Every live document still comes back when topK asks for all of them (widening skips tombstones).
    assert.equal(reader.searchEncoded('', base[0]!, { topK: 100 }).hits.length, 84);
    assert.deepEqual(strayFiles(path), []);
  } finally {
    await reader.close();
  }
});

test('an id listed twice, or listed and matched by the filter, is deleted once and never reported missing', async () => {
  const path = await fresh('dup-ids');
  const r = updateIndex(path, { delete: ['d3', 'd3', 'nope', 'd4', 'nope'], deleteWhere: { doc_id: { $in: ['d4', 'd6'] } } });
  assert.deepEqual([r.deleted, r.missing], [3, ['nope']]);
  assert.equal(readManifest(path).counts.documents, 77);
});

test('upsert replaces a document: the old version is never returned; noReplace refuses with DOCUMENT_EXISTS', async () => {
  const path = await fresh('upsert');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 7 });
  const v2 = gen.passage(25);
  assert.throws(
    () => updateIndex(path, { add: [encodedDoc('new', v2), encodedDoc('d5', v2)], noReplace: true }),
    (e) => isPlaitError(e, 'DOCUMENT_EXISTS') && e.message === 'Document exists: "d5" (add[1]) is already in the index, and noReplace refuses to replace it' && e.details?.['position'] === 1,
  );
  assert.equal(readManifest(path).generation, undefined, 'a refused write commits nothing');
  assert.deepEqual(strayFiles(path), [], 'and leaves no file behind');
  assert.throws(() => updateIndex(path, { add: [encodedDoc('x', v2), encodedDoc('x', v2)] }), (e) => isPlaitError(e, 'DUPLICATE_ID'));
  const r = updateIndex(path, { add: [encodedDoc('d5', v2)] });
  assert.deepEqual([r.added, r.replaced], [0, 1]);
  const index = await openIndex(path);
  try {
    for (const q of [base[5]!, v2]) {
      const hits = index.searchEncoded('', q, { topK: 80, exhaustive: true }).hits;
      const d5 = hits.filter((h) => h.docId === 'd5');
      assert.equal(d5.length, 1);
      assert.equal(d5[0]!.pid, 80, 'only the new version\'s passage scores');
    }
    assert.equal(index.searchEncoded('', v2, { topK: 1 }).hits[0]!.docId, 'd5');
    assert.equal(index.manifest.counts.documents, 80);
  } finally {
    await index.close();
  }
});

test('compaction drops tombstones, renumbers pids densely and keeps every live result', async () => {
  const path = await fresh('compact');
  updateIndex(path, { delete: ['d1', 'd2', 'd40'] }, { autoCompactShare: 1 });
  const before = await openIndex(path);
  const queries = [base[0]!, base[10]!, base[50]!, base[79]!];
  const want = queries.map((q) => before.searchEncoded('', q, { topK: 10, exhaustive: true }).hits.map((h) => [h.docId, h.score]));
  await before.close();
  const m = compactIndex(path);
  assert.equal(m.counts.passages, 77);
  assert.equal(m.tombstones, undefined);
  assert.ok(m.segments.every((s) => s.stem !== undefined), 'fresh segments');
  const after = await openIndex(path);
  try {
    const got = queries.map((q) => after.searchEncoded('', q, { topK: 10, exhaustive: true }).hits.map((h) => [h.docId, h.score]));
    assert.deepEqual(got, want);
    assert.deepEqual(strayFiles(path), []);
  } finally {
    await after.close();
  }
});

test('automatic compaction past the tombstone share', async () => {
  const path = await fresh('auto');
  const r = updateIndex(path, { delete: Array.from({ length: 30 }, (_, i) => `d${i}`) }, { autoCompactShare: 0.25 });
  assert.equal(r.compacted, true);
  assert.equal(r.manifest.counts.passages, 50);
  assert.equal(readManifest(path).generation, 2);
});

test('one writer at a time (flock): INDEX_LOCKED for a second holder, even in the same process; a lock file left by a dead writer holds nothing', async () => {
  const path = await fresh('lock');
  assert.equal(lockKind(), 'flock', 'the native addon is built in this checkout, so writers lock with flock(2)');
  const lock = acquireWriteLock(path);
  try {
    assert.throws(() => acquireWriteLock(path), (e) => isPlaitError(e, 'INDEX_LOCKED') && new RegExp(`pid ${process.pid}`).test((e as Error).message));
    assert.throws(() => updateIndex(path, { delete: ['d1'] }), (e) => isPlaitError(e, 'INDEX_LOCKED'));
  } finally {
    lock.release();
  }
  // The record a killed holder leaves in write.lock names nobody: the kernel released its flock.
  writeFileSync(join(path, LOCK_FILE), JSON.stringify({ pid: 1, hostname: hostname(), startTicks: null, startedAt: 'then' }));
  assert.equal(updateIndex(path, { delete: ['d1'] }).deleted, 1);
});

test('one writer at a time (record fallback): a live holder refuses, a dead holder\'s record is broken, a dead breaker is not guessed about', async () => {
  const path = await fresh('lock-record');
  const lock = acquireWriteLock(path, 'record');
  try {
    assert.throws(() => acquireWriteLock(path, 'record'), (e) => isPlaitError(e, 'INDEX_LOCKED'));
  } finally {
    lock.release();
  }
  assert.ok(!existsSync(join(path, LOCK_RECORD_FILE)), 'release removes its own record');
  // A record held by a live process (pid 1 on this host) refuses the writer, naming the holder.
  writeFileSync(join(path, LOCK_RECORD_FILE), JSON.stringify({ pid: 1, hostname: hostname(), startTicks: null, startedAt: 'then', nonce: 'a' }));
  assert.throws(() => updateIndex(path, { delete: ['d1'] }, { lock: 'record' }), (e) => isPlaitError(e, 'INDEX_LOCKED') && /pid 1/.test((e as Error).message));
  // A record from a process that no longer exists is stale and broken.
  writeFileSync(join(path, LOCK_RECORD_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), startTicks: 1, startedAt: 'then', nonce: 'b' }));
  assert.equal(updateIndex(path, { delete: ['d1'] }, { lock: 'record' }).deleted, 1);
  assert.deepEqual(readdirSync(path).filter((n) => n.startsWith(LOCK_RECORD_FILE) || n.startsWith(LOCK_BREAK_FILE)), [], 'released, and no breaker leftovers');
  // A breaker that died while breaking leaves its record: refused, naming the file to remove.
  writeFileSync(join(path, LOCK_RECORD_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), startTicks: 1, startedAt: 'then', nonce: 'c' }));
  writeFileSync(join(path, LOCK_BREAK_FILE), JSON.stringify({ pid: 2 ** 22 + 12346, hostname: hostname(), startTicks: 1, startedAt: 'then', nonce: 'd' }));
  assert.throws(() => acquireWriteLock(path, 'record'), (e) => isPlaitError(e, 'INDEX_LOCKED') && (e as Error).message.includes(LOCK_BREAK_FILE));
});

test('property: random add/upsert/delete/compact against a Map model', async () => {
  const path = await fresh('model');
  const rng = new Random(2024);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 3 });
  // Model: docId → its current embedding and pid (pids assigned in order; compaction renumbers densely).
  const model = new Map<string, { emb: TokenEmbeddings; pid: number }>();
  base.forEach((e, i) => model.set(`d${i}`, { emb: e, pid: i }));
  let nPids = 80;
  let nextId = 0;
  const index = await openIndex(path);
  try {
    for (let step = 0; step < 14; step++) {
      const op = rng.int(10);
      if (op < 6) {
        const adds = Array.from({ length: 1 + rng.int(4) }, () => {
          const ids = [...model.keys()];
          const id = rng.int(3) === 0 && ids.length > 0 ? ids[rng.int(ids.length)]! : `m${nextId++}`;
          return { id, emb: gen.passage(gen.length(5, 30)) };
        });
        const unique = [...new Map(adds.map((a) => [a.id, a])).values()];
        updateIndex(path, { add: unique.map((a) => encodedDoc(a.id, a.emb)) }, { autoCompactShare: 1 });
        for (const a of unique) model.set(a.id, { emb: a.emb, pid: nPids++ });
      } else if (op < 9) {
        const ids = [...model.keys()];
        const del = Array.from({ length: 1 + rng.int(5) }, () => ids[rng.int(ids.length)]!);
        updateIndex(path, { delete: del }, { autoCompactShare: 1 });
        for (const id of del) model.delete(id);
      } else {
        compactIndex(path);
        const live = [...model.entries()].sort((a, b) => a[1].pid - b[1].pid);
        live.forEach(([, v], i) => (v.pid = i));
        nPids = live.length;
      }
      await index.refresh();
      assert.equal(index.manifest.counts.documents, model.size, `step ${step}: documents`);
      assert.equal(index.docstore.nDocuments, model.size);
      assert.equal(index.manifest.counts.passages, nPids);
      const probes = [...model.entries()].filter(() => rng.int(4) === 0).slice(0, 6);
      for (const [id, v] of probes) {
        for (const exhaustive of [true, false]) {
          const hits = index.searchEncoded('', v.emb, { topK: 10, exhaustive }).hits;
          assert.equal(hits[0]!.docId, id, `step ${step}: a live document's own vectors find it`);
          for (const h of hits) assert.equal(model.get(h.docId)?.pid, h.pid, `step ${step}: ${h.docId} is live and current`);
        }
      }
      assert.deepEqual(strayFiles(path), []);
    }
  } finally {
    await index.close();
  }
});

test('deleted passages never enter PLAID candidate generation (calling thread and workers)', async () => {
  const path = await fresh('candidates');
  updateIndex(path, { delete: Array.from({ length: 40 }, (_, i) => `d${i}`) }, { autoCompactShare: 1 });
  const index = await openIndex(path, { workers: 1 });
  try {
    const a = index.scoringArrays;
    const q = { vectors: base[3]!.vectors, length: base[3]!.length, weights: null };
    // Every cell probed, no pruning, every candidate kept: the candidates are exactly the live passages.
    const all = { nIvfProbe: a.nCentroids, centroidScoreThreshold: -Infinity, ndocs: 1000 };
    const mark = scratchMarks(a);
    for (let run = 0; run < 2; run++) {
      const { hits, timings } = plaidSearch(a, q, all, getKernels(), mark);
      assert.equal(timings.candidates, 40, `run ${run}`);
      assert.deepEqual([...hits.pids].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => 40 + i));
    }
    const [r] = await index.searchEncodedBatch([''], [base[3]!], { topK: 40 });
    assert.equal(r!.hits.length, 40);
    assert.ok(r!.hits.every((h) => h.pid >= 40));
  } finally {
    await index.close();
  }
});

test('drift: pooled mean |residual| of added tokens; plait info recommends a rebuild past LIVING_DEFAULTS.driftWarnRatio', async () => {
  const path = await fresh('drift');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 12 });
  const r = updateIndex(path, { add: [encodedDoc('some', gen.passage(10))] });
  const d = r.manifest.drift!;
  assert.equal(d.addedTokens, 10);
  assert.equal(d.buildMeanDistance, r.manifest.codec.avgResidual);
  assert.ok(d.addedMeanDistance > 0);
  // Tokens that ARE centroids have residual 0: the pooled mean halves when as many are added.
  const centroids = index0Centroids(path, 10);
  const r2 = updateIndex(path, { add: [encodedDoc('exact', { vectors: centroids, length: 10, tokenIds: new Int32Array(10) })] });
  assert.equal(r2.manifest.drift!.addedTokens, 20);
  assert.ok(Math.abs(r2.manifest.drift!.addedMeanDistance - d.addedMeanDistance / 2) < 1e-6);
  assert.match(livingInfoLines(r2.manifest).join('\n'), /generation\s+2/);
  const withRatio = (x: number, addedTokens = DRIFT_DEFAULTS.minAddedTokens): typeof r.manifest => ({ ...r2.manifest, drift: { buildMeanDistance: 0.02, addedTokens, addedMeanDistance: 0.02 * x } });
  assert.match(livingInfoLines(withRatio(LIVING_DEFAULTS.driftWarnRatio + 0.1)).join('\n'), /1\.35× as far.*rebuild the index/);
  assert.doesNotMatch(livingInfoLines(withRatio(LIVING_DEFAULTS.driftWarnRatio - 0.1)).join('\n'), /rebuild/);
});

test('drift: below DRIFT_DEFAULTS.minAddedTokens plait info says "too few added tokens to judge" and recommends nothing (the trial: 3 documents, 87 tokens)', async () => {
  const m = { ...readManifest(await fresh('drift-min')), generation: 1 };
  const at = (addedTokens: number, ratio: number): string => livingInfoLines({ ...m, drift: { buildMeanDistance: 0.02, addedTokens, addedMeanDistance: 0.02 * ratio } }).join('\n');
  const trial = at(87, 2);
  assert.match(trial, /drift\s+too few added tokens to judge \(87 of the 4096 needed/);
  assert.doesNotMatch(trial, /rebuild/);
  assert.doesNotMatch(at(DRIFT_DEFAULTS.minAddedTokens - 1, 2), /rebuild/);
  assert.match(at(DRIFT_DEFAULTS.minAddedTokens, 2), /2\.00× as far.*rebuild the index/);
  assert.doesNotMatch(at(DRIFT_DEFAULTS.minAddedTokens, 2), /too few/);
});

test('drift counts the added tokens still indexed: a replaced or deleted added document leaves the count, a replaced build document does not, and compaction keeps it', async () => {
  const path = await fresh('drift-live');
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 31 });
  const drift = (): NonNullable<ReturnType<typeof readManifest>['drift']> => readManifest(path).drift!;
  // The first write: 80 build passages, so the added ones start at pid 80.
  updateIndex(path, { add: [encodedDoc('a1', gen.passage(10)), encodedDoc('a2', gen.passage(7))] });
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens, drift().addedFrom], [17, 17, 80]);
  // Replacing an added document: its 10 tokens leave the live count, the new 4 join; the running total keeps all.
  updateIndex(path, { add: [encodedDoc('a1', gen.passage(4))] });
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens], [21, 11]);
  // Replacing a build document (d5): its new version is added (+6); the build's tokens were never counted.
  updateIndex(path, { add: [encodedDoc('d5', gen.passage(6))] });
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens], [27, 17]);
  // Deleting an added document and a build one.
  updateIndex(path, { delete: ['a2', 'd7'] });
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens], [27, 10]);
  // Compaction drops 4 dead passages (a1's first version, a2, d5's and d7's build passages):
  // 78 build passages stay below the boundary, and the count does not move.
  const before = readManifest(path);
  compactIndex(path);
  assert.equal(readManifest(path).counts.passages, before.counts.passages - 4);
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens, drift().addedFrom], [27, 10, 78]);
  // After compaction the boundary still tells added passages from the build's.
  updateIndex(path, { delete: ['a1', 'd9'] });
  assert.deepEqual([drift().addedTokens, drift().liveAddedTokens], [27, 6]);
  updateIndex(path, { delete: ['d5'] });
  assert.equal(drift().liveAddedTokens, 0);
  // plait info judges the live count and says what the mean covers.
  const info = livingInfoLines(readManifest(path)).join('\n');
  assert.match(info, /too few added tokens to judge \(0 of the 4096 needed; .* over the 27 tokens added since the build, replaced and deleted ones included; 0 of them still indexed\)/);
  // A manifest from before the live count: judged on the running total, with no "still indexed".
  const old = readManifest(path);
  const legacy = livingInfoLines({ ...old, drift: { buildMeanDistance: 0.02, addedTokens: 5000, addedMeanDistance: 0.02 } }).join('\n');
  assert.match(legacy, /1\.00× as far .* over the 5000 tokens added since the build, replaced and deleted ones included\)/);
  const judged = livingInfoLines({ ...old, drift: { buildMeanDistance: 0.02, addedTokens: 9000, addedMeanDistance: 0.04, liveAddedTokens: 100, addedFrom: 80 } }).join('\n');
  assert.match(judged, /too few added tokens to judge \(100 of the 4096 needed/);
  assert.doesNotMatch(judged, /rebuild/);
});

/** The first n centroids of an index (unit vectors: each is its own nearest centroid). */
function index0Centroids(path: string, n: number): Float32Array {
  const data = loadIndexData(path);
  return data.centroids.slice(0, n * DIM);
}
