/** Latency statistics of a query set. */

import { PlaitError, checkNumbers } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface LatencyStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  /** Queries per second: count / wall time (see `latencyStats`). */
  qps: number;
}

export interface LatencyStatsOptions {
  /**
   * Wall-clock time the whole query set took, in ms. Give it when queries ran concurrently;
   * without it, queries are taken as run one after another (wall time = sum of durations).
   */
  wallMs?: number;
}
const LATENCY_STATS_OPTION_KEYS = { wallMs: true } as const satisfies OptionKeys<LatencyStatsOptions>;

/**
 * Nearest-rank percentile: the smallest value x of the sample such that at least p% of the values
 * are ≤ x, i.e. sorted[ceil(p/100 · n) − 1] (sorted ascending, the first element for p = 0).
 */
export function nearestRankPercentile(sortedAscending: ArrayLike<number>, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected a non-empty sample for a percentile' });
  if (!(p >= 0 && p <= 100)) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a percentile in [0, 100] but received ${p}` });
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAscending[rank - 1]!;
}

/**
 * Latency statistics from per-query durations in milliseconds: nearest-rank p50/p95/p99 (see
 * `nearestRankPercentile`), arithmetic mean, min, max, and queries per second =
 * count / (wallMs / 1000), with wallMs defaulting to the sum of the durations.
 */
export function latencyStats(durationsMs: ArrayLike<number>, options: LatencyStatsOptions = {}): LatencyStats {
  checkOptionKeys(options, LATENCY_STATS_OPTION_KEYS, 'latencyStats option');
  checkNumbers('durationsMs', durationsMs);
  const n = durationsMs.length;
  if (n === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected at least one duration but received none', name: 'durationsMs' });
  const sorted = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = durationsMs[i]!;
    if (!Number.isFinite(v) || v < 0) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `Expected non-negative finite durations but duration ${i} is ${v}`, name: 'durationsMs' });
    }
    sorted[i] = v;
    sum += v;
  }
  sorted.sort();
  const wallMs = options.wallMs ?? sum;
  if (!(wallMs >= 0) || !Number.isFinite(wallMs)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a non-negative wallMs but received ${wallMs}`, name: 'wallMs' });
  }
  return {
    count: n,
    meanMs: sum / n,
    p50Ms: nearestRankPercentile(sorted, 50),
    p95Ms: nearestRankPercentile(sorted, 95),
    p99Ms: nearestRankPercentile(sorted, 99),
    minMs: sorted[0]!,
    maxMs: sorted[n - 1]!,
    qps: wallMs > 0 ? n / (wallMs / 1000) : Infinity,
  };
}
