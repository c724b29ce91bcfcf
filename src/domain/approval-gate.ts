/**
 * The approval gate (docs/reference.md §4), pure: whether a key whose retry decision is `retry` may be
 * executed now, and otherwise the one reason why not.
 *
 * Every rule is checked under BOTH the current policy and the policy in force before the commit
 * that introduced the approval, so a commit cannot loosen its own rules (widening `approvers`,
 * dropping `require_retry_ack` or `require_signed_approvals` in the same commit as the approval).
 */
import type { RetryState } from './retry-rules.js';
import type { ReconcilerPolicySpec, RetryAcknowledgement, RetryApproval } from './types.js';

/** Reasons a key is not executed (or `executed`/`delivered`), as shown by `plan` and the API. */
export const GATE_REASONS = [
  'executed',
  'delivered',
  'pending_delivery',
  'provider_disabled',
  'provider_not_ready',
  'provider_missing',
  'delivery_removed',
  'retry_delay_not_elapsed',
  'max_attempts_reached',
  'wait_for_retry_ack',
  'request_approval',
  'approval_denied',
  'approval_deferred',
  'approval_expired',
  'approver_not_allowed',
  'signature_required',
  'claim_in_flight',
  'claim_expired',
  'run_limit_reached',
] as const;
export type GateReason = (typeof GATE_REASONS)[number];

export interface GateInput {
  state: RetryState;
  /** The approval that speaks for the key (see selectApproval), or null. */
  approval: RetryApproval | null;
  /** True when an execution record already exists for this approval's decision id. */
  consumed: boolean;
  /** The acknowledgement that speaks for the key (newest), or null. */
  acknowledgement: RetryAcknowledgement | null;
  /** The current policy (defaults filled). */
  policy: ReconcilerPolicySpec;
  /** The policy in force before the approval's introducing commit (defaults when none). */
  priorPolicy: ReconcilerPolicySpec;
  now: Date;
}

export interface GateResult {
  /** True when the key may be executed (the run limit and claims are checked by the planner). */
  pass: boolean;
  /** `executed` when it passes, else the first rule that blocks it. */
  reason: GateReason;
}

const ACK_STATES_THAT_ALLOW_RETRY = new Set(['accepted', 'resolved']);

/**
 * The gate for one key. Order of the checks, so the reason names the first thing to do:
 * the retry state (nothing to do / wait / attempts exhausted), the acknowledgement, the
 * approval's existence (a consumed approval counts as none: one approval, one execution), its
 * state and expiry, its approver, its signature.
 */
export function evaluateGate(input: GateInput): GateResult {
  const { state } = input;
  if (state.action === 'none') return block(state.delivered ? 'delivered' : 'pending_delivery');
  if (state.action === 'suppress') return block('max_attempts_reached');
  if (state.action === 'wait') return block('retry_delay_not_elapsed');
  return checkAuthorisation(input);
}

/**
 * The authorisation part of the gate alone (acknowledgement, approval, approver, signature),
 * ignoring time and attempt counts: used to tell whether a waiting key will become executable
 * by time alone.
 */
export function checkAuthorisation(input: Omit<GateInput, 'state'>): GateResult {
  const { approval, acknowledgement, policy, priorPolicy, now } = input;
  const policies = [policy, priorPolicy];

  if (policies.some((p) => p.require_retry_ack) && !ackAllowsRetry(acknowledgement)) {
    return block('wait_for_retry_ack');
  }
  if (approval === null || input.consumed) return block('request_approval');
  switch (approval.spec.state) {
    case 'denied':
      return block('approval_denied');
    case 'deferred':
      return block('approval_deferred');
    case 'expired':
      return block('approval_expired');
    case 'approved':
      break;
  }
  if (isExpired(approval, now)) return block('approval_expired');
  if (!policies.every((p) => isApproverAllowed(p, approval.spec.decided_by)))
    return block('approver_not_allowed');
  if (policies.some((p) => p.require_signed_approvals) && !isSignedByDecider(approval)) {
    return block('signature_required');
  }
  return { pass: true, reason: 'executed' };
}

/** An approval with `expires_at` at or before `now` is expired. */
export function isExpired(approval: RetryApproval, now: Date): boolean {
  const expiresAt = approval.spec.expires_at;
  return expiresAt !== null && Date.parse(expiresAt) <= now.getTime();
}

/** Empty `approvers` means anyone may approve; otherwise `decided_by` must be listed exactly. */
export function isApproverAllowed(policy: ReconcilerPolicySpec, decidedBy: string): boolean {
  return policy.approvers.length === 0 || policy.approvers.includes(decidedBy);
}

/**
 * True when the approval's introducing commit carries a good signature whose principal (as
 * mapped by the allowed-signers file) is the approval's `decided_by`.
 */
export function isSignedByDecider(approval: RetryApproval): boolean {
  const signature = approval.source.introduced?.signature;
  return (
    signature !== undefined &&
    signature.status === 'good' &&
    signature.principal !== '' &&
    signature.principal === approval.spec.decided_by
  );
}

function ackAllowsRetry(acknowledgement: RetryAcknowledgement | null): boolean {
  return acknowledgement !== null && ACK_STATES_THAT_ALLOW_RETRY.has(acknowledgement.spec.state);
}

function block(reason: GateReason): GateResult {
  return { pass: false, reason };
}
