/**
 * A per-thread scratch typed array that grows on demand: the hot paths of a search (centroid scores,
 * probed-token ranking, the probed walk's twin) reuse one buffer per worker thread instead of
 * allocating per query (16 MiB zeroed a query had cost 7.4 ms at load ~12: bench/RESULTS.md, "The
 * 1M goal"). A search is synchronous, so one user holds a scratch at a time.
 */
type ScratchArray = Int32Array | Uint8Array | Float32Array;

export class Scratch<T extends ScratchArray> {
  private buffer: T;

  /** @param make allocates a zeroed array of n elements (e.g. `(n) => new Float32Array(n)`) */
  constructor(private readonly make: (n: number) => T) {
    this.buffer = make(0);
  }

  /**
   * The first n elements: a new zeroed buffer when the current one is shorter, else the current one
   * with whatever its last user left in it (users that need zeros keep that invariant themselves).
   */
  take(n: number): T {
    if (this.buffer.length < n) this.buffer = this.make(n);
    return this.buffer.subarray(0, n) as T;
  }
}
