/**
 * Every default of docs/reference.md §3, in one visible place. Normalisation (src/manifests/normalize.ts) is
 * the only code that applies them; the JSON Schemas document the same values with `default`.
 */
import type { ProviderCategory, ProviderType, ReconcilerPolicySpec } from './types.js';

/** The policy in force when the repository has no (valid) `ReconcilerPolicy` named `default`. */
export const DEFAULT_POLICY_SPEC: ReconcilerPolicySpec = Object.freeze({
  retry_defaults: Object.freeze({ max_retry_attempts: 3, retry_delay_minutes: 15, backoff_multiplier: 2.0 }),
  require_retry_ack: true,
  approvers: Object.freeze([]) as unknown as string[],
  require_signed_approvals: false,
  allowed_signers_file: '.cavra/allowed_signers',
  max_retry_deliveries_per_run: 25,
  recovery: Object.freeze({
    min_failure_count: 2,
    lookback_hours: 24,
    recovery_slo_minutes: 240,
    auto_playbooks: true,
  }),
  approvals_required: 1,
  separate_duties: false,
  freeze_windows: Object.freeze([]) as unknown as ReconcilerPolicySpec['freeze_windows'],
  max_emergency_minutes: 60,
  reconciler_signers: Object.freeze([]) as unknown as string[],
  require_signed_records: false,
});

/** The only name a ReconcilerPolicy may have (it is a singleton). */
export const POLICY_NAME = 'default';

export const DEFAULT_PROVIDER_ENABLED = true;
export const DEFAULT_PROVIDER_TIMEOUT_SECONDS = 10;
export const DEFAULT_CADENCE = 'on_demand';
export const DEFAULT_ACK_STATE = 'accepted';
export const DEFAULT_APPROVAL_STATE = 'approved';
export const DEFAULT_CLOSURE_STATE = 'resolved';
export const DEFAULT_ALLOW_IMMEDIATE_RETRY = false;
export const DEFAULT_EMERGENCY = false;

/**
 * Stand-in for "commit time" defaults (`acknowledged_at`, `decided_at`, `closed_at`) when the
 * introducing commit is unknown, i.e. when validating the working tree. The epoch is obviously
 * not a real decision time, and validation emits a `time.commit-time-unknown` warning for it.
 */
export const UNKNOWN_COMMIT_TIME = '1970-01-01T00:00:00Z';

/** Provider category by type: splunk/sentinel/datadog → siem, jira/servicenow → itsm, slack/teams → chatops, else webhook. */
export function defaultCategory(type: ProviderType): ProviderCategory {
  switch (type) {
    case 'splunk':
    case 'sentinel':
    case 'datadog':
      return 'siem';
    case 'jira':
    case 'servicenow':
      return 'itsm';
    case 'slack':
    case 'teams':
      return 'chatops';
    default:
      return 'webhook';
  }
}

/** Whether a provider type deduplicates re-sends by idempotency key: true for webhook and file. */
export function defaultIdempotent(type: ProviderType): boolean {
  return type === 'webhook' || type === 'file';
}

/** Provider types that talk HTTP and therefore need `url_env`. */
export function isHttpProviderType(type: ProviderType): boolean {
  return type !== 'file';
}
