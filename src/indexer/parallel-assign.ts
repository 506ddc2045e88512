/**
 * Nearest-centroid assignment split across worker threads: the hot loop of k-means training and of
 * compression (n × K × dim multiply-adds). Vectors, centroids and outputs live in
 * SharedArrayBuffers, so each worker scores its slice in place with the native kernel.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { Kernels } from '../kernels/types.js';
import { invalidArgument } from '../errors/index.js';
import type { AssignTask } from './assign-worker.js';
import { assignTwoLevel, twoLevelWorkPerVector, type TwoLevelPlan } from './two-level-assign.js';
import { workerExecArgv } from '../util/worker-exec-argv.js';

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
    this.pool = threads > 1 ? new Piscina({ execArgv: workerExecArgv(), filename: new URL('./assign-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads }) : null;
  }

  /** Brute-force assignment over all k centroids. */
  readonly assign: AssignFn = (vectors, n, centroids, k, dim, codes, scores) => this.run(null, vectors, n, centroids, k, dim, codes, scores);

  /**
   * Two-level assignment through `plan` (built over the same centroids: the call's centroids and k
   * are checked against it). Fewer, larger slices than brute force: each slice groups its vectors
   * per coarse cell, and bigger groups fill the kernel's 32-row panels better.
   */
  twoLevel(plan: TwoLevelPlan): AssignFn {
    return async (vectors, n, centroids, k, dim, codes, scores) => {
      if (k !== plan.k || dim !== plan.dim) throw invalidArgument('centroids', `the two-level plan's ${plan.k} × ${plan.dim}`, `${k} × ${dim}`);
      return this.run(plan, vectors, n, centroids, k, dim, codes, scores);
    };
  }

  private async run(plan: TwoLevelPlan | null, vectors: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, codes: Int32Array, scores?: Float32Array): Promise<void> {
    const work = plan === null ? n * k * dim : n * twoLevelWorkPerVector(plan);
    if (this.pool === null || work < MIN_PARALLEL_WORK) {
      if (plan === null) this.kernels.assignNearest(vectors, n, centroids, k, dim, codes, scores);
      else assignTwoLevel(plan, this.kernels, vectors, n, codes, scores);
      return;
    }
    const v = shared(vectors.subarray(0, n * dim), Float32Array);
    // Two-level tasks read the plan's copy of the centroids; only brute force needs them shared.
    const c = plan === null ? shared(centroids, Float32Array) : plan.fine;
    const outCodes = shared(codes.subarray(0, n), Int32Array);
    const outScores = scores === undefined ? null : shared(scores.subarray(0, n), Float32Array);
    // Several slices per thread so that a slow thread does not hold up the rest.
    const slices = this.threads * (plan === null ? 4 : 2);
    const per = Math.ceil(n / slices);
    const tasks: Promise<unknown>[] = [];
    for (let from = 0; from < n; from += per) {
      const task: AssignTask = { vectors: v, from, to: Math.min(n, from + per), centroids: c, k, dim, codes: outCodes, scores: outScores, plan };
      tasks.push(this.pool.run(task));
    }
    await Promise.all(tasks);
    if (outCodes !== codes) codes.set(outCodes);
    if (scores !== undefined && outScores !== null && outScores !== scores) scores.set(outScores);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
