/**
 * Consumed names (approval or closure name → the ids of the records that consumed it) as the
 * ledger is tallied record by record, with a read-only view of the tally as it stood after any
 * number of additions. Taking a view costs nothing: a reader that takes one per run over a long
 * ledger (verify's gate recompute, the loop) pays for what each run added, not for every name
 * consumed so far, and a view taken earlier does not change when more is added.
 */
import { lowerBound } from '../domain/lower-bound.js';
import { compareStrings } from '../domain/recovery-state.js';

interface Version {
  /** How many additions the tally had when these ids were set. */
  at: number;
  /** In compareStrings order. */
  ids: readonly string[];
}

export class ConsumedNames {
  /** Every name's ids, one entry per change, oldest first. */
  readonly #versions = new Map<string, Version[]>();
  /** Every name, in compareStrings order. */
  readonly #names: string[] = [];
  #additions = 0;

  /** Note that `id` consumed `name` (an id given twice counts once). */
  add(name: string, id: string): void {
    const versions = this.#versions.get(name);
    const current = versions?.[versions.length - 1]?.ids ?? [];
    const at = insertionPoint(current, id);
    if (current[at] === id) return;
    this.#additions += 1;
    const next = { at: this.#additions, ids: [...current.slice(0, at), id, ...current.slice(at)] };
    if (versions !== undefined) {
      versions.push(next);
      return;
    }
    this.#versions.set(name, [next]);
    this.#names.splice(insertionPoint(this.#names, name), 0, name);
  }

  /** The names and ids as they stand now; later additions do not show in it. */
  view(): ReadonlyMap<string, readonly string[]> {
    return new ConsumedView(this.#versions, this.#names, this.#additions);
  }
}

class ConsumedView implements ReadonlyMap<string, readonly string[]> {
  constructor(
    private readonly versions: ReadonlyMap<string, readonly Version[]>,
    private readonly names: readonly string[],
    private readonly additions: number,
  ) {}

  get(name: string): readonly string[] | undefined {
    const versions = this.versions.get(name);
    if (versions === undefined) return undefined;
    for (let i = versions.length - 1; i >= 0; i--)
      if (versions[i]!.at <= this.additions) return versions[i]!.ids;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get size(): number {
    let size = 0;
    for (const _ of this.entries()) size += 1;
    return size;
  }

  /** In compareStrings order of the names. */
  *entries(): MapIterator<[string, readonly string[]]> {
    for (const name of this.names) {
      const ids = this.get(name);
      if (ids !== undefined) yield [name, ids];
    }
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): MapIterator<readonly string[]> {
    for (const [, ids] of this.entries()) yield ids;
  }

  forEach(
    visit: (ids: readonly string[], name: string, map: ReadonlyMap<string, readonly string[]>) => void,
  ): void {
    for (const [name, ids] of this.entries()) visit(ids, name, this);
  }

  [Symbol.iterator](): MapIterator<[string, readonly string[]]> {
    return this.entries();
  }
}

/** The first index whose value is not before `value` (compareStrings). */
function insertionPoint(values: readonly string[], value: string): number {
  return lowerBound(values, (item) => compareStrings(item, value) < 0);
}
