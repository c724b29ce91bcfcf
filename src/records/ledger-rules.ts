/**
 * The ledger's append-only rules (docs/reference.md §6a), pure: from the commits that changed the
 * ledger since a baseline (the last checked commit, or nothing for a check from the root), the
 * ledger files at the baseline and at the tip, and which commits are reconciler commits, say which
 * files at the tip are not what an append-only ledger would hold, and which commit made them so.
 *
 * The model. Only reconciler commits may change `records/` and `reports/`: they add record files
 * (never modify or delete one), write and remove claims, and rewrite the reports. Applying only
 * their changes to the baseline gives the *expected* ledger; any file whose tip content differs
 * from it is a finding, named after the last non-reconciler commit that touched it. So a change
 * undone byte-identical by a later commit (`git revert`) leaves nothing to report, and an operator
 * who accepts a commit (`--accept-ledger-change`) makes its changes part of the expected ledger.
 * Comparing contents at the tip (not only the listed changes) also catches what a merge commit
 * hides: `git log -c` does not list a record that a merge dropped by taking the older side.
 */
import type { SignatureInfo } from '../domain/types.js';
import type { WalkedChange, WalkedCommit } from '../domain/ports.js';
import { RECORDS_DIR, deliveryOrExecutionIdOf, recordFileKind } from './layout.js';

export const REPORTS_DIR = 'reports/';

/** Rule ids of the append-only checks, shared by `verify` and the reconciler's check step. */
const LEDGER_RULES = {
  modified: 'verify.record-modified',
  deleted: 'verify.record-deleted',
  notByReconciler: 'verify.record-not-by-reconciler',
  report: 'verify.report-mismatch',
} as const;
export type LedgerRule = (typeof LEDGER_RULES)[keyof typeof LEDGER_RULES];

/** What a path of the ledger holds: a record (append-only), a claim, a report, or a stray file. */
export type LedgerPathKind = 'record' | 'claim' | 'report' | 'other';

/** The kind of a ledger path, or null for a path outside `records/` and `reports/`. */
export function ledgerPathKind(path: string): LedgerPathKind | null {
  if (path.startsWith(REPORTS_DIR)) return 'report';
  if (!path.startsWith(RECORDS_DIR)) return null;
  return recordFileKind(path) ?? 'other';
}

export function isLedgerPath(path: string): boolean {
  return path.startsWith(RECORDS_DIR) || path.startsWith(REPORTS_DIR);
}

/** The signature policy of reconciler commits (`reconciler_signers`, `require_signed_records`). */
export interface ReconcilerSigning {
  required: boolean;
  /** Principals of the allowed-signers file whose signatures mark a reconciler commit. */
  signers: readonly string[];
  /** The verified signature of a commit (absent: not verified, counts as unsigned). */
  signatureOf: (commit: string) => SignatureInfo | undefined;
}

/**
 * Why a commit is not a reconciler commit, or null when it is one: it carries the
 * `Cavra-Gitops-Replica` trailer, changes nothing outside `records/` and `reports/` (deleting other
 * files aside: the commit that seeds a ledger branch drops the tracked branch's manifests) and,
 * with `require_signed_records`, is signed by one of `reconciler_signers`. Needs a walk that lists
 * every path, not only the ledger's.
 */
export function whyNotReconcilerCommit(commit: WalkedCommit, signing: ReconcilerSigning): string | null {
  if (commit.replica === '') return 'it has no Cavra-Gitops-Replica trailer';
  const foreign = commit.changes.find((change) => !isLedgerPath(change.path) && change.status !== 'deleted');
  if (foreign !== undefined) return `it also changes ${foreign.path}, outside records/ and reports/`;
  if (signing.required) {
    const signature = signing.signatureOf(commit.commit);
    if (signature === undefined || signature.status !== 'good') {
      return 'it is not signed, and the policy requires signed record commits (require_signed_records)';
    }
    if (!signing.signers.includes(signature.principal)) {
      return `it is signed by ${signature.principal || 'an unknown key'}, who is not one of the policy's reconciler_signers`;
    }
  }
  return null;
}

/** One file of the ledger that is not what the append-only rules allow. */
export interface LedgerFinding {
  rule: LedgerRule;
  file: string;
  /** The commit that made the file so (the tip, when a merge did it without listing the path). */
  commit: string;
  message: string;
}

/** A commit an operator accepted whose ledger changes are not a reconciler's. */
export interface AcceptedChange {
  commit: string;
  files: string[];
}

export interface CheckLedgerInput {
  /** Commits since the baseline (walk order: newest first, children before parents). */
  commits: readonly WalkedCommit[];
  /** Ledger files (path → blob) at the baseline: every path `compare` covers (empty from the root). */
  baseline: ReadonlyMap<string, string>;
  /** Ledger files at the tip, for every path `compare` covers. */
  tip: ReadonlyMap<string, string>;
  tipCommit: string;
  /**
   * Which paths to compare: `changed` — those the commits list (a linear range: nothing else can
   * differ); `all` — every path of `baseline` and `tip` (both complete listings; needed when the
   * range holds merges).
   */
  compare: 'changed' | 'all';
  /** Why each commit is not a reconciler commit (null: it is one). */
  whyNot: (commit: WalkedCommit) => string | null;
  /** Commits whose ledger changes an operator accepted. */
  accepted: ReadonlySet<string>;
}

export interface CheckLedgerResult {
  findings: LedgerFinding[];
  /** Accepted commits that changed the ledger without being reconciler commits. */
  accepted: AcceptedChange[];
  /** The expected ledger (path → blob) for the compared paths: what the tip should hold. */
  expected: Map<string, string>;
}

