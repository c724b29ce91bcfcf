/**
 * What the reconciler should call now, and why not for every other key: initial deliveries,
 * approved retries (through the approval gate), and claims whose lease expired without an
 * outcome. Pure: a function of (manifests, policies, records, now); sorted outputs, no clock.
 */
import { checkAuthorisation, evaluateGate, type GateReason } from './approval-gate.js';
import { DEFAULT_POLICY_SPEC } from './defaults.js';
import {
  compareKeys,
  computeRetryState,
  effectiveRetryPolicy,
  groupAttempts,
  groupBy,
  keyString,
  selectAcknowledgement,
  selectApproval,
  type RetryAction,
} from './retry-rules.js';
import { compareStrings } from './recovery-state.js';
import type {
  AuditDelivery,
  ClaimRecord,
  DeliveryKey,
  DeliveryRecord,
  IsoTime,
  ManifestSet,
  Provider,
  ReconcilerPolicySpec,
  RecordSet,
  RetryApproval,
} from './types.js';
import { approvalDecisionId, approvalPlanId, deliveryRecordId, executionId, retryPlanId } from './ids.js';

export interface RetryWorkInput {
  /** Commit the manifests were read from. */
  revision: string;
  /** Valid manifests only. */
  manifests: ManifestSet;
  /** Current policy, defaults filled. */
  policy: ReconcilerPolicySpec;
  /** Approval's introducing commit id → the policy in force at its parent (missing = defaults). */
  priorPolicies: ReadonlyMap<string, ReconcilerPolicySpec>;
  records: RecordSet;
  now: Date;
  /** Claim lease in minutes (default 10). */
  leaseMinutes: number;
  /** Enabled providers whose connector cannot be built now: nothing is claimed or called for them. */
  notReady?: ReadonlySet<string>;
}

/** One connector call to make: an initial delivery (attempt 1) or the execution of a retry. */
export interface PlannedCall {
  /** execution_id for retries, deliveryRecordId for attempt 1: the claim's file name. */
  claimId: string;
  kind: 'delivery' | 'execution';
  key: DeliveryKey;
  attempt: number;
  /** executionId for retries; the delivery id for attempt 1 (docs/reference.md §7 webhook-id). */
  idempotencyKey: string;
  /** '' for attempt 1. */
  executionId: string;
  provider: Provider;
  delivery: AuditDelivery;
  /** The delivery's selected providers (`all` resolved to the enabled ones), sorted. */
  selectedProviders: string[];
  /** Set for executions. */
  approval: RetryApproval | null;
  /** '' for attempt 1. */
  approvalDecisionId: string;
  retryPlanId: string;
  approvalPlanId: string;
}

export interface RetryDecision {
  key: DeliveryKey;
  attempts: number;
  retry_count: number;
  latest_failure_at: IsoTime | null;
  next_retry_at: IsoTime | null;
  action: RetryAction;
  execute: boolean;
  /** `executed` when executed now, else why not (see GATE_REASONS). */
  reason: GateReason;
  approval: { name: string; state: string; decided_by: string; approval_decision_id: string } | null;
  acknowledgement: { name: string; state: string } | null;
  /** The execution id when executed now (or the in-flight claim's id), else ''. */
  execution_id: string;
}

/** A claim whose lease expired with no outcome record: an unknown outcome (docs/reference.md §6). */
export interface ExpiredClaim {
  claim: ClaimRecord;
  call: PlannedCall;
  /** True for idempotent (enabled) providers: re-send with the same idempotency key; else record `unknown`. */
  resend: boolean;
}

export interface RetryWorkPlan {
  deliveries: PlannedCall[];
  executions: PlannedCall[];
  /** One per key, sorted by key. */
  decisions: RetryDecision[];
  expiredClaims: ExpiredClaim[];
  /**
   * Expired claims whose delivery, provider or approval manifest is gone, so no call can be
   * rebuilt: the caller records their outcome as unknown from the claim alone
   * (buildUnknownDeliveryFromClaim) and removes them.
   */
  orphanedClaims: ClaimRecord[];
  /** When time alone will change this plan (a waiting key falls due, a lease expires), or null. */
  nextDueAt: IsoTime | null;
}

