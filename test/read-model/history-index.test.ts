/**
 * The incremental forms of the history index's passes (advancing ancestor marks, the newest
 * recorded ancestors filled from a position on, ancestry bounded below) against the passes from
 * the root, on generated histories with branches and merges. Pure: no git here, the index is
 * what a walk appends.
 */
import { describe, expect, it } from 'vitest';
import type { WalkedCommit } from '../../src/domain/ports.js';
import {
  advanceAncestorMarks,
  appendWalk,
  computeNewestRecordedAncestors,
  createHistoryIndex,
  extendNewestRecordedAncestors,
  isAncestorPosition,
  markAncestors,
  type HistoryIndex,
} from '../../src/read-model/history-index.js';

/** A deterministic pseudo-random history: every commit has 1 parent, some 2 (merges), a few roots. */
function generateIndex(size: number, seed: number): HistoryIndex {
  let state = seed;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const commits: WalkedCommit[] = [];
  for (let i = 0; i < size; i++) {
    const parents: string[] = [];
    if (i > 0 && random() > 0.02) parents.push(`c${Math.max(0, i - 1 - Math.floor(random() * 4))}`);
    if (i > 2 && random() < 0.2) {
      const other = `c${Math.floor(random() * i)}`;
      if (!parents.includes(other)) parents.push(other);
    }
    // Times are not monotone in the position, so the canonical order is not the position order.
    commits.push({
      commit: `c${i}`,
      parents,
      time: 1000 + Math.floor(random() * size),
      author: 'a',
      replica: '',
      changes: [],
    });
  }
  const index = createHistoryIndex(['manifests/']);
  appendWalk(index, [...commits].reverse(), `c${size - 1}`);
  return index;
}

describe('history index passes, incremental against from the root', () => {
  for (const seed of [1, 7, 42]) {
    it(`seed ${seed}: advanced marks, bounded ancestry and newest recorded ancestors agree`, () => {
      const index = generateIndex(300, seed);
      const n = index.commits.length;
      let marks = new Uint8Array(n);
      let from = -1;
      let resets = 0;
      for (let step = 0; step < 200; step++) {
        const target = (step * 37 + seed) % n;
        const expected = markAncestors(index, target);
        const before = marks.slice();
        const added = advanceAncestorMarks(index, marks, from, target);
        const descendant = from === -1 || expected[from] === 1;
        if (!descendant) {
          expect(added).toBeNull();
          resets++;
          marks = new Uint8Array(n);
          expect(advanceAncestorMarks(index, marks, -1, target)).not.toBeNull();
        } else {
          expect(added).not.toBeNull();
          expect(added).toEqual([...expected.keys()].filter((at) => expected[at] === 1 && before[at] === 0));
        }
        expect(marks).toEqual(expected);
        from = target;
        for (let ancestor = 0; ancestor < n; ancestor += 7)
          expect(isAncestorPosition(index, ancestor, target)).toBe(expected[ancestor] === 1);
      }
      expect(resets).toBeGreaterThan(0);

      // Recorded commits learnt one at a time; each answer asked for is filled only as far as needed.
      const recorded = new Uint8Array(n);
      const values = new Int32Array(n).fill(-1);
      let valid = 0;
      for (let step = 0; step < 60; step++) {
        const newlyRecorded = (step * 53 + seed) % n;
        if (recorded[newlyRecorded] === 0) {
          recorded[newlyRecorded] = 1;
          valid = Math.min(valid, newlyRecorded + 1);
        }
        const asked = (step * 29 + 11) % n;
        if (asked >= valid) {
          extendNewestRecordedAncestors(index, recorded, values, valid, asked + 1);
          valid = asked + 1;
        }
        const full = computeNewestRecordedAncestors(
          index,
          (commit) => recorded[index.byId.get(commit)!] === 1,
        );
        expect(values.slice(0, valid)).toEqual(full.slice(0, valid));
      }
    });
  }
});
