/**
 * The check step of a run (docs/reference.md §6a): before anything is planned, the ledger's
 * history since the last checked commit must be append-only (records/ledger-rules.ts) and both
 * tips must descend from the tips the last run built on. Otherwise the run calls nothing and ends
 * `stalled` with `LedgerTampered` or `HistoryRewritten`, until the files are restored (e.g. by
 * `git revert`), the history is restored, or an operator accepts the change
 * (`--accept-ledger-change COMMIT`, `--accept-history TIP`); the run that uses an acceptance
 * writes it into its run record, and other replicas accept what a reconciler's run record accepted.
 *
 * Cheap when nothing moved: no git call at all when both tips are the ones last checked; else one
 * walk of the new commits (plus a lookup of the files they changed), one `merge-base` per moved tip.
 */
import type { GitReader, WalkedCommit } from '../domain/ports.js';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { RunAcceptances } from '../domain/record-builders.js';
import type { RunRecord } from '../domain/types.js';
import { ExitError, GitError } from '../errors.js';
import { readLedgerRange, readReconcilerSigning, type LedgerFiles } from '../read-model/read-ledger-range.js';
import { adoptWalk, withHistoryCache, type HistoryCache } from '../read-model/history-cache.js';
import type { Snapshot } from '../read-model/read-snapshot.js';
import {
  checkLedger,
  recordedIdsOf,
  short,
  whyNotReconcilerCommit,
  type LedgerFinding,
} from '../records/ledger-rules.js';
import { recordPath } from '../records/layout.js';
import {
  appendRecordedIds,
  readCheckState,
  readRecordedIds,
  writeCheckState,
  type CheckState,
} from './check-state.js';

/** What the check keeps between runs of one process (the loop passes one for its lifetime). */
export interface LedgerCheckCache {
  /** The persisted state as last read or written (undefined: not read yet). */
  state?: CheckState | null;
  /** The ledger's files at `state.ledgerTip`, when a check listed them. */
  files?: { commit: string; files: LedgerFiles };
  recorded?: Set<string>;
  /** `--accept-*` arguments resolved to commit ids. */
  resolved?: { ledgerChanges: string[]; history: string[] };
  /** The walk of `baseline..tip` started by {@link prefetchLedgerWalk}, until the check takes it. */
  prefetched?: { tip: string; baseline: string | null; commits: Promise<WalkedCommit[]> };
}

export function createLedgerCheckCache(): LedgerCheckCache {
  return {};
}

/** What an operator accepts for this process (`--accept-ledger-change`, `--accept-history`). */
export interface AcceptOptions {
  ledgerChanges: readonly string[];
  history: readonly string[];
}

export interface LedgerCheckRequest {
  reader: GitReader;
  stateDir: string;
  /** The tracked tip read, and the ledger's tip (null: no ledger branch yet). */
  tips: { revision: string; ledger: string | null };
  /** The branch records live on (null: the tracked branch). */
  ledgerBranch: string | null;
  snapshot: Snapshot;
  accept: AcceptOptions;
  cache: LedgerCheckCache;
}

export type LedgerVerdict =
  | {
      status: 'clean';
      /** The acceptances this run used: its run record names them. */
      accepted: RunAcceptances;
      /** Every delivery and execution id this replica has seen recorded: never called again. */
      recorded: ReadonlySet<string>;
      /**
       * Remember the checked tips (call once the run has recorded what it accepted), the run's
       * last pushed commit (the tip it built on last) and the ids its commits recorded.
       */
      persist(run: { lastCommit: string | null; recordedIds: readonly string[] }): Promise<void>;
    }
  | {
      status: 'stalled';
      reason: 'LedgerTampered' | 'HistoryRewritten';
      message: string;
      findings: LedgerFinding[];
    };

interface Rewrite {
  branch: 'tracked' | 'ledger';
  last: string;
  now: string | null;
}

/**
 * Start the walk the check will make of the ledger's commits since the last checked tip, without
 * waiting for it, so git walks while the run reads its snapshot (a first run walks the whole
 * history: `--topo-order` prints nothing until it is done). The check takes it when its range is
 * the same (no rewrite); a failed walk is left for the check to make again and report. A walk
 * from the root of the tracked branch's tip (a first run, records on the tracked branch) is also
 * the gate's history walk: it is handed to `history` before the snapshot's read asks for one, so
 * the whole history is walked by git once, not twice.
 */
