/**
 * `reports/status.json`: the conditions (src/domain/conditions.ts), the revision reconciled and a
 * condition per manifest. Only the "meaningful" part is compared when deciding whether to commit
 * it, so the reconciler's own commits (which move the tip) never cause another commit on their own.
 * Every list is ordered by code points, never by locale, so replicas commit identical bytes.
 */
import { canonicalJson } from '../domain/canonical-json.js';
import {
  CONDITION_REASONS as R,
  type Condition,
  type ProviderCondition,
  type StatusDocument,
} from '../domain/conditions.js';
import { compareStrings } from '../domain/recovery-state.js';
import type { RetryWork } from '../domain/retry-plan.js';
import type { Finding } from '../domain/types.js';
import type { Snapshot } from '../read-model/read-snapshot.js';

export type { Condition, StatusDocument } from '../domain/conditions.js';

export interface StatusInput {
  snapshot: Snapshot;
  /** Its decision counts are what the status reads. */
  retry: Pick<RetryWork, 'counts'>;
  closureFindings: Finding[];
  /** Providers whose connector cannot be built now. */
  notReady: readonly ProviderCondition[];
  now: Date;
}

/** The status after a run over `snapshot`. */
export function computeStatus(input: StatusInput): StatusDocument {
  const { snapshot, retry } = input;
  const invalid = snapshot.manifests.conditions.filter((c) => !c.ready);
  // A claim in flight resolves itself with its outcome commit; counting it would make every
  // other replica commit a status change in reaction to a claim commit (churn and push conflicts).
  const pendingReasons = [...retry.counts.notExecuted]
    .filter(([reason]) => reason !== 'claim_in_flight')
    .sort(([a], [b]) => compareStrings(a, b));
  const stalled =
    invalid.length > 0 || snapshot.recordFindings.length > 0 || input.closureFindings.length > 0;
  const conditions: Condition[] = [
    readyCondition(input, invalid.length, stalled),
    pendingReasons.length > 0
      ? {
          type: 'Reconciling',
          status: 'True',
          reason: R.WaitingForOperators,
          message: `Keys waiting: ${pendingReasons.map(([reason, n]) => `${reason}=${n}`).join(', ')}.`,
        }
      : { type: 'Reconciling', status: 'False', reason: R.Idle, message: 'Nothing is waiting.' },
    stalled
      ? {
          type: 'Stalled',
          status: 'True',
          reason: R.NeedsOperatorFix,
          message: 'Invalid input was skipped; fix it through a pull request.',
        }
      : { type: 'Stalled', status: 'False', reason: R.None, message: '' },
  ];
  const providers = [...input.notReady].sort((a, b) => compareStrings(a.provider, b.provider));
  return {
    schema_version: 1,
    observed_revision: snapshot.revision,
    observed_at: input.now.toISOString(),
    conditions,
    pending_reasons: Object.fromEntries(pendingReasons),
    manifests: snapshot.manifests.conditions,
    ...(providers.length > 0 ? { providers } : {}),
    record_findings: snapshot.recordFindings,
    closure_findings: input.closureFindings,
  };
}

/**
 * Ready is True only when nothing was skipped, every provider is ready and no key's latest
 * delivery attempt failed. Read from the ledger's state, not from one run's calls, so it does not
 * flip back on the next run by itself (which would cost a status commit after every failure).
 */
function readyCondition(input: StatusInput, invalid: number, stalled: boolean): Condition {
  const { failedKeys } = input.retry.counts;
  if (stalled) {
    return {
      type: 'Ready',
      status: 'False',
      reason: R.InvalidManifests,
      message: `${invalid} manifest document(s), ${input.closureFindings.length} closure(s) and ${input.snapshot.recordFindings.length} record file(s) need attention; see manifests[] and findings.`,
    };
  }
  if (input.notReady.length > 0) {
    return {
      type: 'Ready',
      status: 'False',
      reason: R.ProviderNotReady,
      message: `${input.notReady.length} provider(s) not ready, nothing is called for them: ${input.notReady
        .map((p) => `${p.provider} (${p.message})`)
        .join('; ')}`,
    };
  }
  if (failedKeys > 0) {
    return {
      type: 'Ready',
      status: 'False',
      reason: R.DeliveryFailed,
      message: `${failedKeys} key(s) whose latest delivery attempt failed; their retries follow the retry rules (see the retry plan).`,
    };
  }
  return {
    type: 'Ready',
    status: 'True',
    reason: R.ReconciliationSucceeded,
    message: 'Every manifest is valid and every due action was applied.',
  };
}

/** Status without the fields that change on every run (revision, time). */
export function meaningfulStatus(status: StatusDocument | null): string {
  if (!status) return '';
  const { observed_revision: _revision, observed_at: _at, ...rest } = status;
  return canonicalJson(rest);
}

export function serializeStatus(status: StatusDocument): string {
  return `${JSON.stringify(status, null, 2)}\n`;
}
