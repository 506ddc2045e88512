/**
 * Closing a piscina pool whose workers run onnxruntime graphs (the encoder's and the cross-encoder's
 * pools). `pool.destroy()` terminates the workers at once, and terminating a worker while
 * onnxruntime-node runs a graph in it aborts the whole process (SIGABRT: "terminate called after
 * throwing an instance of 'Napi::Error'") — seen when a server closed while a write that had passed
 * its deadline was still encoding, and reproducible by closing an encoder ~0.4 s into a 48-document
 * encode (test/encoder-close.test.ts). So a close cancels the tasks still queued (they reject with
 * piscina's AbortError, which the pools' callers report as WORKER_FAILED), waits for the running
 * ones — at most one batch a worker — and only then stops the workers.
 */
import { Piscina } from 'piscina';
import { POOL_DEFAULTS } from '../config/defaults.js';
import { workerExecArgv } from './worker-exec-argv.js';

/**
 * A pool of `threads` workers (fixed size) running `filename`, whose close waits for running tasks
 * for up to POOL_DEFAULTS.onnxCloseTimeoutMs.
 */
export function onnxPool(filename: string, threads: number): Piscina {
  const pool = new Piscina({
    execArgv: workerExecArgv(),
    filename,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: POOL_DEFAULTS.onnxIdleTimeoutMs,
    closeTimeout: POOL_DEFAULTS.onnxCloseTimeoutMs,
    // No run / wait-time histograms (plait reads none). piscina 5.3.2's close() races an unref'd
    // timer of closeTimeout that it never cancels, so a closed pool stays reachable for 120 s; its two
    // native histograms were most of what it held (bench/RESULTS.md, "plait as a library dependency").
    recordTiming: false,
  });
  // piscina reports a close that timed out as an 'error' event (then destroys the workers): an
  // unhandled 'error' event would throw, and the close itself still completes.
  pool.on('error', () => {});
  return pool;
}

/** Cancels the queued tasks, awaits the running ones, then stops the workers. Never rejects for a task's failure. */
export async function closeOnnxPool(pool: Piscina): Promise<void> {
  await pool.close({ force: true });
}
