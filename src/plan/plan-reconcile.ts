/**
 * The whole plan of one reconcile, pure: from the facts the read step gathered and `now`, what
 * the run will do — the calls to claim (this replica's share), the unknown outcomes to record,
 * and the ledger commit it makes if no call changes anything (closures, playbooks, run record,
 * report, status, `nextDueAt`). `plan` prints it; `reconcile` applies it and never recomputes a
 * rule: what depends on call outcomes is `settleLedger` (settle-ledger.ts) applied to the plan
 * plus those outcomes.
 */
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import { sha256Hex } from '../domain/hash.js';
import { runId } from '../domain/ids.js';
import { planClosures } from '../domain/closures.js';
import { buildUnknownDeliveryFromClaim, buildUnknownOutcome } from '../domain/record-builders.js';
import {
  planRetryWork,
  type PlannedCall,
  type RetryWork,
  type RetryWorkInput,
  type RetryWorkPlan,
} from '../domain/retry-plan.js';
import type { ProviderCondition } from '../domain/conditions.js';
import type { ClosureRecord, Finding, IsoTime, ReconcilerPolicySpec } from '../domain/types.js';
import type { PlanFacts } from '../read-model/read-plan-facts.js';
import { emptyPending, settleLedger, type LedgerSettlement, type PendingOutcomes } from './settle-ledger.js';

/** This replica's share of the work (`--shard i/n`): a claim id belongs to exactly one shard. */
export interface Shard {
  index: number;
  count: number;
}

export interface PlanOptions {
  /** Claim lease in minutes. */
  leaseMinutes: number;
  /** Who plans: the run id, unknown outcomes and the run record carry it. */
  replicaId: string;
  shard: Shard | null;
  /** False with `--no-push`: calls need a published claim, so none is made (nor counted as due). */
  push: boolean;
  /**
   * False: the retry plan keeps only the decisions' counts, not one decision per key (`reconcile`
   * prints none; see RetryWorkOptions). Default true (`plan`, the API).
   */
  keepDecisions?: boolean;
}

export const DEFAULT_LEASE_MINUTES = 10;

/** What `plan --format json` lists under `would_record` (docs/reference.md §5). */
export interface WouldRecord {
  calls: {
    claim_id: string;
    /** null for attempt 1 (the claim id is then the delivery record id). */
    execution_id: string | null;
    delivery_id: string;
    provider: string;
    attempt: number;
  }[];
  playbooks: string[];
  closures: string[];
  report_changes: boolean;
}

/** `R`: the retry plan with every key's decision (the default) or only their counts. */
export interface ReconcilePlan<R extends RetryWork = RetryWorkPlan> {
  revision: string;
  ledgerRevision: string;
  now: IsoTime;
  /** The run id of this plan's records. */
  runId: string;
  policy: ReconcilerPolicySpec;
  retry: R;
  /** What `retry` was planned from, so commits can settle the ledger over the records they add. */
  retryInput: RetryWorkInput;
  /** Closure manifests not yet recorded, as records to write. */
  closures: ClosureRecord[];
  /** Closure manifests that cannot be recorded (unknown playbook, provider, verification ref). */
  closureFindings: Finding[];
  /** The calls this replica makes, in claim order: initial deliveries, executions, re-sends. */
  calls: PlannedCall[];
  /** Outcomes recorded without a call: expired claims not re-sent, orphaned claims. */
  unknown: PendingOutcomes;
  /** Enabled providers whose connector cannot be built now: nothing is claimed or called for them. */
  notReady: ProviderCondition[];
  /** The ledger commit if no call were made (`calls` add their outcomes to it). */
  ledger: LedgerSettlement;
  wouldRecord: WouldRecord;
}

/** What the retry work of a plan is decided from. */
function retryInputOf(facts: PlanFacts, now: Date, leaseMinutes: number): RetryWorkInput {
  const { snapshot } = facts;
  const { manifests } = snapshot.manifests;
  return {
    revision: snapshot.revision,
    manifests,
    policy: manifests.policy?.spec ?? DEFAULT_POLICY_SPEC,
    gateFacts: facts.gate,
    records: snapshot.records,
    now,
    leaseMinutes,
    notReady: new Set(facts.notReady.map((p) => p.provider)),
  };
}

/**
 * The retry work a reconcile at `now` would plan, alone: the decision per key of
 * {@link planReconcile}'s plan, without the calls, closures and ledger commit around it (the API's
 * retry plan shows only the decisions).
 */
export function planRetryDecisions(facts: PlanFacts, now: Date, leaseMinutes: number): RetryWorkPlan {
  return planRetryWork(retryInputOf(facts, now, leaseMinutes));
}

