/**
 * A search's deadline: `timeoutMs` and/or an AbortSignal (and the index's own close signal), as
 * one object that every stage checks.
 *
 * AbortSignal.timeout only fires from the event loop, so scoring that runs on the calling thread
 * would never see it: `check()` compares the clock itself (one `performance.now()`), and the long
 * loops call it every SEARCH_DEFAULTS.deadlineCheckEvery passages. Batch loops `await yieldTurn()`
 * between queries so that a caller's AbortSignal can fire at all. Worker tasks get `signal`.
 */
import { setMaxListeners } from 'node:events';
import { PlaitError, abortedBy, checkSignal, invalidArgument } from '../errors/index.js';

export interface DeadlineOptions {
  /** Cancels the search (rejects with ABORTED). */
  signal?: AbortSignal;
  /** Deadline for the whole call, in ms (rejects with TIMEOUT). */
  timeoutMs?: number;
  /**
   * The same deadline as a time: epoch ms (`Date.now()`'s clock) by which the call must end, as the
   * server passes a request's deadline on (a cluster's coordinator answers degraded before it). With
   * timeoutMs too, the earlier holds; one already past rejects with TIMEOUT.
   */
  deadlineAt?: number;
}

export class Deadline {
  private constructor(
    /** performance.now() after which the search times out (Infinity: never). */
    private readonly at: number,
    private readonly timeoutMs: number | undefined,
    /** Every source of cancellation combined: for worker tasks and listeners. */
    readonly signal: AbortSignal | undefined,
    /** Clears the timer and the forwarding listeners this deadline owns. */
    private readonly release: () => void,
  ) {}

  /**
   * Starts a deadline now. `closing` is the index's close signal: its reason (an INDEX_CLOSED
   * PlaitError) becomes the search's error. With `timeoutMs`, or with more than one signal, the
   * deadline owns one AbortController, one `setTimeout` and the listeners that forward the other
   * signals to it; the caller must `dispose()` it when the search settles (try/finally).
   *
   * Why not `AbortSignal.any([AbortSignal.timeout(ms), …])`: on Node 20 the inner timeout signal is
   * only weakly held by the combined one and can be garbage-collected before it fires
   * (nodejs/node#57736), so the deadline silently never comes. A timer held by its owner cannot be
   * collected (test/server-deadline-gc.test.ts checks it under `--expose-gc`).
   * @throws PlaitError INVALID_ARGUMENT for a timeoutMs that is not a number in (0, MAX_TIMER_MS], a
   * deadlineAt that is not finite or more than MAX_TIMER_MS ahead, or a signal that is not an AbortSignal; TIMEOUT for a deadlineAt already past.
   */
  static start(options: DeadlineOptions, closing?: AbortSignal): Deadline {
    const { deadlineAt } = options;
    let { timeoutMs } = options;
    const signal = checkSignal('signal', options.signal);
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) throw invalidArgument('timeoutMs', `a number in (0, ${MAX_TIMER_MS}]`, timeoutMs);
    if (deadlineAt !== undefined) {
      if (!Number.isFinite(deadlineAt)) throw invalidArgument('deadlineAt', 'a finite number (epoch ms)', deadlineAt);
      const left = deadlineAt - Date.now();
      if (left <= 0) throw new PlaitError('TIMEOUT', { message: `the call's deadline passed ${-left} ms before it started`, deadlineAt });
      // As for timeoutMs: a Node timer past 2^31 - 1 ms fires after 1 ms.
      if (left > MAX_TIMER_MS) throw invalidArgument('deadlineAt', `at most ${MAX_TIMER_MS} ms ahead`, deadlineAt);
      timeoutMs = Math.min(timeoutMs ?? Infinity, left);
    }
    const at = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    const signals = [closing, signal].filter((s): s is AbortSignal => s !== undefined);
    if (timeoutMs === undefined && signals.length <= 1) return new Deadline(at, timeoutMs, signals[0], () => {});
    const owned = new OwnedAbort(signals, timeoutMs, () => new PlaitError('TIMEOUT', { message: `search exceeded its deadline of ${timeoutMs} ms`, timeoutMs }));
    return new Deadline(at, timeoutMs, owned.signal, () => owned.dispose());
  }

  /** Clears the deadline's timer and listeners (idempotent); call it when the search settles. */
  dispose(): void {
    this.release();
  }

  /** The deadline as epoch ms (performance.timeOrigin-based, comparable across threads); undefined without timeoutMs. */
  get epochMs(): number | undefined {
    return this.at === Infinity ? undefined : performance.timeOrigin + this.at;
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
  // abortedBy keeps the caller's own reason as `cause`, as add, rerank and buildIndex report it (a search had dropped it).
  const timedOut = (signal.reason as { name?: unknown } | null | undefined)?.name === 'TimeoutError';
  return abortedBy(signal, timedOut ? 'search timed out' : 'search aborted');
}

