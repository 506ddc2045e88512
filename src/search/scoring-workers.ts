/**
 * How many scoring worker threads an index runs. `openIndex`'s `workers` and the server's
 * `scoringWorkers` (`plait serve --workers`) read the same values: 'auto' is one per core, at most
 * SCORING_WORKERS_AUTO_MAX; an integer in [0, THREAD_LIMITS.maxThreads] is that many; 0 scores on
 * the calling (serving) thread. openIndex left without `workers` scores on the calling thread; the
 * server's default is 'auto' (SERVER_DEFAULTS.scoringWorkers). Before, only the server took 'auto'
 * and openIndex refused it with "Expected an integer".
 */
import { availableParallelism } from 'node:os';
import { THREAD_LIMITS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';

/** Scoring workers when 'auto': one per core up to this many (THREAD_LIMITS.autoScoringWorkersMax, where the reason is). */
export const SCORING_WORKERS_AUTO_MAX = THREAD_LIMITS.autoScoringWorkersMax;

/**
 * @param value 'auto', or an integer in [0, THREAD_LIMITS.maxThreads]
 * @param name the option's name in the error (`workers`, `scoringWorkers`)
 * @returns the number of scoring worker threads (0: none)
 * @throws PlaitError INVALID_ARGUMENT naming both spellings, for anything else
 */
export function resolveScoringWorkers(value: number | 'auto', name: string): number {
  if (value === 'auto') return Math.min(availableParallelism(), SCORING_WORKERS_AUTO_MAX);
  if (!Number.isInteger(value) || value < 0 || value > THREAD_LIMITS.maxThreads) throw invalidArgument(name, `'auto' or an integer in [0, ${THREAD_LIMITS.maxThreads}]`, value);
  return value;
}
