/**
 * Deletes and compactions off the calling thread: `updateIndexOffThread` and
 * `compactIndexOffThread` run `updateIndex` / `compactIndex` — the same synchronous index
 * transaction, its lock, file operations, commit order and crash argument unchanged
 * (format/index-transaction.ts) — on a worker thread (write-thread-worker.ts), so the event loop
 * of the caller (a `plait serve`: searches, /health, /ready, /metrics) keeps running meanwhile.
 *
 * Why: on scifact (24,014 passages, bundled model; bench/write-stall.ts, bench/RESULTS.md "Writes
 * off the calling thread") a delete of 500 documents held the calling thread 336 ms (FTS5 deletes
 * of the indexed text: 0.55 ms a document, SQLite's own work), a compaction 1,786 ms (≈390 MB of
 * residuals copied, written, fsynced and CRC'd), and a `plait serve` answered /health after up to
 * 1.3–1.6 s during a delete. Chunks that yield between them would have split one SQLite transaction
 * and one commit across event-loop turns (a search or a second write in between); a thread keeps the
 * transaction whole and synchronous where it runs.
 *
 * Threads: one is started at the first write (≈ the import of the write path, tens of ms) and kept,
 * unreferenced (it never keeps a process alive), for the next; a write that finds it busy (writes
 * to two indexes at once) gets a thread of its own, ended when it finishes. A thread is never
 * terminated while it runs a write: terminating a thread does not close its descriptors, so its
 * flock on `write.lock` would outlive it and lock the index out until the process exits.
 *
 * What stays on the calling thread: adds (their commit compresses the new passages; the
 * cancel-crash tests count an add's file operations on the calling thread), the CLI's writes (a
 * command serves no one else, and its signal handling rolls back the transactions of its own
 * thread: cli/interrupt.ts), and the sync `updateIndex` / `compactIndex` with their test hooks
 * (`onStep`, `onOp`: functions do not cross to a thread). `observeTransactions` sees the calling
 * thread's transactions only, not the write thread's.
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WRITE_THREAD_DEFAULTS } from '../config/defaults.js';
import { PlaitError, abortedBy, checkNonEmptyString, checkObject, type ErrorCode, type ErrorDetails } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { workerExecArgv } from '../util/worker-exec-argv.js';
import type { Kernels } from '../kernels/types.js';
import type { LockKind } from '../format/write-lock.js';
import type { IndexManifest } from '../format/manifest.js';
import type { UpdateRequest, UpdateResult } from './index-updater.js';
import { compileFilter } from '../docstore/metadata-filter.js';

/** Options of a write run on the write thread. */
export interface OffThreadWriteOptions {
  /** Only which kernels cross: the TypeScript twin when `kernels.name` is 'typescript', else the thread's getKernels(). */
  kernels?: Kernels;
  /** As UpdateOptions.autoCompactShare (updateIndexOffThread only). */
  autoCompactShare?: number;
  /** As UpdateOptions.deltaMergeShare (updateIndexOffThread only). */
  deltaMergeShare?: number;
  /** Write-lock kind (default: write-lock.ts's choice). */
  lock?: LockKind;
  /**
   * Cancels the write until its commit starts: checked before the thread is asked and between the
   * write's steps (the store written, the arrays written); it then rolls back, nothing is written,
   * and the call rejects with the signal's reason (abortedBy: a PlaitError reason, TIMEOUT for
   * AbortSignal.timeout(), else ABORTED). A commit once begun completes and is answered.
   */
  signal?: AbortSignal;
}

const OFF_THREAD_OPTION_KEYS = { kernels: true, autoCompactShare: true, deltaMergeShare: true, lock: true, signal: true } as const satisfies OptionKeys<OffThreadWriteOptions>;

/** A task for the write thread (structured clone). */
export type WriteTask = {
  dir: string;
  kernels: 'typescript' | 'default';
  lock?: LockKind;
  /** One Int32 word: 1 once the caller's signal aborted. */
  cancel: SharedArrayBuffer;
} & ({ op: 'update'; req: UpdateRequest; autoCompactShare?: number; deltaMergeShare?: number } | { op: 'compact' });

