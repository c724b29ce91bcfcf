import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasValidHash, hashOf, makeId, sha256Hex, withHash } from '../../src/domain/hash.js';

/** Rebuild an object with its keys inserted in the given order (recursively reversed or shuffled). */
function reorder(value: unknown, permute: <T>(items: T[]) => T[]): unknown {
  if (Array.isArray(value)) return value.map((item) => reorder(item, permute));
  if (value !== null && typeof value === 'object') {
    const entries = permute(Object.entries(value as Record<string, unknown>));
    const result: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      Object.defineProperty(result, key, {
        value: reorder(item, permute),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

describe('sha256Hex and hashOf', () => {
  it('is SHA-256 of the UTF-8 bytes (FIPS 180-2 "abc" vector)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the canonical text, not the insertion order', () => {
    expect(hashOf({ b: 1, a: [true, null] })).toBe(sha256Hex('{"a":[true,null],"b":1}'));
  });

  it('makeId is the prefix plus 16 hex chars of the hash', () => {
    expect(makeId('gordackretryexec-', { a: 1 })).toBe(`gordackretryexec-${hashOf({ a: 1 }).slice(0, 16)}`);
    expect(makeId('p-', 'x')).toMatch(/^p-[0-9a-f]{16}$/);
  });
});

describe('hash properties', () => {
  it('a hash does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, reverse) => {
        const permuted = reorder(value, (items) =>
          // Sorted by their JSON text: String() of an entry throws for a value like {"toString": 0}.
          reverse
            ? [...items].reverse()
            : [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? 1 : -1)),
        );
        expect(hashOf(permuted)).toBe(hashOf(value));
      }),
      { numRuns: 300 },
    );
  });

  it('withHash is idempotent and its result always verifies', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const once = withHash<Record<string, unknown>, 'h'>(record, 'h');
        const twice = withHash<Record<string, unknown>, 'h'>(once, 'h');
        expect(twice).toEqual(once);
        expect(hasValidHash(once, 'h')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any change to a hashed field makes the hash invalid', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.integer(), { minKeys: 1 }),
        fc.integer(),
        (record, delta) => {
          fc.pre(delta !== 0);
          const hashed = withHash<Record<string, unknown>, 'h'>(record, 'h');
          const key = Object.keys(record)[0] as string;
          fc.pre(key !== 'h');
          const tampered = { ...hashed, [key]: (record[key] as number) + delta };
          expect(hasValidHash(tampered, 'h')).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hasValidHash is false when the field is missing or not a string', () => {
    expect(hasValidHash({ a: 1 }, 'h')).toBe(false);
    expect(hasValidHash({ a: 1, h: 5 }, 'h')).toBe(false);
  });
});