/** Everything known about one key at planning time. */
interface KeyContext {
  key: DeliveryKey;
  delivery: AuditDelivery | null;
  provider: Provider | null;
  selectedProviders: string[];
}

/** Plan the retry work of one run. */
export function planRetryWork(input: RetryWorkInput): RetryWorkPlan {
  const { manifests, policy, records, now } = input;
  const providers = new Map(manifests.providers.map((provider) => [provider.name, provider]));
  const contexts = collectKeys(manifests, records.deliveries, providers);
  const notReady = input.notReady ?? new Set<string>();
  const attemptsByKey = groupAttempts(records.deliveries);
  const claims = classifyClaims(records, now);
  const consumedDecisions = new Set(records.executions.map((execution) => execution.approval_decision_id));
  const approvalsByPair = groupBy(manifests.approvals, (a) => pairString(a.spec.delivery, a.spec.provider));
  const acksByPair = groupBy(manifests.acknowledgements, (a) => pairString(a.spec.delivery, a.spec.provider));

  const deliveries: PlannedCall[] = [];
  const candidates: { call: PlannedCall; decision: RetryDecision; decidedAt: number }[] = [];
  const decisions: RetryDecision[] = [];
  const dueTimes: number[] = [];

  for (const context of contexts) {
    const { key } = context;
    const id = keyString(key);
    const approval = selectApproval(approvalsByPair.get(pairString(key.delivery_id, key.provider)) ?? []);
    const acknowledgement = selectAcknowledgement(
      acksByPair.get(pairString(key.delivery_id, key.provider)) ?? [],
    );
    const decisionId = approval ? approvalDecisionId(approval) : '';
    const priorPolicy = approval ? priorPolicyOf(approval, input.priorPolicies) : policy;
    const attempts = attemptsByKey.get(id) ?? [];
    const state = computeRetryState(
      key,
      attempts,
      effectiveRetryPolicy(policy.retry_defaults, approval?.spec.retry_policy ?? null),
      now,
    );
    const gateInput = {
      approval,
      consumed: decisionId !== '' && consumedDecisions.has(decisionId),
      acknowledgement,
      policy,
      priorPolicy,
      now,
    };
    const decision: RetryDecision = {
      key,
      attempts: state.attempts,
      retry_count: state.retry_count,
      latest_failure_at: state.latest_failure_at,
      next_retry_at: state.next_retry_at,
      action: state.action,
      execute: false,
      reason: 'pending_delivery',
      approval: approval
        ? {
            name: approval.name,
            state: approval.spec.state,
            decided_by: approval.spec.decided_by,
            approval_decision_id: decisionId,
          }
        : null,
      acknowledgement: acknowledgement
        ? { name: acknowledgement.name, state: acknowledgement.spec.state }
        : null,
      execution_id: '',
    };
    decisions.push(decision);

    const claim = claims.byKey.get(id);
    const unavailable = unavailableReason(context, notReady);

    if (attempts.length === 0) {
      // Attempt 1: no approval needed, only a deliverable provider and no claim on it.
      if (unavailable) decision.reason = unavailable;
      else if (claim) {
        decision.reason = claim.live ? 'claim_in_flight' : 'claim_expired';
        decision.execution_id = claim.claim.claim_id;
      } else deliveries.push(initialCall(context));
      continue;
    }

    const gate = evaluateGate({ state, ...gateInput });
    if (state.action === 'wait' && checkAuthorisation(gateInput).pass && state.next_retry_at !== null) {
      dueTimes.push(Date.parse(state.next_retry_at));
    }
    if (!gate.pass) decision.reason = gate.reason;
    else if (unavailable) decision.reason = unavailable;
    else if (claim) {
      decision.reason = claim.live ? 'claim_in_flight' : 'claim_expired';
      decision.execution_id = claim.claim.claim_id;
    } else if (approval) {
      const call = retryCall(context, approval, decisionId, state.next_attempt);
      candidates.push({ call, decision, decidedAt: Date.parse(approval.spec.decided_at) });
    }
  }

  // The run limit: oldest decision first, then by key, so the order is the same on every replica.
  candidates.sort((a, b) => a.decidedAt - b.decidedAt || compareKeys(a.call.key, b.call.key));
  const executions: PlannedCall[] = [];
  for (const candidate of candidates) {
    if (executions.length < policy.max_retry_deliveries_per_run) {
      executions.push(candidate.call);
      candidate.decision.execute = true;
      candidate.decision.reason = 'executed';
      candidate.decision.execution_id = candidate.call.executionId;
    } else {
      candidate.decision.reason = 'run_limit_reached';
    }
  }

  // An expired claim of a provider that is not ready waits (neither re-sent nor written off) until it is.
  const expired = rebuildExpiredClaims(
    claims.expired.filter((claim) => !notReady.has(claim.provider)),
    manifests,
    providers,
    attemptsByKey,
  );
  for (const claim of claims.live) dueTimes.push(Date.parse(claim.lease_expires_at));
  const validDue = dueTimes.filter((time) => Number.isFinite(time));

  deliveries.sort((a, b) => compareKeys(a.key, b.key));
  decisions.sort((a, b) => compareKeys(a.key, b.key));
  return {
    deliveries,
    executions,
    decisions,
    expiredClaims: expired.expiredClaims,
    orphanedClaims: expired.orphanedClaims,
    nextDueAt: validDue.length === 0 ? null : new Date(Math.min(...validDue)).toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** The providers an AuditDelivery selects: `all` = every enabled provider; names sorted, unique. */
export function selectedProviderNames(delivery: AuditDelivery, providers: readonly Provider[]): string[] {
  const names =
    delivery.spec.providers === 'all'
      ? providers.filter((provider) => provider.spec.enabled).map((provider) => provider.name)
      : delivery.spec.providers;
  return [...new Set(names)].sort(compareStrings);
}

/** Every key: those the manifests select, and those that only records still know. */
function collectKeys(
  manifests: ManifestSet,
  deliveryRecords: readonly DeliveryRecord[],
  providers: ReadonlyMap<string, Provider>,
): KeyContext[] {
  const contexts = new Map<string, KeyContext>();
  for (const delivery of manifests.deliveries) {
    const selected = selectedProviderNames(delivery, manifests.providers);
    for (const name of selected) {
      const key = { delivery_id: delivery.name, audit_id: delivery.spec.audit_id, provider: name };
      contexts.set(keyString(key), {
        key,
        delivery,
        provider: providers.get(name) ?? null,
        selectedProviders: selected,
      });
    }
  }
  for (const record of deliveryRecords) {
    const id = keyString(record);
    if (contexts.has(id)) continue;
    const key = { delivery_id: record.delivery_id, audit_id: record.audit_id, provider: record.provider };
    contexts.set(id, {
      key,
      delivery: null,
      provider: providers.get(record.provider) ?? null,
      selectedProviders: [],
    });
  }
  return [...contexts.values()].sort((a, b) => compareKeys(a.key, b.key));
}

function unavailableReason(context: KeyContext, notReady: ReadonlySet<string>): GateReason | null {
  if (context.delivery === null) return 'delivery_removed';
  if (context.provider === null) return 'provider_missing';
  if (!context.provider.spec.enabled) return 'provider_disabled';
  if (notReady.has(context.provider.name)) return 'provider_not_ready';
  return null;
}

function pairString(deliveryId: string, provider: string): string {
  return `${deliveryId}\n${provider}`;
}

function priorPolicyOf(
  approval: RetryApproval,
  priorPolicies: ReadonlyMap<string, ReconcilerPolicySpec>,
): ReconcilerPolicySpec {
  const commit = approval.source.introduced?.commit;
  return (commit === undefined ? undefined : priorPolicies.get(commit)) ?? DEFAULT_POLICY_SPEC;
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

function initialCall(context: KeyContext): PlannedCall {
  const { key } = context;
  return {
    claimId: deliveryRecordId(key, 1),
    kind: 'delivery',
    key,
    attempt: 1,
    idempotencyKey: key.delivery_id,
    executionId: '',
    provider: context.provider as Provider,
    delivery: context.delivery as AuditDelivery,
    selectedProviders: context.selectedProviders,
    approval: null,
    approvalDecisionId: '',
    retryPlanId: '',
    approvalPlanId: '',
  };
}

function retryCall(
  context: KeyContext,
  approval: RetryApproval,
  decisionId: string,
  attempt: number,
): PlannedCall {
  const { key } = context;
  const id = executionId(decisionId, key, attempt);
  return {
    claimId: id,
    kind: 'execution',
    key,
    attempt,
    idempotencyKey: id,
    executionId: id,
    provider: context.provider as Provider,
    delivery: context.delivery as AuditDelivery,
    selectedProviders: context.selectedProviders,
    approval,
    approvalDecisionId: decisionId,
    retryPlanId: retryPlanId(key, attempt),
    approvalPlanId: approvalPlanId(key),
  };
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

interface ClaimState {
  claim: ClaimRecord;
  live: boolean;
}

/**
 * Claims that still matter: those without an outcome record. A claim left beside its outcome
 * (it should have been removed in the same commit) blocks nothing. Live = lease not yet expired.
 */
function classifyClaims(records: RecordSet, now: Date) {
  const executionIds = new Set(records.executions.map((execution) => execution.execution_id));
  const deliveryIds = new Set(records.deliveries.map((delivery) => delivery.record_id));
  const byKey = new Map<string, ClaimState>();
  const live: ClaimRecord[] = [];
  const expired: ClaimRecord[] = [];
  const sorted = [...records.claims].sort((a, b) => compareStrings(a.claim_id, b.claim_id));
  for (const claim of sorted) {
    const hasOutcome =
      claim.claim_kind === 'execution' ? executionIds.has(claim.claim_id) : deliveryIds.has(claim.claim_id);
    if (hasOutcome) continue;
    const isLive = Date.parse(claim.lease_expires_at) > now.getTime();
    (isLive ? live : expired).push(claim);
    const id = keyString(claim);
    // A live claim speaks louder than an expired one for the same key.
    if (!byKey.get(id)?.live) byKey.set(id, { claim, live: isLive });
  }
  return { byKey, live, expired };
}

function rebuildExpiredClaims(
  claims: readonly ClaimRecord[],
  manifests: ManifestSet,
  providers: ReadonlyMap<string, Provider>,
  attemptsByKey: ReadonlyMap<string, DeliveryRecord[]>,
): { expiredClaims: ExpiredClaim[]; orphanedClaims: ClaimRecord[] } {
  const expiredClaims: ExpiredClaim[] = [];
  const orphanedClaims: ClaimRecord[] = [];
  for (const claim of claims) {
    const key = { delivery_id: claim.delivery_id, audit_id: claim.audit_id, provider: claim.provider };
    const delivery = manifests.deliveries.find(
      (d) => d.name === key.delivery_id && d.spec.audit_id === key.audit_id,
    );
    const provider = providers.get(key.provider);
    if (!delivery || !provider) {
      orphanedClaims.push(claim);
      continue;
    }
    const context: KeyContext = {
      key,
      delivery,
      provider,
      selectedProviders: selectedProviderNames(delivery, manifests.providers),
    };
    let call: PlannedCall | null = null;
    if (claim.claim_kind === 'delivery') {
      call = claim.attempt === 1 && claim.claim_id === deliveryRecordId(key, 1) ? initialCall(context) : null;
    } else {
      for (const approval of manifests.approvals) {
        if (approval.spec.delivery !== key.delivery_id || approval.spec.provider !== key.provider) continue;
        const decisionId = approvalDecisionId(approval);
        if (executionId(decisionId, key, claim.attempt) === claim.claim_id) {
          call = retryCall(context, approval, decisionId, claim.attempt);
          break;
        }
      }
    }
    // A delivery record for this attempt means another run already recorded it: not resent.
    const attemptTaken = (attemptsByKey.get(keyString(key)) ?? []).some(
      (record) => record.attempt === claim.attempt,
    );
    if (call === null || attemptTaken) orphanedClaims.push(claim);
    else expiredClaims.push({ claim, call, resend: provider.spec.enabled && provider.spec.idempotent });
  }
  return { expiredClaims, orphanedClaims };
}