/** An error as a value (write-thread-worker.ts wireError). */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  plaitCode?: ErrorCode;
  details?: ErrorDetails;
  /** errno-style fields: code (ENOSPC, SQLITE_FULL …), errno, syscall, path. */
  props?: Record<string, string | number>;
  cause?: WireError;
}

export type WriteReply = { ok: true; value: unknown } | { ok: false; error: WireError };

/** The error the thread threw, as the calling thread would have caught it: same class, code, details, errno fields and causes. */
function fromWire(w: WireError): Error {
  const cause = w.cause === undefined ? undefined : fromWire(w.cause);
  const e: Error = w.plaitCode !== undefined ? new PlaitError(w.plaitCode, w.details ?? {}, cause === undefined ? {} : { cause }) : new Error(w.message, cause === undefined ? undefined : { cause });
  e.message = w.message;
  if (w.plaitCode === undefined) e.name = w.name;
  if (w.props !== undefined) Object.assign(e, w.props);
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}

/** Threads kept between writes (unreferenced, idle). */
const idle: Worker[] = [];

function startThread(): Worker {
  const worker = new Worker(new URL('./write-thread-worker.js', import.meta.url), { execArgv: workerExecArgv() });
  // A thread that ends while idle leaves the idle list (a message to it would never be answered);
  // an error outside a write is followed by its exit, and must not be an uncaught 'error' event.
  worker.on('error', () => {});
  worker.once('exit', () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  });
  return worker;
}

/** A thread whose write finished: kept idle and unreferenced (WRITE_THREAD_DEFAULTS.idleThreads), else ended — it runs nothing. */
function release(worker: Worker): void {
  if (idle.length < WRITE_THREAD_DEFAULTS.idleThreads) {
    worker.unref();
    idle.push(worker);
  } else {
    void worker.terminate();
  }
}

/** Runs one task on an idle thread (or a new one); resolves with its value, rejects with its error rebuilt. */
function runTask(task: WriteTask): Promise<unknown> {
  const worker = idle.pop() ?? startThread();
  worker.ref();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: WriteReply): void => {
      done();
      release(worker);
      if (reply.ok) resolve(reply.value);
      else reject(fromWire(reply.error));
    };
    // The thread failed outside the write's own try (it could not load, or died): not reused.
    const onError = (e: Error): void => {
      done();
      void worker.terminate();
      reject(new PlaitError('WORKER_FAILED', { message: `the write thread failed: ${e.message}` }, { cause: e }));
    };
    const onExit = (code: number): void => {
      done();
      reject(new PlaitError('WORKER_FAILED', { message: `the write thread exited (code ${code}) before it answered`, exitCode: code }));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    try {
      worker.postMessage(task);
    } catch (e) {
      // A request structured clone refuses (a function in a filter): nothing was sent, the thread stays idle.
      done();
      release(worker);
      reject(new PlaitError('INVALID_ARGUMENT', { message: `the write's request cannot be passed to the write thread: ${(e as Error).message}` }, { cause: e }));
    }
  });
}

/** This process's writes per index folder (resolved path) → the end of the last one queued. */
const queued = new Map<string, Promise<unknown>>();

/**
 * Runs `write` after this process's earlier writes to the index folder `dir` have ended (each
 * settled, whatever its outcome), so two writes of one process never race for the folder's lock.
 * Before the write thread, a delete, a compaction and an add's commit each ran synchronously, so
 * they could not overlap; on the thread, `Promise.all([index.delete(a), index.delete(b)])` had
 * refused the second with INDEX_LOCKED, "being written by another process". Another process's
 * writer is still met at the lock (INDEX_LOCKED, or the server's lock wait).
 */
export function serialWrite<T>(dir: string, write: () => T | Promise<T>): Promise<T> {
  const key = resolve(dir);
  const before = queued.get(key) ?? Promise.resolve();
  const run = before.then(write, write);
  const end = run.then(
    () => undefined,
    () => undefined,
  );
  queued.set(key, end);
  void end.then(() => {
    if (queued.get(key) === end) queued.delete(key);
  });
  return run;
}