/** Plan a reconcile: pure, no git, clock, fs or network. */
export function planReconcile(
  facts: PlanFacts,
  now: Date,
  options: PlanOptions & { keepDecisions?: true },
): ReconcilePlan;
export function planReconcile(facts: PlanFacts, now: Date, options: PlanOptions): ReconcilePlan<RetryWork>;
export function planReconcile(facts: PlanFacts, now: Date, options: PlanOptions): ReconcilePlan<RetryWork> {
  const { snapshot } = facts;
  const { manifests } = snapshot.manifests;
  const retryInput = retryInputOf(facts, now, options.leaseMinutes);
  const policy = retryInput.policy;
  const retry = planRetryWork(retryInput, { keepDecisions: options.keepDecisions ?? true });
  const closurePlan = planClosures({
    closures: manifests.closures,
    records: snapshot.records,
    consumed: facts.gate.consumed.closures,
    now,
    revision: snapshot.revision,
  });
  const startedAt = now.toISOString();
  const run = { revision: snapshot.revision, startedAt };
  const id = runId(snapshot.revision, startedAt, options.replicaId);
  // A call whose id the ledger has recorded before is never made again (a deleted record re-arms
  // nothing): it is left like another shard's work, neither called nor due.
  const recorded = facts.recorded;
  const takes = (claimId: string): boolean =>
    takesWork(claimId, options.shard) && !(recorded?.has(claimId) ?? false);
  const calls = options.push ? selectCalls(retry).filter((call) => takes(call.claimId)) : [];
  const unknown = unknownOutcomes(retry, takes, {
    runId: id,
    recordedAt: startedAt,
    recordedBy: options.replicaId,
    revision: snapshot.revision,
  });
  const ledger = settleLedger({
    snapshot,
    pending: unknown,
    retryInput,
    planned: { input: retryInput, plan: retry },
    committedReport: facts.committed.report,
    committedStatus: facts.committed.status,
    now,
    replicaId: options.replicaId,
    run,
    takesWork: (claimId) => options.push && takes(claimId),
    notReady: facts.notReady,
  });
  return {
    revision: snapshot.revision,
    ledgerRevision: snapshot.ledgerRevision,
    now: startedAt,
    runId: id,
    policy,
    retry,
    retryInput,
    closures: closurePlan.closures,
    closureFindings: closurePlan.findings,
    calls,
    unknown,
    notReady: facts.notReady,
    ledger,
    wouldRecord: {
      calls: calls.map((call) => ({
        claim_id: call.claimId,
        execution_id: call.kind === 'execution' ? call.claimId : null,
        delivery_id: call.key.delivery_id,
        provider: call.key.provider,
        attempt: call.attempt,
      })),
      playbooks: ledger.added.playbooks.map((r) => r.playbook_id),
      closures: ledger.added.closures.map((r) => r.closure_id),
      // Every commit that adds records carries the report: calls always add records.
      report_changes: calls.length > 0 || ledger.reportChanged,
    },
  };
}

/** Calls of a plan: initial deliveries, approved executions, re-sends of idempotent unknown outcomes. */
function selectCalls(retry: RetryWork): PlannedCall[] {
  const resends = retry.expiredClaims.filter((e) => e.resend).map((e) => e.call);
  return [...retry.deliveries, ...retry.executions, ...resends];
}

/** True when the work of `claimId` belongs to `shard` (always, without sharding). */
export function takesWork(claimId: string, shard: Shard | null): boolean {
  if (shard === null) return true;
  return Number.parseInt(sha256Hex(claimId).slice(0, 8), 16) % shard.count === shard.index;
}

/** Records for expired claims that must not be re-sent (non-idempotent) and orphaned claims. */
function unknownOutcomes(
  retry: RetryWork,
  takes: (claimId: string) => boolean,
  common: { runId: string; recordedAt: IsoTime; recordedBy: string; revision: string },
): PendingOutcomes {
  const pending = emptyPending();
  for (const expired of retry.expiredClaims) {
    if (expired.resend || !takes(expired.claim.claim_id)) continue;
    const records = buildUnknownOutcome(expired, common);
    pending.deliveries.push(records.delivery);
    if (records.execution) pending.executions.push(records.execution);
    pending.claimIds.push(expired.claim.claim_id);
  }
  for (const claim of retry.orphanedClaims) {
    if (!takes(claim.claim_id)) continue;
    pending.deliveries.push(buildUnknownDeliveryFromClaim(claim, common));
    pending.claimIds.push(claim.claim_id);
  }
  return pending;
}
