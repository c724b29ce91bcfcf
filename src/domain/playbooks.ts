/**
 * Automatic connector recovery playbooks (docs/reference.md §4, Playbooks). Pure: a function of the providers,
 * the policy, the records of one revision and `now`.
 *
 * Decisions (see docs/decisions.md):
 * - A failure is one failed attempt: every delivery record with `delivery_success: false`
 *   (initial attempts and retries; retries write a delivery record too). An execution record
 *   counts as a failure only when it is `failed`, `skipped` or `unknown` AND no delivery record
 *   carries its `execution_id` (a skipped execution or an unknown outcome made no attempt that
 *   was recorded), so one attempt is never counted twice.
 * - A failure's time is the delivery record's `completed_at` (the execution's `executed_at`).
 * - One playbook per run covers every provider that is due (CAVRA's shape: `provider_count`,
 *   `provider_playbooks[]`); each provider inside it is its own recovery row.
 * - Only providers declared in the manifests are considered: a removed provider has nothing left
 *   to recover, and its category would be unknown.
 */
import { makeId, withHash } from './hash.js';
import { sealRecord } from './record-format.js';
import { ID_PREFIXES } from './ids.js';
import { compareStrings, listRecoveryRows, isClosedState, timeOf } from './recovery-state.js';
import { recoveryStepsFor } from './recovery-steps.js';
import type {
  DeliveryRecord,
  IsoTime,
  PlaybookRecord,
  Provider,
  ProviderPlaybook,
  ReconcilerPolicySpec,
  RecordSet,
} from './types.js';

/** docs/reference.md §4 id prefix of playbooks. */
const PLAYBOOK_ID_PREFIX = ID_PREFIXES.playbook;

const HOUR_MS = 3_600_000;

export interface PlanPlaybooksInput {
  providers: readonly Provider[];
  policy: ReconcilerPolicySpec;
  records: RecordSet;
  now: Date;
  /** Manifest revision the run read (recorded as `source_revision`). */
  revision: string;
  /** Who generates the playbook, e.g. the replica id (`generated_by`). */
  generatedBy: string;
}

/** One failed attempt, as counted for playbooks. */
export interface ProviderFailure {
  provider: string;
  at: number;
  atIso: IsoTime;
  statusCode: number | null;
}

/** When a delivery record's attempt counts as having failed, if it failed: its completion, else its start. */
export function deliveryFailureTime(delivery: DeliveryRecord): IsoTime {
  return delivery.completed_at || delivery.attempted_at;
}

/** The failures a playbook at `nowMs` counts are those at [from, to] (ms), both ends included. */
export function lookbackWindow(
  recovery: ReconcilerPolicySpec['recovery'],
  nowMs: number,
): { from: number; to: number } {
  return { from: nowMs - recovery.lookback_hours * HOUR_MS, to: nowMs };
}

/**
 * Every failed attempt per provider (see the module comment for what counts), unfiltered by time.
 * Exported for the reconciler's plan output and for tests.
 */
function collectProviderFailures(records: RecordSet): Map<string, ProviderFailure[]> {
  const failures = new Map<string, ProviderFailure[]>();
  const add = (failure: ProviderFailure): void => {
    const list = failures.get(failure.provider);
    if (list === undefined) failures.set(failure.provider, [failure]);
    else list.push(failure);
  };
  const executionsWithAttempt = new Set<string>();
  for (const delivery of records.deliveries) {
    if (delivery.execution_id !== '') executionsWithAttempt.add(delivery.execution_id);
    if (delivery.delivery_success) continue;
    const atIso = deliveryFailureTime(delivery);
    add({ provider: delivery.provider, at: timeOf(atIso), atIso, statusCode: delivery.status_code });
  }
  for (const execution of records.executions) {
    if (execution.execution_status === 'delivered') continue;
    if (executionsWithAttempt.has(execution.execution_id)) continue;
    add({
      provider: execution.provider,
      at: timeOf(execution.executed_at),
      atIso: execution.executed_at,
      statusCode: execution.status_code,
    });
  }
  return failures;
}

/** Per provider, the `closed_at` (ms) of its latest closing (resolved/mitigated) closure. */
function latestClosingClosureTimes(records: RecordSet): Map<string, number> {
  const latest = new Map<string, number>();
  for (const closure of records.closures) {
    if (!isClosedState(closure.closure_state)) continue;
    const at = timeOf(closure.closed_at);
    const current = latest.get(closure.provider);
    if (current === undefined || at > current) latest.set(closure.provider, at);
  }
  return latest;
}

/** Providers with at least one open recovery row (a playbook entry whose latest closure is not closing). */
function providersWithOpenRows(records: RecordSet): Set<string> {
  const open = new Set<string>();
  for (const row of listRecoveryRows(records.playbooks, records.closures)) {
    if (!row.closed) open.add(row.providerPlaybook.provider);
  }
  return open;
}

