/**
 * The records a run writes, built from planned calls and their outcomes. Pure: the same inputs
 * give the same record, hence (through serializeRecord) the same bytes and hash.
 */
import type { CallOutcome } from './ports.js';
import { executionIdOf, idempotencyKeyOf, type ExpiredClaim, type PlannedCall } from './retry-plan.js';
import type {
  ApprovalEvidence,
  ClaimRecord,
  DeliveryRecord,
  ExecutionRecord,
  ExecutionStatus,
  IsoTime,
  RunRecord,
} from './types.js';
import { EVIDENCE_URI_SCHEMES, evidenceUri } from './evidence-uris.js';
import { deliveryPlanId, deliveryRecordId, runId as computeRunId } from './ids.js';
import { sealRecord } from './record-format.js';

const MINUTE_MS = 60_000;

export interface ClaimOptions {
  /** Who holds the claim: the replica id. */
  holder: string;
  now: Date;
  leaseMinutes: number;
  /** The revision the plan was computed from. */
  revision: string;
}

/**
 * The claim committed before a connector call; its lease ends `leaseMinutes` after `now`. An
 * execution that counts several approvals names them (`approval_names`), so the call can be
 * rebuilt exactly if the lease expires. The claim id is the execution id (or the delivery record
 * id): format v2 adds schema, product and controls around it, never into it.
 */
export function buildClaim(call: PlannedCall, options: ClaimOptions): ClaimRecord {
  const claim: Record<string, unknown> = {
    claim_id: call.claimId,
    claim_kind: call.kind,
    delivery_id: call.key.delivery_id,
    audit_id: call.key.audit_id,
    provider: call.key.provider,
    attempt: call.attempt,
    holder: options.holder,
    claimed_at: options.now.toISOString(),
    lease_expires_at: new Date(options.now.getTime() + options.leaseMinutes * MINUTE_MS).toISOString(),
    source_revision: options.revision,
  };
  if (call.approvals.length > 1) claim.approval_names = call.approvals.map((approval) => approval.name);
  return sealRecord<ClaimRecord>('claims', claim, null);
}

export interface DeliveryRecordOptions {
  runId: string;
  attemptedAt: IsoTime;
  completedAt: IsoTime;
  revision: string;
}

/** The record of one attempt (initial delivery or retry), written whatever its outcome. */
export function buildDeliveryRecord(
  call: PlannedCall,
  outcome: Pick<CallOutcome, 'success' | 'statusCode' | 'error'>,
  options: DeliveryRecordOptions,
): DeliveryRecord {
  return sealRecord<DeliveryRecord>(
    'deliveries',
    {
      record_id: deliveryRecordId(call.key, call.attempt),
      delivery_id: call.key.delivery_id,
      audit_id: call.key.audit_id,
      provider: call.key.provider,
      attempt: call.attempt,
      delivery_success: outcome.success,
      status_code: outcome.statusCode,
      error: outcome.success ? '' : outcome.error,
      execution_id: executionIdOf(call),
      idempotency_key: idempotencyKeyOf(call),
      attempted_at: options.attemptedAt,
      completed_at: options.completedAt,
      run_id: options.runId,
      source_revision: options.revision,
    },
    'record_hash',
  );
}

export interface ExecutionRecordOptions {
  runId: string;
  executedAt: IsoTime;
  /** Who executed: the replica id. */
  executedBy: string;
  revision: string;
}

/**
 * The execution record of a retry (docs/reference.md §4): `delivered` / `failed` from the connector
 * outcome. (`skipped` is only read: records written before a call that cannot be made stopped at
 * its provider's NotReady condition have it.) Evidence: each counted approval (name,
 * manifest path and blob, introducing commit, author, signature, base commit) — the primary in
 * `approval`, all of them in `approvals` when more than one was counted — `emergency`, and the
 * source revision; `delivery_plan_id` / `delivery_metadata_id` (CAVRA's) and public evidence refs
 * as URIs: this attempt's delivery, the delivery plan, the
 * approval decision and the run (src/domain/evidence-uris.ts).
 */
