/**
 * Runs a query set through any search function, timing each query: the glue between a searcher
 * and `evaluateRun` / `latencyStats`. Knows nothing of indexes.
 */

import { performance } from 'node:perf_hooks';
import { PlaitError } from '../errors/index.js';
import type { EvalQuery } from './queries.js';
import type { Run, RunHit } from './run.js';

export type SearchFn = (text: string, queryId: string) => Promise<readonly RunHit[]> | readonly RunHit[];

export interface RunQueriesOptions {
  /** Queries in flight at once (default 1: sequential, so each duration is an unloaded latency). */
  concurrency?: number;
  /** Queries run first and thrown away, to warm caches and JIT (default 0). */
  warmup?: number;
  /** Stops between queries when aborted (rejects with ABORTED). */
  signal?: AbortSignal;
}

export interface TimedRun {
  run: Run;
  /** Per-query durations in ms, in query order. */
  durationsMs: Float64Array;
  /** Wall-clock time of the whole set, in ms (pass to `latencyStats` as wallMs). */
  wallMs: number;
}

/** Searches every query, recording its hits (copied) and its duration (performance.now()). */
export async function runQueries(queries: readonly EvalQuery[], search: SearchFn, options: RunQueriesOptions = {}): Promise<TimedRun> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a positive integer for concurrency but received ${concurrency}`, name: 'concurrency' });
  }
  const warmup = Math.min(options.warmup ?? 0, queries.length);
  for (let i = 0; i < warmup; i++) await search(queries[i]!.text, queries[i]!.id);

  const results: Array<RunHit[] | undefined> = new Array(queries.length);
  const durationsMs = new Float64Array(queries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queries.length) {
      if (options.signal?.aborted === true) throw new PlaitError('ABORTED', { message: 'query run aborted' });
      const i = next++;
      const q = queries[i]!;
      const start = performance.now();
      const hits = await search(q.text, q.id);
      durationsMs[i] = performance.now() - start;
      results[i] = hits.map((h) => ({ docId: h.docId, score: h.score }));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, queries.length)) }, worker));
  const wallMs = performance.now() - start;
  const run: Run = new Map();
  for (let i = 0; i < queries.length; i++) run.set(queries[i]!.id, results[i]!);
  return { run, durationsMs, wallMs };
}