/** Runs `task` under `signal` (see OffThreadWriteOptions.signal). */
async function underSignal(task: WriteTask, signal: AbortSignal | undefined, what: string): Promise<unknown> {
  if (signal?.aborted === true) throw abortedBy(signal, `${what} was cancelled before it started: nothing was written`);
  const flag = new Int32Array(task.cancel);
  const onAbort = (): void => void Atomics.store(flag, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await runTask(task);
  } catch (e) {
    // The thread's ABORTED is this signal's (aborted meanwhile: narrowing does not know it).
    if (signal !== undefined && (signal as { aborted: boolean }).aborted && e instanceof PlaitError && e.code === 'ABORTED') throw abortedBy(signal, `${what} was cancelled before its commit: nothing was written`);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function baseTask(dir: string, options: OffThreadWriteOptions): Pick<WriteTask, 'dir' | 'kernels' | 'lock' | 'cancel'> {
  return {
    dir,
    kernels: options.kernels?.name === 'typescript' ? 'typescript' : 'default',
    ...(options.lock === undefined ? {} : { lock: options.lock }),
    cancel: new SharedArrayBuffer(4),
  };
}

/**
 * `updateIndex` (adds, deletes by id or filter, sync deletes; an automatic compaction after it) on
 * the write thread: the same transaction and result, the caller's event loop free meanwhile. The
 * request crosses by structured clone (an add's embeddings are copied: adds are for the calling
 * thread, see the header).
 * @throws PlaitError as updateIndex (INVALID_ARGUMENT for an unknown key here too, INDEX_LOCKED,
 *   INVALID_FILTER, DOCSTORE_FAILED, NOT_WRITABLE …, with their codes and details); ABORTED /
 *   TIMEOUT (`options.signal`, before the commit: nothing written); WORKER_FAILED (the thread died).
 */
export async function updateIndexOffThread(dir: string, req: UpdateRequest, options: OffThreadWriteOptions = {}): Promise<UpdateResult> {
  checkOptionKeys(options, OFF_THREAD_OPTION_KEYS, 'updateIndexOffThread option');
  // Refused here, as updateIndex refuses them, before a thread is asked.
  checkNonEmptyString('dir', dir, 'an index folder path');
  checkObject('req', req, 'an UpdateRequest ({ add?, delete?, deleteWhere? })');
  // A malformed filter is refused here, as updateIndex refuses it, before a thread is asked.
  if (req.deleteWhere !== undefined) compileFilter(req.deleteWhere);
  const task: WriteTask = {
    ...baseTask(dir, options),
    op: 'update',
    req,
    ...(options.autoCompactShare === undefined ? {} : { autoCompactShare: options.autoCompactShare }),
    ...(options.deltaMergeShare === undefined ? {} : { deltaMergeShare: options.deltaMergeShare }),
  };
  return (await serialWrite(dir, () => underSignal(task, options.signal, 'the write'))) as UpdateResult;
}

/**
 * `compactIndex` on the write thread (nothing to compact: the committed manifest, no generation).
 * @throws PlaitError as compactIndex (INVALID_ARGUMENT, INDEX_LOCKED, INDEX_NOT_FOUND / INDEX_CORRUPT …);
 *   ABORTED / TIMEOUT (`options.signal`, before the commit: nothing written); WORKER_FAILED.
 */
export async function compactIndexOffThread(dir: string, options: Pick<OffThreadWriteOptions, 'kernels' | 'lock' | 'signal'> = {}): Promise<IndexManifest> {
  checkOptionKeys(options, { kernels: true, lock: true, signal: true }, 'compactIndexOffThread option');
  checkNonEmptyString('dir', dir, 'an index folder path');
  return (await serialWrite(dir, () => underSignal({ ...baseTask(dir, options), op: 'compact' }, options.signal, 'the compaction'))) as IndexManifest;
}
