/**
 * What the reconciler should call now, and why not for every other key: initial deliveries,
 * approved retries (through the approval gate), and claims whose lease expired without an
 * outcome. Pure: a function of (manifests, policy, gate facts, records, now); sorted outputs, no
 * clock. Every decision carries a message naming the manifest, its commit and the deciding policy.
 */
import {
  checkAuthorisation,
  compareViews,
  evaluateGate,
  type GateReason,
  type PolicyRole,
} from './approval-gate.js';
import { buildApprovalViews, countedDecisionId, evidenceOf, type ApprovalView } from './approval-views.js';
import type { GateFacts } from './gate-facts.js';
import {
  compareKeys,
  computeRetryState,
  effectiveRetryPolicy,
  groupBy,
  keyString,
  selectAcknowledgement,
  sortAttemptsByKey,
  type RetryAction,
} from './retry-rules.js';
import { compareStrings } from './recovery-state.js';
import type {
  ApprovalEvidence,
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
import { approvalPlanId, deliveryRecordId, executionId, retryPlanId } from './ids.js';
import { lowerBound } from './lower-bound.js';

export interface RetryWorkInput {
  /** Commit the manifests were read from. */
  revision: string;
  /** Valid manifests only. */
  manifests: ManifestSet;
  /** Current policy, defaults filled. */
  policy: ReconcilerPolicySpec;
  /**
   * What history says about the approvals (introducing commit, base and its policy, signatures at
   * base and tip) and what the ledger's whole history consumed. `gateFacts.current.commit` names
   * the current policy's commit in messages; the current policy itself is `policy`.
   */
  gateFacts: GateFacts;
  records: RecordSet;
  now: Date;
  /** Claim lease in minutes (default 10). */
  leaseMinutes: number;
  /** Enabled providers whose connector cannot be built now: nothing is claimed or called for them. */
  notReady?: ReadonlySet<string>;
}

/** One connector call to make: an initial delivery (attempt 1) or the execution of a retry. */
export interface PlannedCall {
  /**
   * The call's one id: the execution id of a retry, the delivery record id of attempt 1. It names
   * the claim file; see {@link executionIdOf} and {@link idempotencyKeyOf} for what records and
   * providers are given.
   */
  claimId: string;
  kind: 'delivery' | 'execution';
  key: DeliveryKey;
  attempt: number;
  provider: Provider;
  delivery: AuditDelivery;
  /** The delivery's selected providers (`all` resolved to the enabled ones), sorted. */
  selectedProviders: string[];
  /** Executions: the primary (first counted) approval; null for attempt 1. */
  approval: RetryApproval | null;
  /** Executions: every counted approval, the primary first, oldest decision first; [] for attempt 1. */
  approvals: RetryApproval[];
  /** The evidence of each of `approvals`, in the same order. */
  approvalEvidence: ApprovalEvidence[];
  /** True when a break-glass approval is counted. */
  emergency: boolean;
  /** countedDecisionId of the counted approvals; '' for attempt 1. */
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
  /**
   * The attempt limit that applies to the key (the speaking approval's `retry_policy` over the
   * policy's `retry_defaults`): `action` is `suppress` once `retry_count` reaches it.
   */
  max_retry_attempts: number;
  action: RetryAction;
  execute: boolean;
  /** `executed` when executed now, else why not (see GATE_REASONS). */
  reason: GateReason;
  /** The reason in words: names the manifest, its commit and, where a policy decided, which and its commit. */
  message: string;
  /** The policy whose rule decided the reason (base: the one at the approval's base), or null. */
  policy: PolicyRole | null;
  /** The commit of that policy ('' for defaults with no commit), or null. */
  policy_commit: string | null;
  /** The approval that speaks for the key (the first counted when executed). */
  approval: { name: string; state: string; decided_by: string; approval_decision_id: string } | null;
  /** Names of the approvals an execution (now, or the one in flight) counts; else []. */
  counted_approvals: string[];
  /** True when the execution counts a break-glass approval. */
  emergency: boolean;
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

/**
 * What the status reads of the decisions (src/plan/status.ts), counted as they are made, so a run
 * that prints no decision need not hold one per key.
 */
export interface RetryDecisionCounts {
  /** Keys not executed now that have something to do (`action` ≠ `none`), by reason. */
  notExecuted: ReadonlyMap<GateReason, number>;
  /** Keys whose latest attempt failed (`action` ≠ `none` with at least one attempt). */
  failedKeys: number;
}

/** The retry work of one run without the decisions: what `reconcile` applies and the status counts. */
export interface RetryWork {
  deliveries: PlannedCall[];
  executions: PlannedCall[];
  counts: RetryDecisionCounts;
  expiredClaims: ExpiredClaim[];
  /**
   * Expired claims whose delivery, provider or approval manifest is gone, so no call can be
   * rebuilt: the caller records their outcome as unknown from the claim alone
   * (buildUnknownDeliveryFromClaim) and removes them.
   */
  orphanedClaims: ClaimRecord[];
  /** When time alone will change this plan (a waiting key falls due, a lease expires, a freeze closes), or null. */
  nextDueAt: IsoTime | null;
}

/** The retry work with every key's decision: what `plan` prints and the API serves. */
export interface RetryWorkPlan extends RetryWork {
  /** One per key, sorted by key. */
  decisions: RetryDecision[];
}

export interface RetryWorkOptions {
  /**
   * False: keep no decision per key, only their `counts` (a run's reconcile reads nothing else;
   * 100,000 decisions with their messages are ~45 MB held for the run). Default true.
   */
  keepDecisions?: boolean;
}

/** Everything known about one key at planning time. */
interface KeyContext {
  key: DeliveryKey;
  delivery: AuditDelivery | null;
  provider: Provider | null;
  selectedProviders: string[];
}

/** The execution id of a retry; '' for attempt 1, which is a delivery, not an execution. */
export function executionIdOf(call: Pick<PlannedCall, 'kind' | 'claimId'>): string {
  return call.kind === 'execution' ? call.claimId : '';
}

/**
 * The idempotency key the provider is sent (docs/reference.md §7 webhook-id): the execution id of
 * a retry, the delivery id for attempt 1.
 */
export function idempotencyKeyOf(call: Pick<PlannedCall, 'kind' | 'claimId' | 'key'>): string {
  return call.kind === 'execution' ? call.claimId : call.key.delivery_id;
}

/**
 * Plan the retry work of one run. Without `keepDecisions: false` the plan carries every key's
 * decision; with it only their counts, which are the same either way (each decision is made the
 * same way, then counted and dropped).
 */
export function planRetryWork(input: RetryWorkInput, options?: { keepDecisions?: true }): RetryWorkPlan;
export function planRetryWork(input: RetryWorkInput, options: RetryWorkOptions): RetryWork;
export function planRetryWork(input: RetryWorkInput, options: RetryWorkOptions = {}): RetryWork {
  const keepDecisions = options.keepDecisions ?? true;
  const { manifests, policy, records, now } = input;
  const current = { commit: input.gateFacts.current.commit, policy };
  const providers = new Map(manifests.providers.map((provider) => [provider.name, provider]));
  const notReady = input.notReady ?? new Set<string>();
  const sortedAttempts = sortAttemptsByKey(records.deliveries);
  const claims = classifyClaims(records, now);
  const views = buildApprovalViews(manifests.approvals, input.gateFacts, records);
  const viewsByPair = groupBy([...views.values()], (v) =>
    pairString(v.approval.spec.delivery, v.approval.spec.provider),
  );
  const acksByPair = groupBy(manifests.acknowledgements, (a) => pairString(a.spec.delivery, a.spec.provider));

  const deliveries: PlannedCall[] = [];
  const candidates: { call: PlannedCall; decision: RetryDecision; decidedAt: number }[] = [];
  const decisions: RetryDecision[] = [];
  const counts = { notExecuted: new Map<GateReason, number>(), failedKeys: 0 };
  const dueTimes: number[] = [];
  // A candidate's reason is final only after the run limit below; every other key's after its turn.
  const settle = (decision: RetryDecision): void => {
    countDecision(counts, decision);
    if (keepDecisions) decisions.push(decision);
  };

  for (const { context, attempts } of keysWithAttempts(manifests, sortedAttempts, providers)) {
    const { key } = context;
    const id = keyString(key);
    const approvals = viewsByPair.get(pairString(key.delivery_id, key.provider)) ?? [];
    const acknowledgement = selectAcknowledgement(
      acksByPair.get(pairString(key.delivery_id, key.provider)) ?? [],
    );
    const gateInput = { approvals, acknowledgement, current, subject: describeKey(context), now };
    const authorisation = checkAuthorisation(gateInput);
    // The retry policy (attempt limit, delay) comes from the approval that speaks for the key.
    const speaking = authorisation.primary ?? newestLive(approvals);
    const retryPolicy = effectiveRetryPolicy(
      policy.retry_defaults,
      speaking?.approval.spec.retry_policy ?? null,
    );
    const state = computeRetryState(key, attempts, retryPolicy, now);
    const gate = evaluateGate({ state, ...gateInput });
    const primary = gate.primary ?? speaking;
    const decision: RetryDecision = {
      key,
      attempts: state.attempts,
      retry_count: state.retry_count,
      latest_failure_at: state.latest_failure_at,
      next_retry_at: state.next_retry_at,
      max_retry_attempts: retryPolicy.max_retry_attempts,
      action: state.action,
      execute: false,
      reason: gate.reason,
      message: gate.message,
      policy: gate.policy,
      policy_commit: gate.policy_commit,
      approval: primary
        ? {
            name: primary.approval.name,
            state: primary.approval.spec.state,
            decided_by: primary.approval.spec.decided_by,
            approval_decision_id: primary.decisionId,
          }
        : null,
      counted_approvals: [],
      emergency: false,
      acknowledgement: acknowledgement
        ? { name: acknowledgement.name, state: acknowledgement.spec.state }
        : null,
      execution_id: '',
    };

    const claim = claims.byKey.get(id);
    const unavailable = unavailableReason(context, notReady);

    if (attempts.length === 0) {
      // Attempt 1: no approval needed, only a deliverable provider and no claim on it.
      if (unavailable) setReason(decision, unavailable);
      else if (claim) setClaimReason(decision, claim, context);
      else {
        deliveries.push(initialCall(context));
        setReason(decision, {
          reason: 'pending_delivery',
          message: `${describeKey(context)}: attempt 1 is delivered in this run.`,
        });
      }
      settle(decision);
      continue;
    }

    if (state.action === 'wait' && state.next_retry_at !== null && authorisation.pass) {
      dueTimes.push(Date.parse(state.next_retry_at));
    }
    if (gate.reason === 'change_freeze' && gate.freezeClosesAt !== null)
      dueTimes.push(Date.parse(gate.freezeClosesAt));
    if (!gate.pass) settle(decision);
    else if (unavailable) settle(setReason(decision, unavailable));
    else if (claim) settle(setClaimReason(decision, claim, context));
    else {
      const call = retryCall(context, gate.counted, state.next_attempt);
      decision.counted_approvals = call.approvals.map((approval) => approval.name);
      decision.emergency = call.emergency;
      const decidedAt = Math.max(...gate.counted.map((view) => Date.parse(view.approval.spec.decided_at)));
      candidates.push({ call, decision, decidedAt });
    }
  }

  // The run limit: oldest decision first (a quorum is decided by its last approval), then by key.
  candidates.sort((a, b) => a.decidedAt - b.decidedAt || compareKeys(a.call.key, b.call.key));
  const executions: PlannedCall[] = [];
  for (const candidate of candidates) {
    if (executions.length < policy.max_retry_deliveries_per_run) {
      executions.push(candidate.call);
      candidate.decision.execute = true;
      candidate.decision.execution_id = candidate.call.claimId;
    } else {
      setReason(candidate.decision, {
        reason: 'run_limit_reached',
        message: `${describeKey(contextOf(candidate.call))}: this run already executes max_retry_deliveries_per_run (${policy.max_retry_deliveries_per_run}) retries of the current policy (${current.commit ?? 'defaults, no commit'}); it is executed by a later run.`,
        policy: 'current',
        policy_commit: current.commit ?? '',
      });
      candidate.decision.counted_approvals = [];
      candidate.decision.emergency = false;
    }
    settle(candidate.decision);
  }

  // An expired claim of a provider that is not ready waits (neither re-sent nor written off) until it is.
  const expired = rebuildExpiredClaims(
    claims.expired.filter((claim) => !notReady.has(claim.provider)),
    manifests,
    providers,
    sortedAttempts,
    views,
  );
  for (const claim of claims.live) dueTimes.push(Date.parse(claim.lease_expires_at));
  const validDue = dueTimes.filter((time) => Number.isFinite(time) && time > now.getTime());

  deliveries.sort((a, b) => compareKeys(a.key, b.key));
  decisions.sort((a, b) => compareKeys(a.key, b.key));
  return {
    deliveries,
    executions,
    ...(keepDecisions ? { decisions } : {}),
    counts,
    expiredClaims: expired.expiredClaims,
    orphanedClaims: expired.orphanedClaims,
    nextDueAt: validDue.length === 0 ? null : new Date(Math.min(...validDue)).toISOString(),
  };
}

interface ReasonUpdate {
  reason: GateReason;
  message: string;
  policy?: PolicyRole | null;
  policy_commit?: string | null;
}

/** Count a decision whose reason is final (see RetryDecisionCounts). */
function countDecision(
  counts: { notExecuted: Map<GateReason, number>; failedKeys: number },
  decision: RetryDecision,
): void {
  if (decision.action === 'none') return;
  if (decision.attempts > 0) counts.failedKeys++;
  if (!decision.execute)
    counts.notExecuted.set(decision.reason, (counts.notExecuted.get(decision.reason) ?? 0) + 1);
}

function setReason(decision: RetryDecision, update: ReasonUpdate): RetryDecision {
  decision.reason = update.reason;
  decision.message = update.message;
  decision.policy = update.policy ?? null;
  decision.policy_commit = update.policy_commit ?? null;
  return decision;
}

function setClaimReason(decision: RetryDecision, claim: ClaimState, context: KeyContext): RetryDecision {
  const { claim: record, live } = claim;
  setReason(decision, {
    reason: live ? 'claim_in_flight' : 'claim_expired',
    message: live
      ? `${describeKey(context)}: attempt ${record.attempt} is in flight under claim ${record.claim_id}, held by ${record.holder} until ${record.lease_expires_at}.`
      : `${describeKey(context)}: the lease of claim ${record.claim_id} (attempt ${record.attempt}, held by ${record.holder}) expired at ${record.lease_expires_at} without an outcome; it is an unknown outcome.`,
  });
  decision.execution_id = record.claim_id;
  decision.counted_approvals = record.approval_names ? [...record.approval_names] : [];
  return decision;
}

/** The newest approval not yet consumed, for the retry policy of a key no approval passes for. */
function newestLive(approvals: readonly ApprovalView[]): ApprovalView | null {
  const live = approvals.filter((view) => view.consumedBy.length === 0).sort(compareViews);
  return live.at(-1) ?? null;
}

/** `AuditDelivery <name> (<path>, commit <id>) → provider <name>`, the way messages name a key. */
function describeKey(context: KeyContext): string {
  const { key, delivery } = context;
  if (delivery === null) return `delivery ${key.delivery_id} → provider ${key.provider}`;
  const commit = delivery.source.introduced?.commit ?? '';
  return `AuditDelivery ${delivery.name} (${delivery.source.path}, ${commit === '' ? 'not committed' : `commit ${commit}`}) → provider ${key.provider}`;
}

function contextOf(call: PlannedCall): KeyContext {
  return {
    key: call.key,
    delivery: call.delivery,
    provider: call.provider,
    selectedProviders: call.selectedProviders,
  };
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** The providers an AuditDelivery selects: `all` = every enabled provider; names sorted, unique. */
function selectedProviderNames(delivery: AuditDelivery, providers: readonly Provider[]): string[] {
  const names =
    delivery.spec.providers === 'all'
      ? providers.filter((provider) => provider.spec.enabled).map((provider) => provider.name)
      : delivery.spec.providers;
  return [...new Set(names)].sort(compareStrings);
}

/**
 * Every key in key order with its attempts: those the manifests select, and those only records
 * still know. A merge of the manifests' keys with the runs of `sortedAttempts`
 * (sortAttemptsByKey), so a key's context and attempts live only for its turn.
 */
function* keysWithAttempts(
  manifests: ManifestSet,
  sortedAttempts: readonly DeliveryRecord[],
  providers: ReadonlyMap<string, Provider>,
): Generator<{ context: KeyContext; attempts: DeliveryRecord[] }> {
  const selected = manifestKeys(manifests, providers);
  let next = 0;
  let r = 0;
  while (next < selected.length || r < sortedAttempts.length) {
    const fromManifests = selected[next];
    const record = sortedAttempts[r];
    let context: KeyContext;
    if (
      fromManifests !== undefined &&
      (record === undefined || compareKeys(fromManifests.key, record) <= 0)
    ) {
      context = fromManifests;
      next++;
    } else {
      const { delivery_id, audit_id, provider } = record!;
      const key = { delivery_id, audit_id, provider };
      context = { key, delivery: null, provider: providers.get(provider) ?? null, selectedProviders: [] };
    }
    const attempts: DeliveryRecord[] = [];
    while (r < sortedAttempts.length && compareKeys(sortedAttempts[r]!, context.key) === 0) {
      attempts.push(sortedAttempts[r++]!);
    }
    yield { context, attempts };
  }
}

/** The keys the manifests select, sorted (a delivery named twice: the later one speaks, as in a map). */
function manifestKeys(manifests: ManifestSet, providers: ReadonlyMap<string, Provider>): KeyContext[] {
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
  return [...contexts.values()].sort((a, b) => compareKeys(a.key, b.key));
}

/** The attempts of `key` in `sortedAttempts` (sortAttemptsByKey), found by binary search. */
function attemptsOf(sortedAttempts: readonly DeliveryRecord[], key: DeliveryKey): DeliveryRecord[] {
  const low = lowerBound(sortedAttempts, (attempt) => compareKeys(attempt, key) < 0);
  const attempts: DeliveryRecord[] = [];
  for (let i = low; i < sortedAttempts.length && compareKeys(sortedAttempts[i]!, key) === 0; i++) {
    attempts.push(sortedAttempts[i]!);
  }
  return attempts;
}

function unavailableReason(context: KeyContext, notReady: ReadonlySet<string>): ReasonUpdate | null {
  const { key, delivery, provider } = context;
  if (delivery === null) {
    return {
      reason: 'delivery_removed',
      message: `${describeKey(context)}: no valid AuditDelivery is named ${key.delivery_id} at this revision any more; its recorded attempts are kept, nothing is sent.`,
    };
  }
  if (provider === null) {
    return {
      reason: 'provider_missing',
      message: `${describeKey(context)}: no valid Provider is named ${key.provider}; add it or fix the delivery's providers.`,
    };
  }
  if (!provider.spec.enabled) {
    const commit = provider.source.introduced?.commit ?? '';
    return {
      reason: 'provider_disabled',
      message: `${describeKey(context)}: Provider ${provider.name} (${provider.source.path}, ${commit === '' ? 'not committed' : `commit ${commit}`}) is disabled (enabled: false).`,
    };
  }
  if (notReady.has(provider.name)) {
    return {
      reason: 'provider_not_ready',
      message: `${describeKey(context)}: Provider ${provider.name}'s connector cannot be built now (see the status' providers); nothing is claimed or called until it is fixed.`,
    };
  }
  return null;
}

function pairString(deliveryId: string, provider: string): string {
  return `${deliveryId}\n${provider}`;
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
    provider: context.provider as Provider,
    delivery: context.delivery as AuditDelivery,
    selectedProviders: context.selectedProviders,
    approval: null,
    approvals: [],
    approvalEvidence: [],
    emergency: false,
    approvalDecisionId: '',
    retryPlanId: '',
    approvalPlanId: '',
  };
}

/** The execution of a retry under the counted approvals (oldest decision first). */
function retryCall(context: KeyContext, counted: readonly ApprovalView[], attempt: number): PlannedCall {
  const { key } = context;
  const ordered = [...counted].sort(compareViews);
  const decisionId = countedDecisionId(ordered.map((view) => view.decisionId));
  const id = executionId(decisionId, key, attempt);
  return {
    claimId: id,
    kind: 'execution',
    key,
    attempt,
    provider: context.provider as Provider,
    delivery: context.delivery as AuditDelivery,
    selectedProviders: context.selectedProviders,
    approval: ordered[0]?.approval ?? null,
    approvals: ordered.map((view) => view.approval),
    approvalEvidence: ordered.map(evidenceOf),
    emergency: ordered.some((view) => view.approval.spec.emergency),
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
  // The claim ids that have an outcome, found by one pass over the records against the few claims
  // (not a set of every record id: 100,000 of them on a first run).
  const claimIds = new Set(records.claims.map((claim) => claim.claim_id));
  const executionIds = new Set<string>();
  const deliveryIds = new Set<string>();
  if (claimIds.size > 0) {
    for (const execution of records.executions)
      if (claimIds.has(execution.execution_id)) executionIds.add(execution.execution_id);
    for (const delivery of records.deliveries)
      if (claimIds.has(delivery.record_id)) deliveryIds.add(delivery.record_id);
  }
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
  sortedAttempts: readonly DeliveryRecord[],
  views: ReadonlyMap<string, ApprovalView>,
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
      call = rebuildExecutionCall(claim, context, views);
    }
    // A delivery record for this attempt means another run already recorded it: not resent.
    const attemptTaken = attemptsOf(sortedAttempts, key).some((record) => record.attempt === claim.attempt);
    if (call === null || attemptTaken) orphanedClaims.push(claim);
    else expiredClaims.push({ claim, call, resend: provider.spec.enabled && provider.spec.idempotent });
  }
  return { expiredClaims, orphanedClaims };
}

/**
 * The execution a claim was made for, from the approvals of this revision: those the claim names
 * (several counted approvals), else the one single approval whose execution id is the claim's.
 * The approvals must still be the same versions (same decision ids), or no call is rebuilt.
 */
function rebuildExecutionCall(
  claim: ClaimRecord,
  context: KeyContext,
  views: ReadonlyMap<string, ApprovalView>,
): PlannedCall | null {
  const { key } = context;
  const matches = (counted: ApprovalView[]): boolean =>
    executionId(countedDecisionId(counted.map((view) => view.decisionId)), key, claim.attempt) ===
    claim.claim_id;
  if (claim.approval_names !== undefined && claim.approval_names.length > 0) {
    const counted = claim.approval_names.flatMap((name) => views.get(name) ?? []);
    if (counted.length === claim.approval_names.length && matches(counted)) {
      return retryCall(context, counted, claim.attempt);
    }
    return null;
  }
  for (const view of views.values()) {
    const { spec } = view.approval;
    if (spec.delivery !== key.delivery_id || spec.provider !== key.provider) continue;
    if (matches([view])) return retryCall(context, [view], claim.attempt);
  }
  return null;
}
