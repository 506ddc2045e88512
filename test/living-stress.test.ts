/**
 * A bounded run of the mixed stress workload (issue 20; test/helpers/stress*.ts): random add /
 * upsert / delete / compact / calibration-record steps against a model of the truth, writer runs
 * killed with SIGKILL at random moments, a reader searching concurrently; after every step the
 * writer compares counts and every search mode with its model, after every run the parent does
 * (acknowledged steps present, a killed step whole or absent), and at the end BM25 scores equal a
 * fresh document store's to 1e-4 and token document frequencies a recount of the final documents. PLAIT_STRESS_STEPS (default 120, ~40 s on the loaded 2-core
 * machine); bench/living-stress.ts runs the long version (≥ 1,000 steps).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { embeddingOf, encoded, STRESS_DIM } from './helpers/stress.js';
import { runStress } from './helpers/stress-driver.js';

const STEPS = Number(process.env.PLAIT_STRESS_STEPS ?? 120);
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-stress-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small index whose documents carry the stress workload's text (built empty of text, then upserted with it). */
async function stressIndex(path: string, n: number): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `base${i}`);
  await buildIndexFromEmbeddings(sourceOf(ids.map((id) => embeddingOf(id, 0)), STRESS_DIM), { index: path, model: syntheticModel(STRESS_DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: (pid) => ids[pid]! });
  updateIndex(path, { add: ids.map((id) => encoded(id, 0)) }, { autoCompactShare: 0 });
}

test(`${STEPS} random steps with kill -9s and a concurrent reader agree with the model, and BM25 with a fresh build`, async () => {
  const path = join(dir, 'idx');
  await stressIndex(path, 40);
  const lines: string[] = [];
  const r = await runStress({ path, scratch: dir, seed: 7, steps: STEPS, chunk: 25, killShare: 0.6, killWithinMs: 1500, checkEveryStep: true, log: (l) => lines.push(l) });
  assert.equal(r.steps, STEPS);
  assert.ok(r.kills > 0, `some runs were killed (${JSON.stringify(r)})`);
  assert.ok(r.readerSearches > 0, 'the reader searched during the writes');
  assert.ok(r.bm25MaxDiff <= 1e-4, `BM25 within 1e-4 of a fresh build (${r.bm25MaxDiff})`);
  assert.equal(r.tokenDfMaxDiff, 0, 'token df equals a recount of the final documents');
  process.stderr.write(`# stress: ${JSON.stringify(r)}\n`);
});
