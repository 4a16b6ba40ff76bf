/** A size-bounded map that forgets the least recently used entry first. Entries may carry an expiry. */
export class LruCache<K, V> {
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently used first.
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(private readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new Error('LruCache: maxEntries must be at least 1');
  }

  /** The value, unless missing or expired (an expired entry is dropped). A hit makes it the most recent. */
  get(key: K, nowMs: number = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.until <= nowMs) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number = Number.POSITIVE_INFINITY, nowMs: number = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: nowMs + ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
