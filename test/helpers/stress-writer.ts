/**
 * The writer child of the stress workload (test/helpers/stress.ts): `node stress-writer.js <index>
 * <seed> <first step> <last step> [check]`. Reads the live docIds, then runs steps first..last-1,
 * printing `intent <i>` before and `ack <i>` after each (after its commit). With `check`, it
 * compares the index with its own model after every step (counts, every search mode) and exits 3
 * on a disagreement.
 */
import { writeSync } from 'node:fs';
import { compactIndex, updateIndex } from '../../src/mutate/index-updater.js';
import { writeCalibration, type IndexCalibration } from '../../src/format/calibration-record.js';
import { readManifest } from '../../src/format/index-reader.js';
import { contentCommitOf } from '../../src/format/index-transaction.js';
import { applyStep, checkIndex, encoded, indexModel, stepOf } from './stress.js';

const RECORD = { createdAt: 'stress', target: 0.99, source: 'corpus', queries: 1, queriesByKind: {}, gridPoints: 1, costMs: 1, budgetMs: 1, truncated: false, documents: 0, passages: 0, buckets: [] } as IndexCalibration;

async function main(): Promise<void> {
  const [path, seedArg, firstArg, lastArg, check] = process.argv.slice(2) as [string, string, string, string, string | undefined];
  const seed = Number(seedArg);
  let model = indexModel(path);
  writeSync(1, 'ready\n');
  for (let i = Number(firstArg); i < Number(lastArg); i++) {
    const step = stepOf(seed, i, [...model.keys()].sort());
    writeSync(1, `intent ${i}\n`);
    if (step.kind === 'add' || step.kind === 'upsert') updateIndex(path, { add: step.docs.map(([id, v]) => encoded(id, v)) }, { autoCompactShare: 0.3 });
    else if (step.kind === 'delete') updateIndex(path, { delete: step.ids }, { autoCompactShare: 0.3 });
    else if (step.kind === 'compact') compactIndex(path);
    else writeCalibration(path, { ...RECORD, createdAt: `step ${i}` }, { measured: contentCommitOf(readManifest(path)) });
    writeSync(1, `ack ${i}\n`);
    model = applyStep(model, step);
    if (check === 'check') {
      try {
        await checkIndex(path, model, 2, seed + i);
      } catch (e) {
        writeSync(2, `step ${i} (${step.kind}): ${(e as Error).message}\n`);
        process.exit(3);
      }
    }
  }
}

// The test runner also loads every file under test/ as a test file (no arguments): nothing to do then.
if (process.argv[1]?.endsWith('stress-writer.js') && process.argv.length >= 6) await main();
