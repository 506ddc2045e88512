/**
 * The LambdaMART scorer (src/ltr/tree-model.ts) against XGBoost itself: hand-written trees with
 * hand-computed scores, then models XGBoost trains on random ranking data, whose predictions by
 * XGBoost's own `task=pred` the TypeScript scorer must equal to 1e-6 (missing values and explicit
 * zeros included); early stopping and the query-grouped split of the trainer; and the coded errors
 * of bad model files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TreeEnsemble } from '../src/ltr/tree-model.js';
import { LtrModel, LTR_MODEL_FORMAT } from '../src/ltr/ltr-model.js';
import { LTR_BASE_FEATURES } from '../src/ltr/features.js';
import { trainXgboost, type LtrGroup } from '../src/ltr/xgboost-train.js';
import { isPlaitError } from '../src/errors/index.js';
import { mulberry32 } from '../src/util/random.js';
import { needsXgboost } from './helpers/requirements.js';
import { queryFolds } from '../src/ltr/query-folds.js';
import { handModel, rowsOf, xgboostPredict, type HandNode } from './helpers/xgboost-model.js';

const XGB = { skip: needsXgboost() };

// Two trees over 3 features. Tree 0: x0 < 0.5 (missing → left) ? (x1 < 2 ? 1 : 2) : -1.
// Tree 1: x2 < -1 (missing → right) ? 0.25 : -0.25.
const TREES: HandNode[] = [
  { f: 0, t: 0.5, dl: true, l: { f: 1, t: 2, l: { leaf: 1 }, r: { leaf: 2 } }, r: { leaf: -1 } },
  { f: 2, t: -1, dl: false, l: { leaf: 0.25 }, r: { leaf: -0.25 } },
];
const ROWS = [
  [0, 0, 0], // 0.5 + 1 - 0.25
  [0.5, 0, -2], // x0 = 0.5 is not < 0.5: 0.5 - 1 + 0.25
  [NaN, 3, NaN], // missing x0 → left, x1 ≥ 2 → 2; missing x2 → right: 0.5 + 2 - 0.25
  [0.49999, 1.9999, -1], // 0.5 + 1 - 0.25
  [1e6, NaN, -1e6], // 0.5 - 1 + 0.25
];
const EXPECTED = [1.25, -0.25, 2.25, 1.25, -0.25];

function randomGroups(seed: number, nQueries: number, perQuery: number, nFeatures: number): LtrGroup[] {
  const rand = mulberry32(seed);
  return Array.from({ length: nQueries }, (_, q) => {
    const rows = new Float32Array(perQuery * nFeatures);
    const labels = new Int32Array(perQuery);
    for (let i = 0; i < perQuery; i++) {
      for (let j = 0; j < nFeatures; j++) {
        const r = rand();
        // Missing values, exact zeros, and values of very different magnitudes.
        rows[i * nFeatures + j] = r < 0.08 ? NaN : r < 0.14 ? 0 : j === 3 ? (rand() - 0.5) * 1e4 : j === 4 ? rand() * 1e-3 : rand() * 3 - 1;
      }
      const x = (j: number): number => (Number.isNaN(rows[i * nFeatures + j]!) ? 0 : rows[i * nFeatures + j]!);
      const s = 1.5 * x(0) + x(1) - 0.0002 * x(3) + (rand() - 0.5) * 0.8;
      labels[i] = s > 2 ? 3 : s > 1 ? 2 : s > 0.3 ? 1 : 0;
    }
    return { queryId: `q${q}`, docIds: Array.from({ length: perQuery }, (_, i) => `d${i}`), rows, labels };
  });
}

describe('tree scorer on hand-written trees', () => {
  test('scores equal the hand-computed sums (float32 thresholds, missing values follow default_left)', () => {
    const trees = TreeEnsemble.fromXgboostJson(handModel(3, TREES));
    assert.deepEqual(ROWS.map((r) => trees.predict(r)), EXPECTED);
    assert.deepEqual(Array.from(trees.predictRows(rowsOf(ROWS), ROWS.length)), EXPECTED);
  });

  test('XGBoost scores the same hand-written model identically', XGB, () => {
    assert.deepEqual(xgboostPredict(handModel(3, TREES), rowsOf(ROWS), ROWS.length, 3), EXPECTED);
  });

  test('contributions: bias + per-feature path gains equal the score, by hand', () => {
    // Tree 0 node means (unit hessians): inner (1 + 2) / 2 = 1.5; root (1.5·2 + (-1)·1) / 3 = 2/3.
    // Tree 1 root mean 0. Row [0, 0, 0]: tree 0 goes root → inner (x0: 1.5 - 2/3) → leaf 1 (x1: 1 - 1.5);
    // tree 1 goes right (x2: -0.25 - 0).
    const trees = TreeEnsemble.fromXgboostJson(handModel(3, TREES));
    const c = trees.contributions([0, 0, 0]);
    assert.ok(Math.abs(c.bias - (0.5 + 2 / 3)) < 1e-12);
    const want = [1.5 - 2 / 3, -0.5, -0.25];
    want.forEach((w, j) => assert.ok(Math.abs(c.values[j]! - w) < 1e-12, `feature ${j}: ${c.values[j]} vs ${w}`));
    assert.ok(Math.abs(c.bias + want.reduce((a, b) => a + b) - trees.predict([0, 0, 0])) < 1e-9);
  });

  test('total gain sums loss changes per feature', () => {
    assert.deepEqual(Array.from(TreeEnsemble.fromXgboostJson(handModel(3, TREES)).totalGain()), [1, 1, 1]);
  });
});

describe('tree scorer against XGBoost-trained models', () => {
  const N_FEATURES = 6;
  const train = randomGroups(11, 60, 15, N_FEATURES);
  const heldOut = randomGroups(12, 30, 15, N_FEATURES);
  const testRows = new Float32Array(heldOut.flatMap((g) => Array.from(g.rows)));
  const nTest = heldOut.reduce((n, g) => n + g.labels.length, 0);

  for (const objective of ['rank:ndcg', 'rank:pairwise'] as const) {
    test(`${objective}: predictions equal XGBoost's task=pred to 1e-6 on held-out rows`, XGB, async () => {
      const r = await trainXgboost(train, N_FEATURES, { objective, maxDepth: 6, maxRounds: 60, earlyStoppingRounds: 60, seed: 5 });
      const trees = TreeEnsemble.fromXgboostJson(r.model);
      assert.equal(trees.trees.length, r.rounds);
      assert.ok(trees.trees.some((t) => t.left.length >= 7), 'the trees grew splits');
      const ours = trees.predictRows(testRows, nTest);
      const theirs = xgboostPredict(r.model, testRows, nTest, N_FEATURES);
      assert.equal(theirs.length, nTest);
      let worst = 0;
      for (let i = 0; i < nTest; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
      assert.ok(worst <= 1e-6, `largest difference ${worst}`);
      // The scores are not constant: the comparison is not trivially met.
      assert.ok(new Set(Array.from(ours)).size > 20);
      for (let i = 0; i < 20; i++) {
        const row = testRows.subarray(i * N_FEATURES, (i + 1) * N_FEATURES);
        const c = trees.contributions(row);
        assert.ok(Math.abs(c.bias + c.values.reduce((a, b) => a + b, 0) - ours[i]!) < 1e-5);
      }
    });
  }

  test('early stopping keeps the best validation round; folds are by query; the same seed gives the same model', XGB, async () => {
    const groups = [...train, { queryId: 'no-relevant', docIds: ['a', 'b'], rows: new Float32Array(2 * N_FEATURES), labels: new Int32Array(2) }];
    const a = await trainXgboost(groups, N_FEATURES, { maxRounds: 200, earlyStoppingRounds: 10, seed: 9, maxDepth: 6, eta: 0.3 });
    assert.deepEqual(a.dropped, ['no-relevant']);
    assert.equal(a.curve.length, a.roundsTried);
    assert.equal(a.validScore, Math.max(...a.curve));
    assert.equal(a.curve.indexOf(a.validScore), a.rounds - 1);
    assert.ok(a.roundsTried < 200 && a.roundsTried - a.rounds === 10, `stopped 10 rounds after the best (${a.rounds} of ${a.roundsTried})`);
    assert.equal(TreeEnsemble.fromXgboostJson(a.model).trees.length, a.rounds);
    const valid = new Set(a.validQueries);
    assert.equal(valid.size, Math.round(60 * 0.2));
    assert.ok(a.trainQueries.every((q) => !valid.has(q)));
    assert.equal(a.trainQueries.length + a.validQueries.length, 60);
    // The validation score is the mean nDCG@10 over the validation queries taken one by one (gain
    // 2^rel − 1): XGBoost saw the query groups (a file read as one pooled query would score otherwise).
    const trees = TreeEnsemble.fromXgboostJson(a.model);
    const byId = new Map(groups.map((g) => [g.queryId, g] as const));
    const ndcgs = a.validQueries.map((id) => {
      const g = byId.get(id)!;
      const scores = trees.predictRows(g.rows, g.labels.length);
      const dcg = (order: number[]): number => order.slice(0, 10).reduce((sum, i, r) => sum + (2 ** g.labels[i]! - 1) / Math.log2(r + 2), 0);
      const idx = Array.from(g.labels, (_, i) => i);
      return dcg([...idx].sort((x, y) => scores[y]! - scores[x]!)) / dcg([...idx].sort((x, y) => g.labels[y]! - g.labels[x]!));
    });
    assert.ok(Math.abs(ndcgs.reduce((x, y) => x + y, 0) / ndcgs.length - a.validScore) < 1e-6, `${a.validScore} vs per-query mean`);
    const all = await trainXgboost(groups, N_FEATURES, { maxRounds: 25, earlyStoppingRounds: 0, seed: 9, maxDepth: 6, eta: 0.3 });
    assert.equal(all.rounds, 25, 'earlyStoppingRounds 0 keeps every round');
    await assert.rejects(trainXgboost(groups, N_FEATURES, { earlyStoppingRounds: -1 }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
    const b = await trainXgboost(groups, N_FEATURES, { maxRounds: 200, earlyStoppingRounds: 10, seed: 9, maxDepth: 6, eta: 0.3 });
    assert.deepEqual(b.model, a.model);
    assert.deepEqual(b.validQueries, a.validQueries);
  });

  test('a trailing feature missing from every row (a metadata field no candidate holds) trains a model that loads and scores', XGB, async () => {
    // XGBoost counts libsvm columns up to the last that holds a value: the last column here has
    // none, so it reported one feature fewer and LtrModel refused the file (trial 7).
    const width = N_FEATURES + 1;
    const groups: LtrGroup[] = train.map((g) => {
      const rows = new Float32Array(g.labels.length * width).fill(NaN);
      for (let i = 0; i < g.labels.length; i++) rows.set(g.rows.subarray(i * N_FEATURES, (i + 1) * N_FEATURES), i * width);
      return { ...g, rows };
    });
    const r = await trainXgboost(groups, width, { maxRounds: 5, earlyStoppingRounds: 0, seed: 3 });
    const features = [...LTR_BASE_FEATURES.filter((f) => f !== 'cross').slice(0, N_FEATURES), 'meta:nosuchfield'];
    assert.equal(features.length, width);
    const model = LtrModel.fromJSON({ format: LTR_MODEL_FORMAT, version: 1, featureSet: 1, features, candidates: 'hybrid:100', training: {}, xgboost: r.model });
    const scores = model.score(groups[0]!.rows, groups[0]!.labels.length);
    assert.equal(scores.length, groups[0]!.labels.length);
    assert.ok(Array.from(scores).every(Number.isFinite));
    // Trained without the empty column, XGBoost grows the same trees: the column changed nothing.
    const narrow = await trainXgboost(train, N_FEATURES, { maxRounds: 5, earlyStoppingRounds: 0, seed: 3 });
    assert.deepEqual(Array.from(scores), Array.from(TreeEnsemble.fromXgboostJson(narrow.model).predictRows(train[0]!.rows, train[0]!.labels.length)));
    assert.ok(new Set(Array.from(scores)).size > 1, 'the scores are not constant');
  });

  test('a missing XGBoost program is LTR_TRAIN_FAILED naming it', async () => {
    await assert.rejects(
      trainXgboost(train, N_FEATURES, { program: '/nonexistent/xgboost', maxRounds: 2 }),
      (e: unknown) => isPlaitError(e, 'LTR_TRAIN_FAILED') && /\/nonexistent\/xgboost" was not found/.test(e.message),
    );
  });
});

test('query folds partition the queries, differ in size by at most one, and repeat with the seed', () => {
  const ids = Array.from({ length: 23 }, (_, i) => `q${i}`);
  const f = queryFolds(ids, 5, 42);
  assert.deepEqual(f.map((x) => x.length), [5, 5, 5, 4, 4]);
  assert.deepEqual(f.flat().sort(), [...ids].sort());
  assert.deepEqual(queryFolds(ids, 5, 42), f);
  assert.notDeepEqual(queryFolds(ids, 5, 43), f);
  assert.notDeepEqual(f[0], ['q0', 'q5', 'q10', 'q15', 'q20'], 'shuffled, not dealt in input order');
});

describe('bad model files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'plait-ltr-model-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = (xgboost: unknown, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    format: LTR_MODEL_FORMAT,
    version: 1,
    featureSet: 1,
    features: ['bm25', 'late_idf', 'meta:year'],
    xgboost,
    ...over,
  });
  const invalid = (pattern: RegExp) => (e: unknown) => isPlaitError(e, 'LTR_MODEL_INVALID') && pattern.test(e.message);

  test('a well-formed file loads and reports its features', async () => {
    const p = path.join(dir, 'good.json');
    await writeFile(p, JSON.stringify(file(handModel(3, TREES))));
    const m = await LtrModel.load(p);
    assert.deepEqual(m.features, ['bm25', 'late_idf', 'meta:year']);
    assert.equal(m.needsCross, false);
  });

  test('not JSON, a missing file, another format or version, unknown features, a count mismatch', async () => {
    const p = path.join(dir, 'bad.json');
    await writeFile(p, '{"format": "plait-ltr-model", ');
    await assert.rejects(LtrModel.load(p), invalid(/not JSON/));
    await assert.rejects(LtrModel.load(path.join(dir, 'absent.json')), (e: unknown) => isPlaitError(e, 'FILE_NOT_FOUND'));
    const model = handModel(3, TREES);
    assert.throws(() => LtrModel.fromJSON(model), invalid(/not a plait ranking model/));
    assert.throws(() => LtrModel.fromJSON(file(model, { version: 2 })), invalid(/version 2/));
    assert.throws(() => LtrModel.fromJSON(file(model, { featureSet: 7 })), invalid(/feature set 7/));
    assert.throws(() => LtrModel.fromJSON(file(model, { features: ['bm25', 'pagerank', 'late_idf'] })), invalid(/unknown feature "pagerank"/));
    assert.throws(() => LtrModel.fromJSON(file(model, { features: ['bm25', 'bm25', 'late_idf'] })), invalid(/distinct/));
    assert.throws(() => LtrModel.fromJSON(file(model, { features: [...LTR_BASE_FEATURES] })), invalid(/read 3 features but the file names 9/));
  });

  test('malformed trees: no learner, another booster, a backward child, a split past the features, categorical splits, bad numbers', () => {
    const mutate = (f: (tree: Record<string, unknown[]>, m: Record<string, any>) => void): unknown => {
      const m = handModel(3, TREES) as Record<string, any>;
      f(m.learner.gradient_booster.model.trees[0], m);
      return file(m);
    };
    assert.throws(() => LtrModel.fromJSON(file({})), invalid(/no "learner"/));
    assert.throws(() => LtrModel.fromJSON(mutate((_, m) => (m.learner.gradient_booster.name = 'gblinear'))), invalid(/booster "gblinear"/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.left_children![1] = 0))), invalid(/child outside/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.right_children![0] = 99))), invalid(/child outside/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.left_children![1] = -1))), invalid(/one child/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.split_indices![0] = 3))), invalid(/splits on feature 3/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.split_type![0] = 1))), invalid(/categorical/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => (t.split_conditions![0] = 'x'))), invalid(/finite numbers/));
    assert.throws(() => LtrModel.fromJSON(mutate((t) => t.sum_hessian!.pop())), invalid(/sum_hessian/));
  });

  test('a row of the wrong width is DIMENSION_MISMATCH', () => {
    const trees = TreeEnsemble.fromXgboostJson(handModel(3, TREES));
    assert.throws(() => trees.predict([1, 2]), (e: unknown) => isPlaitError(e, 'DIMENSION_MISMATCH'));
    assert.throws(() => trees.predictRows(new Float32Array(7), 2), (e: unknown) => isPlaitError(e, 'DIMENSION_MISMATCH'));
  });
});
