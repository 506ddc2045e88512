/**
 * A pool of scoring workers over one index's shared arrays: queries of a batch run in parallel,
 * and an exhaustive search splits its passages across the workers. Tasks honour an AbortSignal
 * (abort and timeouts). The pool knows PLAID's task shapes but nothing of documents or fusion.
 */
import { Piscina } from 'piscina';
import { PlaitError } from '../errors/index.js';
import type { PlaidParams } from '../config/defaults.js';
import type { EncodedQuery, PassageHits, PlaidTimings, ScoringArrays } from './plaid.js';
import type { PlaidTaskResult, ScoreTask } from './score-worker.js';
import { abortError } from './deadline.js';

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

  constructor(
    private readonly arrays: ScoringArrays,
    readonly threads: number,
  ) {
    this.pool = new Piscina({
      filename: new URL('./score-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      workerData: { arrays },
      idleTimeout: 60_000,
    });
  }

  /**
   * Runs a task; an abort rejects at once while the worker finishes its (short) task and the
   * result is dropped. Piscina's own abortable tasks terminate the worker thread instead, which
   * costs a respawn and races with results already posted.
   */
  private run<T>(task: ScoreTask, signal?: AbortSignal): Promise<T> {
    const running = (this.pool.run(task) as Promise<T>).catch((cause: unknown) => {
      throw new PlaitError('WORKER_FAILED', { message: (cause as Error).message ?? String(cause) }, { cause });
    });
    if (signal === undefined) return running;
    running.catch(() => {});
    if (signal.aborted) return Promise.reject(abortError(signal));
    return Promise.race([running, whenAborted(signal)]);
  }

  async plaid(q: EncodedQuery, params: PlaidParams, signal?: AbortSignal): Promise<{ hits: PassageHits; timings: PlaidTimings }> {
    const r = await this.run<PlaidTaskResult>({ kind: 'plaid', q, params }, signal);
    return { hits: { pids: r.pids, scores: r.scores }, timings: r.timings };
  }

  /** Exact scores of every passage, the range split into one slice per worker. */
  async exhaustive(q: EncodedQuery, signal?: AbortSignal): Promise<PassageHits> {
    const n = this.arrays.doclens.length;
    const per = Math.ceil(n / this.threads);
    const slices: Promise<Float32Array>[] = [];
    for (let from = 0; from < n; from += per) slices.push(this.run<Float32Array>({ kind: 'range', q, from, to: Math.min(n, from + per) }, signal));
    const parts = await Promise.all(slices);
    const scores = new Float32Array(n);
    let o = 0;
    for (const p of parts) {
      scores.set(p, o);
      o += p.length;
    }
    return { pids: Int32Array.from({ length: n }, (_, i) => i), scores };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
