/**
 * An LRU map bounded by the bytes its entries hold (each entry's size is given when it is set), with
 * hit and miss counters. The server keeps two: search results and query embeddings. An entry larger
 * than the whole budget is not stored.
 */
export class ByteLruCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Stores `value` as `bytes` bytes (plus the key's), evicting the least recently used entries. */
  set(key: string, value: V, bytes: number): void {
    const size = bytes + 2 * key.length;
    this.delete(key);
    if (size > this.maxBytes) return;
    this.map.set(key, { value, bytes: size });
    this.used += size;
    while (this.used > this.maxBytes) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.map.delete(key);
    this.used -= e.bytes;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