export async function prefetchLedgerWalk(
  reader: GitReader,
  stateDir: string,
  cache: LedgerCheckCache,
  tips: { revision: string; ledger: string | null },
  history?: HistoryCache,
): Promise<void> {
  if (cache.state === undefined) cache.state = await readCheckState(stateDir);
  const baseline = cache.state?.ledgerTip ?? null;
  const tip = tips.ledger;
  if (tip === null || baseline === tip) return;
  const commits = walkRange(reader, tip, baseline);
  commits.catch(() => undefined);
  cache.prefetched = { tip, baseline, commits };
  if (history !== undefined && baseline === null && tip === tips.revision && history.tracked === null) {
    // Queued first, so the snapshot's own walk finds the branch walked; a failed walk adopts
    // nothing and that read walks again.
    withHistoryCache(history, async () => adoptWalk(history, 'tracked', await commits, tip)).catch(
      () => undefined,
    );
  }
}

function walkRange(reader: GitReader, tip: string, baseline: string | null): Promise<WalkedCommit[]> {
  return reader.walkHistory({ tip, exclude: baseline === null ? [] : [baseline], prefixes: [] });
}

/** Run the check (see the file comment). Throws ExitError for an `--accept-*` that names no commit. */
export async function checkLedgerHistory(request: LedgerCheckRequest): Promise<LedgerVerdict> {
  const { reader, cache, tips } = request;
  if (cache.state === undefined) cache.state = await readCheckState(request.stateDir);
  cache.recorded ??= await readRecordedIds(request.stateDir);
  cache.resolved ??= {
    ledgerChanges: await resolveAll(reader, request.accept.ledgerChanges, '--accept-ledger-change'),
    history: await resolveAll(reader, request.accept.history, '--accept-history'),
  };
  const state = cache.state;
  const { manifests } = request.snapshot.manifests;
  const policy = manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;

  // History only moves forward.
  const rewrites = await findRewrites(reader, state, tips, request.ledgerBranch, request.snapshot);
  // Without a ledger branch the tracked branch is the ledger.
  const ledgerRewritten = rewrites.some(
    (rewrite) => rewrite.branch === 'ledger' || request.ledgerBranch === null,
  );
  const acceptedHistory: string[] = [];
  if (rewrites.length > 0) {
    // Run records that reconcilers added since the last checked ledger tip (in commits the old
    // history does not have, so an acceptance of an earlier rewrite never covers this one) may
    // accept the rewrite.
    const recordedAcceptances =
      tips.ledger === null ? [] : await readRunAcceptances(reader, tips.ledger, state?.ledgerTip ?? null);
    const candidates = [...cache.resolved.history, ...recordedAcceptances.flatMap((run) => run.history)];
    for (const rewrite of rewrites) {
      const accepted = await acceptingCommit(reader, candidates, rewrite);
      if (accepted === null) return stalledByRewrite(rewrites);
      if (cache.resolved.history.includes(accepted)) acceptedHistory.push(accepted);
    }
  }

  // The ledger is append-only.
  const newState: CheckState = {
    version: 1,
    ledgerTip: tips.ledger,
    trackedTip: tips.revision,
    ledgerBranch: request.ledgerBranch,
  };
  const seen: string[] = [];
  const acceptedLedger: string[] = [];
  if (tips.ledger !== null) {
    const baseline = ledgerRewritten || state === null ? null : state.ledgerTip;
    const prefetched = cache.prefetched;
    delete cache.prefetched;
    if (baseline !== tips.ledger) {
      const range = await readLedgerRange(reader, {
        tip: tips.ledger,
        baseline,
        commits:
          prefetched?.tip === tips.ledger && prefetched.baseline === baseline
            ? await prefetched.commits.catch(() => walkRange(reader, tips.ledger!, baseline))
            : undefined,
        ...(baseline !== null && cache.files?.commit === baseline
          ? { baselineFiles: cache.files.files }
          : {}),
      });
      const signing = await readReconcilerSigning(reader, range.commits, policy, tips.revision);
      const whyNot = (commit: WalkedCommit): string | null => whyNotReconcilerCommit(commit, signing);
      let accepted = new Set(cache.resolved.ledgerChanges);
      let result = checkLedger({ ...range, tipCommit: tips.ledger, whyNot, accepted });
      // What reconcilers' run records in the range accepted counts too (another replica's acceptance).
      const recorded = acceptancesInRange(range.commits, range.tip, whyNot, request.snapshot.records.runs);
      if (recorded.some((id) => !accepted.has(id))) {
        accepted = new Set([...accepted, ...recorded]);
        result = checkLedger({ ...range, tipCommit: tips.ledger, whyNot, accepted });
      }
      if (result.findings.length > 0) return stalledByTampering(result.findings);
      for (const change of result.accepted) {
        if (cache.resolved.ledgerChanges.includes(change.commit)) acceptedLedger.push(change.commit);
      }
      for (const commit of range.commits) {
        if (whyNot(commit) !== null && !accepted.has(commit.commit)) continue;
        // Index loops, no spread: a commit may add 100,000 records, and an iterator's step allocates.
        const ids = recordedIdsOf(commit.changes);
        for (let at = 0; at < ids.length; at++) seen.push(ids[at]!);
      }
      if (range.compare === 'all') cache.files = { commit: tips.ledger, files: range.tip };
      else if (cache.files?.commit === baseline) {
        for (const [path] of range.baseline) if (!range.tip.has(path)) cache.files.files.delete(path);
        for (const [path, blob] of range.tip) cache.files.files.set(path, blob);
        cache.files.commit = tips.ledger;
      }
    }
  }
  const fresh = seen.filter((id) => !cache.recorded!.has(id));
  for (let at = 0; at < fresh.length; at++) cache.recorded.add(fresh[at]!);
  return {
    status: 'clean',
    accepted: { ledgerChanges: acceptedLedger.sort(), history: [...new Set(acceptedHistory)].sort() },
    recorded: cache.recorded,
    persist: async (run) => {
      const own = run.recordedIds.filter((id) => !cache.recorded!.has(id));
      for (const id of own) cache.recorded!.add(id);
      await appendRecordedIds(request.stateDir, [...fresh, ...own]);
      fresh.length = 0;
      const built =
        run.lastCommit === null
          ? newState
          : {
              ...newState,
              builtLedgerTip: run.lastCommit,
              ...(request.ledgerBranch === null ? { builtTrackedTip: run.lastCommit } : {}),
            };
      await writeCheckState(request.stateDir, built);
      cache.state = built;
    },
  };
}

