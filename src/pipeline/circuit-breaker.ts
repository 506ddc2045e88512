/**
 * A circuit breaker for a pipeline stage (the cross-encoder above all): it remembers the outcome of
 * the last `windowSize` calls (a count-based sliding window, as resilience4j's); when at least
 * `minimumCalls` are in the window and the share of failed or slow calls reaches `failureRate`, it
 * opens and refuses calls, so the pipeline skips the stage at once instead of waiting for it to fail
 * again. After `coolDownMs` it turns half-open and lets `halfOpenCalls` trial calls through: if they
 * all succeed it closes (with an empty window), the first failure opens it again for another
 * cool-down. Time comes from `now` (injectable, so tests need no clock); nothing here sets a timer.
 *
 * Every call it grants is settled exactly once: `acquire()` hands out a permit whose `settle()` takes
 * the outcome, or 'cancelled' when the call ended for a reason that says nothing about the stage (the
 * client hung up, the request's deadline passed). A cancelled half-open trial gives its slot back;
 * before, such a trial kept the slot for ever and the stage stayed off until a restart. A permit
 * from an earlier half-open period (the breaker moved on meanwhile) settles nothing.
 */
import { PIPELINE_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export type BreakerState = 'closed' | 'open' | 'half-open';
export type CallOutcome = 'success' | 'failure' | 'slow';

export interface CircuitBreakerOptions {
  /** Calls remembered. Default PIPELINE_DEFAULTS.breakerWindow (20). */
  windowSize?: number;
  /** Calls needed in the window before it may open. Default 5. */
  minimumCalls?: number;
  /** Share of failed + slow calls, in (0, 1], that opens it. Default 0.5. */
  failureRate?: number;
  /** Time open before a trial call, in ms. Default 30,000. */
  coolDownMs?: number;
  /** Trial calls while half-open. Default 1. */
  halfOpenCalls?: number;
  /** Clock in ms (default performance.now). */
  now?: () => number;
  /** Told of every state change (e.g. to update a metric). */
  onStateChange?: (to: BreakerState, from: BreakerState) => void;
}
const CIRCUIT_BREAKER_OPTION_KEYS = { windowSize: true, minimumCalls: true, failureRate: true, coolDownMs: true, halfOpenCalls: true, now: true, onStateChange: true } as const satisfies OptionKeys<CircuitBreakerOptions>;

export interface BreakerSnapshot {
  state: BreakerState;
  /** Calls in the window, and how many of them failed or were slow. */
  calls: number;
  failures: number;
  slow: number;
  /** Times it has opened since creation. */
  opens: number;
  /** ms until a trial call is allowed (0 unless open). */
  retryInMs: number;
}

/** A call the breaker let through; settle it once, whatever ends the call (later calls are ignored). */
export interface BreakerPermit {
  settle(outcome: CallOutcome | 'cancelled'): void;
}

export class CircuitBreaker {
  private readonly windowSize: number;
  private readonly minimumCalls: number;
  private readonly failureRate: number;
  private readonly coolDownMs: number;
  private readonly halfOpenCalls: number;
  private readonly now: () => number;
  private readonly onStateChange: ((to: BreakerState, from: BreakerState) => void) | undefined;
  private readonly window: CallOutcome[] = [];
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private trialsStarted = 0;
  private trialsPassed = 0;
  private opensCount = 0;
  /** Counts half-open periods, so that a permit from an earlier one cannot touch the current one. */
  private period = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    checkOptionKeys(options, CIRCUIT_BREAKER_OPTION_KEYS, 'CircuitBreaker option');
    this.windowSize = options.windowSize ?? PIPELINE_DEFAULTS.breakerWindow;
    this.minimumCalls = options.minimumCalls ?? PIPELINE_DEFAULTS.breakerMinimumCalls;
    this.failureRate = options.failureRate ?? PIPELINE_DEFAULTS.breakerFailureRate;
    this.coolDownMs = options.coolDownMs ?? PIPELINE_DEFAULTS.breakerCoolDownMs;
    this.halfOpenCalls = options.halfOpenCalls ?? PIPELINE_DEFAULTS.breakerHalfOpenCalls;
    this.now = options.now ?? (() => performance.now());
    this.onStateChange = options.onStateChange;
    if (!Number.isInteger(this.windowSize) || this.windowSize < 1) throw invalidArgument('windowSize', 'a positive integer', this.windowSize);
    if (!Number.isInteger(this.minimumCalls) || this.minimumCalls < 1 || this.minimumCalls > this.windowSize) {
      throw invalidArgument('minimumCalls', `an integer in [1, windowSize = ${this.windowSize}]`, this.minimumCalls);
    }
    if (!(this.failureRate > 0 && this.failureRate <= 1)) throw invalidArgument('failureRate', 'a number in (0, 1]', this.failureRate);
    if (!(Number.isFinite(this.coolDownMs) && this.coolDownMs >= 0)) throw invalidArgument('coolDownMs', 'a non-negative number', this.coolDownMs);
    if (!Number.isInteger(this.halfOpenCalls) || this.halfOpenCalls < 1) throw invalidArgument('halfOpenCalls', 'a positive integer', this.halfOpenCalls);
  }

  /** The state now (an open breaker past its cool-down reads half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.coolDownMs) this.transition('half-open');
    return this.current;
  }

  /** Whether a call may go ahead now; a true while half-open takes one of the trial slots. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.trialsStarted >= this.halfOpenCalls) return false;
    this.trialsStarted++;
    return true;
  }

  /**
   * A permit for one call, or null when the call must not go ahead (open, or every half-open trial
   * slot taken). The caller settles it in a `finally`, so that no ending (abort, deadline, hang-up,
   * an exception anywhere) leaves a trial slot taken.
   */
  acquire(): BreakerPermit | null {
    if (!this.tryAcquire()) return null;
    const period = this.period;
    const trial = this.current === 'half-open';
    let settled = false;
    return {
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        if (trial && (this.current !== 'half-open' || this.period !== period)) return;
        if (outcome !== 'cancelled') this.record(outcome);
        else if (trial) this.trialsStarted--;
      },
    };
  }

  /** Records the outcome of a call that `tryAcquire` let through. */
  record(outcome: CallOutcome): void {
    if (this.current === 'half-open') {
      if (outcome !== 'success') this.open();
      else if (++this.trialsPassed >= this.halfOpenCalls) {
        this.window.length = 0;
        this.transition('closed');
      }
      return;
    }
    if (this.current === 'open') return;
    this.window.push(outcome);
    if (this.window.length > this.windowSize) this.window.shift();
    if (this.window.length < this.minimumCalls) return;
    const bad = this.window.reduce((n, o) => n + (o === 'success' ? 0 : 1), 0);
    if (bad / this.window.length >= this.failureRate) this.open();
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      calls: this.window.length,
      failures: this.window.filter((o) => o === 'failure').length,
      slow: this.window.filter((o) => o === 'slow').length,
      opens: this.opensCount,
      retryInMs: state === 'open' ? Math.max(0, this.coolDownMs - (this.now() - this.openedAt)) : 0,
    };
  }

  private open(): void {
    this.openedAt = this.now();
    this.window.length = 0;
    this.opensCount++;
    this.transition('open');
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (to === 'half-open') {
      this.period++;
      this.trialsStarted = 0;
      this.trialsPassed = 0;
    }
    this.current = to;
    if (from !== to) this.onStateChange?.(to, from);
  }
}
