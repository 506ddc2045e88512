/**
 * Nearest-centroid assignment split across worker threads: the hot loop of k-means training and of
 * compression (n × K × dim multiply-adds). Vectors, centroids and outputs live in
 * SharedArrayBuffers, so each worker scores its slice in place with the native kernel.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { Kernels } from '../kernels/types.js';
import type { AssignTask } from './assign-worker.js';

export type AssignFn = (vectors: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, codes: Int32Array, scores?: Float32Array) => Promise<void>;

function shared<T extends Float32Array | Int32Array>(a: T, Ctor: { new (b: SharedArrayBuffer): T }): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Ctor(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

/** Below this many multiply-adds a slice is not worth a thread hop. */
const MIN_PARALLEL_WORK = 1 << 24;

export class ParallelAssigner {
  private readonly pool: Piscina | null;

  constructor(
    private readonly kernels: Kernels,
    readonly threads = Math.min(os.availableParallelism(), 8),
  ) {
    this.pool = threads > 1 ? new Piscina({ filename: new URL('./assign-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads }) : null;
  }

  readonly assign: AssignFn = async (vectors, n, centroids, k, dim, codes, scores) => {
    if (this.pool === null || n * k * dim < MIN_PARALLEL_WORK) {
      this.kernels.assignNearest(vectors, n, centroids, k, dim, codes, scores);
      return;
    }
    const v = shared(vectors.subarray(0, n * dim), Float32Array);
    const c = shared(centroids, Float32Array);
    const outCodes = shared(codes.subarray(0, n), Int32Array);
    const outScores = scores === undefined ? null : shared(scores.subarray(0, n), Float32Array);
    // Several slices per thread so that a slow thread does not hold up the rest.
    const slices = this.threads * 4;
    const per = Math.ceil(n / slices);
    const tasks: Promise<unknown>[] = [];
    for (let from = 0; from < n; from += per) {
      const task: AssignTask = { vectors: v, from, to: Math.min(n, from + per), centroids: c, k, dim, codes: outCodes, scores: outScores };
      tasks.push(this.pool.run(task));
    }
    await Promise.all(tasks);
    if (outCodes !== codes) codes.set(outCodes);
    if (scores !== undefined && outScores !== null && outScores !== scores) scores.set(outScores);
  };

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
