/**
 * Answers are serialised a megabyte at a time (an 80 MB retry plan is never one string on the
 * heap), and must still be exactly the bytes `JSON.stringify` gives, with the ETag over them.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareJson } from '../../src/api/respond.js';

const sha256 = (bytes: Buffer): string => `"${createHash('sha256').update(bytes).digest('hex')}"`;

describe('prepareJson', () => {
  it('gives the bytes of JSON.stringify for any value, with a SHA-256 ETag over them', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withDate: true,
          withNullPrototype: true,
          withSparseArray: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withObjectString: true,
        }),
        (value) => {
          const expected = JSON.stringify(value) as string | undefined;
          if (expected === undefined) {
            expect(() => prepareJson(value)).toThrow(TypeError);
            return;
          }
          const prepared = prepareJson(value);
          expect(prepared.body.toString('utf8')).toBe(expected);
          expect(prepared.etag).toBe(sha256(Buffer.from(expected, 'utf8')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves out what JSON.stringify leaves out and writes null where it does, in split levels too', () => {
    const value = {
      skipped: undefined,
      fn: () => 1,
      sym: Symbol('s'),
      items: [undefined, () => 1, Symbol('s'), { toJSON: () => undefined }, new Date(0), NaN, -0],
      nested: { list: [{ a: undefined, b: 1 }], when: new Date(86_400_000) },
      viaToJson: { toJSON: () => ({ replaced: true }) },
      droppedByToJson: { toJSON: () => undefined },
    };
    expect(prepareJson(value).body.toString('utf8')).toBe(JSON.stringify(value));
  });

  it('gives the same bytes across chunk boundaries, multi-byte characters included', () => {
    const decisions = Array.from({ length: 25_000 }, (_, i) => ({
      key: `delivery-${i}`,
      message: `AuditDelivery delivery-${i} → provider hook-${i % 7}: nothing to retry ✓ 😀`,
    }));
    const value = { schema_version: 1, decisions, decision_count: decisions.length };
    const expected = JSON.stringify(value);
    expect(expected.length).toBeGreaterThan(2 * (1 << 20));
    const prepared = prepareJson(value);
    expect(prepared.body.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(prepared.etag).toBe(sha256(Buffer.from(expected, 'utf8')));
  });
});
