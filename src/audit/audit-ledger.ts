/**
 * `verify` as an audit from a clone alone (docs/reference.md §6a, docs/audit.md): over the
 * ledger's whole history (or the commits since `--since`), the append-only rules the reconciler's
 * check step applies (records/ledger-rules.ts), every record blob ever added checked for its hash
 * and ids, every recorded `source_revision` an ancestor of the tip, and then the recomputations
 * (recompute-records.ts): the gate at each execution's source revision, orphans, playbooks and
 * the committed report.
 *
 * Cost: one history walk of the ledger listing every path, one listing of the ledger at its tip,
 * every record blob read once through the long-lived `cat-file --batch`, and the tracked branch's
 * walk the manifests' provenance needs anyway — no git process per commit or per record.
 */
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { GitReader, WalkedCommit } from '../domain/ports.js';
import { compareStrings } from '../domain/recovery-state.js';
import type { RunRecord } from '../domain/types.js';
import { adoptWalk, readBranchAt, withHistoryCache } from '../read-model/history-cache.js';
import { noteParsedRecord } from '../read-model/ledger-facts.js';
import {
  readLedgerFiles,
  readLedgerRange,
  readReconcilerSigning,
  type LedgerFiles,
} from '../read-model/read-ledger-range.js';
import {
  createSnapshotCache,
  readSnapshot,
  type Snapshot,
  type SnapshotCache,
} from '../read-model/read-snapshot.js';
import {
  checkLedger,
  ledgerPathKind,
  short,
  whyNotReconcilerCommit,
  type AcceptedChange,
} from '../records/ledger-rules.js';
import {
  MAX_RECORD_BYTES,
  parseRecordFile,
  cachedOutcome,
  readRecords,
  type ParsedRecordFile,
} from '../records/read-records.js';
import {
  checkRecordControls,
  checkRecordIds,
  describeIdMismatch,
  verifyRecords,
} from '../records/verify-records.js';
import type { AuditFinding, AuditProgress } from './audit-finding.js';
import { recomputeRecords } from './recompute-records.js';

export type { AuditFinding, AuditProgress } from './audit-finding.js';

export interface AuditOptions {
  /** The tracked branch's commit (manifests). */
  revision: string;
  /** The ledger's commit (records): `revision` without a ledger branch. */
  ledgerRevision: string;
  /** Audit only what the commits after this one (an ancestor of the ledger tip) did. */
  since?: string | null;
  onProgress?: AuditProgress;
}

export interface AuditResult {
  revision: string;
  ledgerRevision: string;
  /** Commits of the ledger's history audited. */
  commits: number;
  /** Records at the ledger tip. */
  records: number;
  findings: AuditFinding[];
  /** Changes operators accepted (`--accept-ledger-change`, named in a reconciler's run record). */
  accepted: AcceptedChange[];
}

/** Where a record file came from: the commit that added the blob the tip holds (or the first one). */
interface AddedFile {
  path: string;
  blob: string;
  commit: string;
  /** Position in the walk, parents first. */
  position: number;
}

const READ_CHUNK = 2000;