/**
 * Throws `abortError(signal)` when `signal` has fired: the check a call makes before work it would
 * throw away (a model's load, a shard round). A function, not an inline test, so that TypeScript
 * does not narrow `signal.aborted` to false for the checks after the awaits that follow.
 * @throws PlaitError ABORTED, or TIMEOUT for `AbortSignal.timeout()`'s reason.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/**
 * The longest delay a Node timer keeps: 2^31 - 1 ms (about 24.8 days). A longer one fires after
 * 1 ms (TimeoutOverflowWarning), so a deadline or a drain "for ever" (`--drain-timeout-ms
 * 3000000000`) had ended at once: every duration that becomes a timer is refused past it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * An AbortController whose signal every request in flight listens to (the server's shutdown, an
 * index's close): one abort listener per request, each removed when its request settles. Node
 * warns past 10 listeners on one signal ("MaxListenersExceededWarning: Possible EventTarget memory
 * leak detected"), which `plait serve` printed as soon as 11 requests were in flight; the count is
 * bounded by the requests in flight, not a leak, so the signal carries no limit.
 */
export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * One AbortController fed by other signals and at most one timer, all owned: `dispose()` clears the
 * timer and removes every listener it added. The combined signal's reason is the first source's
 * reason (a forwarded signal's own reason, or `timeoutReason()` when the timer fires).
 *
 * The server's request deadline (server/request-work.ts) and the library's search deadline both
 * use it instead of `AbortSignal.any` + `AbortSignal.timeout` (see Deadline.start for why).
 */
export class OwnedAbort {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly unlisten: (() => void)[] = [];

  /**
   * @param sources signals whose abort is forwarded (an already aborted one aborts at once, with its reason).
   * @param timeoutMs aborts after this many ms, in (0, MAX_TIMER_MS]; undefined: no timer.
   * @param timeoutReason the abort reason when the timer fires.
   * @throws PlaitError INVALID_ARGUMENT for a source that is not an AbortSignal, a timeoutMs out of
   * range (a Node timer past MAX_TIMER_MS fires after 1 ms), or a timeoutReason that is not a function.
   */
  constructor(sources: readonly AbortSignal[], timeoutMs: number | undefined, timeoutReason: () => unknown) {
    if (!Array.isArray(sources)) throw invalidArgument('sources', 'an array of AbortSignals', sources);
    sources.forEach((s, i) => {
      if (checkSignal(`sources[${i}]`, s) === undefined) throw invalidArgument(`sources[${i}]`, 'an AbortSignal', s);
    });
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) throw invalidArgument('timeoutMs', `a number in (0, ${MAX_TIMER_MS}]`, timeoutMs);
    if (typeof timeoutReason !== 'function') throw invalidArgument('timeoutReason', 'a function returning the abort reason', timeoutReason);
    for (const s of sources) {
      if (s.aborted) {
        this.abort(s.reason);
        return;
      }
      const forward = (): void => this.abort(s.reason);
      s.addEventListener('abort', forward, { once: true });
      this.unlisten.push(() => s.removeEventListener('abort', forward));
    }
    if (timeoutMs !== undefined) this.timer = setTimeout(() => this.abort(timeoutReason()), timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts now with `reason` (first reason wins) and releases the timer and listeners. */
  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.dispose();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const u of this.unlisten.splice(0)) u();
  }
}

/** The message a scoring worker stops a task with when its deadline passed (mapped back to TIMEOUT by the pool). */
export const WORKER_DEADLINE_MESSAGE = 'plait: task deadline passed';

/** Lets the event loop run (timers, abort listeners, worker replies) before the next query of a batch. */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
