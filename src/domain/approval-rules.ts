/**
 * The rules one approval must pass on its own (docs/reference.md §4), each under the current policy
 * and the policy at the approval's base: not expired, a valid break-glass expiry, an allowed
 * approver, the acknowledgement, signatures by its own principal (the allowed-signers file read at
 * the base and at the tip), separation of duties. Pure.
 */
import type { ApprovalView } from './approval-views.js';
import type { PolicyAt } from './gate-facts.js';
import { isAuthor, isSameIdentity } from './identity.js';
import type { GateReason, PolicyRole } from './gate-reasons.js';
import type { ReconcilerPolicySpec, RetryAcknowledgement, RetryApproval, SignatureInfo } from './types.js';

const MINUTE_MS = 60_000;

/** Why one approval does not count. */
export interface RuleVerdict {
  reason: GateReason;
  message: string;
  /** The policy whose rule decided, when one did. */
  policy: PolicyRole | null;
  policyCommit: string | null;
}

export interface ApprovalRuleContext {
  acknowledgement: RetryAcknowledgement | null;
  /** Whether the acknowledgement is accepted or resolved. */
  ackOk: boolean;
  current: PolicyAt;
  now: Date;
}

interface RolePolicy {
  role: PolicyRole;
  commit: string | null;
  policy: ReconcilerPolicySpec;
}

/** Null when the approval passes every rule of its own; else the first rule that blocks it. */
export function checkApproval(view: ApprovalView, context: ApprovalRuleContext): RuleVerdict | null {
  const { approval } = view;
  const { spec } = approval;
  const policies: RolePolicy[] = [
    { role: 'current', commit: context.current.commit, policy: context.current.policy },
    { role: 'base', commit: view.base.commit, policy: view.base.policy },
  ];
  const label = describeApproval(view);

  if (isExpired(approval, context.now)) {
    return outcome('approval_expired', `${label} expired at ${spec.expires_at ?? ''}.`);
  }
  if (spec.emergency) {
    const problem = checkEmergencyExpiry(view, policies);
    if (problem !== null) return problem;
  }
  for (const p of policies) {
    if (!isApproverAllowed(p.policy, spec.decided_by)) {
      return outcome(
        'approver_not_allowed',
        `${label} is decided by ${spec.decided_by}, who is not in the approvers of ${policyLabel(p)}${p.role === 'base' ? ' (a change cannot widen its own approvers)' : ''}.`,
        p,
      );
    }
  }
  const base = policies[1] as RolePolicy;
  if (base.policy.require_retry_ack && !context.ackOk) {
    return outcome(
      'wait_for_retry_ack',
      `${label}: ${policyLabel(base)} requires an accepted or resolved RetryAcknowledgement (require_retry_ack; a change cannot drop it for itself).`,
      base,
    );
  }
  const signing = policies.find((p) => p.policy.require_signed_approvals);
  if (signing !== undefined) {
    const problem = checkSignatures(view, signing, label);
    if (problem !== null) return problem;
  }
  const separating = policies.find((p) => p.policy.separate_duties);
  if (separating !== undefined && context.acknowledgement !== null) {
    const problem = checkSeparation(view, context.acknowledgement, separating, label);
    if (problem !== null) return problem;
  }
  return null;
}

/** An approval with `expires_at` at or before `now` is expired. */
function isExpired(approval: RetryApproval, now: Date): boolean {
  const expiresAt = approval.spec.expires_at;
  return expiresAt !== null && Date.parse(expiresAt) <= now.getTime();
}

/** Empty `approvers` means anyone may approve; otherwise `decided_by` must be listed exactly. */
function isApproverAllowed(policy: ReconcilerPolicySpec, decidedBy: string): boolean {
  return policy.approvers.length === 0 || policy.approvers.includes(decidedBy);
}

/** A good signature whose principal (as the allowed-signers file maps the key) is `decidedBy`. */
export function isTrustedSignature(signature: SignatureInfo, decidedBy: string): boolean {
  return signature.status === 'good' && signature.principal !== '' && signature.principal === decidedBy;
}

/**
 * The latest `expires_at` a break-glass approval may carry: its commit time plus the smaller
 * `max_emergency_minutes` of the current and the base policy. Null when the commit is unknown.
 */
export function emergencyDeadline(
  commitTime: string | null,
  limits: readonly number[],
): { deadlineMs: number; minutes: number } | null {
  const time = commitTime === null ? Number.NaN : Date.parse(commitTime);
  if (!Number.isFinite(time)) return null;
  const minutes = Math.min(...limits);
  return { deadlineMs: time + minutes * MINUTE_MS, minutes };
}