/**
 * The playbooks due now: with `recovery.auto_playbooks`, one playbook covering every declared
 * provider that has at least `min_failure_count` failures within `lookback_hours` before `now`
 * (and not after it), counting only failures after the provider's latest closing closure, and
 * that has no open recovery row. Returns [] or one hashed record.
 */
export function planPlaybooks(input: PlanPlaybooksInput): PlaybookRecord[] {
  const { policy, records, now } = input;
  const recovery = policy.recovery;
  if (!recovery.auto_playbooks) return [];
  const window = lookbackWindow(recovery, now.getTime());
  const failuresByProvider = collectProviderFailures(records);
  const closingTimes = latestClosingClosureTimes(records);
  const openProviders = providersWithOpenRows(records);

  const providerPlaybooks: ProviderPlaybook[] = [];
  const providers = [...input.providers].sort((a, b) => compareStrings(a.name, b.name));
  for (const provider of providers) {
    if (openProviders.has(provider.name)) continue;
    const closedAt = closingTimes.get(provider.name) ?? Number.NEGATIVE_INFINITY;
    const counted = (failuresByProvider.get(provider.name) ?? []).filter(
      (failure) => failure.at >= window.from && failure.at <= window.to && failure.at > closedAt,
    );
    if (counted.length === 0 || counted.length < recovery.min_failure_count) continue;
    providerPlaybooks.push(buildProviderPlaybook(provider, counted));
  }
  if (providerPlaybooks.length === 0) return [];

  const content = {
    generated_at: now.toISOString(),
    generated_by: input.generatedBy,
    lookback_hours: recovery.lookback_hours,
    min_failure_count: recovery.min_failure_count,
    provider_count: providerPlaybooks.length,
    failure_count: providerPlaybooks.reduce((sum, entry) => sum + entry.failure_count, 0),
    provider_playbooks: providerPlaybooks,
    source_revision: input.revision,
  };
  // The id hashes the whole content (failures, time, revision), not the clock alone: two runs
  // that see the same records at the same instant produce the same file, anything else a new one.
  // Format v2's fields are not in `content`: playbook ids stay what format v1 computed.
  const record = {
    playbook_id: makeId(PLAYBOOK_ID_PREFIX, content),
    ...content,
    alert_level: playbookAlertLevel(providerPlaybooks),
    private_connector_boundary: PRIVATE_CONNECTOR_BOUNDARY,
  };
  return [sealRecord<PlaybookRecord>('playbooks', record, 'playbook_hash')];
}

/**
 * A playbook as format `version` writes it: v1 (before format v2) has neither `schema`,
 * `product`, `controls`, `alert_level` nor `private_connector_boundary`, and its hash covers the
 * rest. Its id is the same in both (the id never hashed format v2's fields). `verify` recomputes a
 * playbook in its own version.
 */
export function playbookAtVersion(playbook: PlaybookRecord, version: 1 | 2): PlaybookRecord {
  if (version === 2) return playbook;
  const {
    schema: _schema,
    product: _product,
    controls: _controls,
    alert_level: _alertLevel,
    private_connector_boundary: _boundary,
    ...v1
  } = playbook;
  return withHash<PlaybookRecord, 'playbook_hash'>(v1, 'playbook_hash');
}

/** CAVRA's note on a playbook: what it may and may not contain. */
const PRIVATE_CONNECTOR_BOUNDARY =
  'Connector endpoints, tokens and signing secrets stay private: each Provider names the environment variables that hold them, and they are never written into playbooks, records or reports.';

/**
 * A playbook's `alert_level`: critical when a provider's failures include a 5xx, or none of them
 * got an HTTP answer (the connector itself is down or unreachable), else warning (4xx: fix the
 * request or its credentials).
 */
function playbookAlertLevel(rows: readonly ProviderPlaybook[]): 'critical' | 'warning' {
  const critical = rows.some(
    (row) => row.status_codes.length === 0 || row.status_codes.some((code) => code >= 500),
  );
  return critical ? 'critical' : 'warning';
}

function buildProviderPlaybook(provider: Provider, failures: readonly ProviderFailure[]): ProviderPlaybook {
  let latest = failures[0] as ProviderFailure;
  const statusCodes = new Set<number>();
  for (const failure of failures) {
    // Same instant written two ways ("…00Z" / "…00.000Z"): keep the smaller text, so the choice is stable.
    if (failure.at > latest.at || (failure.at === latest.at && failure.atIso < latest.atIso))
      latest = failure;
    if (failure.statusCode !== null) statusCodes.add(failure.statusCode);
  }
  return {
    provider: provider.name,
    category: provider.spec.category,
    failure_count: failures.length,
    latest_failure_at: latest.atIso,
    status_codes: [...statusCodes].sort((a, b) => a - b),
    recovery_steps: recoveryStepsFor(provider.spec.category, provider.spec.type),
  };
}