async function resolveAll(reader: GitReader, revs: readonly string[], flag: string): Promise<string[]> {
  const ids: string[] = [];
  for (const rev of revs) {
    try {
      ids.push(await reader.resolve(rev));
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      throw new ExitError(
        `${flag} ${JSON.stringify(rev)} names no commit of the fetched history; pass the commit id the stall message names.`,
        undefined,
        { cause: error },
      );
    }
  }
  return ids;
}

/** Whether `ancestor` is `descendant` or an ancestor of it; false for a commit the clone lacks. */
async function descends(reader: GitReader, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  try {
    return await reader.isAncestor(ancestor, descendant);
  } catch (error) {
    if (error instanceof GitError) return false; // an old tip that is gone: not in the history
    throw error;
  }
}

async function findRewrites(
  reader: GitReader,
  state: CheckState | null,
  tips: LedgerCheckRequest['tips'],
  ledgerBranch: string | null,
  snapshot: Snapshot,
): Promise<Rewrite[]> {
  const rewrites: Rewrite[] = [];
  if (state === null) {
    // No memory of our own: the newest run record says which revision a reconciler last built on.
    const newest = newestRun(snapshot.records.runs);
    if (newest !== null && !(await descends(reader, newest.source_revision, tips.revision))) {
      rewrites.push({ branch: 'tracked', last: newest.source_revision, now: tips.revision });
    }
    return rewrites;
  }
  const trackedTip = state.builtTrackedTip ?? state.trackedTip;
  if (trackedTip !== null && !(await descends(reader, trackedTip, tips.revision))) {
    rewrites.push({ branch: 'tracked', last: trackedTip, now: tips.revision });
  }
  const ledgerTip = state.builtLedgerTip ?? state.ledgerTip;
  // Moving to a ledger branch that is not created yet (the tracked branch holds no records to seed
  // it with) loses nothing; a ledger branch that existed and is gone does.
  const moved = state.ledgerBranch !== ledgerBranch;
  if (ledgerBranch !== null && ledgerTip !== null && !(moved && tips.ledger === null)) {
    if (tips.ledger === null || !(await descends(reader, ledgerTip, tips.ledger))) {
      rewrites.push({ branch: 'ledger', last: ledgerTip, now: tips.ledger });
    }
  }
  return rewrites;
}

function newestRun(runs: readonly RunRecord[]): RunRecord | null {
  let newest: RunRecord | null = null;
  for (const run of runs) {
    if (newest === null || Date.parse(run.started_at) > Date.parse(newest.started_at)) newest = run;
  }
  return newest;
}

