/**
 * Closing a piscina pool whose workers run onnxruntime graphs (the encoder's and the cross-encoder's
 * pools). `pool.destroy()` terminates the workers at once, and terminating a worker while
 * onnxruntime-node runs a graph in it aborts the whole process (SIGABRT: "terminate called after
 * throwing an instance of 'Napi::Error'") — seen when a server closed while a write that had passed
 * its deadline was still encoding, and reproducible by closing an encoder ~0.4 s into a 48-document
 * encode (test/onnx-pool-close.test.ts). So a close cancels the tasks still queued (they reject with
 * an AbortError, which the pools' callers report as ABORTED / WORKER_FAILED), waits for the running
 * ones — at most one batch a worker — and only then stops the workers.
 *
 * That is what piscina's own `close({ force: true })` does, but piscina 5.3.2's close races the
 * flush against a `timers/promises` timer of `closeTimeout` that it never cancels, and that timer's
 * promise chain holds the whole pool: every closed encoder stayed reachable for 120 s
 * (`POOL_DEFAULTS.onnxCloseTimeoutMs`), seen as memory not returned after an index close or a
 * server reload (bench/RESULTS.md, "plait as a library dependency"). So the queue is plait's: at
 * most one task a worker is handed to piscina, the rest wait here, where a close can cancel them;
 * the wait for the running ones is a timer this module owns and clears; then `destroy()` (which
 * sets no timer) stops the idle workers. test/onnx-pool-close.test.ts holds a closed pool to being
 * collectable at once.
 */
import { Piscina } from 'piscina';
import { POOL_DEFAULTS } from '../config/defaults.js';
import { workerExecArgv } from './worker-exec-argv.js';

interface Queued {
  task: unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** The error a task cancelled by a close rejects with: named AbortError, as piscina's own. */
function closedError(): Error {
  const e = new Error('the pool was closed before this task ran');
  e.name = 'AbortError';
  return e;
}

/**
 * A fixed pool of worker threads running onnxruntime graphs, with plait's own FIFO queue in front
 * of piscina's (one task a worker in piscina at a time) so that close can cancel what has not
 * started without piscina's close timer.
 */
export class OnnxPool {
  private readonly pool: Piscina;
  private readonly queue: Queued[] = [];
  /** Tasks handed to piscina and not yet settled (≤ `size`). */
  private readonly running = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  /**
   * @param filename the worker module (a file URL)
   * @param size worker threads, ≥ 1
   */
  constructor(filename: string, readonly size: number) {
    this.pool = new Piscina({
      execArgv: workerExecArgv(),
      filename,
      minThreads: size,
      maxThreads: size,
      idleTimeout: POOL_DEFAULTS.onnxIdleTimeoutMs,
      // No run / wait-time histograms (plait reads none; they were most of a pool's memory).
      recordTiming: false,
    });
    // A worker that fails outside a task makes piscina emit 'error': with no listener it would throw.
    // The tasks it was given reject on their own, which is how their callers hear of it.
    this.pool.on('error', () => {});
  }

  /** The pool's worker threads (empty once closed). */
  get threads(): readonly unknown[] {
    return this.pool.threads;
  }

  /** piscina's run/wait-time histograms: off (`recordTiming: false`). */
  get histogram(): Piscina['histogram'] {
    return this.pool.histogram;
  }

  /**
   * Runs `task` on a worker when one is free, in submission order.
   * @throws (rejects) an AbortError if the pool is closed before the task starts; the worker's own error otherwise
   */
  run(task: unknown): Promise<unknown> {
    if (this.closing !== null) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  /**
   * Cancels the queued tasks (AbortError), waits for the running ones up to
   * POOL_DEFAULTS.onnxCloseTimeoutMs, then stops the workers; idempotent. Never rejects for a task's
   * failure. Leaves no timer behind: the pool is collectable as soon as its caller lets go of it.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private pump(): void {
    while (this.closing === null && this.running.size < this.size && this.queue.length > 0) {
      const { task, resolve, reject } = this.queue.shift()!;
      const p = this.pool.run(task) as Promise<unknown>;
      this.running.add(p);
      p.then(resolve, reject).finally(() => {
        this.running.delete(p);
        this.pump();
      });
    }
  }

  private async shutDown(): Promise<void> {
    for (const q of this.queue.splice(0)) q.reject(closedError());
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, POOL_DEFAULTS.onnxCloseTimeoutMs);
      timer.unref();
    });
    try {
      // Past the limit the workers are terminated anyway, as piscina's close did (a graph still
      // running then aborts the process: the limit is far beyond any batch).
      await Promise.race([Promise.allSettled([...this.running]), timedOut]);
    } finally {
      clearTimeout(timer);
      await this.pool.destroy();
    }
  }
}

/** A pool of `threads` workers (fixed size) running `filename`; see OnnxPool. */
export function onnxPool(filename: string, threads: number): OnnxPool {
  return new OnnxPool(filename, threads);
}

/** Cancels the queued tasks, awaits the running ones, then stops the workers. Never rejects for a task's failure. */
export async function closeOnnxPool(pool: OnnxPool): Promise<void> {
  await pool.close();
}
