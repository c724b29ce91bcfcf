/**
 * Retry decisions per key (docs/reference.md §4), pure. A key is (delivery_id, audit_id, provider); its
 * attempts are every delivery record of the key, the initial one and the retries alike, so the
 * attempt limit holds across retries.
 */
import type {
  ApprovalRetryPolicy,
  DeliveryKey,
  DeliveryRecord,
  IsoTime,
  RetryAcknowledgement,
  RetryApproval,
  RetryDefaults,
} from './types.js';
import { compareStrings } from './recovery-state.js';

/** The retry policy that applies to one key: the approval's overrides over the policy defaults. */
export interface EffectiveRetryPolicy {
  max_retry_attempts: number;
  retry_delay_minutes: number;
  backoff_multiplier: number;
  allow_immediate_retry: boolean;
}

export type RetryAction = 'none' | 'wait' | 'retry' | 'suppress';

/** The time-and-count part of a decision, before the approval gate. */
export interface RetryState {
  key: DeliveryKey;
  /** Number of attempts (delivery records) of the key. */
  attempts: number;
  /** The attempt number a retry would have (highest attempt + 1). */
  next_attempt: number;
  /** Failed attempts of the key. */
  retry_count: number;
  latest_failure_at: IsoTime | null;
  /** `latest_failure_at + delay`, null when nothing is to be retried. */
  next_retry_at: IsoTime | null;
  delay_minutes: number;
  /** none: no attempt yet or the latest succeeded; wait/retry/suppress as in docs/reference.md §4. */
  action: RetryAction;
  /** True when the key's latest attempt succeeded. */
  delivered: boolean;
}

const MINUTE_MS = 60_000;

/** Stable string form of a key, for maps and sorting (names cannot contain `\n`). */
export function keyString(key: DeliveryKey): string {
  return `${key.delivery_id}\n${key.audit_id}\n${key.provider}`;
}

/** Orders keys by delivery_id, then audit_id, then provider (UTF-16 code units). */
export function compareKeys(a: DeliveryKey, b: DeliveryKey): number {
  return (
    compareStrings(a.delivery_id, b.delivery_id) ||
    compareStrings(a.audit_id, b.audit_id) ||
    compareStrings(a.provider, b.provider)
  );
}

/** Items grouped by `keyOf`, each group in input order. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const id = keyOf(item);
    const group = groups.get(id);
    if (group) group.push(item);
    else groups.set(id, [item]);
  }
  return groups;
}

/** Attempt order within a key: attempt number, then attempted_at, then record_id. */
function compareAttempts(a: DeliveryRecord, b: DeliveryRecord): number {
  return (
    a.attempt - b.attempt ||
    compareStrings(a.attempted_at, b.attempted_at) ||
    compareStrings(a.record_id, b.record_id)
  );
}

/**
 * Delivery records sorted by key, and within a key by attempt (then attempted_at, record_id): each
 * key's attempts are one run, in the order groupAttempts gives them, without a map or an array
 * per key (a first run over 100,000 records would hold both for the whole plan).
 */
export function sortAttemptsByKey(records: readonly DeliveryRecord[]): DeliveryRecord[] {
  return [...records].sort((a, b) => compareKeys(a, b) || compareAttempts(a, b));
}

/** Delivery records grouped by key, each group sorted by attempt (then attempted_at, record_id). */
export function groupAttempts(records: readonly DeliveryRecord[]): Map<string, DeliveryRecord[]> {
  const groups = groupBy(records, keyString);
  for (const group of groups.values()) group.sort(compareAttempts);
  return groups;
}

/**
 * The retry policy of a key: each field of the approval's `retry_policy` falls back to the
 * policy's `retry_defaults`, except that with `allow_immediate_retry` an unset delay is 0.
 */