export function buildExecutionRecord(
  call: PlannedCall,
  outcome: Pick<CallOutcome, 'success' | 'statusCode' | 'error'>,
  options: ExecutionRecordOptions,
): ExecutionRecord {
  return executionRecord(
    call,
    outcome.success ? 'delivered' : 'failed',
    {
      skipped: '',
      success: outcome.success,
      statusCode: outcome.statusCode,
      error: outcome.success ? '' : outcome.error,
    },
    options,
  );
}

function executionRecord(
  call: PlannedCall,
  status: ExecutionStatus,
  result: { skipped: string; success: boolean; statusCode: number | null; error: string },
  options: ExecutionRecordOptions,
): ExecutionRecord {
  // CAVRA's URI forms (evidence-uris.ts), each resolvable through the API; the approval's
  // manifest, blob and commit are in `approval`.
  const deliveryMetadataId = deliveryRecordId(call.key, call.attempt);
  const planId = deliveryPlanId(call.key);
  const refs = [
    evidenceUri(EVIDENCE_URI_SCHEMES.connectorDelivery, deliveryMetadataId),
    evidenceUri(EVIDENCE_URI_SCHEMES.auditDelivery, planId),
    evidenceUri(EVIDENCE_URI_SCHEMES.retryApproval, call.approvalDecisionId),
    evidenceUri(EVIDENCE_URI_SCHEMES.retryWorker, options.runId),
  ];
  const evidence = countedEvidence(call);
  const record: Record<string, unknown> & Partial<ExecutionRecord> = {
    execution_id: call.claimId,
    execution_status: status,
    executed_at: options.executedAt,
    executed_by: options.executedBy,
    run_id: options.runId,
    retry_plan_id: call.retryPlanId,
    approval_decision_id: call.approvalDecisionId,
    approval_plan_id: call.approvalPlanId,
    delivery_id: call.key.delivery_id,
    audit_id: call.key.audit_id,
    provider: call.key.provider,
    attempt: call.attempt,
    skipped: result.skipped,
    delivery_success: result.success,
    status_code: result.statusCode,
    error: result.error,
    selected_providers: [...call.selectedProviders],
    public_evidence_refs: refs,
    approval: evidence[0],
    emergency: call.emergency,
    source_revision: options.revision,
    delivery_plan_id: planId,
    delivery_metadata_id: deliveryMetadataId,
  };
  if (evidence.length > 1)
    record.approvals = evidence.map((entry) => ({ ...entry, signature: { ...entry.signature } }));
  return sealRecord<ExecutionRecord>('executions', record, 'execution_hash');
}

/** The primary approval's evidence (see {@link countedEvidence}). */
export function approvalEvidence(call: PlannedCall): ApprovalEvidence {
  return countedEvidence(call)[0] as ApprovalEvidence;
}

/**
 * The evidence of every counted approval, the primary first: as planned (facts from history), or
 * for a call without planned evidence, from the approval manifest itself. Never empty.
 */
function countedEvidence(call: PlannedCall): ApprovalEvidence[] {
  if (call.approvalEvidence.length > 0) return call.approvalEvidence.map((entry) => ({ ...entry }));
  const source = call.approval?.source;
  const introduced = source?.introduced ?? null;
  return [
    {
      name: call.approval?.name ?? '',
      manifest: source?.path ?? '',
      blob: source?.blob ?? '',
      commit: introduced?.commit ?? '',
      author: introduced?.author ?? '',
      signature: {
        status: introduced?.signature.status ?? 'none',
        principal: introduced?.signature.principal ?? '',
      },
      base: '',
    },
  ];
}

export interface UnknownOutcomeOptions {
  runId: string;
  /** When the expiry was noticed (the run's `now`). */
  recordedAt: IsoTime;
  /** Who noticed: the replica id. */
  recordedBy: string;
  revision: string;
}

