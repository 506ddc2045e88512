/**
 * Speed of the TypeScript LambdaMART scorer (src/ltr/tree-model.ts): a model XGBoost trains on
 * random ranking data (9 features, depth 4 and 6, 100 and 500 rounds, early stopping off),
 * scoring 200-candidate lists, against XGBoost's own `task=pred` on the same rows (a whole
 * process: reading the model and a libsvm file included, so it bounds what calling XGBoost per
 * query would cost, not XGBoost's inner loop).
 *
 * Run: `node dist/bench/ltr-scorer.js`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TreeEnsemble } from '../src/ltr/tree-model.js';
import { libsvmLines, trainXgboost, xgboostJsonText, type LtrGroup } from '../src/ltr/xgboost-train.js';
import { mulberry32 } from '../src/util/random.js';
import { isMain, machine } from './common.js';

const N_FEATURES = 9;
const LIST = 200;

function groups(seed: number, n: number): LtrGroup[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, q) => {
    const rows = Float32Array.from({ length: LIST * N_FEATURES }, () => rand() * 4 - 1);
    const labels = Int32Array.from({ length: LIST }, (_, i) => (rows[i * N_FEATURES]! + rows[i * N_FEATURES + 1]! + rand() > 2.5 ? 1 : 0));
    return { queryId: `q${q}`, docIds: [], rows, labels };
  });
}

async function main(): Promise<void> {
  const train = groups(1, 60);
  const test = groups(2, 50);
  const rows = new Float32Array(test.flatMap((g) => Array.from(g.rows)));
  const n = test.length * LIST;
  for (const [depth, rounds] of [[4, 100], [6, 100], [4, 500], [6, 500]] as const) {
    const r = await trainXgboost(train, N_FEATURES, { maxDepth: depth, maxRounds: rounds, earlyStoppingRounds: 0, eta: 0.05, objective: 'rank:pairwise' });
    const trees = TreeEnsemble.fromXgboostJson(r.model);
    trees.predictRows(rows, n); // warm-up
    const t0 = performance.now();
    const reps = 5;
    for (let k = 0; k < reps; k++) trees.predictRows(rows, n);
    const tsMs = (performance.now() - t0) / reps;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plait-ltr-bench-'));
    try {
      writeFileSync(path.join(dir, 'model.json'), xgboostJsonText(r.model));
      writeFileSync(path.join(dir, 'test.txt'), libsvmLines(rows, N_FEATURES, new Int32Array(n)));
      writeFileSync(path.join(dir, 'pred.conf'), ['task = pred', 'model_in = "model.json"', 'test:data = "test.txt?format=libsvm"', 'name_pred = "pred.txt"', 'nthread = 1'].join('\n'));
      const t1 = performance.now();
      execFileSync('xgboost', ['pred.conf'], { cwd: dir, stdio: 'ignore' });
      const xgbMs = performance.now() - t1;
      process.stdout.write(
        `depth ${depth}, ${trees.trees.length} trees: TypeScript ${((1000 * tsMs) / n).toFixed(2)} µs/row, ${((tsMs * LIST) / n).toFixed(3)} ms per ${LIST}-candidate list; xgboost task=pred process ${xgbMs.toFixed(0)} ms for ${n} rows\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`machine: ${JSON.stringify(machine())}\n`);
}

if (isMain(import.meta.url)) await main();
