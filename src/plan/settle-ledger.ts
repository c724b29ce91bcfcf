/**
 * The commit that records a run's outcomes, computed against whatever tip the push will land on:
 * the connector outcomes (only for claims this replica still holds there), the closures and
 * playbooks those records make due, a run record, the report when records were added or the
 * breached rows changed, and the status when its meaningful part changed. The change is empty
 * when nothing would change (the caller then makes no commit), but `nextDueAt` is always computed:
 * a run that commits nothing must still know when time alone makes work due.
 */
import { planClosures } from '../domain/closures.js';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import { planPlaybooks } from '../domain/playbooks.js';
import type { TreeChange } from '../domain/ports.js';
import {
  breachedRowKeys,
  computeRetryRecoveryReport,
  nextBreachAt,
  type ReportEnvelope,
} from '../domain/report.js';
import { buildRunRecord, hasAcceptances, type RunAcceptances } from '../domain/record-builders.js';
import { planRetryWork, type RetryWork, type RetryWorkInput } from '../domain/retry-plan.js';
import type {
  ClaimRecord,
  ClosureRecord,
  PlaybookRecord,
  DeliveryRecord,
  ExecutionRecord,
  IsoTime,
  RecordKind,
  RecordSet,
} from '../domain/types.js';
import type { ProviderCondition } from '../domain/conditions.js';
import {
  claimPath,
  recordPath,
  REPORT_JSON_PATH,
  REPORT_MD_PATH,
  serializeRecord,
  STATUS_PATH,
} from '../records/layout.js';
import { renderReportMarkdown } from '../reports/render-report.js';
import type { Snapshot } from '../read-model/read-snapshot.js';
import { computeStatus, meaningfulStatus, serializeStatus, type StatusDocument } from './status.js';

/** `generated_by` of committed reports and playbooks: the same on every replica, for identical bytes. */
const RECONCILER_GENERATOR = 'cavra-gitops';

/** The kinds a run record counts. */
const COUNTED_KINDS = ['deliveries', 'executions', 'playbooks', 'closures'] as const;

/** Outcomes of connector calls (or unknown outcomes) waiting to be committed. */
export interface PendingOutcomes {
  deliveries: DeliveryRecord[];
  executions: ExecutionRecord[];
  /** Claims these outcomes resolve; removed in the same commit. */
  claimIds: string[];
}

/** The claim a delivery record resolves: its execution's, or for attempt 1 its own id. */
export function claimOfDelivery(record: DeliveryRecord): string {
  return record.execution_id || record.record_id;
}

export function emptyPending(): PendingOutcomes {
  return { deliveries: [], executions: [], claimIds: [] };
}

export interface SettleLedgerInput {
  snapshot: Snapshot;
  pending: PendingOutcomes;
  /** The retry plan's input, to re-plan over the new records for an accurate status. */
  retryInput: RetryWorkInput | null;
  /**
   * A retry plan the caller has already made, with the input it was made from. When re-planning
   * would give it the same input (the same facts, the same deliveries, executions and claims, the
   * same time), it is used as is: the plan is a pure function of that input, and a second copy
   * of 100,000 decisions is not built while the first is still held. A re-plan keeps no
   * decisions, only their counts (the status reads nothing else).
   */
  planned?: { input: RetryWorkInput; plan: RetryWork };
  /** The committed report and status at the snapshot's ledger revision (null when absent). */
  committedReport: ReportEnvelope | null;
  committedStatus: StatusDocument | null;
  now: Date;
  replicaId: string;
  /**
   * The run this commit belongs to (its run record's id): the revision it planned on, which is
   * not the snapshot's when a rejected push rebuilt the commit on a newer tip, and its start.
   */
  run: { revision: string; startedAt: IsoTime };
  /**
   * Whether this replica would take the work of a claim id now (its shard, pushing enabled);
   * default: all. Work it would not take (another shard's, or with --no-push) is not "due now"
   * for it, so its loop does not spin on it.
   */
  takesWork?: (claimId: string) => boolean;
  /** Claims this commit adds too (the next batch of a pipelined run, see call-pipeline.ts). */
  newClaims?: ClaimRecord[];
  /**
   * A commit in the middle of a pipelined run: no run record (the run's last commit writes one
   * for the whole run). Pass `retryInput: null` with it too: the status is the last commit's.
   */
  intermediate?: boolean;
  /** Records the run's earlier commits added, by kind: the run record counts them. */
  earlierCounts?: Record<RecordKind, number>;
  /** Record files already serialized, by path (the calls prepare theirs while others run). */
  prepared?: ReadonlyMap<string, string>;
  /** Providers whose connector cannot be built now (the status names them). */
  notReady?: readonly ProviderCondition[];
  /**
   * What an operator accepted in this run (`--accept-ledger-change`, `--accept-history`): the run's
   * last commit writes a run record naming it, even when it records nothing else.
   */
  accepted?: RunAcceptances;
}

