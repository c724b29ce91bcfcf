import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStrings } from '../../src/domain/recovery-state.js';
import { ConsumedNames } from '../../src/read-model/consumed-names.js';

/** What the tally must equal: a map rebuilt from every addition so far, names and ids sorted. */
function rebuilt(additions: readonly [string, string][]): [string, string[]][] {
  const map = new Map<string, Set<string>>();
  for (const [name, id] of additions) map.set(name, (map.get(name) ?? new Set()).add(id));
  return [...map]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([name, ids]) => [name, [...ids].sort(compareStrings)]);
}

describe('ConsumedNames', () => {
  it('gives, at every step, what a map rebuilt from the additions so far gives, and a view never changes', () => {
    const names = fc.constantFrom('a', 'B', 'ä', 'z-1', 'z-10', 'z-2');
    const ids = fc.constantFrom('x1', 'x2', 'X3', 'é4');
    fc.assert(
      fc.property(fc.array(fc.tuple(names, ids), { maxLength: 30 }), (additions) => {
        const tally = new ConsumedNames();
        const views: { view: ReadonlyMap<string, readonly string[]>; expected: [string, string[]][] }[] = [];
        additions.forEach(([name, id], index) => {
          tally.add(name, id);
          views.push({ view: tally.view(), expected: rebuilt(additions.slice(0, index + 1)) });
        });
        for (const { view, expected } of views) {
          expect([...view]).toEqual(expected);
          expect(view.size).toBe(expected.length);
          for (const [name, list] of expected) expect(view.get(name)).toEqual(list);
          expect(view.get('never')).toBeUndefined();
        }
      }),
      { seed: 1616, numRuns: 200 },
    );
  });
});
