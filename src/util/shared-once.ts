/**
 * A once-cell in shared memory: contents that several threads need and any of them can compute
 * (an index's int8 centroids, the exact stage's token-norm cache) are filled by the first thread
 * that needs them, into SharedArrayBuffers every thread holds, while the others wait for it
 * (Atomics.wait, on worker threads only: the main thread never blocks its event loop on another
 * thread's fill, it uses private contents instead). N scoring workers then cost one fill and one
 * copy, not N (search-15: bench/RESULTS.md, "Scoring workers' start, shared tables").
 *
 * Cell layout (Int32Array of 2 in a SharedArrayBuffer): [0] the state (EMPTY, FILLING, READY),
 * [1] how many fills completed (1 when shared as meant; the tests read it).
 */

import { isMainThread } from 'node:worker_threads';

const STATE = 0;
const FILLS = 1;
const EMPTY = 0;
const FILLING = 1;
const READY = 2;

/** A new, empty once-cell (2 × Int32 in a SharedArrayBuffer); it travels to workers by structured clone, still shared. */
export function onceCell(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** Whether the cell's contents are filled. */
export function onceReady(cell: Int32Array): boolean {
  return Atomics.load(cell, STATE) === READY;
}

/** How many times the cell was filled (one thread's fill each; 0 before the first). */
export function onceFills(cell: Int32Array): number {
  return Atomics.load(cell, FILLS);
}

/**
 * Runs `fill` unless another thread has run it or is running it; then returns once the contents
 * are ready. A fill that throws leaves the cell empty (the next caller tries again) and rethrows.
 * @param cell from onceCell()
 * @param fill writes the shared contents (and only them); runs on at most one thread at a time
 * @param waitMs how long a worker thread waits for another thread's fill (ms, ≥ 0); the main thread
 *   does not wait (a worker killed mid-fill would otherwise stall every request for waitMs)
 * @returns true when the shared contents are ready; false when another thread's fill did not end
 *   within the wait (it may have been terminated): the caller then uses private contents
 */
export function runOnce(cell: Int32Array, fill: () => void, waitMs: number): boolean {
  const until = performance.now() + (isMainThread ? 0 : waitMs);
  for (;;) {
    const state = Atomics.compareExchange(cell, STATE, EMPTY, FILLING);
    if (state === READY) return true;
    if (state === EMPTY) {
      try {
        fill();
        Atomics.add(cell, FILLS, 1);
        Atomics.store(cell, STATE, READY);
      } catch (e) {
        Atomics.store(cell, STATE, EMPTY);
        throw e;
      } finally {
        Atomics.notify(cell, STATE);
      }
      return true;
    }
    const left = until - performance.now();
    if (left <= 0) return false;
    Atomics.wait(cell, STATE, FILLING, left);
  }
}
