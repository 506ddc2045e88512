/**
 * The LambdaMART scorer: reads a model saved by XGBoost (`model_out=<file>.json`, XGBoost ≥ 1.6
 * JSON schema, `gbtree` booster, one output) and scores its trees in TypeScript, so plait needs no
 * XGBoost at run time. Predictions equal XGBoost's own `task=pred` output on the same rows to 1e-6
 * (test/ltr-tree-model.test.js runs XGBoost 1.7's CLI as the oracle).
 *
 * Exactness: XGBoost holds feature values and split thresholds as float32 and goes left when
 * `value < threshold` (a missing value, NaN, follows `default_left`); it starts each row at
 * `base_score` and adds each tree's leaf value in float32. This scorer does the same with
 * Math.fround, so the sum is XGBoost's bit for bit up to the order of additions.
 *
 * Contributions (`plait explain`): per-tree gains along the decision path (Saabas; XGBoost's
 * `pred_contribs` with `approx_contribs=true`): a node's value is the hessian-weighted mean of its
 * leaves (XGBoost's FillNodeMeanValues, from `sum_hessian`), and each split credits its feature
 * with child value − node value. The bias (base_score + every root's mean) plus the contributions
 * equals the prediction. Tree SHAP would spread credit fairly between interacting features; it is
 * not implemented.
 */
import { PlaitError } from '../errors/index.js';

/** One regression tree as flat arrays indexed by node id (XGBoost's own layout). */
export interface RegressionTree {
  left: Int32Array;
  right: Int32Array;
  /** Feature index of each split (unused at leaves). */
  feature: Int32Array;
  /** Split threshold at internal nodes, leaf value at leaves (float32 values). */
  value: Float32Array;
  defaultLeft: Uint8Array;
  /** Hessian-weighted mean leaf value under each node (for contributions). */
  mean: Float64Array;
  /** Loss reduction of each split (XGBoost's `loss_changes`; 0 at leaves). */
  gain: Float64Array;
}

interface XgbTreeJson {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: number[] | boolean[];
  sum_hessian: number[];
  loss_changes: number[];
  split_type?: number[];
}

function invalid(source: string, message: string): PlaitError {
  return new PlaitError('LTR_MODEL_INVALID', { message: `${source}: ${message}`, source });
}

function intArray(v: unknown, n: number, what: string, source: string): number[] {
  if (!Array.isArray(v) || v.length !== n || v.some((x) => !Number.isInteger(Number(x)))) throw invalid(source, `expected ${n} integers in ${what}`);
  return v.map(Number);
}

function numArray(v: unknown, n: number, what: string, source: string): number[] {
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw invalid(source, `expected ${n} finite numbers in ${what}`);
  return v as number[];
}

function readTree(t: unknown, nFeatures: number, k: number, source: string): RegressionTree {
  if (t === null || typeof t !== 'object') throw invalid(source, `tree ${k} is not an object`);
  const j = t as Partial<XgbTreeJson>;
  const n = Array.isArray(j.left_children) ? j.left_children.length : 0;
  if (n === 0) throw invalid(source, `tree ${k} has no nodes`);
  const left = intArray(j.left_children, n, `tree ${k} left_children`, source);
  const right = intArray(j.right_children, n, `tree ${k} right_children`, source);
  const feature = intArray(j.split_indices, n, `tree ${k} split_indices`, source);
  const value = numArray(j.split_conditions, n, `tree ${k} split_conditions`, source);
  const hess = numArray(j.sum_hessian, n, `tree ${k} sum_hessian`, source);
  const gain = numArray(j.loss_changes, n, `tree ${k} loss_changes`, source);
  const defaultLeft = intArray(Array.isArray(j.default_left) ? j.default_left.map(Number) : j.default_left, n, `tree ${k} default_left`, source);
  if (j.split_type?.some((s) => s !== 0) === true) throw invalid(source, `tree ${k} has categorical splits, which plait does not score`);
  // Children must point forward (XGBoost numbers children after their parent): no cycles, no jumps out.
  for (let i = 0; i < n; i++) {
    const leaf = left[i] === -1;
    if (leaf !== (right[i] === -1)) throw invalid(source, `tree ${k} node ${i} has one child`);
    if (!leaf && (left[i]! <= i || right[i]! <= i || left[i]! >= n || right[i]! >= n)) throw invalid(source, `tree ${k} node ${i} has a child outside (${i}, ${n})`);
    if (!leaf && (feature[i]! < 0 || feature[i]! >= nFeatures)) throw invalid(source, `tree ${k} node ${i} splits on feature ${feature[i]}, but the model has ${nFeatures}`);
  }
  const tree: RegressionTree = {
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    feature: Int32Array.from(feature),
    value: Float32Array.from(value),
    defaultLeft: Uint8Array.from(defaultLeft),
    mean: new Float64Array(n),
    gain: Float64Array.from(gain, (g, i) => (left[i] === -1 ? 0 : g)),
  };
  // Node means bottom-up (children have higher ids than their parent).
  for (let i = n - 1; i >= 0; i--) {
    if (left[i] === -1) tree.mean[i] = tree.value[i]!;
    else {
      const hl = hess[left[i]!]!;
      const hr = hess[right[i]!]!;
      tree.mean[i] = hl + hr > 0 ? (tree.mean[left[i]!]! * hl + tree.mean[right[i]!]! * hr) / (hl + hr) : 0;
    }
  }
  return tree;
}

