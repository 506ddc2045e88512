/** Piscina worker: nearest-centroid assignment of one slice of vectors held in shared memory. */
import { getKernels } from '../kernels/index.js';

export interface AssignTask {
  vectors: Float32Array;
  from: number;
  to: number;
  centroids: Float32Array;
  k: number;
  dim: number;
  codes: Int32Array;
  scores: Float32Array | null;
}

const kernels = getKernels();

export default function assign(t: AssignTask): number {
  const n = t.to - t.from;
  kernels.assignNearest(
    t.vectors.subarray(t.from * t.dim, t.to * t.dim),
    n,
    t.centroids,
    t.k,
    t.dim,
    t.codes.subarray(t.from, t.to),
    t.scores === null ? undefined : t.scores.subarray(t.from, t.to),
  );
  return n;
}
