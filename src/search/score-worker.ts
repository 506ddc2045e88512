/**
 * Piscina worker for late-interaction scoring. The index's arrays arrive once as workerData:
 * SharedArrayBuffers travel without a copy, and memory-mapped segments arrive as file names that
 * this worker maps itself (the page cache is shared, so RSS does not multiply by workers); the tables
 * derived from them (int8 centroids, token-norm cache) arrive as shared memory too, filled once by
 * whichever thread needs them first (shared-tables.ts). Each
 * task scores one query with PLAID, or one range of passages exactly, answering with its top
 * `keep` passages (exhaustive search split across workers), or warms the worker up (warm-up.ts).
 */
import { threadId, workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { getKernels } from '../kernels/index.js';
import { fromTransferable } from '../format/shared-arrays.js';
import { plaidSearch, scratchMarks, exhaustiveTopRange, type EncodedQuery, type ScoringArrays, type PlaidTimings, type PassageHits } from './plaid.js';
import { WARM_UP_DEFAULTS, type PlaidParams } from '../config/defaults.js';
import { arriveAndWait, warmUpScoring } from './warm-up.js';
import { WORKER_DEADLINE_MESSAGE } from './deadline.js';
import { useSharedScoringTables, type SharedScoringTables } from './shared-tables.js';

export type ScoreTask = (
  | { kind: 'plaid'; q: EncodedQuery; params: PlaidParams; marks?: Uint8Array }
  | { kind: 'range'; q: EncodedQuery; from: number; to: number; keep: number }
  /** The warm-up (warm-up.ts): every worker takes one, meeting the others at `counter` (shared memory) first. */
  | { kind: 'warm'; counter: Int32Array; parties: number }
) & {
  /** Epoch ms (performance.timeOrigin + now) after which the task stops scoring: a timed-out search frees its worker. */
  deadlineAt?: number;
};

export interface PlaidTaskResult {
  pids: Int32Array;
  scores: Float32Array;
  timings: PlaidTimings;
}

/** What a scoring worker receives at its creation (search-pool.ts). */
export interface ScoreWorkerData {
  /** The index's arrays as format/shared-arrays.ts's toTransferable gives them. */
  arrays: unknown;
  /** The tables all the index's scoring threads share (shared-tables.ts). */
  tables: SharedScoringTables;
}

const kernels = getKernels();
const data = workerData as ScoreWorkerData;
const arrays = fromTransferable<ScoringArrays>(data.arrays, kernels);
useSharedScoringTables(arrays, data.tables);
const mark = scratchMarks(arrays);

function moved<T extends object>(value: T, buffers: ArrayBufferLike[]): T {
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value } as never) as unknown as T;
}

/** Throws once the task's deadline has passed (the caller has already rejected; this only stops the work). */
function deadlineCheck(at: number | undefined): (() => void) | undefined {
  if (at === undefined) return undefined;
  return () => {
    if (performance.timeOrigin + performance.now() > at) throw new Error(WORKER_DEADLINE_MESSAGE);
  };
}

export default function score(task: ScoreTask): PlaidTaskResult | PassageHits | number {
  if (task.kind === 'warm') {
    arriveAndWait(task.counter, task.parties, WARM_UP_DEFAULTS.barrierTimeoutMs);
    warmUpScoring(arrays, kernels, mark);
    return threadId;
  }
  const check = deadlineCheck(task.deadlineAt);
  if (task.kind === 'plaid') {
    // A filtered search brings its own marks (shared memory: excluded passages pre-set).
    const { hits, timings } = plaidSearch(arrays, task.q, task.params, kernels, task.marks ?? mark, check);
    return moved({ pids: hits.pids, scores: hits.scores, timings }, [hits.pids.buffer, hits.scores.buffer]);
  }
  const hits = exhaustiveTopRange(arrays, task.q, task.from, task.to, task.keep, kernels, check);
  return moved({ pids: hits.pids, scores: hits.scores }, [hits.pids.buffer, hits.scores.buffer]);
}