export interface LedgerSettlement {
  change: TreeChange;
  /** Records this change adds, by kind. */
  counts: Record<RecordKind, number>;
  /** Pending outcomes dropped because their claim is no longer held (another replica resolved it). */
  superseded: string[];
  /** When time alone will change the next plan (retry due, lease expiry, SLO breach). */
  nextDueAt: IsoTime | null;
  /** Every record (and claim) as the change leaves them. */
  records: RecordSet;
  /** The closures and playbooks this change records. */
  added: { closures: ClosureRecord[]; playbooks: PlaybookRecord[] };
  /** True when the change writes the report. */
  reportChanged: boolean;
  /** The report and status as the change leaves them (committed or unchanged). */
  committed: { report: ReportEnvelope | null; status: StatusDocument | null };
}

/**
 * Settle the ledger: the commit that records `pending` against `snapshot` and whatever it makes
 * due (an empty change when nothing would change).
 */
export function settleLedger(input: SettleLedgerInput): LedgerSettlement {
  const { snapshot, now } = input;
  const { manifests } = snapshot.manifests;
  const policy = manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;
  const revision = snapshot.revision;

  const holders = new Map(snapshot.records.claims.map((claim) => [claim.claim_id, claim.holder]));
  const withRecords = new Set([
    ...input.pending.deliveries.map(claimOfDelivery),
    ...input.pending.executions.map((r) => r.execution_id),
  ]);
  // A claim released uncalled (an id without records) is only ever our own: when a journal replays
  // the release, another replica may hold a new claim of the same id, which must stay.
  const resolvable = new Set(
    [...holders]
      .filter(([id, holder]) => withRecords.has(id) || holder === input.replicaId)
      .map(([id]) => id),
  );
  const recordedDeliveries = alreadyRecorded(
    input.pending.deliveries.map((r) => r.record_id),
    snapshot.records.deliveries,
    (r) => r.record_id,
  );
  const recordedExecutions = alreadyRecorded(
    input.pending.executions.map((r) => r.execution_id),
    snapshot.records.executions,
    (r) => r.execution_id,
  );
  const superseded = input.pending.claimIds.filter((id) => !resolvable.has(id));
  const deliveries = input.pending.deliveries.filter(
    (r) => resolvable.has(claimOfDelivery(r)) && !recordedDeliveries.has(r.record_id),
  );
  const executions = input.pending.executions.filter(
    (r) => resolvable.has(r.execution_id) && !recordedExecutions.has(r.execution_id),
  );
  const releasedClaims = input.pending.claimIds.filter((id) => resolvable.has(id));
  const released = new Set(releasedClaims);

  const withOutcomes: RecordSet = {
    ...snapshot.records,
    deliveries: concatenated(snapshot.records.deliveries, deliveries),
    executions: concatenated(snapshot.records.executions, executions),
    claims: snapshot.records.claims.filter((claim) => !released.has(claim.claim_id)),
  };
  const consumed = input.retryInput?.gateFacts.consumed.closures;
  const closures = planClosures({
    closures: manifests.closures,
    records: withOutcomes,
    ...(consumed ? { consumed } : {}),
    now,
    revision,
  }).closures;
  const withClosures: RecordSet = { ...withOutcomes, closures: [...withOutcomes.closures, ...closures] };
  const playbooks = policy.recovery.auto_playbooks
    ? planPlaybooks({
        providers: manifests.providers,
        policy,
        records: withClosures,
        now,
        revision,
        generatedBy: RECONCILER_GENERATOR,
      })
    : [];
  const newClaims = input.newClaims ?? [];
  const records: RecordSet = {
    ...withClosures,
    playbooks: [...withClosures.playbooks, ...playbooks],
    claims: [...withClosures.claims, ...newClaims],
  };

  const counts: Record<RecordKind, number> = {
    deliveries: deliveries.length,
    executions: executions.length,
    playbooks: playbooks.length,
    closures: closures.length,
    runs: 0,
  };
  const runCount = (kind: RecordKind): number => counts[kind] + (input.earlierCounts?.[kind] ?? 0);
  // The run's last commit writes the run record (and so the report) even when the records it
  // counts all landed in the run's earlier commits.
  const addsRecords =
    COUNTED_KINDS.some((kind) => counts[kind] > 0) ||
    (!input.intermediate &&
      (COUNTED_KINDS.some((kind) => runCount(kind) > 0) || hasAcceptances(input.accepted)));
  // A tip no reconciler recorded yet gets a run record of its own (and nothing more): it is then
  // the base of what is merged after it (docs/reference.md §4), even when this run had nothing to do.
  // Not twice: a commit rebuilt after a rejected push sees the run record another replica landed.
  const recordsTip =
    !input.intermediate &&
    input.retryInput?.gateFacts.tipRecorded === false &&
    !records.runs.some((run) => run.source_revision === input.run.revision);
  const put: TreeChange['put'] = [];
  const putRecord = (kind: RecordKind, id: string, at: IsoTime, record: object): void => {
    const path = recordPath(kind, id, at);
    put.push({ path, content: input.prepared?.get(path) ?? serializeRecord(record) });
  };
  for (const r of deliveries) putRecord('deliveries', r.record_id, r.attempted_at, r);
  for (const r of executions) putRecord('executions', r.execution_id, r.executed_at, r);
  for (const r of closures) putRecord('closures', r.closure_id, r.recorded_at, r);
  for (const r of playbooks) putRecord('playbooks', r.playbook_id, r.generated_at, r);
  for (const claim of newClaims)
    put.push({ path: claimPath(claim.claim_id), content: serializeRecord(claim) });
  if ((addsRecords || recordsTip) && !input.intermediate) {
    const run = buildRunRecord({
      revision: input.run.revision,
      startedAt: input.run.startedAt,
      replicaId: input.replicaId,
      deliveryCount: runCount('deliveries'),
      executionCount: runCount('executions'),
      playbookCount: runCount('playbooks'),
      closureCount: runCount('closures'),
      ...(input.accepted ? { accepted: input.accepted } : {}),
    });
    counts.runs = 1;
    putRecord('runs', run.run_id, run.started_at, run);
    records.runs = [...records.runs, run];
  }

  const sloMinutes = policy.recovery.recovery_slo_minutes;
  const report = computeRetryRecoveryReport(records, {
    sloMinutes,
    generatedBy: RECONCILER_GENERATOR,
    now,
    revision,
  });
  const breachedChanged =
    input.committedReport === null ||
    breachedRowKeys(report.report).join('\n') !== breachedRowKeys(input.committedReport.report).join('\n');
  const committed = { report: input.committedReport, status: input.committedStatus };
  if (addsRecords || breachedChanged) {
    put.push({ path: REPORT_JSON_PATH, content: `${JSON.stringify(report, null, 2)}\n` });
    put.push({ path: REPORT_MD_PATH, content: renderReportMarkdown(report) });
    committed.report = report;
  }

  let nextDueAt: IsoTime | null = null;
  if (input.retryInput) {
    const replanInput: RetryWorkInput = { ...input.retryInput, records, now };
    const retry =
      input.planned !== undefined && sameRetryInput(input.planned.input, replanInput)
        ? input.planned.plan
        : planRetryWork(replanInput, { keepDecisions: false });
    const closureFindings = planClosures({
      closures: manifests.closures,
      records,
      ...(consumed ? { consumed } : {}),
      now,
      revision,
    }).findings;
    const status = computeStatus({ snapshot, retry, closureFindings, notReady: input.notReady ?? [], now });
    if (addsRecords || meaningfulStatus(status) !== meaningfulStatus(input.committedStatus)) {
      put.push({ path: STATUS_PATH, content: serializeStatus(status) });
      committed.status = status;
    }
    // Work that is already due (e.g. an immediate retry after the failure just recorded) must wake
    // the loop now: the plan's nextDueAt only names future times.
    const takesWork = input.takesWork ?? (() => true);
    const dueNow = [
      ...[...retry.deliveries, ...retry.executions].map((call) => call.claimId),
      ...retry.expiredClaims.map((expired) => expired.claim.claim_id),
      ...retry.orphanedClaims.map((claim) => claim.claim_id),
    ].some(takesWork);
    nextDueAt = dueNow ? now.toISOString() : retry.nextDueAt;
  }
  const breachAt = report.report.recovery_rows.length > 0 ? nextBreachAt(records, sloMinutes, now) : null;
  nextDueAt = earliest(nextDueAt, breachAt);

  const remove = releasedClaims.map((id) => claimPath(id));
  return {
    change: { put, remove },
    counts,
    superseded,
    nextDueAt,
    records,
    added: { closures, playbooks },
    reportChanged: committed.report !== input.committedReport,
    committed,
  };
}