/** Run the audit (see the file comment). */
export async function auditLedger(reader: GitReader, options: AuditOptions): Promise<AuditResult> {
  const progress = options.onProgress ?? (() => {});
  const since = options.since ?? null;
  progress('walking the ledger history', 0, 0);
  const cache = createSnapshotCache();
  const rangeRead = readLedgerRange(reader, { tip: options.ledgerRevision, baseline: since });
  // The ledger's walk from the root lists every path: it is the gate's history too, taken into the
  // cache before any read of it (so history is walked once). git prints nothing of the walk until
  // it has walked every commit: meanwhile the revision's records and manifests are read and parsed.
  let snapshotRead: Promise<Snapshot> | null = null;
  if (since === null) {
    const slot = options.ledgerRevision === options.revision ? 'tracked' : 'ledger';
    withHistoryCache(cache.history, async () => {
      adoptWalk(cache.history, slot, (await rangeRead).commits, options.ledgerRevision);
    }).catch(() => undefined); // a failed walk is reported where the range is awaited
    snapshotRead = readSnapshot(reader, options.revision, {
      ledgerRevision: options.ledgerRevision,
      cache,
      onProgress: (done, total) => progress('reading records', done, total),
    });
    snapshotRead.catch(() => undefined); // awaited below
  }
  const range = await rangeRead;
  const parentsFirst = [...range.commits].reverse();
  const tipFiles =
    range.compare === 'all' ? range.tip : await readLedgerFiles(reader, options.ledgerRevision);
  progress('reading the revision', 0, 0);
  const snapshot = await (snapshotRead ??
    readSnapshot(reader, options.revision, { ledgerRevision: options.ledgerRevision, cache }));

  // Every record blob the range added, parsed once (those at the tip were, by the snapshot).
  const added = collectAddedRecords(parentsFirst);
  const findings: AuditFinding[] = [];
  const outcomes = await parseAddedRecords(reader, added, cache, progress);
  for (const file of added) {
    const outcome = outcomes.get(`${file.blob}:${file.path}`);
    if (outcome === undefined) continue;
    // Blobs the tip no longer holds are the ledger rules' business (a change restored is no finding).
    if (tipFiles.get(file.path) === file.blob) findings.push(...recordFindings(file, outcome));
  }
  const policy = snapshot.manifests.manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;

  // The append-only rules, with what reconcilers' run records accepted.
  progress('checking the append-only rules', 0, 0);
  const signing = await readReconcilerSigning(reader, range.commits, policy, options.revision);
  const whyNot = (commit: WalkedCommit): string | null => whyNotReconcilerCommit(commit, signing);
  const runs = acceptingRuns(added, outcomes, whyNot, range.commits);
  const accepted = new Set(runs.flatMap((run) => run.ledgerChanges));
  const ledger = checkLedger({
    commits: range.commits,
    baseline: range.baseline,
    tip: range.compare === 'all' ? tipFiles : range.tip,
    tipCommit: options.ledgerRevision,
    compare: range.compare,
    whyNot,
    accepted,
  });
  for (const finding of ledger.findings) findings.push(finding);

  // Every recorded source revision is in the tracked branch's history.
  const tracked = await readBranchAt(reader, cache.history, 'tracked', options.revision);
  findings.push(
    ...historyFindings(
      added.filter((file) => tipFiles.get(file.path) === file.blob),
      outcomes,
      (commit) => tracked.branch.index.byId.has(commit),
      runs,
    ),
  );

  // Rules over the records at the tip (attempt numbering, executions and their deliveries).
  progress('checking the records at the tip', 0, 0);
  // The first commit that added the blob each path holds at the tip (a revert restores, not adds).
  const addedBy = new Map(
    added.filter((file) => tipFiles.get(file.path) === file.blob).map((file) => [file.path, file]),
  );
  const inRange = (path: string): boolean => since === null || addedBy.has(path);
  for (const finding of tipRecordFindings(snapshot, addedBy)) {
    if (inRange(finding.file)) findings.push(finding);
  }

  // Recomputations: the gate, orphans, playbooks, the committed report.
  findings.push(
    ...(
      await recomputeRecords(reader, {
        snapshot,
        cache,
        tipFiles,
        commits: range.commits,
        baselineKeys: await readBaselineKeys(reader, since, cache, outcomes),
        outcomes,
        history: tracked.branch,
        revision: options.revision,
        ledgerRevision: options.ledgerRevision,
        progress,
      })
    ).filter((finding) => inRange(finding.file) || finding.file.startsWith('reports/')),
  );

  const records =
    snapshot.records.deliveries.length +
    snapshot.records.executions.length +
    snapshot.records.playbooks.length +
    snapshot.records.closures.length +
    snapshot.records.runs.length;
  return {
    revision: options.revision,
    ledgerRevision: options.ledgerRevision,
    commits: range.commits.length,
    records,
    findings: dedupe(findings).sort(
      (a, b) =>
        compareStrings(a.file, b.file) ||
        compareStrings(a.rule, b.rule) ||
        compareStrings(a.commit, b.commit),
    ),
    accepted: ledger.accepted,
  };
}

