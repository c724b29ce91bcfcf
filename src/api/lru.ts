/**
 * A tiny least-recently-used map. Views of revisions and the response bodies derived from them
 * are cached in these, so memory stays bounded however many revisions or parameter combinations
 * clients ask for: by entries, and optionally by weight (bytes) for the entries that are told
 * theirs with {@link LruCache.setWeight} — a response body is a few hundred bytes or 80 MB, so a
 * count alone bounds nothing.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private weight = 0;

  /**
   * @param capacity most entries kept
   * @param maxWeight most total weight kept; the newest weighed entry is kept even when it alone
   *   is heavier (it is what the requests of this moment share), the older weighed ones go first
   */
  constructor(
    private readonly capacity: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LruCache capacity must be a positive integer, got ${capacity}.`);
    }
    if (!(maxWeight > 0)) throw new RangeError(`LruCache maxWeight must be positive, got ${maxWeight}.`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The total weight of the entries kept. */
  get totalWeight(): number {
    return this.weight;
  }

  /** The value for `key` (marking it most recently used), or undefined. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Re-insert so Map iteration order (oldest first) doubles as the recency order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keep `value` for `key` (weight 0 until {@link setWeight} says otherwise). */
  set(key: K, value: V): void {
    this.delete(key);
    this.entries.set(key, { value, weight: 0 });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  /**
   * Say what the entry of `key` weighs (e.g. once a promised body is known), if it still holds
   * `value`; older weighed entries are dropped until the total is within `maxWeight`.
   */
  setWeight(key: K, value: V, weight: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.value !== value) return;
    this.weight += weight - entry.weight;
    entry.weight = weight;
    for (const [candidate, held] of this.entries) {
      if (this.weight <= this.maxWeight) break;
      // Unweighed entries (indexes, sorted lists) cost little and are slow to rebuild: kept.
      if (candidate !== key && held.weight > 0) this.delete(candidate);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.weight -= entry.weight;
    this.entries.delete(key);
  }

  /** The cached value, or compute, cache and return it. */
  getOrCompute(key: K, compute: () => V): V {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const value = compute();
    this.set(key, value);
    return value;
  }
}
