/**
 * Admission control: at most `maxConcurrent` requests do work at once and at most `maxQueue` wait
 * for a slot, and only while the expected wait stays under `maxQueueWaitMs`; anything beyond is
 * refused at once with OVERLOADED (the route answers 503 + Retry-After) rather than joining an
 * unbounded queue and timing out later. A waiting request whose
 * deadline passes leaves the queue with TIMEOUT. Slots are released when the work settles, not
 * when the answer is sent, so a 504 never frees capacity that a still-running task holds.
 */
import { PlaitError } from '../index.js';

interface Waiter {
  grant: () => void;
}

export interface AdmissionLimits {
  maxConcurrent: number;
  maxQueue: number;
  /**
   * Shed when the expected wait of a newcomer (requests ahead of it × mean work time ÷ slots)
   * exceeds this: keeps admitted requests' p99 bounded in time, not only in count.
   */
  maxQueueWaitMs: number;
}

/** Weight of the newest sample in the running mean of work time (about the last 20 requests). */
const EWMA_WEIGHT = 0.05;

export class Admission {
  /** Expected queueing time of the next request in ms (what the time-based shedding compares). */
  get expectedWaitMs(): number {
    return ((this.waiting.length + 1) * this.meanWorkMs) / this.limits.maxConcurrent;
  }

  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Running mean of how long admitted work holds a slot (ms); 0 until the first request ends. */
  private meanWorkMs = 0;

  constructor(readonly limits: AdmissionLimits) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `work` when a slot is free. Rejects with OVERLOADED at once when the queue is full, and
   * with TIMEOUT/ABORTED if `signal` fires while waiting (the work then never starts).
   */
  async run<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.acquire(signal);
    const t = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - t;
      this.meanWorkMs = this.meanWorkMs === 0 ? ms : this.meanWorkMs + EWMA_WEIGHT * (ms - this.meanWorkMs);
      this.release();
    }
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.running < this.limits.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    const expectedWaitMs = ((this.waiting.length + 1) * this.meanWorkMs) / this.limits.maxConcurrent;
    if (this.waiting.length >= this.limits.maxQueue || expectedWaitMs > this.limits.maxQueueWaitMs) {
      return Promise.reject(
        new PlaitError('OVERLOADED', {
          message: `${this.running} requests running and ${this.waiting.length} waiting; try again later`,
          maxConcurrent: this.limits.maxConcurrent,
          maxQueue: this.limits.maxQueue,
          expectedWaitMs: Math.round(expectedWaitMs),
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.grant();
    else this.running--;
  }
}

/** The PlaitError an aborted request signal stands for (deadline → TIMEOUT, otherwise ABORTED). */
export function abortReason(signal: AbortSignal): PlaitError {
  const r = signal.reason as { name?: string } | undefined;
  if (r instanceof PlaitError) return r;
  return r?.name === 'TimeoutError' ? new PlaitError('TIMEOUT', { message: 'the request passed its deadline' }) : new PlaitError('ABORTED', { message: 'the request was cancelled' });
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}