/** The accepted tip that covers a rewrite, or null: a candidate that is the new tip or an ancestor of it. */
async function acceptingCommit(
  reader: GitReader,
  candidates: readonly string[],
  rewrite: Rewrite,
): Promise<string | null> {
  if (rewrite.now === null) return null;
  for (const candidate of candidates) {
    if (await descends(reader, candidate, rewrite.now)) return candidate;
  }
  return null;
}

/** Acceptances in run records that reconciler commits added since `since` (null: the whole ledger). */
async function readRunAcceptances(
  reader: GitReader,
  tip: string,
  since: string | null,
): Promise<RunAcceptances[]> {
  const commits = await reader.walkHistory({ tip, exclude: since === null ? [] : [since], prefixes: [] });
  const blobs: string[] = [];
  for (const commit of commits) {
    if (
      whyNotReconcilerCommit(commit, { required: false, signers: [], signatureOf: () => undefined }) !== null
    )
      continue;
    for (const change of commit.changes) {
      if (change.status !== 'deleted' && change.path.startsWith('records/runs/')) blobs.push(change.blob);
    }
  }
  if (blobs.length === 0) return [];
  const objects = await reader.readObjects([...new Set(blobs)], { maxBytes: 64 * 1024 });
  const result: RunAcceptances[] = [];
  for (const object of objects.values()) {
    if (object?.content == null) continue;
    try {
      result.push(acceptancesOf(JSON.parse(object.content.toString('utf8')) as Partial<RunRecord>));
    } catch {
      // Not JSON: not a run record of ours, nothing accepted.
    }
  }
  return result;
}

function acceptancesOf(run: Partial<RunRecord>): RunAcceptances {
  const list = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  return { ledgerChanges: list(run.accepted_ledger_changes), history: list(run.accepted_history) };
}

/** Ledger changes accepted by run records that reconciler commits of the range added (and the tip still has). */
function acceptancesInRange(
  commits: readonly WalkedCommit[],
  tip: LedgerFiles,
  whyNot: (commit: WalkedCommit) => string | null,
  runs: readonly RunRecord[],
): string[] {
  // The run records that accept something, by path (usually none: then no commit is looked at).
  const accepting = new Map<string, readonly string[]>();
  for (const run of runs) {
    if (!run.accepted_ledger_changes?.length) continue;
    try {
      accepting.set(recordPath('runs', run.run_id, run.started_at), run.accepted_ledger_changes);
    } catch {
      continue;
    }
  }
  const accepted: string[] = [];
  if (accepting.size === 0) return accepted;
  for (const commit of commits) {
    if (whyNot(commit) !== null) continue;
    for (const change of commit.changes) {
      const changes = accepting.get(change.path);
      if (changes === undefined || change.status === 'deleted' || tip.get(change.path) !== change.blob)
        continue;
      accepted.push(...changes);
      accepting.delete(change.path); // a run record's acceptances count once
    }
  }
  return accepted;
}

const LISTED = 5;

function stalledByTampering(findings: LedgerFinding[]): LedgerVerdict {
  const commits = [...new Set(findings.map((finding) => finding.commit))];
  const listed = findings
    .slice(0, LISTED)
    .map(
      (finding) =>
        `${finding.file} (${finding.rule.replace('verify.', '')}, commit ${short(finding.commit)})`,
    );
  const more = findings.length > LISTED ? ` and ${findings.length - LISTED} more` : '';
  return {
    status: 'stalled',
    reason: 'LedgerTampered',
    findings,
    message:
      `the ledger was changed by ${commits.length === 1 ? 'a commit' : 'commits'} that ${commits.length === 1 ? 'is' : 'are'} not reconciler commits: ${listed.join(', ')}${more}; ` +
      `nothing is called until the files are restored byte-identical (e.g. git revert ${commits.map(short).join(' ')}) ` +
      `or the change is accepted with reconcile ${commits.map((commit) => `--accept-ledger-change ${commit}`).join(' ')}.`,
  };
}

function stalledByRewrite(rewrites: readonly Rewrite[]): LedgerVerdict {
  const parts = rewrites.map((rewrite) =>
    rewrite.now === null
      ? `the ledger branch (last at ${rewrite.last}) is gone`
      : `the ${rewrite.branch} tip ${rewrite.now} does not descend from ${rewrite.last}, the tip the last run built on`,
  );
  const accept = rewrites
    .filter((rewrite) => rewrite.now !== null)
    .map((rewrite) => `--accept-history ${rewrite.now}`)
    .join(' ');
  return {
    status: 'stalled',
    reason: 'HistoryRewritten',
    findings: [],
    message: `history was rewritten: ${parts.join('; ')}; nothing is executed until the history is restored${accept ? ` or accepted with reconcile ${accept}` : ''}.`,
  };
}