/**
 * `learner_model_param.base_score` as XGBoost writes it: a number's text ("5E-1", XGBoost ≤ 3.0) or,
 * since XGBoost 3.1 (dmlc/xgboost#11651, one value per target), a one-element list's text ("[5E-1]"),
 * which Number() read as NaN: a model saved by Python's xgboost 3.1 was refused as "base_score [5E-1]".
 * NaN for anything else (the caller refuses it).
 */
function baseScoreOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const list = /^\s*\[\s*([^,\]]+?)\s*\]\s*$/.exec(v);
  return v.trim() === '' ? NaN : Number(list === null ? v : list[1]);
}

/** The leaf a row reaches (node id). `row` holds float32-rounded values; NaN is missing. */
function leafOf(tree: RegressionTree, row: ArrayLike<number>, path?: number[]): number {
  let node = 0;
  for (;;) {
    path?.push(node);
    const l = tree.left[node]!;
    if (l === -1) return node;
    const x = row[tree.feature[node]!]!;
    node = Number.isNaN(x) ? (tree.defaultLeft[node] === 1 ? l : tree.right[node]!) : x < tree.value[node]! ? l : tree.right[node]!;
  }
}

export interface FeatureContributions {
  /** base_score plus the mean value of every tree: the prediction with no feature known. */
  bias: number;
  /** Contribution of each feature (same order as the model's features); bias + Σ = prediction. */
  values: Float64Array;
}

/** A boosted tree ensemble read from XGBoost's JSON model, scored without XGBoost. */
export class TreeEnsemble {
  private constructor(
    readonly trees: readonly RegressionTree[],
    readonly baseScore: number,
    readonly nFeatures: number,
    readonly objective: string,
  ) {}

  /**
   * Reads XGBoost's JSON model (the object `model_out=*.json` writes).
   * @throws PlaitError LTR_MODEL_INVALID when it is not a single-output gbtree model or a tree is malformed.
   */
  static fromXgboostJson(json: unknown, source = 'model'): TreeEnsemble {
    const learner = (json as { learner?: Record<string, unknown> } | null)?.learner;
    if (learner === undefined || learner === null || typeof learner !== 'object') throw invalid(source, 'no "learner" object (expected XGBoost\'s JSON model, saved with model_out=<file>.json)');
    const param = learner.learner_model_param as Record<string, string> | undefined;
    const booster = learner.gradient_booster as { name?: string; model?: { trees?: unknown[]; tree_info?: number[] } } | undefined;
    if (booster?.name !== 'gbtree') throw invalid(source, `booster "${String(booster?.name)}" (plait scores gbtree models)`);
    const nFeatures = Number(param?.num_feature);
    const baseScore = baseScoreOf(param?.base_score);
    if (!Number.isInteger(nFeatures) || nFeatures < 1) throw invalid(source, `num_feature ${String(param?.num_feature)}`);
    if (!Number.isFinite(baseScore)) throw invalid(source, `base_score ${String(param?.base_score)}`);
    if (Number(param?.num_class ?? 0) > 1 || Number(param?.num_target ?? 1) > 1) throw invalid(source, 'a multi-output model (plait scores one output)');
    const trees = booster.model?.trees;
    if (!Array.isArray(trees)) throw invalid(source, 'no trees');
    const objective = String((learner.objective as { name?: unknown } | undefined)?.name ?? '');
    return new TreeEnsemble(
      trees.map((t, k) => readTree(t, nFeatures, k, source)),
      Math.fround(baseScore),
      nFeatures,
      objective,
    );
  }

  private check(row: ArrayLike<number>): void {
    if (row.length !== this.nFeatures) throw new PlaitError('DIMENSION_MISMATCH', { expected: this.nFeatures, received: row.length });
  }

  /** The model's score of one row (raw margin, as XGBoost's `task=pred` prints for rank objectives). */
  predict(row: ArrayLike<number>): number {
    this.check(row);
    const x = Float32Array.from(row);
    let sum = this.baseScore;
    for (const tree of this.trees) sum = Math.fround(sum + tree.value[leafOf(tree, x)]!);
    return sum;
  }

  /** Scores `n` rows stored row-major in `rows` (n × nFeatures). */
  predictRows(rows: Float32Array, n: number): Float64Array {
    if (rows.length !== n * this.nFeatures) throw new PlaitError('DIMENSION_MISMATCH', { expected: n * this.nFeatures, received: rows.length });
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = rows.subarray(i * this.nFeatures, (i + 1) * this.nFeatures);
      let sum = this.baseScore;
      for (const tree of this.trees) sum = Math.fround(sum + tree.value[leafOf(tree, x)]!);
      out[i] = sum;
    }
    return out;
  }

  /** Per-feature contributions to one row's score (per-tree path gains; see the module header). */
  contributions(row: ArrayLike<number>): FeatureContributions {
    this.check(row);
    const x = Float32Array.from(row);
    const values = new Float64Array(this.nFeatures);
    let bias = this.baseScore;
    const path: number[] = [];
    for (const tree of this.trees) {
      path.length = 0;
      leafOf(tree, x, path);
      bias += tree.mean[0]!;
      for (let s = 0; s + 1 < path.length; s++) values[tree.feature[path[s]!]!]! += tree.mean[path[s + 1]!]! - tree.mean[path[s]!]!;
    }
    return { bias, values };
  }

  /** Feature importance as XGBoost's `total_gain`: the loss reduction of every split on the feature, summed. */
  totalGain(): Float64Array {
    const gain = new Float64Array(this.nFeatures);
    for (const t of this.trees) for (let i = 0; i < t.left.length; i++) if (t.left[i] !== -1) gain[t.feature[i]!]! += t.gain[i]!;
    return gain;
  }
}
