/**
 * Admission control: at most `maxConcurrent` requests do work at once and at most `maxQueue` wait
 * for a slot; anything beyond is refused at once with OVERLOADED (the route answers 503 +
 * Retry-After) rather than joining an unbounded queue and timing out later. A waiting request whose
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
}

export class Admission {
  private running = 0;
  private readonly waiting: Waiter[] = [];

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
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.running < this.limits.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.maxQueue) {
      return Promise.reject(
        new PlaitError('OVERLOADED', {
          message: `${this.running} requests running and ${this.waiting.length} waiting; try again later`,
          maxConcurrent: this.limits.maxConcurrent,
          maxQueue: this.limits.maxQueue,
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
