/**
 * The body of `/status`: the reconciler's conditions as committed in reports/status.json, the
 * manifests it skips at the served revision, and the last run and last error. A `start` process
 * knows its own last run (an injected {@link RunObserver}); a `serve` process reports the newest
 * run record committed on the ledger instead, and no last error (it runs no reconcile).
 */
import { compareStrings, timeOf } from '../domain/recovery-state.js';
import type { ManifestCondition, RunRecord } from '../domain/types.js';
import type { ObservedError, ObservedRun, RunObservation } from './run-observer.js';
import type { RevisionView } from './snapshot-source.js';

/** A status condition as committed (Flux-style). */
export interface StatusCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** The last run: this process's own, or the newest run record when the process runs no loop. */
export type LastRun =
  | ({ source: 'process' } & ObservedRun)
  | ({ source: 'records' } & Omit<RunRecord, 'run_hash' | 'schema' | 'product' | 'controls'>);

export interface StatusView {
  revision: string;
  ledger_revision: string;
  /** reports/status.json as committed at the ledger revision, or null when absent or unreadable. */
  committed: unknown;
  /** `observed_revision` of the committed status: the tracked tip the reconciler last reported on. */
  observed_revision: string | null;
  observed_at: string | null;
  /** The committed conditions (Ready, Reconciling, Stalled); [] when there is no status yet. */
  conditions: StatusCondition[];
  /** Keys waiting for something, by reason, as committed. */
  pending_reasons: Record<string, number>;
  /** Manifest documents the reconciler skips at the served revision, and why. */
  skipped_manifests: ManifestCondition[];
  manifest_finding_count: number;
  record_finding_count: number;
  last_run: LastRun | null;
  last_error: ObservedError | null;
  process: {
    ready: boolean;
    started_at: string;
    /** True when this process runs the reconcile loop (`start`), so last_run/last_error are its own. */
    observes_runs: boolean;
    consecutive_failures: number;
  };
}

export interface StatusViewInput {
  view: RevisionView;
  observation: RunObservation | null;
  ready: boolean;
  startedAt: Date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const asString = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The committed conditions that have the shape of one; anything else in a damaged file is ignored. */
function readConditions(committed: Record<string, unknown>): StatusCondition[] {
  const raw = committed.conditions;
  if (!Array.isArray(raw)) return [];
  return raw.filter(isRecord).map((condition) => ({
    type: asString(condition.type) ?? '',
    status: asString(condition.status) ?? '',
    reason: asString(condition.reason) ?? '',
    message: asString(condition.message) ?? '',
  }));
}

function readPendingReasons(committed: Record<string, unknown>): Record<string, number> {
  const raw = committed.pending_reasons;
  if (!isRecord(raw)) return {};
  const entries = Object.entries(raw).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isInteger(entry[1]),
  );
  return Object.fromEntries(entries.sort(([a], [b]) => compareStrings(a, b)));
}

/** The newest run record of the view (latest `started_at`, ties by run id), memoised per view. */
function newestRunRecord(view: RevisionView): RunRecord | null {
  return view.memo('newest:run', () => {
    let newest: RunRecord | null = null;
    for (const run of view.snapshot.records.runs) {
      if (
        newest === null ||
        (timeOf(run.started_at) - timeOf(newest.started_at) || compareStrings(run.run_id, newest.run_id)) > 0
      ) {
        newest = run;
      }
    }
    return newest;
  });
}

function lastRunOf(view: RevisionView, observation: RunObservation | null): LastRun | null {
  if (observation?.last_run) return { source: 'process', ...observation.last_run };
  const record = newestRunRecord(view);
  if (record === null) return null;
  // The run's facts; its format fields (schema, product, controls) belong to the record file.
  const { run_hash: _hash, schema: _schema, product: _product, controls: _controls, ...run } = record;
  return { source: 'records', ...run };
}

/** The `/status` body of one view. */
export function computeStatusView(input: StatusViewInput): StatusView {
  const { view, observation } = input;
  const committed = isRecord(view.committedStatus) ? view.committedStatus : null;
  return {
    revision: view.revision,
    ledger_revision: view.ledgerRevision,
    committed: view.committedStatus,
    observed_revision: committed ? asString(committed.observed_revision) : null,
    observed_at: committed ? asString(committed.observed_at) : null,
    conditions: committed ? readConditions(committed) : [],
    pending_reasons: committed ? readPendingReasons(committed) : {},
    skipped_manifests: view.snapshot.manifests.conditions.filter((condition) => !condition.ready),
    manifest_finding_count: view.snapshot.manifests.findings.length,
    record_finding_count: view.snapshot.recordFindings.length,
    last_run: lastRunOf(view, observation),
    last_error: observation?.last_error ?? null,
    process: {
      ready: input.ready,
      started_at: input.startedAt.toISOString(),
      observes_runs: observation !== null,
      consecutive_failures: observation?.consecutive_failures ?? 0,
    },
  };
}
