/**
 * Learning-to-rank test helpers: hand-written XGBoost JSON models (in the exact schema XGBoost
 * 1.7 saves, so that XGBoost itself can load them as the oracle) and XGBoost's own predictions
 * through its command-line program (`task=pred`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { libsvmLines, xgboostJsonText } from '../../src/ltr/xgboost-train.js';

/** A node of a hand-written tree: a split (go left when x[f] < t; missing goes left when dl) or a leaf. */
export type HandNode = { f: number; t: number; dl?: boolean; l: HandNode; r: HandNode; h?: number } | { leaf: number; h?: number };

/** One tree in XGBoost's JSON layout; nodes numbered breadth-first (children after their parent). */
export function handTree(root: HandNode, nFeatures: number, id: number): Record<string, unknown> {
  const nodes: HandNode[] = [root];
  const parents = [2147483647];
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if ('leaf' in n) {
      left.push(-1);
      right.push(-1);
    } else {
      left.push(nodes.length);
      nodes.push(n.l);
      parents.push(i);
      right.push(nodes.length);
      nodes.push(n.r);
      parents.push(i);
    }
  }
  const hess = (n: HandNode): number => n.h ?? ('leaf' in n ? 1 : hess(n.l) + hess(n.r));
  const count = nodes.length;
  return {
    base_weights: nodes.map((n) => ('leaf' in n ? n.leaf : 0)),
    categories: [],
    categories_nodes: [],
    categories_segments: [],
    categories_sizes: [],
    default_left: nodes.map((n) => ('leaf' in n ? 0 : n.dl === true ? 1 : 0)),
    id,
    left_children: left,
    loss_changes: nodes.map((n) => ('leaf' in n ? 0 : 1)),
    parents,
    right_children: right,
    split_conditions: nodes.map((n) => ('leaf' in n ? n.leaf : n.t)),
    split_indices: nodes.map((n) => ('leaf' in n ? 0 : n.f)),
    split_type: nodes.map(() => 0),
    sum_hessian: nodes.map(hess),
    tree_param: { num_deleted: '0', num_feature: String(nFeatures), num_nodes: String(count), size_leaf_vector: '0' },
  };
}

/** A whole XGBoost JSON model (rank:ndcg, gbtree) of hand-written trees. */
export function handModel(nFeatures: number, trees: HandNode[], baseScore = 0.5): Record<string, unknown> {
  return {
    learner: {
      attributes: {},
      feature_names: [],
      feature_types: [],
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(trees.length), size_leaf_vector: '0' },
          tree_info: trees.map(() => 0),
          trees: trees.map((t, i) => handTree(t, nFeatures, i)),
        },
        name: 'gbtree',
      },
      learner_model_param: { base_score: String(baseScore), boost_from_average: '1', num_class: '0', num_feature: String(nFeatures), num_target: '1' },
      objective: { lambda_rank_param: { fix_list_weight: '0', num_pairsample: '1' }, name: 'rank:ndcg' },
    },
    version: [1, 7, 4],
  };
}

/** XGBoost's own predictions (`task=pred`) of `model` on n row-major rows (NaN = missing). */
export function xgboostPredict(model: unknown, rows: Float32Array, n: number, nFeatures: number): number[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plait-xgb-pred-'));
  try {
    writeFileSync(path.join(dir, 'model.json'), xgboostJsonText(model));
    writeFileSync(path.join(dir, 'test.txt'), libsvmLines(rows, nFeatures, new Int32Array(n)));
    writeFileSync(path.join(dir, 'pred.conf'), ['task = pred', 'model_in = "model.json"', 'test:data = "test.txt?format=libsvm"', 'name_pred = "pred.txt"'].join('\n'));
    execFileSync(process.env.PLAIT_XGBOOST ?? 'xgboost', ['pred.conf'], { cwd: dir, stdio: 'pipe' });
    return readFileSync(path.join(dir, 'pred.txt'), 'utf8').trim().split('\n').map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads `rows` n × nFeatures: the row-major Float32Array of plain arrays (NaN allowed). */
export function rowsOf(data: number[][]): Float32Array {
  return Float32Array.from(data.flat());
}
