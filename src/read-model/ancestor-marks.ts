/**
 * Ancestor marks of walked commits for readers that ask about one revision after another (verify
 * reads the manifests at every run's source revision, in ledger order): each branch keeps the
 * marks of the last commit asked about and, asked about a descendant, marks only the commits in
 * between instead of walking the history again. Anything else (an older commit, another line)
 * is marked from scratch. Each answer is a copy, so a caller may keep it while others ask on.
 */
import type { BranchHistory } from './history-cache.js';
import { marksCursorAt, type MarksCursor } from './history-index.js';

// Per walked branch (the cache's own objects, so the marks live as long as their branch).
const cursors = new WeakMap<BranchHistory, MarksCursor>();

/** 1 for `position` and its ancestors in `branch`'s walk (see the file comment for the cost). */
export function ancestorMarksAt(branch: BranchHistory, position: number): Uint8Array {
  const cursor = marksCursorAt(branch.index, cursors.get(branch), branch.index.commits.length, position);
  cursors.set(branch, cursor);
  return cursor.marks.slice();
}
