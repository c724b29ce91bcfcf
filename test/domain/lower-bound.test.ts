import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lowerBound } from '../../src/domain/lower-bound.js';

describe('lowerBound', () => {
  it('is the first index not before the value sought, as a scan from the start finds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -20, max: 20 })),
        fc.integer({ min: -25, max: 25 }),
        (list, value) => {
          const sorted = [...list].sort((a, b) => a - b);
          const scanned = sorted.findIndex((item) => item >= value);
          expect(lowerBound(sorted, (item) => item < value)).toBe(scanned === -1 ? sorted.length : scanned);
        },
      ),
      { seed: 1616, numRuns: 500 },
    );
  });
});