interface TamperEvent {
  commit: string;
  change: WalkedChange;
  why: string;
}

/** Check a range of the ledger's history against its tip (see the file comment). */
export function checkLedger(input: CheckLedgerInput): CheckLedgerResult {
  const parentsFirst = [...input.commits].reverse();
  const changedPaths = new Set<string>();
  if (input.compare === 'changed') {
    for (const commit of parentsFirst) {
      const { changes } = commit;
      for (let at = 0; at < changes.length; at++)
        if (isLedgerPath(changes[at]!.path)) changedPaths.add(changes[at]!.path);
    }
  }
  const expected = new Map<string, string>();
  const keys = input.compare === 'all' ? input.baseline.keys() : changedPaths.values();
  for (const path of keys) {
    const blob = input.baseline.get(path);
    if (blob !== undefined) expected.set(path, blob);
  }
  const events = new Map<string, TamperEvent[]>();
  const accepted: AcceptedChange[] = [];
  const addEvent = (event: TamperEvent): void => {
    const list = events.get(event.change.path);
    if (list === undefined) events.set(event.change.path, [event]);
    else list.push(event);
  };
  for (const commit of parentsFirst) {
    const ledgerChanges = commit.changes.filter((change) => isLedgerPath(change.path));
    if (ledgerChanges.length === 0) continue;
    const why = input.whyNot(commit);
    const isAccepted = input.accepted.has(commit.commit);
    if (why !== null && isAccepted) {
      accepted.push({ commit: commit.commit, files: ledgerChanges.map((change) => change.path).sort() });
    }
    for (let at = 0; at < ledgerChanges.length; at++) {
      const change = ledgerChanges[at]!;
      if (isAccepted) {
        apply(expected, change);
      } else if (why !== null) {
        addEvent({ commit: commit.commit, change, why });
      } else if (expected.has(change.path) && isAppendOnly(change.path)) {
        // A reconciler commit never rewrites or removes a record: a forged trailer, or a bug.
        if (change.status === 'deleted' || expected.get(change.path) !== change.blob) {
          addEvent({ commit: commit.commit, change, why: 'a reconciler never changes a record it wrote' });
        }
      } else {
        apply(expected, change);
      }
    }
  }
  // Only the paths that differ are gathered and sorted (a first check compares 100,000 paths).
  const differing: string[] = [];
  if (input.compare === 'all') {
    // forEach, not for-of: an entry array per path adds up over 100,000 paths.
    expected.forEach((want, path) => {
      if (input.tip.get(path) !== want) differing.push(path);
    });
    input.tip.forEach((_blob, path) => {
      if (!expected.has(path)) differing.push(path);
    });
  } else {
    for (const path of changedPaths) if (expected.get(path) !== input.tip.get(path)) differing.push(path);
  }
  const findings: LedgerFinding[] = [];
  for (const path of differing.sort()) {
    findings.push(
      describeFinding(path, expected.get(path), input.tip.get(path), events.get(path) ?? [], input.tipCommit),
    );
  }
  return { findings, accepted, expected };
}

/** Records (and stray files under `records/`) are never rewritten or removed; claims and reports are. */
function isAppendOnly(path: string): boolean {
  const kind = ledgerPathKind(path);
  return kind === 'record' || kind === 'other';
}

function apply(state: Map<string, string>, change: WalkedChange): void {
  if (change.status === 'deleted') state.delete(change.path);
  else state.set(change.path, change.blob);
}

function describeFinding(
  path: string,
  want: string | undefined,
  have: string | undefined,
  events: readonly TamperEvent[],
  tip: string,
): LedgerFinding {
  const kind = ledgerPathKind(path)!;
  // The event that left the file as the tip has it; else the latest one; else a merge did it.
  const matching = [...events]
    .reverse()
    .find((event) => (have === undefined ? event.change.status === 'deleted' : event.change.blob === have));
  const event = matching ?? events[events.length - 1];
  const commit = event?.commit ?? tip;
  const by =
    event === undefined
      ? `no commit lists the change (a merge up to ${short(tip)} took it from an older side)`
      : `commit ${short(commit)} (not a reconciler commit: ${event.why})`;
  const fix = `restore it byte-identical (e.g. git revert ${short(commit)}) or accept the change with reconcile --accept-ledger-change ${commit}`;
  let rule: LedgerRule;
  let what: string;
  if (kind === 'report') {
    rule = LEDGER_RULES.report;
    what = have === undefined ? 'was removed' : 'was written';
  } else if (want !== undefined && have === undefined) {
    rule = LEDGER_RULES.deleted;
    what = kind === 'claim' ? 'claim was removed' : 'record was deleted';
  } else if (want !== undefined) {
    rule = LEDGER_RULES.modified;
    what = kind === 'claim' ? 'claim was rewritten' : 'record was modified';
  } else {
    rule = LEDGER_RULES.notByReconciler;
    what = kind === 'claim' ? 'claim was written' : 'file was added';
  }
  return { rule, file: path, commit, message: `${what} by ${by}; ${fix}.` };
}

/** The first 12 hex digits of a commit id, as messages show it. */
export function short(commit: string): string {
  return commit.slice(0, 12);
}

/** Ids the ledger recorded (delivery record ids and execution ids) among the files a commit added. */
export function recordedIdsOf(changes: readonly WalkedChange[]): string[] {
  const ids: string[] = [];
  // Index loops: a first run walks 100,000 added records here, and an iterator's step allocates.
  for (let at = 0; at < changes.length; at++) {
    const change = changes[at]!;
    if (change.status === 'deleted') continue;
    const id = deliveryOrExecutionIdOf(change.path);
    if (id !== null) ids.push(id);
  }
  return ids;
}
