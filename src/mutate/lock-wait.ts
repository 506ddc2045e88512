/**
 * Waiting for an index's write lock instead of failing at once: the writes that callers reach
 * after long work (`plait add` after encoding, a delete or compaction started while a backup runs)
 * retry while another writer holds the lock, asynchronously (the event loop keeps running), with
 * backoff and jitter, up to a deadline. updateIndex and the transaction stay fail-fast
 * (synchronous: a blocking wait would stall a server).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_WAIT_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, isPlaitError, checkFunction } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

export interface LockWaitOptions {
  /** Longest wait for the lock, ms, ≥ 0 (default LOCK_WAIT_DEFAULTS.waitMs; 0: fail at once). */
  lockWaitMs?: number;
  /** Called once, when the first try finds the lock held (e.g. to tell a user why nothing happens). */
  onLockWait?: (holder: PlaitError) => void;
  /** Stops the wait early (the last INDEX_LOCKED is thrown). */
  signal?: AbortSignal;
}

/** LockWaitOptions' keys; a caller holding wider options hands on `pickOptions(o, LOCK_WAIT_OPTION_KEYS)`. */
export const LOCK_WAIT_OPTION_KEYS = { lockWaitMs: true, onLockWait: true, signal: true } as const satisfies OptionKeys<LockWaitOptions>;

/**
 * Runs `write` (an index write that takes the lock: synchronous, or async like backupIndex, which
 * a cluster's publish runs), retrying while it throws or rejects with INDEX_LOCKED, until it
 * succeeds or `lockWaitMs` has passed. Other errors pass through at once.
 * @throws PlaitError INDEX_LOCKED (with `waitedMs`) when the lock stayed held; INVALID_ARGUMENT for a bad `lockWaitMs` or an unknown options key (`lockwaitMs` had waited the default 30 s).
 */
export async function withLockWait<T>(write: () => T | Promise<T>, options: LockWaitOptions = {}): Promise<T> {
  checkOptionKeys(options, LOCK_WAIT_OPTION_KEYS, 'lock wait option');
  checkFunction('write', write, 'a function () => result');
  const waitMs = options.lockWaitMs ?? LOCK_WAIT_DEFAULTS.waitMs;
  if (!(waitMs >= 0) || !Number.isFinite(waitMs)) throw invalidArgument('lockWaitMs', 'a finite number of milliseconds ≥ 0', waitMs);
  const start = performance.now();
  let pause: number = LOCK_WAIT_DEFAULTS.firstPauseMs;
  let told = false;
  for (;;) {
    try {
      return await write();
    } catch (e) {
      if (!isPlaitError(e, 'INDEX_LOCKED')) throw e;
      const waited = performance.now() - start;
      if (waited >= waitMs || options.signal?.aborted === true) {
        if (waitMs === 0) throw e;
        // Which knob sets the wait is each door's to say (the CLI's --lock-wait-s hint, the library's
        // lockWaitMs, the HTTP write's deadline): the message is read by all three.
        throw new PlaitError('INDEX_LOCKED', { ...e.details, message: `${String(e.details?.['message'] ?? e.message)} (waited ${(waited / 1000).toFixed(1)} s for it)`, waitedMs: Math.round(waited) }, { cause: e });
      }
      if (!told) {
        told = true;
        options.onLockWait?.(e);
      }
      const jittered = pause * (0.5 + Math.random());
      await sleep(Math.min(jittered, waitMs - waited));
      pause = Math.min(pause * 2, LOCK_WAIT_DEFAULTS.maxPauseMs);
    }
  }
}