/** The record files at a `--since` baseline (keys `<blob>:<path>`), their outcomes added to `outcomes`. */
async function readBaselineKeys(
  reader: GitReader,
  since: string | null,
  cache: SnapshotCache,
  outcomes: Map<string, ParsedRecordFile>,
): Promise<string[]> {
  if (since === null) return [];
  const keys: string[] = [];
  // A file too large to read has no outcome: the baseline's read reported it.
  await readRecords(reader, since, {
    cache: cache.records,
    onFile: (file, outcome) => {
      const key = `${file.blob}:${file.path}`;
      outcomes.set(key, outcome);
      keys.push(key);
    },
  });
  return keys;
}

/** The record files the walk's commits added (every blob a path ever held, with the first commit adding it). */
function collectAddedRecords(parentsFirst: readonly WalkedCommit[]): AddedFile[] {
  const seen = new Map<string, AddedFile>();
  parentsFirst.forEach((commit, position) => {
    for (const change of commit.changes) {
      if (change.status === 'deleted' || ledgerPathKind(change.path) !== 'record') continue;
      const key = `${change.blob}:${change.path}`;
      if (!seen.has(key))
        seen.set(key, { path: change.path, blob: change.blob, commit: commit.commit, position });
    }
  });
  return [...seen.values()];
}

/** Read and parse each added blob once (outcomes by `<blob>:<path>`, as read-records caches them). */
async function parseAddedRecords(
  reader: GitReader,
  added: readonly AddedFile[],
  cache: SnapshotCache,
  progress: AuditProgress,
): Promise<Map<string, ParsedRecordFile>> {
  const outcomes = new Map<string, ParsedRecordFile>();
  const unread = added.filter((file) => {
    const cached = cachedOutcome(cache.records, file.blob, file.path);
    if (cached !== undefined) outcomes.set(`${file.blob}:${file.path}`, cached);
    return cached === undefined;
  });
  for (let start = 0; start < unread.length; start += READ_CHUNK) {
    progress('reading records', start, unread.length);
    const chunk = unread.slice(start, start + READ_CHUNK);
    const objects = await reader.readObjects([...new Set(chunk.map((file) => file.blob))], {
      maxBytes: MAX_RECORD_BYTES,
    });
    for (const file of chunk) {
      const content = objects.get(file.blob)?.content ?? null;
      if (content === null) continue; // too large or missing: the tip listing's read reports it
      const outcome = parseRecordFile({ path: file.path, content });
      outcomes.set(`${file.blob}:${file.path}`, outcome);
      // The same blob at another path keeps the outcome the snapshot cached for it.
      if (!cache.records.has(file.blob)) cache.records.set(file.blob, outcome);
      // The gate's ledger fold summarises the same blobs: it takes these instead of reading them
      // again (the snapshot noted those it parsed).
      if (outcome.kind !== null) noteParsedRecord(cache.history, outcome.kind, file.blob, outcome.record);
    }
  }
  if (unread.length > 0) progress('reading records', unread.length, unread.length);
  return outcomes;
}

/** Rules of read-records that the audit reports under its own ids. */
const RECORD_RULES: Readonly<Record<string, string>> = {
  'record.hash-mismatch': 'verify.hash-mismatch',
  'record.id-mismatch': 'verify.id-mismatch',
};

function recordFindings(file: AddedFile, outcome: ParsedRecordFile): AuditFinding[] {
  if (outcome.kind === null) {
    if (outcome.finding.severity !== 'error') return [];
    return [
      {
        rule: RECORD_RULES[outcome.finding.rule] ?? outcome.finding.rule,
        file: file.path,
        commit: file.commit,
        message: `${outcome.finding.message} (added by commit ${short(file.commit)})`,
      },
    ];
  }
  const controls = checkRecordControls(outcome.kind, outcome.record).map((mismatch) => ({
    rule: 'verify.control-mismatch',
    file: file.path,
    commit: file.commit,
    message: `field /controls: ${mismatch.message}; a record's controls are recomputed from its content, so it was not written as recorded (added by commit ${short(file.commit)})`,
  }));
  if (outcome.kind === 'claims') return controls;
  return [
    ...controls,
    ...checkRecordIds(outcome.kind, outcome.record).map((mismatch) => ({
      rule: 'verify.id-mismatch',
      file: file.path,
      commit: file.commit,
      message: `${describeIdMismatch(mismatch)} (added by commit ${short(file.commit)})`,
    })),
  ];
}

