/**
 * A small LRU map bounded by total weight (e.g. bytes) and optionally by entry count. Map keeps
 * insertion order: re-inserting on get moves a key to the back, eviction takes from the front.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;

  /**
   * @param capacity largest total weight kept (an entry heavier than it is not cached at all)
   * @param weigh an entry's weight (default 1: capacity counts entries)
   * @param maxEntries largest number of entries kept (default unbounded)
   */
  constructor(
    readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 1,
    readonly maxEntries = Infinity,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Total weight held. */
  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e !== undefined) {
      this.map.delete(key);
      this.map.set(key, e);
    }
    return e?.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
    if (weight > this.capacity || this.maxEntries < 1) return;
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.capacity || this.map.size > this.maxEntries) this.delete(this.map.keys().next().value as K);
  }

  private delete(key: K): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.map.delete(key);
    this.total -= e.weight;
  }
}
