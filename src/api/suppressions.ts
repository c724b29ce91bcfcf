/**
 * The suppression summary: keys whose retry decision is `suppress` (their failed attempts reached
 * the attempt limit, docs/reference.md §4), counted by provider and listed with their attempts,
 * limit and latest failure. Pure: a function of the retry plan's decisions and the delivery
 * records of the same revision.
 */
import { compareStrings } from '../domain/recovery-state.js';
import { groupAttempts, keyString } from '../domain/retry-rules.js';
import type { DeliveryRecord } from '../domain/types.js';
import { redactText } from '../redact.js';
import type { RetryDecisionView } from './retry-planner.js';

export interface SuppressedKey {
  delivery_id: string;
  audit_id: string;
  provider: string;
  /** Delivery records of the key (the initial attempt and every retry). */
  attempts: number;
  /** Failed attempts: what the limit is compared with. */
  retry_count: number;
  /** The attempt limit that applied (null when the planner did not say). */
  max_retry_attempts: number | null;
  latest_failure_at: string | null;
  /** HTTP status and public-safe error of the key's latest attempt. */
  latest_status_code: number | null;
  latest_error: string;
  /** The planner's reason in words (names the delivery manifest and its commit). */
  message: string;
}

export interface ProviderSuppressionCount {
  provider: string;
  suppressed_count: number;
}

export interface SuppressionSummary {
  suppressed_count: number;
  provider_counts: ProviderSuppressionCount[];
  /** By provider, then delivery_id, then audit_id. */
  items: SuppressedKey[];
}

const asString = (value: unknown): string => (typeof value === 'string' ? value : '');
const asCount = (value: unknown): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;

/** The suppressed keys of `decisions`, with what `deliveries` recorded of their latest attempt. */
export function computeSuppressionSummary(
  decisions: readonly RetryDecisionView[],
  deliveries: readonly DeliveryRecord[],
  filters: { provider: string | null },
): SuppressionSummary {
  const attempts = groupAttempts(deliveries);
  const items: SuppressedKey[] = [];
  for (const decision of decisions) {
    if (decision.action !== 'suppress') continue;
    const key = (decision.key ?? {}) as Readonly<Record<string, unknown>>;
    const deliveryId = asString(key.delivery_id);
    const auditId = asString(key.audit_id);
    const provider = asString(key.provider);
    if (filters.provider !== null && provider !== filters.provider) continue;
    const latest = attempts.get(keyString({ delivery_id: deliveryId, audit_id: auditId, provider }))?.at(-1);
    const limit = decision.max_retry_attempts;
    items.push({
      delivery_id: deliveryId,
      audit_id: auditId,
      provider,
      attempts: asCount(decision.attempts),
      retry_count: asCount(decision.retry_count),
      max_retry_attempts: typeof limit === 'number' ? limit : null,
      latest_failure_at: typeof decision.latest_failure_at === 'string' ? decision.latest_failure_at : null,
      latest_status_code: latest?.status_code ?? null,
      // Recorded errors are redacted when written; served text is redacted again, as everywhere.
      latest_error: redactText(latest?.error ?? ''),
      message: redactText(asString(decision.message)),
    });
  }
  items.sort(
    (a, b) =>
      compareStrings(a.provider, b.provider) ||
      compareStrings(a.delivery_id, b.delivery_id) ||
      compareStrings(a.audit_id, b.audit_id),
  );
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.provider, (counts.get(item.provider) ?? 0) + 1);
  return {
    suppressed_count: items.length,
    provider_counts: [...counts.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([provider, count]) => ({ provider, suppressed_count: count })),
    items,
  };
}
