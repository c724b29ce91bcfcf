/**
 * `reports/status.json`: Flux-style conditions (Ready, Reconciling, Stalled with PascalCase
 * reasons), the revision reconciled and a condition per manifest. Only the "meaningful" part is
 * compared when deciding whether to commit it, so the reconciler's own commits (which move the
 * tip) never cause another commit on their own.
 */
import type { RetryWorkPlan } from '../domain/retry-plan.js';
import type { Finding, IsoTime, ManifestCondition } from '../domain/types.js';
import { canonicalJson } from '../domain/canonical-json.js';
import type { Snapshot } from '../read-model/read-snapshot.js';

export interface Condition {
  type: 'Ready' | 'Reconciling' | 'Stalled';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface StatusDocument {
  schema_version: 1;
  observed_revision: string;
  observed_at: IsoTime;
  conditions: Condition[];
  /** Keys waiting for something, by reason (e.g. `{ "request_approval": 2 }`). */
  pending_reasons: Record<string, number>;
  manifests: ManifestCondition[];
  record_findings: Finding[];
  closure_findings: Finding[];
}

export const STATUS_PATH = 'reports/status.json';

export interface StatusInput {
  snapshot: Snapshot;
  retry: RetryWorkPlan;
  closureFindings: Finding[];
  now: Date;
}

/** The status after a run over `snapshot`. */
export function computeStatus(input: StatusInput): StatusDocument {
  const { snapshot, retry } = input;
  const invalid = snapshot.manifests.conditions.filter((c) => !c.ready);
  const pendingReasons: Record<string, number> = {};
  for (const decision of retry.decisions) {
    // A claim in flight resolves itself with its outcome commit; counting it would make every
    // other replica commit a status change in reaction to a claim commit (churn and push conflicts).
    if (decision.execute || decision.action === 'none' || decision.reason === 'claim_in_flight') continue;
    pendingReasons[decision.reason] = (pendingReasons[decision.reason] ?? 0) + 1;
  }
  const stalled =
    invalid.length > 0 || snapshot.recordFindings.length > 0 || input.closureFindings.length > 0;
  const waiting = Object.keys(pendingReasons).length > 0;
  const conditions: Condition[] = [
    {
      type: 'Ready',
      status: stalled ? 'False' : 'True',
      reason: stalled ? 'InvalidManifests' : 'ReconciliationSucceeded',
      message: stalled
        ? `${invalid.length} manifest document(s), ${input.closureFindings.length} closure(s) and ${snapshot.recordFindings.length} record file(s) need attention; see manifests[] and findings.`
        : 'Every manifest is valid and every due action was applied.',
    },
    {
      type: 'Reconciling',
      status: waiting ? 'True' : 'False',
      reason: waiting ? 'WaitingForOperators' : 'Idle',
      message: waiting
        ? `Keys waiting: ${Object.entries(pendingReasons)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([reason, n]) => `${reason}=${n}`)
            .join(', ')}.`
        : 'Nothing is waiting.',
    },
    {
      type: 'Stalled',
      status: stalled ? 'True' : 'False',
      reason: stalled ? 'NeedsOperatorFix' : 'None',
      message: stalled ? 'Invalid input was skipped; fix it through a pull request.' : '',
    },
  ];
  return {
    schema_version: 1,
    observed_revision: snapshot.revision,
    observed_at: input.now.toISOString(),
    conditions,
    pending_reasons: Object.fromEntries(
      Object.entries(pendingReasons).sort(([a], [b]) => a.localeCompare(b)),
    ),
    manifests: snapshot.manifests.conditions,
    record_findings: snapshot.recordFindings,
    closure_findings: input.closureFindings,
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
