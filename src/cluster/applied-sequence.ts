/**
 * Read-your-writes (issue 24): a replica's applied write-log sequence, and a bounded wait for it to
 * reach the sequence a write was acknowledged at (WriteLog.append's `ShardAck.sequence`). The
 * replica service calls `waitFor` when a search names the sequences it must see; on the deadline
 * the answer says how far the replica got (`reached: false`), and the caller decides whether that
 * is an error (TIMEOUT, see `requireApplied`) or a flagged answer.
 *
 * The sequence only grows, and advances only after the write is served (the applier advances it
 * after its `afterCommit` hook, where the replica refreshes its open index), so a search that
 * waited sees the write.
 */
import { PlaitError, invalidArgument } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface WaitResult {
  /** Whether the applied sequence reached the one asked for before the deadline. */
  reached: boolean;
  /** The applied sequence when the wait ended. */
  applied: number;
}

export interface WaitOptions {
  /** Longest wait, in ms (0: answer at once). */
  timeoutMs: number;
  /** Ends the wait early (the request's deadline or disconnect): answers `reached: false`. */
  signal?: AbortSignal;
}

/** WaitOptions' keys: `{ timeoutMs, abortSignal }` had waited out its whole timeout after the request was gone. */
const WAIT_OPTION_KEYS = { timeoutMs: true, signal: true } as const satisfies OptionKeys<WaitOptions>;

interface Waiter {
  sequence: number;
  done: (r: WaitResult) => void;
}

export class AppliedSequence {
  private current: number;
  private readonly waiters = new Set<Waiter>();

  /** @param initial the sequence already applied (the manifest's `appliedLog.sequence`, or 0). */
  constructor(initial = 0) {
    if (!Number.isInteger(initial) || initial < 0) throw invalidArgument('initial', 'a non-negative integer', initial);
    this.current = initial;
  }

  get value(): number {
    return this.current;
  }

  /** Raises the applied sequence (a lower value is ignored) and answers the waits it satisfies. */
  advance(sequence: number): void {
    if (sequence <= this.current) return;
    this.current = sequence;
    for (const w of [...this.waiters]) if (w.sequence <= sequence) w.done({ reached: true, applied: sequence });
  }

  /**
   * Resolves once the applied sequence is at least `sequence`, or at the deadline / abort with
   * `reached: false`. Never rejects for a deadline.
   * @throws PlaitError INVALID_ARGUMENT for a sequence or timeout that is not a non-negative integer, or an unknown options key.
   */
  waitFor(sequence: number, options: WaitOptions): Promise<WaitResult> {
    checkOptionKeys(options, WAIT_OPTION_KEYS, 'wait option');
    if (!Number.isInteger(sequence) || sequence < 0) throw invalidArgument('sequence', 'a non-negative integer', sequence);
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 0) throw invalidArgument('timeoutMs', 'a non-negative integer', options.timeoutMs);
    if (sequence <= this.current) return Promise.resolve({ reached: true, applied: this.current });
    if (options.timeoutMs === 0 || options.signal?.aborted === true) return Promise.resolve({ reached: false, applied: this.current });
    return new Promise((resolve) => {
      const onAbort = (): void => w.done({ reached: false, applied: this.current });
      const timer = setTimeout(onAbort, options.timeoutMs);
      const w: Waiter = {
        sequence,
        done: (r) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(w);
          resolve(r);
        },
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(w);
    });
  }

  /**
   * `waitFor`, throwing when the sequence was not reached.
   * @throws PlaitError TIMEOUT with details `{ required, applied, timeoutMs }`.
   */
  async requireApplied(sequence: number, options: WaitOptions): Promise<void> {
    const r = await this.waitFor(sequence, options);
    if (!r.reached) {
      throw new PlaitError('TIMEOUT', { message: `the replica applied its write log up to sequence ${r.applied}, not ${sequence}, within ${options.timeoutMs} ms`, required: sequence, applied: r.applied, timeoutMs: options.timeoutMs });
    }
  }

  /** Answers every pending wait with `reached: false` (the replica is stopping). */
  close(): void {
    for (const w of [...this.waiters]) w.done({ reached: false, applied: this.current });
  }
}