/** An accepting run record: what it accepted, and where in the walk its commit is. */
interface AcceptingRun {
  position: number;
  ledgerChanges: string[];
  history: string[];
}

/** Acceptances of run records that reconciler commits added. */
function acceptingRuns(
  added: readonly AddedFile[],
  outcomes: ReadonlyMap<string, ParsedRecordFile>,
  whyNot: (commit: WalkedCommit) => string | null,
  commits: readonly WalkedCommit[],
): AcceptingRun[] {
  const byId = new Map(commits.map((commit) => [commit.commit, commit]));
  const runs: AcceptingRun[] = [];
  for (const file of added) {
    const outcome = outcomes.get(`${file.blob}:${file.path}`);
    if (outcome?.kind !== 'runs') continue;
    const commit = byId.get(file.commit);
    if (commit === undefined || whyNot(commit) !== null) continue;
    const run = outcome.record as Partial<RunRecord>;
    const list = (value: unknown): string[] =>
      Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
    const ledgerChanges = list(run.accepted_ledger_changes);
    const history = list(run.accepted_history);
    if (ledgerChanges.length + history.length > 0)
      runs.push({ position: file.position, ledgerChanges, history });
  }
  return runs;
}

/**
 * `verify.history-rewritten`: a recorded `source_revision` that is not an ancestor of the tip —
 * one finding per revision, on the first record naming it; accepted when a reconciler's run
 * record accepted a rewritten history after the records naming it were added.
 */
function historyFindings(
  added: readonly AddedFile[],
  outcomes: ReadonlyMap<string, ParsedRecordFile>,
  inHistory: (commit: string) => boolean,
  runs: readonly AcceptingRun[],
): AuditFinding[] {
  const acceptedUpTo = Math.max(
    -1,
    ...runs.filter((run) => run.history.length > 0).map((run) => run.position),
  );
  const byRevision = new Map<string, { file: AddedFile; count: number }>();
  for (const file of added) {
    const outcome = outcomes.get(`${file.blob}:${file.path}`);
    if (outcome === undefined || outcome.kind === null || outcome.kind === 'claims') continue;
    const revision = outcome.record.source_revision;
    if (typeof revision !== 'string' || !/^[0-9a-f]{40,64}$/.test(revision) || inHistory(revision)) continue;
    if (file.position < acceptedUpTo) continue;
    const entry = byRevision.get(revision);
    if (entry === undefined) byRevision.set(revision, { file, count: 1 });
    else entry.count++;
  }
  return [...byRevision].map(([revision, { file, count }]) => ({
    rule: 'verify.history-rewritten',
    file: file.path,
    commit: file.commit,
    message: `${count} record(s) name source_revision ${revision}, which is not an ancestor of the tip: the tracked branch's history was rewritten after a reconciler recorded it (force-push); restore it, or have a reconciler accept it with reconcile --accept-history.`,
  }));
}

/** The checks of verify-records over the tip's records, attributed to the commits that added them. */
function tipRecordFindings(snapshot: Snapshot, addedBy: ReadonlyMap<string, AddedFile>): AuditFinding[] {
  // Approvals are checked by the recomputation (against history), hashes and ids per blob above.
  const skip = new Set(['verify.unknown-approval', 'verify.hash-mismatch', 'verify.id-mismatch']);
  const findings: AuditFinding[] = [];
  const decisions = new Set(snapshot.records.executions.map((record) => record.approval_decision_id));
  for (const finding of verifyRecords(snapshot.records, snapshot.manifests.manifests, {
    knownApprovalDecisionIds: decisions,
    skipHashesAndIds: true,
  })) {
    if (skip.has(finding.rule)) continue;
    findings.push({
      rule: finding.rule,
      file: finding.file,
      commit: addedBy.get(finding.file)?.commit ?? '',
      message: finding.message,
    });
  }
  return findings;
}

function dedupe(findings: readonly AuditFinding[]): AuditFinding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.rule}\n${finding.file}\n${finding.commit}\n${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type { LedgerFiles };
