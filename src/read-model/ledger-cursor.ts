/**
 * The ledger as of one of its commits, for the gate: the execution and closure records its
 * ancestors added, the revisions reconcilers recorded there, what that has consumed and the
 * newest recorded ancestor of tracked commits. Kept per walked ledger branch and *advanced*: a
 * read at a descendant of the last position asked for adds only the ledger commits in between
 * (verify reads the gate facts run after run in ledger order; the loop reads at each new tip), so
 * reading every run of a history costs the history once, not once per run. A read anywhere else
 * (an older commit: the API's `?at=`; a commit on another line) starts over from the root: the
 * same facts, at the cost of a first read.
 *
 * One code path for every reader: a first read is an advance from nothing.
 */
import type { ConsumptionFacts } from '../domain/gate-facts.js';
import type { GitReader } from '../domain/ports.js';
import type { YamlLimits } from '../manifests/limits.js';
import type { BranchHistory, HistoryCache } from './history-cache.js';
import { advanceAncestorMarks, extendNewestRecordedAncestors } from './history-index.js';
import {
  consumptionOf,
  createConsumptionTally,
  isTallyFor,
  tallyConsumption,
  visitLedgerFacts,
  type ConsumptionTally,
} from './ledger-facts.js';

export interface LedgerCursor {
  readonly branch: BranchHistory;
  /** The ledger commit (position in `branch.index`) the cursor stands at; -1 before the first. */
  position: number;
  /** 1 for `position` and its ancestors. */
  marks: Uint8Array;
  /** Execution and closure record blobs the marked commits added, in the order they were marked. */
  readonly executions: string[];
  readonly closures: string[];
  readonly seen: { executions: Set<string>; closures: Set<string> };
  /** `source_revision`s recorded by marked reconciler commits, in the order they were marked. */
  readonly recorded: string[];
  readonly recordedSet: Set<string>;
  /** Consumption over `executions` and `closures` (null until asked for). */
  tally: { counts: ConsumptionTally; executions: number; closures: number } | null;
  /** Newest recorded ancestors of tracked commits (null until asked for). */
  newest: NewestRecorded | null;
}

/**
 * The newest recorded proper ancestor (position, or -1) of the tracked commits at positions below
 * `valid`, for the revisions in `recorded` (by tracked position): filled only as far as asked, and
 * from a newly recorded commit's position on when one is learnt.
 */
interface NewestRecorded {
  tracked: BranchHistory;
  recorded: Uint8Array;
  values: Int32Array;
  valid: number;
  /** How many of the cursor's `recorded` revisions are applied. */
  applied: number;
}

// Per walked ledger branch (the cache's own objects, so a cursor lives as long as its branch).
const cursors = new WeakMap<BranchHistory, LedgerCursor>();

function createCursor(branch: BranchHistory): LedgerCursor {
  return {
    branch,
    position: -1,
    marks: new Uint8Array(branch.index.commits.length),
    executions: [],
    closures: [],
    seen: { executions: new Set(), closures: new Set() },
    recorded: [],
    recordedSet: new Set(),
    tally: null,
    newest: null,
  };
}

/**
 * The cursor of a walked ledger branch moved to `position` (the ledger's folded commits only:
 * fold the branch first). Reuses the branch's cursor when it stands at an ancestor of `position`.
 */
export function ledgerCursorAt(cache: HistoryCache, branch: BranchHistory, position: number): LedgerCursor {
  const kept = cursors.get(branch);
  if (kept !== undefined && advanceCursor(cache, kept, position)) return kept;
  const cursor = createCursor(branch);
  advanceCursor(cache, cursor, position);
  cursors.set(branch, cursor);
  return cursor;
}

/** Move `cursor` to `position`; false when it cannot (not a descendant: the cursor is spoilt). */
function advanceCursor(cache: HistoryCache, cursor: LedgerCursor, position: number): boolean {
  const { commits } = cursor.branch.index;
  if (cursor.marks.length < commits.length) {
    // The branch was walked further (the loop's next tip): the new commits are unmarked.
    const marks = new Uint8Array(commits.length);
    marks.set(cursor.marks);
    cursor.marks = marks;
  }
  const added = advanceAncestorMarks(cursor.branch.index, cursor.marks, cursor.position, position);
  if (added === null) return false;
  const note = (list: string[], seen: Set<string>, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    list.push(key);
  };
  for (const at of added) {
    visitLedgerFacts(cache, commits[at]!, (fact, key) => {
      if (fact === 'execution') note(cursor.executions, cursor.seen.executions, key);
      else if (fact === 'closure') note(cursor.closures, cursor.seen.closures, key);
      else note(cursor.recorded, cursor.recordedSet, key);
    });
  }
  cursor.position = position;
  return true;
}

/** What the ledger at the cursor has consumed (the records since the last ask are tallied). */
export async function consumptionAt(
  reader: GitReader,
  cache: HistoryCache,
  cursor: LedgerCursor,
  tracked: BranchHistory,
  limits: YamlLimits,
): Promise<ConsumptionFacts> {
  if (cursor.tally === null || !isTallyFor(cursor.tally.counts, cache, tracked)) {
    cursor.tally = { counts: createConsumptionTally(cache, tracked), executions: 0, closures: 0 };
  }
  const tally = cursor.tally;
  const added = {
    executions: cursor.executions.slice(tally.executions),
    closures: cursor.closures.slice(tally.closures),
  };
  await tallyConsumption(reader, cache, tally.counts, added, limits);
  tally.executions += added.executions.length;
  tally.closures += added.closures.length;
  return consumptionOf(tally.counts);
}

/**
 * The position of the newest recorded proper ancestor of the tracked commit at `position`, or
 * -1: as `computeNewestRecordedAncestors` over the revisions recorded at the cursor, computed only
 * up to `position` and only from where a newly recorded revision can change it.
 */
export function newestRecordedAncestorAt(
  cursor: LedgerCursor,
  tracked: BranchHistory,
  position: number,
): number {
  const { index } = tracked;
  let state = cursor.newest;
  if (state === null || state.tracked !== tracked) {
    state = {
      tracked,
      recorded: new Uint8Array(index.commits.length),
      values: new Int32Array(index.commits.length).fill(-1),
      valid: 0,
      applied: 0,
    };
    cursor.newest = state;
  }
  if (state.recorded.length < index.commits.length) {
    // The tracked branch was walked further: revisions recorded earlier may be among the new commits.
    const before = state.recorded.length;
    const recorded = new Uint8Array(index.commits.length);
    recorded.set(state.recorded);
    const values = new Int32Array(index.commits.length).fill(-1);
    values.set(state.values);
    for (let at = before; at < index.commits.length; at++) {
      if (cursor.recordedSet.has(index.commits[at]!.commit)) recorded[at] = 1;
    }
    state.recorded = recorded;
    state.values = values;
    state.valid = Math.min(state.valid, before);
  }
  for (; state.applied < cursor.recorded.length; state.applied++) {
    const at = index.byId.get(cursor.recorded[state.applied]!);
    if (at === undefined || state.recorded[at] === 1) continue;
    state.recorded[at] = 1;
    // Only descendants of a recorded commit change; they come after it.
    state.valid = Math.min(state.valid, at + 1);
  }
  if (position >= state.valid) {
    extendNewestRecordedAncestors(index, state.recorded, state.values, state.valid, position + 1);
    state.valid = position + 1;
  }
  return state.values[position]!;
}
