/** Why a key is or is not executed, as `plan`, the API and the console show it. */
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
  'approval_consumed',
  'approver_not_allowed',
  'signature_required',
  'signer_not_trusted',
  'emergency_expiry_invalid',
  'separation_of_duties',
  'quorum_not_met',
  'change_freeze',
  'claim_in_flight',
  'claim_expired',
  'run_limit_reached',
] as const;
export type GateReason = (typeof GATE_REASONS)[number];

/** Which policy decided a reason: the one at the approval's base, or the current one. */
export type PolicyRole = 'base' | 'current';