export function effectiveRetryPolicy(
  defaults: RetryDefaults,
  overrides: ApprovalRetryPolicy | null,
): EffectiveRetryPolicy {
  const immediate = overrides?.allow_immediate_retry ?? false;
  return {
    max_retry_attempts: overrides?.max_retry_attempts ?? defaults.max_retry_attempts,
    retry_delay_minutes: overrides?.retry_delay_minutes ?? (immediate ? 0 : defaults.retry_delay_minutes),
    backoff_multiplier: overrides?.backoff_multiplier ?? defaults.backoff_multiplier,
    allow_immediate_retry: immediate,
  };
}

/**
 * `retry_delay_minutes × backoff_multiplier^(retry_count − 1)` minutes; at least 1 minute unless
 * `allow_immediate_retry`. Zero failures means no delay.
 */
export function retryDelayMinutes(policy: EffectiveRetryPolicy, retryCount: number): number {
  if (retryCount <= 0) return 0;
  const delay = policy.retry_delay_minutes * Math.pow(policy.backoff_multiplier, retryCount - 1);
  const safe = Number.isFinite(delay) ? Math.max(0, delay) : Number.MAX_SAFE_INTEGER;
  return policy.allow_immediate_retry ? safe : Math.max(1, safe);
}

/**
 * The retry state of one key at `now`. `attempts` are the key's delivery records (any order).
 * `latest_failure_at` is the `completed_at` of the latest failed attempt: the moment the failure
 * was known (an unknown outcome is recorded as a failure when its lease expired).
 */
export function computeRetryState(
  key: DeliveryKey,
  attempts: readonly DeliveryRecord[],
  policy: EffectiveRetryPolicy,
  now: Date,
): RetryState {
  const sorted = [...attempts].sort(compareAttempts);
  const latest = sorted.at(-1);
  const failures = sorted.filter((record) => !record.delivery_success);
  const retryCount = failures.length;
  const latestFailureAt = failures.reduce<IsoTime | null>(
    (max, record) =>
      max === null || Date.parse(record.completed_at) > Date.parse(max) ? record.completed_at : max,
    null,
  );
  const base: RetryState = {
    key: { delivery_id: key.delivery_id, audit_id: key.audit_id, provider: key.provider },
    attempts: sorted.length,
    next_attempt: (latest?.attempt ?? 0) + 1,
    retry_count: retryCount,
    latest_failure_at: latestFailureAt,
    next_retry_at: null,
    delay_minutes: 0,
    action: 'none',
    delivered: latest?.delivery_success ?? false,
  };
  if (!latest || latest.delivery_success || latestFailureAt === null) return base;

  const delay = retryDelayMinutes(policy, retryCount);
  const dueMs = Date.parse(latestFailureAt) + delay * MINUTE_MS;
  const nextRetryAt =
    Number.isFinite(dueMs) && Math.abs(dueMs) <= 8.64e15 ? new Date(dueMs).toISOString() : null;
  let action: RetryAction;
  if (retryCount >= policy.max_retry_attempts) action = 'suppress';
  else if (now.getTime() < dueMs) action = 'wait';
  else action = 'retry';
  return {
    ...base,
    delay_minutes: delay,
    next_retry_at: action === 'suppress' ? null : nextRetryAt,
    action,
  };
}

/** The approval that speaks for a key: the newest by `decided_at`, ties broken by the larger name. */
export function selectApproval<T extends RetryApproval>(approvals: readonly T[]): T | null {
  return selectNewest(approvals, (approval) => approval.spec.decided_at);
}

/** The acknowledgement that speaks for a key: newest `acknowledged_at`, ties broken by the larger name. */
export function selectAcknowledgement<T extends RetryAcknowledgement>(
  acknowledgements: readonly T[],
): T | null {
  return selectNewest(acknowledgements, (acknowledgement) => acknowledgement.spec.acknowledged_at);
}

function selectNewest<T extends { name: string }>(
  items: readonly T[],
  timeOf: (item: T) => IsoTime,
): T | null {
  let best: T | null = null;
  for (const item of items) {
    if (
      best === null ||
      (Date.parse(timeOf(item)) - Date.parse(timeOf(best)) || compareStrings(item.name, best.name)) > 0
    ) {
      best = item;
    }
  }
  return best;
}
