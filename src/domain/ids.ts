/**
 * Deterministic ids (docs/reference.md §4): CAVRA's prefix followed by the first 16 hex chars of the SHA-256 of
 * the RFC 8785 canonical JSON of exactly the object each function documents. Every id is a pure
 * function of its inputs, so every replica and every run computes the same id, and an id can be
 * recomputed by `verify`.
 */
import type { DeliveryKey, IsoTime, RetryAcknowledgement, RetryApproval } from './types.js';
import { makeId } from './hash.js';

/** Every id prefix of the project, in one place (playbook/closure/report ids are built in domain/playbooks, domain/closures and domain/report). */
export const ID_PREFIXES = {
  execution: 'gordackretryexec-',
  approvalDecision: 'gordackretryapprovaldecision-',
  acknowledgement: 'gordackretryack-',
  retryPlan: 'gordackretryplan-',
  approvalPlan: 'gordackretryapproval-',
  playbook: 'gordackrecovery-',
  closure: 'gordackrecoveryclosure-',
  run: 'gordackworker-',
  report: 'gordackretryreport-',
  deliveryPlan: 'gordackauditdeliveryplan-',
} as const;

/**
 * Id of one approval decision. Hashes `{kind: 'RetryApproval', name, spec, commit}` where `spec`
 * is the normalised spec (defaults filled, `decided_at` included; `emergency` only when true) and `commit` is the id of the
 * commit that introduced the manifest's current content ('' when unknown, i.e. a working tree).
 * Any edit of the approval (even re-committing the same text) is therefore a new decision, which
 * is what lets one approval authorise exactly one execution.
 */
export function approvalDecisionId(approval: RetryApproval): string {
  let id = decisionIds.get(approval);
  if (id === undefined) {
    id = computeDecisionId(approval);
    decisionIds.set(approval, id);
  }
  return id;
}

/**
 * Decision ids by manifest object: a run plans twice (before its calls and after them), verify
 * checks every execution against them, and the loop's manifest cache hands the same objects to
 * every run, so each id's canonical JSON and hash is computed once (manifests are never changed
 * once read).
 */
const decisionIds = new WeakMap<RetryApproval, string>();

function computeDecisionId(approval: RetryApproval): string {
  // `emergency` was added to the spec later: it is hashed only when true, so the decision ids
  // (and execution ids) of approvals written before it are unchanged.
  const { emergency, ...withoutEmergency } = approval.spec;
  return makeId(ID_PREFIXES.approvalDecision, {
    kind: approval.kind,
    name: approval.name,
    spec: emergency ? approval.spec : withoutEmergency,
    commit: approval.source.introduced?.commit ?? '',
  });
}

/** Id of one acknowledgement. Hashes `{kind: 'RetryAcknowledgement', name, spec, commit}` (as approvals). */
export function acknowledgementId(acknowledgement: RetryAcknowledgement): string {
  return makeId(ID_PREFIXES.acknowledgement, {
    kind: acknowledgement.kind,
    name: acknowledgement.name,
    spec: acknowledgement.spec,
    commit: acknowledgement.source.introduced?.commit ?? '',
  });
}

/**
 * Id of the execution of a retry. Hashes `{approval_decision_id, delivery_id, audit_id, provider,
 * attempt}`: known before the connector call, so it is the claim's file name and the idempotency
 * key the connector sends (a re-send after an unknown outcome reuses it).
 */
export function executionId(approvalDecisionIdValue: string, key: DeliveryKey, attempt: number): string {
  return makeId(ID_PREFIXES.execution, {
    approval_decision_id: approvalDecisionIdValue,
    delivery_id: key.delivery_id,
    audit_id: key.audit_id,
    provider: key.provider,
    attempt,
  });
}

/** Id of the retry plan for one attempt of a key. Hashes `{delivery_id, audit_id, provider, attempt}`. */
export function retryPlanId(key: DeliveryKey, attempt: number): string {
  return makeId(ID_PREFIXES.retryPlan, {
    delivery_id: key.delivery_id,
    audit_id: key.audit_id,
    provider: key.provider,
    attempt,
  });
}

/** Id of the approval plan of a key (all its retries). Hashes `{delivery_id, audit_id, provider}`. */
export function approvalPlanId(key: DeliveryKey): string {
  return makeId(ID_PREFIXES.approvalPlan, {
    delivery_id: key.delivery_id,
    audit_id: key.audit_id,
    provider: key.provider,
  });
}

/** Id of one reconcile run. Hashes `{revision, started_at, replica_id}`. */
export function runId(revision: string, startedAt: IsoTime, replicaId: string): string {
  return makeId(ID_PREFIXES.run, { revision, started_at: startedAt, replica_id: replicaId });
}

/**
 * Id of the audit delivery plan of a key (CAVRA's `delivery_plan_id`, format v2). Hashes
 * `{delivery_id, audit_id, provider}`: every attempt of the key belongs to the one plan.
 */
export function deliveryPlanId(key: DeliveryKey): string {
  return makeId(ID_PREFIXES.deliveryPlan, {
    delivery_id: key.delivery_id,
    audit_id: key.audit_id,
    provider: key.provider,
  });
}

/**
 * Id of one delivery attempt: `<delivery_id>.<provider>.<attempt>` (not hashed, so it reads well
 * in file names). Both names are DNS-1123 labels, which cannot contain `.`, so the id is unique.
 */
export function deliveryRecordId(key: DeliveryKey, attempt: number): string {
  return `${key.delivery_id}.${key.provider}.${attempt}`;
}