function checkEmergencyExpiry(view: ApprovalView, policies: readonly RolePolicy[]): RuleVerdict | null {
  const { spec } = view.approval;
  const label = describeApproval(view);
  const strictest = [...policies].sort(
    (a, b) => a.policy.max_emergency_minutes - b.policy.max_emergency_minutes,
  )[0] as RolePolicy;
  if (spec.expires_at === null) {
    return outcome(
      'emergency_expiry_invalid',
      `${label} is a break-glass approval (emergency: true) without expires_at; ${policyLabel(strictest)} allows at most ${strictest.policy.max_emergency_minutes} min after its commit.`,
      strictest,
    );
  }
  const deadline = emergencyDeadline(view.introduced?.time ?? null, [strictest.policy.max_emergency_minutes]);
  if (deadline === null) {
    return outcome(
      'emergency_expiry_invalid',
      `${label} is a break-glass approval whose commit time is unknown, so its expiry cannot be checked.`,
    );
  }
  if (Date.parse(spec.expires_at) > deadline.deadlineMs) {
    return outcome(
      'emergency_expiry_invalid',
      `${label} is a break-glass approval expiring at ${spec.expires_at}, later than the ${deadline.minutes} min after its commit (${new Date(deadline.deadlineMs).toISOString()}) that ${policyLabel(strictest)} allows (max_emergency_minutes).`,
      strictest,
    );
  }
  return null;
}

function checkSignatures(view: ApprovalView, signing: RolePolicy, label: string): RuleVerdict | null {
  const { decided_by: decidedBy } = view.approval.spec;
  const views = [
    {
      where: `the allowed-signers file at the base (${commitText(view.base.commit)})`,
      signature: view.signatureAtBase,
    },
    { where: 'the allowed-signers file at the tip', signature: view.signatureAtTip },
  ];
  if (views.some((v) => v.signature.status === 'none')) {
    return outcome(
      'signature_required',
      `${label}: its commit ${commitText(view.introduced?.commit ?? null)} is not signed, and ${policyLabel(signing)} requires approvals signed by their decider (require_signed_approvals).`,
      signing,
    );
  }
  for (const { where, signature } of views) {
    if (isTrustedSignature(signature, decidedBy)) continue;
    const seen =
      signature.principal === ''
        ? `a ${signature.status} signature with no principal`
        : `a ${signature.status} signature by ${signature.principal}`;
    return outcome(
      'signer_not_trusted',
      `${label}: ${where} shows ${seen} on its commit ${commitText(view.introduced?.commit ?? null)}, not a good signature by ${decidedBy}, as ${policyLabel(signing)} requires (require_signed_approvals).`,
      signing,
    );
  }
  return null;
}

function checkSeparation(
  view: ApprovalView,
  acknowledgement: RetryAcknowledgement,
  separating: RolePolicy,
  label: string,
): RuleVerdict | null {
  const decidedBy = view.approval.spec.decided_by;
  const ackLabel = `RetryAcknowledgement ${acknowledgement.name} (${acknowledgement.source.path}, ${commitText(acknowledgement.source.introduced?.commit ?? null)})`;
  if (isSameIdentity(decidedBy, acknowledgement.spec.acknowledged_by)) {
    return outcome(
      'separation_of_duties',
      `${label}: ${decidedBy} also acknowledged the failure in ${ackLabel}; ${policyLabel(separating)} asks for another approver (separate_duties).`,
      separating,
    );
  }
  const author = acknowledgement.source.introduced?.author ?? '';
  if (author !== '' && isAuthor(decidedBy, author)) {
    return outcome(
      'separation_of_duties',
      `${label}: ${decidedBy} authored the commit that introduced ${ackLabel} (${author}); ${policyLabel(separating)} asks for another approver (separate_duties).`,
      separating,
    );
  }
  return null;
}

/** `RetryApproval <name> (<path>, commit <id>)`, the way every message names an approval. */
export function describeApproval(view: ApprovalView): string {
  return `RetryApproval ${view.approval.name} (${view.approval.source.path}, ${commitText(view.introduced?.commit ?? null)})`;
}

function commitText(commit: string | null): string {
  return commit === null || commit === '' ? 'not committed' : `commit ${commit}`;
}

function policyLabel(p: RolePolicy): string {
  return `the ${p.role} policy (${p.commit === null || p.commit === '' ? 'defaults, no commit' : `at ${p.commit}`})`;
}

function outcome(reason: GateReason, message: string, policy?: RolePolicy): RuleVerdict {
  return {
    reason,
    message,
    policy: policy?.role ?? null,
    policyCommit: policy === undefined ? null : (policy.commit ?? ''),
  };
}
