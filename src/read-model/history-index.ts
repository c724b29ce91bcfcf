/**
 * The walked history of one branch, in memory: every commit reachable from the tip, parents
 * first, with its generation, so "oldest" and "newest" have one meaning on every replica.
 *
 * Order. `git log --topo-order` gives *a* topological order, but which one depends on how the
 * walk was cut (a fresh clone walks everything, the loop walks `old..new`), and the introducing
 * commit feeds decision and execution ids, which must be the same everywhere. So commits are
 * compared by (generation, committer time, id), where generation = 1 + the largest generation
 * of the parents (1 for a root): a pure function of the commit and its ancestors, and a
 * topological order (a parent always comes before its child).
 */
import type { GitReader, WalkedCommit } from '../domain/ports.js';
import { compareStrings } from '../domain/recovery-state.js';

export interface IndexedCommit extends WalkedCommit {
  /** Position in `HistoryIndex.commits` (parents before children). */
  position: number;
  /** Positions of the parents that were walked (all of them, except beyond a shallow boundary). */
  parentPositions: number[];
  generation: number;
}

export interface HistoryIndex {
  /** The prefixes whose changes the walk lists. */
  readonly prefixes: readonly string[];
  /** The commit the index was walked from ('' while empty). */
  tip: string;
  /** Every commit reachable from `tip`, parents before children. */
  readonly commits: IndexedCommit[];
  readonly byId: Map<string, number>;
}

export function createHistoryIndex(prefixes: readonly string[]): HistoryIndex {
  return { prefixes: [...prefixes], tip: '', commits: [], byId: new Map() };
}

/** Canonical order: generation, then committer time, then id (see the file comment). */
export function compareCommits(a: IndexedCommit, b: IndexedCommit): number {
  return a.generation - b.generation || a.time - b.time || compareStrings(a.commit, b.commit);
}

/**
 * Append a walk (newest first, as git gives it) of commits not yet in the index, whose parents
 * are in the index or in the walk. Returns the new commits, parents first.
 */
export function appendWalk(
  index: HistoryIndex,
  walked: readonly WalkedCommit[],
  tip: string,
): IndexedCommit[] {
  const added: IndexedCommit[] = [];
  for (let i = walked.length - 1; i >= 0; i--) {
    const commit = walked[i]!;
    if (index.byId.has(commit.commit)) continue;
    const parentPositions: number[] = [];
    let generation = 1;
    for (const parent of commit.parents) {
      const position = index.byId.get(parent);
      if (position === undefined) continue;
      parentPositions.push(position);
      generation = Math.max(generation, index.commits[position]!.generation + 1);
    }
    // One literal (a spread gave each commit a hidden class of its own: ~450 bytes each).
    const indexed: IndexedCommit = {
      commit: commit.commit,
      parents: commit.parents,
      time: commit.time,
      author: commit.author,
      replica: commit.replica,
      changes: commit.changes,
      position: index.commits.length,
      parentPositions,
      generation,
    };
    index.byId.set(commit.commit, indexed.position);
    index.commits.push(indexed);
    added.push(indexed);
  }
  index.tip = tip;
  return added;
}

export interface AdvanceResult {
  index: HistoryIndex;
  /** Commits new to `index` (parents first); everything when the index was (re)built. */
  added: IndexedCommit[];
  /** True when `index` is a new object (the previous one, if any, no longer applies). */
  rebuilt: boolean;
}

/**
 * Bring an index to `tip` in one `git log`: only `old..tip` when the old tip is an ancestor of the
 * new one (the loop's usual case), else a full walk into a new index (first read, or history that
 * was rewritten under us).
 */
export async function advanceHistoryIndex(
  reader: GitReader,
  index: HistoryIndex | null,
  tip: string,
  prefixes: readonly string[],
): Promise<AdvanceResult> {
  if (index !== null && index.tip === tip) return { index, added: [], rebuilt: false };
  if (index !== null && index.tip !== '' && (await reader.isAncestor(index.tip, tip))) {
    const walked = await reader.walkHistory({ tip, exclude: [index.tip], prefixes: [...index.prefixes] });
    return { index, added: appendWalk(index, walked, tip), rebuilt: false };
  }
  const fresh = createHistoryIndex(prefixes);
  const walked = await reader.walkHistory({ tip, prefixes: [...prefixes] });
  return { index: fresh, added: appendWalk(fresh, walked, tip), rebuilt: true };
}

/** Marks (1) of `position` and all its ancestors within the index. */
export function markAncestors(index: HistoryIndex, position: number): Uint8Array {
  const marks = new Uint8Array(index.commits.length);
  const pending = [position];
  marks[position] = 1;
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const parent of index.commits[current]!.parentPositions) {
      if (marks[parent] === 0) {
        marks[parent] = 1;
        pending.push(parent);
      }
    }
  }
  return marks;
}

