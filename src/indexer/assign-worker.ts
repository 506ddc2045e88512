/**
 * Piscina worker: nearest-centroid assignment of one slice of vectors held in shared memory, by
 * brute force over all centroids or, when the task carries a two-level plan, coarse cells first.
 */
import { getKernels } from '../kernels/index.js';
import { assignTwoLevel, type TwoLevelPlan } from './two-level-assign.js';

export interface AssignTask {
  vectors: Float32Array;
  from: number;
  to: number;
  centroids: Float32Array;
  k: number;
  dim: number;
  codes: Int32Array;
  scores: Float32Array | null;
  /** Two-level plan over the same centroids (its arrays in shared memory), or null for brute force. */
  plan: TwoLevelPlan | null;
}

const kernels = getKernels();

export default function assign(t: AssignTask): number {
  const n = t.to - t.from;
  const vectors = t.vectors.subarray(t.from * t.dim, t.to * t.dim);
  const codes = t.codes.subarray(t.from, t.to);
  const scores = t.scores === null ? undefined : t.scores.subarray(t.from, t.to);
  if (t.plan !== null) assignTwoLevel(t.plan, kernels, vectors, n, codes, scores);
  else kernels.assignNearest(vectors, n, t.centroids, t.k, t.dim, codes, scores);
  return n;
}
