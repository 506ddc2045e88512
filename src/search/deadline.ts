/**
 * A search's deadline: `timeoutMs` and/or an AbortSignal (and the index's own close signal), as
 * one object that every stage checks.
 *
 * AbortSignal.timeout only fires from the event loop, so scoring that runs on the calling thread
 * would never see it: `check()` compares the clock itself (one `performance.now()`), and the long
 * loops call it every SEARCH_DEFAULTS.deadlineCheckEvery passages. Batch loops `await yieldTurn()`
 * between queries so that a caller's AbortSignal can fire at all. Worker tasks get `signal`.
 */
import { PlaitError, invalidArgument } from '../errors/index.js';

export interface DeadlineOptions {
  /** Cancels the search (rejects with ABORTED). */
  signal?: AbortSignal;
  /** Deadline for the whole call, in ms (rejects with TIMEOUT). */
  timeoutMs?: number;
}

export class Deadline {
  private constructor(
    /** performance.now() after which the search times out (Infinity: never). */
    private readonly at: number,
    private readonly timeoutMs: number | undefined,
    /** Every source of cancellation combined: for worker tasks and listeners. */
    readonly signal: AbortSignal | undefined,
  ) {}

  /**
   * Starts a deadline now. `closing` is the index's close signal: its reason (an INDEX_CLOSED
   * PlaitError) becomes the search's error.
   * @throws PlaitError INVALID_ARGUMENT for a timeoutMs that is not a positive number.
   */
  static start(options: DeadlineOptions, closing?: AbortSignal): Deadline {
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw invalidArgument('timeoutMs', 'a positive number', timeoutMs);
    const signals: AbortSignal[] = [];
    if (closing !== undefined) signals.push(closing);
    if (signal !== undefined) signals.push(signal);
    if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
    const combined = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    return new Deadline(timeoutMs === undefined ? Infinity : performance.now() + timeoutMs, timeoutMs, combined);
  }

  /** True once the time is up or a signal fired. */
  get expired(): boolean {
    return this.signal?.aborted === true || performance.now() > this.at;
  }

  /**
   * Throws the search's error once it must stop: the close reason (INDEX_CLOSED), TIMEOUT, or
   * ABORTED. Cheap enough for inner loops every few thousand passages.
   */
  check(): void {
    if (this.signal?.aborted === true) throw abortError(this.signal);
    if (performance.now() > this.at) throw new PlaitError('TIMEOUT', { message: `search exceeded its deadline of ${this.timeoutMs} ms`, timeoutMs: this.timeoutMs });
  }

  /** A plain `() => void` for pure scoring code that knows nothing of deadlines. */
  get checker(): () => void {
    return () => this.check();
  }
}

/** The PlaitError an aborted signal stands for: its own reason when that is one (INDEX_CLOSED), else TIMEOUT or ABORTED. */
export function abortError(signal: AbortSignal): PlaitError {
  const reason = signal.reason as unknown;
  if (reason instanceof PlaitError) return reason;
  if ((reason as { name?: string } | undefined)?.name === 'TimeoutError') return new PlaitError('TIMEOUT', { message: 'search timed out' });
  return new PlaitError('ABORTED', { message: 'search aborted' });
}

/** Lets the event loop run (timers, abort listeners, worker replies) before the next query of a batch. */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
