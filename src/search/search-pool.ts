/**
 * A pool of scoring workers over one index's shared arrays: queries of a batch run in parallel,
 * and an exhaustive search splits its passages across the workers. Tasks honour an AbortSignal
 * (abort and timeouts). The pool knows PLAID's task shapes but nothing of documents or fusion.
 */
import { Piscina } from 'piscina';
import { PlaitError } from '../errors/index.js';
import type { PlaidParams } from '../config/defaults.js';
import { toTransferable } from '../format/shared-arrays.js';
import type { EncodedQuery, PassageHits, PlaidTimings, ScoringArrays } from './plaid.js';
import type { PlaidTaskResult, ScoreTask, ScoreWorkerData } from './score-worker.js';
import { sharedScoringTables, useSharedScoringTables, type SharedScoringTables } from './shared-tables.js';
import { WORKER_DEADLINE_MESSAGE, abortError } from './deadline.js';
import { workerExecArgv } from '../util/worker-exec-argv.js';

/**
 * One abort listener per signal, however many tasks wait on it: a batch of queries shares its
 * request's signal, and a listener per task passed Node's limit of 10 (MaxListenersExceededWarning).
 */
const aborted = new WeakMap<AbortSignal, Promise<never>>();

function whenAborted(signal: AbortSignal): Promise<never> {
  let p = aborted.get(signal);
  if (p === undefined) {
    p = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(abortError(signal)), { once: true }));
    p.catch(() => {});
    aborted.set(signal, p);
  }
  return p;
}

export class SearchPool {
  private readonly pool: Piscina;
  /**
   * The tables every thread scoring these arrays shares (shared-tables.ts): this pool's workers and
   * the calling thread, which the constructor points at them too; filled by the first to need each.
   */
  readonly tables: SharedScoringTables;

  /** @param tables the shared tables to use (a living index's next generation takes over the served one's: shared-tables.ts carriedScoringTables); default empty ones */
  constructor(
    private readonly arrays: ScoringArrays,
    readonly threads: number,
    tables?: SharedScoringTables,
  ) {
    this.tables = tables ?? sharedScoringTables(arrays);
    useSharedScoringTables(arrays, this.tables);
    this.pool = new Piscina({
      execArgv: workerExecArgv(),
      filename: new URL('./score-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      workerData: { arrays: toTransferable(arrays), tables: this.tables } satisfies ScoreWorkerData,
      idleTimeout: 60_000,
    });
    // A worker that fails outside a task (its start: mapping the index's files) makes piscina emit
    // 'error', which with no listener ended the whole process; the tasks it was given reject with
    // WORKER_FAILED already, which is how the caller hears of it (as util/onnx-pool.ts does).
    this.pool.on('error', () => {});
  }

  /**
   * Runs a task; an abort rejects at once while the worker finishes its (short) task and the
   * result is dropped. Piscina's own abortable tasks terminate the worker thread instead, which
   * costs a respawn and races with results already posted.
   */
  private run<T>(task: ScoreTask, signal?: AbortSignal): Promise<T> {
    const running = (this.pool.run(task) as Promise<T>).catch((cause: unknown) => {
      // The worker may notice the deadline before this thread's timer fires.
      if ((cause as Error).message === WORKER_DEADLINE_MESSAGE) throw new PlaitError('TIMEOUT', { message: 'search timed out' }, { cause });
      throw new PlaitError('WORKER_FAILED', { message: (cause as Error).message ?? String(cause) }, { cause });
    });
    if (signal === undefined) return running;
    running.catch(() => {});
    if (signal.aborted) return Promise.reject(abortError(signal));
    return Promise.race([running, whenAborted(signal)]);
  }

  /** @param deadlineAt epoch ms after which the worker stops the task (see ScoreTask) */
  async plaid(q: EncodedQuery, params: PlaidParams, signal?: AbortSignal, deadlineAt?: number, marks?: Uint8Array): Promise<{ hits: PassageHits; timings: PlaidTimings }> {
    const r = await this.run<PlaidTaskResult>(marks === undefined ? { kind: 'plaid', q, params, deadlineAt } : { kind: 'plaid', q, params, deadlineAt, marks }, signal);
    return { hits: { pids: r.pids, scores: r.scores }, timings: r.timings };
  }

  /**
   * Exhaustive search: the passages split into one range per worker, each worker keeping only
   * its best `keep` passages (default: all), merged here into the overall best `keep`, highest
   * first (ties: lower pid). Memory is O(keep) per query, not O(passages).
   * @param deadlineAt epoch ms after which the workers stop their ranges (see ScoreTask)
   */
  async exhaustive(q: EncodedQuery, signal?: AbortSignal, keep?: number, deadlineAt?: number): Promise<PassageHits> {
    const n = this.arrays.doclens.length;
    const k = Math.max(1, Math.min(n, keep ?? n));
    const per = Math.ceil(n / this.threads);
    const slices: Promise<PassageHits>[] = [];
    for (let from = 0; from < n; from += per) slices.push(this.run<PassageHits>({ kind: 'range', q, from, to: Math.min(n, from + per), keep: k, deadlineAt }, signal));
    const parts = await Promise.all(slices);
    let total = 0;
    for (const p of parts) total += p.pids.length;
    const idx = new Int32Array(total);
    const pids = new Int32Array(total);
    const scores = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      pids.set(p.pids, o);
      scores.set(p.scores, o);
      o += p.pids.length;
    }
    for (let i = 0; i < total; i++) idx[i] = i;
    // Highest score first, lower pid on ties: the order a full scan and a stable selection give.
    idx.sort((x, y) => scores[y]! - scores[x]! || pids[x]! - pids[y]!);
    const m = Math.min(k, total);
    return { pids: Int32Array.from(idx.subarray(0, m), (i) => pids[i]!), scores: Float32Array.from(idx.subarray(0, m), (i) => scores[i]!) };
  }

  /**
   * Pays every worker's one-time setup (warm-up.ts): one warm-up task a worker, each waiting at a
   * shared barrier until all have arrived, so that no worker is left cold. Resolves with the thread
   * id of the worker that ran each task.
   */
  async warmUp(): Promise<number[]> {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    return Promise.all(Array.from({ length: this.threads }, () => this.run<number>({ kind: 'warm', counter, parties: this.threads })));
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
