import { describe, expect, it } from 'vitest';
import { StringTable } from '../../src/domain/string-table.js';

/** A string equal to `value` but not the same object: decoded from bytes, as a parser makes it. */
function copyOf(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

describe('StringTable', () => {
  it('hands out the first copy of a value for every equal one', () => {
    const table = new StringTable();
    const first = copyOf('records/deliveries/2026-06/a.json');
    expect(table.intern(first)).toBe(first);
    const again = table.intern(copyOf('records/deliveries/2026-06/a.json'));
    expect(again).toBe(first);
    expect(table.size).toBe(1);
  });

  it('stays bounded: values not seen again are dropped, values still seen keep their copy', () => {
    const table = new StringTable(100);
    const kept = Array.from({ length: 50 }, (_, i) => table.intern(copyOf(`kept-${i}`)));
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) expect(table.intern(copyOf(`kept-${i}`))).toBe(kept[i]);
      for (let i = 0; i < 100; i++) table.intern(copyOf(`garbage-${round}-${i}`));
    }
    // Two generations of at most max(100, 1.25 × carried) entries each.
    expect(table.size).toBeLessThanOrEqual(200);
    for (let i = 0; i < 50; i++) expect(table.intern(copyOf(`kept-${i}`))).toBe(kept[i]);
  });
});
