/**
 * Admission control: at most `maxConcurrent` requests do work at once and at most `maxQueue` wait
 * for a slot, and only while the expected wait stays under `maxQueueWaitMs`; anything beyond is
 * refused at once with OVERLOADED (the route answers 503 + Retry-After) rather than joining an
 * unbounded queue and timing out later. A waiting request whose
 * deadline passes leaves the queue with TIMEOUT. Slots are released when the work settles, not
 * when the answer is sent, so a 504 never frees capacity that a still-running task holds.
 *
 * The mean work time starts from a prior (`seedWorkMs`, measured by the engine's warm-up), not 0:
 * with 0 a fresh server shed nothing on expected wait in its first burst. Waiters are served by
 * priority (lower first: Cohere v2's `priority`, default 0), first come first served within one;
 * when the queue is full, a newcomer with a more urgent priority than the last waiter takes that
 * waiter's place and the displaced waiter is refused with OVERLOADED ("least likely to be dropped").
 */
import { PlaitError } from '../index.js';

interface Waiter {
  priority: number;
  grant: () => void;
  refuse: (err: PlaitError) => void;
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
  /** Running mean of how long admitted work holds a slot (ms); the prior until the first request ends. */
  private meanWorkMs = 0;
  private observed = false;

  constructor(readonly limits: AdmissionLimits) {}

  /**
   * Sets the prior of the mean work time (ms) that shedding uses until real requests have been
   * measured: the engine's warm-up times a warm rerank and search and seeds it here.
   * @throws nothing; a non-finite or negative value is ignored.
   */
  seedWorkMs(ms: number): void {
    if (!this.observed && Number.isFinite(ms) && ms >= 0) this.meanWorkMs = ms;
  }

  /** The running mean of work time in ms (the prior until a request has finished). */
  get workMs(): number {
    return this.meanWorkMs;
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `work` when a slot is free. Rejects with OVERLOADED at once when the queue is full, and
   * with TIMEOUT/ABORTED if `signal` fires while waiting (the work then never starts). `work` may
   * call `release` to give the slot back before it ends (idempotent): a write does once its
   * encoding is done, so that its wait behind the index's earlier commits holds no slot.
   */
  async run<T>(work: (release: () => void) => Promise<T>, signal: AbortSignal, priority = 0): Promise<T> {
    await this.acquire(signal, priority);
    const t = performance.now();
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      const ms = performance.now() - t;
      // The first measured request blends with the prior rather than replacing it: one cached
      // answer in a few microseconds should not erase what the warm-up measured.
      this.meanWorkMs = this.meanWorkMs === 0 ? ms : this.meanWorkMs + EWMA_WEIGHT * (ms - this.meanWorkMs);
      this.observed = true;
      this.release();
    };
    try {
      return await work(release);
    } finally {
      release();
    }
  }

  private acquire(signal: AbortSignal, priority: number): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.running < this.limits.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    const ahead = this.waiting.filter((w) => w.priority <= priority).length;
    const expectedWaitMs = ((ahead + 1) * this.meanWorkMs) / this.limits.maxConcurrent;
    const overloaded = (): PlaitError =>
      new PlaitError('OVERLOADED', {
        message: `${this.running} requests running and ${this.waiting.length} waiting; try again later`,
        maxConcurrent: this.limits.maxConcurrent,
        maxQueue: this.limits.maxQueue,
        expectedWaitMs: Math.round(expectedWaitMs),
      });
    if (expectedWaitMs > this.limits.maxQueueWaitMs) return Promise.reject(overloaded());
    if (this.waiting.length >= this.limits.maxQueue) {
      const last = this.waiting[this.waiting.length - 1];
      if (last === undefined || last.priority <= priority) return Promise.reject(overloaded());
      this.waiting.pop();
      last.refuse(overloaded());
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // After every waiter of the same or a more urgent priority (stable: FIFO within a priority).
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.priority > priority) at--;
      this.waiting.splice(at, 0, waiter);
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
