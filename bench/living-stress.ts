/**
 * The long mixed stress workload (issue 20): at least 1,000 random add / upsert / delete / compact /
 * calibration-record steps against a model of the truth, with writer runs killed by SIGKILL at
 * random moments and a reader searching concurrently (test/helpers/stress-driver.ts; the bounded
 * version runs in `npm test` as test/living-stress.test.ts). Prints the report: steps, runs,
 * kills (and how many landed inside a step), reader searches, final documents, and the largest
 * BM25 difference from a fresh document store of the final documents.
 *
 *   node dist/bench/living-stress.js [steps=1000] [seed=11] [check-every-step=0]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { updateIndex } from '../src/mutate/index-updater.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { embeddingOf, encoded, STRESS_DIM } from '../test/helpers/stress.js';
import { runStress } from '../test/helpers/stress-driver.js';
import { isMain, machine } from './common.js';

if (isMain(import.meta.url)) {
  const [stepsArg, seedArg, checkArg] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'plait-stress-bench-'));
  try {
    const path = join(dir, 'idx');
    const ids = Array.from({ length: 100 }, (_, i) => `base${i}`);
    await buildIndexFromEmbeddings(sourceOf(ids.map((id) => embeddingOf(id, 0)), STRESS_DIM), { index: path, model: syntheticModel(STRESS_DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: (pid) => ids[pid]! });
    updateIndex(path, { add: ids.map((id) => encoded(id, 0)) }, { autoCompactShare: 0 });
    const t = performance.now();
    const report = await runStress({ path, scratch: dir, seed: Number(seedArg ?? 11), steps: Number(stepsArg ?? 1000), chunk: 60, killShare: 0.5, killWithinMs: 4000, checkEveryStep: checkArg === '1', log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`${JSON.stringify({ ...machine(), ...report, seconds: (performance.now() - t) / 1000 })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