/**
 * The ids of `ids` that `records` already hold: one pass over the records against the few pending
 * ids, not a set of every recorded id (100,000 on a first run, built for every settlement).
 */
function alreadyRecorded<T>(
  ids: readonly string[],
  records: readonly T[],
  idOf: (record: T) => string,
): Set<string> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  const wanted = new Set(ids);
  for (const record of records) {
    const id = idOf(record);
    if (wanted.has(id)) found.add(id);
  }
  return found;
}

/** `a` followed by `b`; `a` itself when `b` is empty (records are never mutated, only replaced). */
function concatenated<T>(a: T[], b: readonly T[]): T[] {
  return b.length === 0 ? a : [...a, ...b];
}

/**
 * Whether two retry plan inputs are the same for planRetryWork: every fact the same object, the
 * same time, and the same deliveries, executions and claims (the record kinds it reads), element
 * by element (a settlement's record lists are new arrays even when nothing was added to them).
 */
function sameRetryInput(a: RetryWorkInput, b: RetryWorkInput): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof RetryWorkInput)[]);
  for (const key of keys) {
    if (key === 'records' || key === 'now') continue;
    if (a[key] !== b[key]) return false;
  }
  if (a.now.getTime() !== b.now.getTime()) return false;
  const sameList = (x: readonly unknown[], y: readonly unknown[]): boolean =>
    x === y || (x.length === y.length && x.every((item, index) => item === y[index]));
  return (
    sameList(a.records.deliveries, b.records.deliveries) &&
    sameList(a.records.executions, b.records.executions) &&
    sameList(a.records.claims, b.records.claims)
  );
}

export function earliest(a: IsoTime | null, b: IsoTime | null): IsoTime | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/** True when the change writes or removes nothing: no commit is made for it. */
export function isEmptyChange(change: TreeChange): boolean {
  return change.put.length === 0 && change.remove.length === 0;
}