export interface UnknownOutcomeRecords {
  /** A failed delivery record for the claimed attempt, so the attempt counts toward the limit. */
  delivery: DeliveryRecord;
  /** An `unknown` execution record (consumes the approval); null for an initial delivery. */
  execution: ExecutionRecord | null;
}

/**
 * The records of a claim whose lease expired without an outcome and that is not re-sent
 * (non-idempotent provider): the attempt is recorded as failed with the error
 * "outcome unknown: claim lease expired at …", and an execution as `unknown`.
 */
export function buildUnknownOutcome(
  expired: ExpiredClaim,
  options: UnknownOutcomeOptions,
): UnknownOutcomeRecords {
  const delivery = buildUnknownDeliveryFromClaim(expired.claim, options);
  if (expired.call.kind !== 'execution') return { delivery, execution: null };
  const record = executionRecord(
    expired.call,
    'unknown',
    { skipped: '', success: false, statusCode: null, error: unknownError(expired.claim) },
    {
      runId: options.runId,
      executedAt: options.recordedAt,
      executedBy: options.recordedBy,
      revision: options.revision,
    },
  );
  return { delivery, execution: record };
}

/**
 * The failed delivery record of an expired claim, from the claim alone: for orphaned claims whose
 * manifests are gone (RetryWorkPlan.orphanedClaims) and as part of buildUnknownOutcome.
 */
export function buildUnknownDeliveryFromClaim(
  claim: ClaimRecord,
  options: UnknownOutcomeOptions,
): DeliveryRecord {
  const key = { delivery_id: claim.delivery_id, audit_id: claim.audit_id, provider: claim.provider };
  const isExecution = claim.claim_kind === 'execution';
  return sealRecord<DeliveryRecord>(
    'deliveries',
    {
      record_id: deliveryRecordId(key, claim.attempt),
      ...key,
      attempt: claim.attempt,
      delivery_success: false,
      status_code: null,
      error: unknownError(claim),
      execution_id: isExecution ? claim.claim_id : '',
      idempotency_key: isExecution ? claim.claim_id : claim.delivery_id,
      attempted_at: claim.claimed_at,
      completed_at: options.recordedAt,
      run_id: options.runId,
      source_revision: options.revision,
    },
    'record_hash',
  );
}

function unknownError(claim: ClaimRecord): string {
  return `outcome unknown: claim lease expired at ${claim.lease_expires_at} (held by ${claim.holder})`;
}

export interface RunRecordOptions {
  revision: string;
  startedAt: IsoTime;
  replicaId: string;
  deliveryCount: number;
  executionCount: number;
  playbookCount: number;
  closureCount: number;
  /** What an operator accepted in this run (written only when there is something). */
  accepted?: RunAcceptances;
}

/** Ledger changes and rewritten histories an operator accepted in a run (docs/reference.md §6a). */
export interface RunAcceptances {
  ledgerChanges: readonly string[];
  history: readonly string[];
}

export function hasAcceptances(accepted: RunAcceptances | undefined): accepted is RunAcceptances {
  return accepted !== undefined && accepted.ledgerChanges.length + accepted.history.length > 0;
}

/** The record of one run that wrote something; `run_id` = runId(revision, startedAt, replicaId). */
export function buildRunRecord(options: RunRecordOptions): RunRecord {
  return sealRecord<RunRecord>(
    'runs',
    {
      run_id: computeRunId(options.revision, options.startedAt, options.replicaId),
      replica_id: options.replicaId,
      started_at: options.startedAt,
      source_revision: options.revision,
      delivery_count: options.deliveryCount,
      execution_count: options.executionCount,
      playbook_count: options.playbookCount,
      closure_count: options.closureCount,
      ...(options.accepted && options.accepted.ledgerChanges.length > 0
        ? { accepted_ledger_changes: [...options.accepted.ledgerChanges] }
        : {}),
      ...(options.accepted && options.accepted.history.length > 0
        ? { accepted_history: [...options.accepted.history] }
        : {}),
    },
    'run_hash',
  );
}
