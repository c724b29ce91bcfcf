/**
 * One copy of each path and object id a reader hands out. A ledger of 100,000 records has each
 * record's path and blob id in the tree listing, in the history walk's changes, in the ledger
 * check's file map and in the record cache's keys; parsed separately, each holds its own copy
 * (and a substring keeps the whole line it was cut from alive). Interned, they share one.
 *
 * Bounded for a long-lived process: two generations. A string seen in the current generation is
 * found there; one seen in the previous generation only is carried over; the rest of the previous
 * generation (claims removed, reports rewritten) is dropped when the current one is full. Full
 * means its minimum size, or 1.25× what was carried over into it, so a table holds about 2.5×
 * the strings still in use. Dropping an entry never changes a value, only whether the next one
 * equal to it is shared. Pure: no I/O.
 */
export class StringTable {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private carried = 0;
  private limit: number;

  /** `minEntries`: the size below which the table never drops anything. */
  constructor(private readonly minEntries = 1 << 18) {
    this.limit = minEntries;
  }

  /** The table's copy of `value` (equal to it): `value` itself the first time it is seen. */
  intern(value: string): string {
    const hit = this.current.get(value);
    if (hit !== undefined) return hit;
    const old = this.previous.get(value);
    const kept = old ?? value;
    if (old !== undefined) this.carried++;
    this.current.set(kept, kept);
    if (this.current.size >= this.limit) this.rotate();
    return kept;
  }

  /** Strings held (both generations; for tests and figures). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(): void {
    this.previous = this.current;
    this.current = new Map();
    this.limit = Math.max(this.minEntries, this.carried + (this.carried >> 2));
    this.carried = 0;
  }
}