/**
 * For every commit, the position of its newest (canonical order) proper ancestor that is
 * recorded, or -1: one pass, parents first. The newest recorded proper ancestor of a commit is,
 * over its parents, the newest of "the parent if recorded, else the parent's own answer" (a
 * recorded parent is newer than anything recorded below it).
 */
export function computeNewestRecordedAncestors(
  index: HistoryIndex,
  isRecorded: (commit: string) => boolean,
): Int32Array {
  const result = new Int32Array(index.commits.length).fill(-1);
  const recorded = new Uint8Array(index.commits.length);
  for (const commit of index.commits) {
    if (isRecorded(commit.commit)) recorded[commit.position] = 1;
  }
  extendNewestRecordedAncestors(index, recorded, result, 0, index.commits.length);
  return result;
}

/**
 * The pass of {@link computeNewestRecordedAncestors} over positions `from` (inclusive) to `to`
 * (exclusive) only, into `result`, whose entries before `from` must already be right for
 * `recorded` (1 = recorded, by position). A commit's answer depends only on its parents, whose
 * positions are smaller, so a caller that learns of a newly recorded commit at position p need
 * recompute only from p + 1, and only as far as it will ask.
 */
export function extendNewestRecordedAncestors(
  index: HistoryIndex,
  recorded: Uint8Array,
  result: Int32Array,
  from: number,
  to: number,
): void {
  for (let position = from; position < to; position++) {
    let best = -1;
    for (const parent of index.commits[position]!.parentPositions) {
      const candidate = recorded[parent] === 1 ? parent : result[parent]!;
      if (candidate === -1) continue;
      if (best === -1 || compareCommits(index.commits[candidate]!, index.commits[best]!) > 0)
        best = candidate;
    }
    result[position] = best;
  }
}

/**
 * The ancestors of `position` (itself included) that `marks` does not mark yet, marked now and
 * returned in ascending position order, when the commit at `from` is `position` or one of its
 * ancestors (`marks` holding exactly `from` and its ancestors: every ancestor of `position` not
 * marked is reached without crossing a marked commit, since an ancestor of a marked commit is
 * marked). Returns null when `from` is not an ancestor of `position`; `marks` is then spoilt.
 * With `from` = -1 and no marks, it marks every ancestor (as {@link markAncestors}). Takes an
 * index, or the parents of each position of another walk (the audit's ledger index).
 */
export function advanceAncestorMarks(
  index: HistoryIndex | { parentsOf: (position: number) => readonly number[] },
  marks: Uint8Array,
  from: number,
  position: number,
): number[] | null {
  if (position === from) return [];
  if (marks[position] === 1) return null; // behind `from`, or `from` itself
  const parentsOf =
    'parentsOf' in index ? index.parentsOf : (at: number) => index.commits[at]!.parentPositions;
  let found = from === -1;
  const added = [position];
  const pending = [position];
  marks[position] = 1;
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const parent of parentsOf(current)) {
      if (parent === from) found = true;
      if (marks[parent] === 0) {
        marks[parent] = 1;
        pending.push(parent);
        added.push(parent);
      }
    }
  }
  if (!found) return null;
  return added.sort((a, b) => a - b);
}

/** The ancestor marks of one position, kept to be advanced to a descendant (see {@link marksCursorAt}). */
export interface MarksCursor {
  position: number;
  marks: Uint8Array;
}

/**
 * The marks of `position` and its ancestors in a walk of `length` commits, from `cursor` (the
 * marks of the position last asked about): asked about a descendant, only the commits in between
 * are marked; anything else (an older commit, another line, no cursor) is marked from scratch.
 * The walk may have grown since the cursor was made (its new commits are no ancestors of the old
 * position). Returns the cursor at `position`: `cursor` itself when it could be advanced.
 */
export function marksCursorAt(
  index: Parameters<typeof advanceAncestorMarks>[0],
  cursor: MarksCursor | undefined,
  length: number,
  position: number,
): MarksCursor {
  if (cursor !== undefined && cursor.marks.length < length) {
    const marks = new Uint8Array(length);
    marks.set(cursor.marks);
    cursor.marks = marks;
  }
  if (cursor === undefined || advanceAncestorMarks(index, cursor.marks, cursor.position, position) === null) {
    const fresh = { position, marks: new Uint8Array(length) };
    advanceAncestorMarks(index, fresh.marks, -1, position);
    return fresh;
  }
  cursor.position = position;
  return cursor;
}

/**
 * Whether the commit at `ancestor` is the one at `position` or one of its ancestors. The walk
 * back from `position` never goes below `ancestor`'s position (parents come before children, so
 * nothing there can lead to it): it costs the commits between the two, not the whole history.
 */
export function isAncestorPosition(index: HistoryIndex, ancestor: number, position: number): boolean {
  if (ancestor === position) return true;
  if (ancestor > position) return false;
  const seen = new Set<number>([position]);
  const pending = [position];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const parent of index.commits[current]!.parentPositions) {
      if (parent === ancestor) return true;
      if (parent < ancestor || seen.has(parent)) continue;
      seen.add(parent);
      pending.push(parent);
    }
  }
  return false;
}
