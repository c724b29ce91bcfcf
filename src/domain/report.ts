/**
 * The retry recovery report (docs/reference.md §4), as one pure function of (records, SLO minutes,
 * generated_by, now, revision). It follows CAVRA's rules field by field — skipped executions count
 * as failed, only the latest closure of a (playbook, provider) row decides open or closed,
 * deferred/escalated/reopened rows stay open and can breach, a breach is strictly `age > slo`,
 * minutes are whole by floor, trends group by UTC date, 20 latest executions — and closes its gaps:
 * every record is read (no 500-item cap) and every ordering is total, so the report never depends
 * on the order records were read in and is byte-identical on every replica.
 */
import { makeId, sha256Hex } from './hash.js';
import { ID_PREFIXES } from './ids.js';
import { CURRENT_RECORD_VERSION, RECORD_PRODUCT, schemaIdOf } from './record-format.js';
import {
  compareIsoTimes,
  compareStrings,
  isLaterIso,
  listRecoveryRows,
  MINUTE_MS,
  minutesBetween,
  timeOf,
  utcDateOf,
  type RecoveryRowState,
} from './recovery-state.js';
import type { ClosureRecord, ExecutionRecord, IsoTime, ProviderCategory, RecordSet } from './types.js';

export const REPORT_METADATA_KIND =
  'go-backend-rollback-drill-acknowledgement-audit-delivery-retry-recovery-report';
const REPORT_ID_PREFIX = ID_PREFIXES.report;
/** Bounds of `recovery_slo_minutes` (one minute to one year). */
export const MIN_RECOVERY_SLO_MINUTES = 1;
export const MAX_RECOVERY_SLO_MINUTES = 525_600;
/** How many executions `latest_executions` lists. */
const LATEST_EXECUTION_LIMIT = 20;

export interface ReportOptions {
  /** Integer 1..525600; validate user input with {@link parseRecoverySloMinutes} first. */
  sloMinutes: number;
  generatedBy: string;
  now: Date;
  /** The revision the records were read at. */
  revision: string;
}

export type SloStatus = 'breached' | 'closed' | 'open';
export type AlertLevel = 'critical' | 'warning' | 'healthy';

export interface RecoveryRow {
  playbook_id: string;
  provider: string;
  category: ProviderCategory;
  failure_count: number;
  generated_at: IsoTime;
  age_minutes: number;
  recovery_slo_minutes: number;
  /** State of the latest closure, or `open` without one (unknown states are kept as written). */
  closure_state: string;
  /** '' when the row has no closure. */
  closure_id: string;
  /** '' when the row has no closure. */
  closed_at: IsoTime;
  closure_minutes: number | null;
  slo_status: SloStatus;
  slo_breached: boolean;
}

export interface ProviderSummary {
  provider: string;
  execution_count: number;
  execution_delivered_count: number;
  /** failed + skipped, as the report-wide `execution_failed_count`, so the sums match. */
  execution_failed_count: number;
  /** The skipped part of `execution_failed_count`. */
  execution_skipped_count: number;
  /** Recovery rows of the provider (one per playbook that lists it). */
  recovery_playbook_count: number;
  /** Every closure record of the provider. */
  recovery_closure_count: number;
  open_recovery_count: number;
  slo_breached_count: number;
  /** '' when none. */
  latest_execution_at: IsoTime;
  /** '' when none. */
  latest_closure_at: IsoTime;
}

export interface ClosureTrend {
  /** UTC date of `closed_at`, `YYYY-MM-DD`. */
  date: string;
  closure_count: number;
  resolved_count: number;
  mitigated_count: number;
  deferred_count: number;
  escalated_count: number;
  reopened_count: number;
  provider_counts: Record<string, number>;
}

export interface LatestExecution {
  execution_id: string;
  provider: string;
  execution_status: string;
  executed_at: IsoTime;
  delivery_success: boolean;
  approval_decision_id: string;
  run_id: string;
}

export interface RetryRecoveryReport {
  report_id: string;
  generated_at: IsoTime;
  generated_by: string;
  revision: string;
  recovery_slo_minutes: number;
  alert_level: AlertLevel;
  execution_count: number;
  execution_success_count: number;
  execution_failed_count: number;
  execution_success_rate: number | null;
  execution_status_counts: Record<string, number>;
  /** Executions under a break-glass approval (`emergency: true`). */
  emergency_execution_count: number;
  /** Emergency executions that no closure record cites in its `verification_refs` (alert: critical). */
  emergency_unclosed_count: number;
  recovery_playbook_provider_count: number;
  recovery_closed_count: number;
  recovery_open_count: number;
  recovery_slo_breached_count: number;
  closure_state_counts: Record<string, number>;
  provider_summary: ProviderSummary[];
  recovery_rows: RecoveryRow[];
  closure_trends: ClosureTrend[];
  latest_executions: LatestExecution[];
}

export interface ReportMetadata {
  /** Format v2 (docs/records.md): the report's schema id; absent in reports committed before. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`. */
  product?: string;
  kind: typeof REPORT_METADATA_KIND;
  session_id: string;
  created_at: IsoTime;
  signer: string;
  decision_count: number;
  blocked_count: number;
  approval_required_count: number;
  revision: string;
}

export interface ReportEnvelope {
  report: RetryRecoveryReport;
  metadata: ReportMetadata;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Parse `recovery_slo_minutes` from a query string, flag or manifest value: an integer
 * 1..525600 (a number, or a string of digits). The message names the bad value and the range.
 */
export function parseRecoverySloMinutes(raw: unknown): ParseResult<number> {
  let value: number | null = null;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && /^\s*\d{1,7}\s*$/.test(raw)) value = Number(raw.trim());
  if (
    value === null ||
    !Number.isInteger(value) ||
    value < MIN_RECOVERY_SLO_MINUTES ||
    value > MAX_RECOVERY_SLO_MINUTES
  ) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : String(raw);
    return {
      ok: false,
      message: `recovery_slo_minutes ${shown} is not valid; use a whole number of minutes from ${MIN_RECOVERY_SLO_MINUTES} to ${MAX_RECOVERY_SLO_MINUTES}.`,
    };
  }
  return { ok: true, value };
}

/** round(value, 4) the way Python's round does for these ratios (half to even is irrelevant at 4 places of n/m). */
function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Accumulates per-provider numbers while records are scanned once. */
interface ProviderAccumulator {
  executionCount: number;
  delivered: number;
  failed: number;
  skipped: number;
  latestExecutionAt: IsoTime;
  rows: number;
  closures: number;
  open: number;
  breached: number;
  latestClosureAt: IsoTime;
}

function newAccumulator(): ProviderAccumulator {
  return {
    executionCount: 0,
    delivered: 0,
    failed: 0,
    skipped: 0,
    latestExecutionAt: '',
    rows: 0,
    closures: 0,
    open: 0,
    breached: 0,
    latestClosureAt: '',
  };
}

/** Object with keys in code-unit order, so JSON output does not depend on record order. */
function sortedCounts(counts: ReadonlyMap<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const key of [...counts.keys()].sort(compareStrings)) result[key] = counts.get(key) ?? 0;
  return result;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** True when `a` is newer than `b`: later `executed_at`, then the smaller `execution_id`. */
function isNewerExecution(a: ExecutionRecord, b: ExecutionRecord): boolean {
  const order = compareIsoTimes(a.executed_at, b.executed_at);
  if (order !== 0) return order > 0;
  return a.execution_id < b.execution_id;
}

/** Keeps the `limit` newest executions in order, without sorting all of them. */
function insertLatest(latest: ExecutionRecord[], candidate: ExecutionRecord, limit: number): void {
  const last = latest[latest.length - 1];
  if (latest.length >= limit && last !== undefined && !isNewerExecution(candidate, last)) return;
  let index = latest.length;
  while (index > 0 && isNewerExecution(candidate, latest[index - 1] as ExecutionRecord)) index -= 1;
  latest.splice(index, 0, candidate);
  if (latest.length > limit) latest.pop();
}

function toRecoveryRow(
  state: RecoveryRowState,
  generatedMs: number,
  sloMinutes: number,
  nowMs: number,
): RecoveryRow {
  // Never negative: a reader whose `now` is floored to the minute (the API) may see a playbook
  // generated later in that minute.
  const ageMinutes = Math.max(0, minutesBetween(generatedMs, nowMs));
  const closure = state.latestClosure;
  const breached = !state.closed && ageMinutes > sloMinutes;
  return {
    playbook_id: state.playbook.playbook_id,
    provider: state.providerPlaybook.provider,
    category: state.providerPlaybook.category,
    failure_count: state.providerPlaybook.failure_count,
    generated_at: state.playbook.generated_at,
    age_minutes: ageMinutes,
    recovery_slo_minutes: sloMinutes,
    closure_state: closure === null ? 'open' : closure.closure_state,
    closure_id: closure === null ? '' : closure.closure_id,
    closed_at: closure === null ? '' : closure.closed_at,
    closure_minutes: closure === null ? null : minutesBetween(generatedMs, timeOf(closure.closed_at)),
    slo_status: breached ? 'breached' : state.closed ? 'closed' : 'open',
    slo_breached: breached,
  };
}

interface TimedRow {
  generatedMs: number;
  row: RecoveryRow;
}

/** Rows: breached first, then newest `generated_at`, then playbook id and provider (a total order). */
function compareRows(x: TimedRow, y: TimedRow): number {
  const a = x.row;
  const b = y.row;
  if (a.slo_breached !== b.slo_breached) return a.slo_breached ? -1 : 1;
  const byTime = y.generatedMs - x.generatedMs;
  if (byTime !== 0) return byTime;
  return (
    compareStrings(a.playbook_id, b.playbook_id) ||
    compareStrings(a.provider, b.provider) ||
    compareStrings(a.generated_at, b.generated_at) ||
    compareStrings(a.category, b.category) ||
    a.failure_count - b.failure_count
  );
}

interface TrendAccumulator {
  count: number;
  states: Map<string, number>;
  providers: Map<string, number>;
}

function computeClosureTrends(closures: readonly ClosureRecord[]): ClosureTrend[] {
  const byDate = new Map<string, TrendAccumulator>();
  for (const closure of closures) {
    const date = utcDateOf(closure.closed_at);
    let trend = byDate.get(date);
    if (trend === undefined) {
      trend = { count: 0, states: new Map(), providers: new Map() };
      byDate.set(date, trend);
    }
    trend.count += 1;
    increment(trend.states, closure.closure_state);
    increment(trend.providers, closure.provider);
  }
  return [...byDate.keys()]
    .sort((a, b) => compareStrings(b, a))
    .map((date) => {
      const trend = byDate.get(date) as TrendAccumulator;
      return {
        date,
        closure_count: trend.count,
        resolved_count: trend.states.get('resolved') ?? 0,
        mitigated_count: trend.states.get('mitigated') ?? 0,
        deferred_count: trend.states.get('deferred') ?? 0,
        escalated_count: trend.states.get('escalated') ?? 0,
        reopened_count: trend.states.get('reopened') ?? 0,
        provider_counts: sortedCounts(trend.providers),
      };
    });
}

/**
 * Emergency executions, and how many of them no closure cites (by execution id in its
 * `verification_refs`): a break-glass execution stays critical until someone closes it.
 */
export function countEmergencyExecutions(records: Pick<RecordSet, 'executions' | 'closures'>): {
  total: number;
  unclosed: number;
} {
  const emergencies = records.executions.filter((execution) => execution.emergency === true);
  // Break-glass is rare: the closures' references are gathered only when there is one to look up.
  if (emergencies.length === 0) return { total: 0, unclosed: 0 };
  const cited = new Set(records.closures.flatMap((closure) => closure.verification_refs));
  const unclosed = emergencies.filter((execution) => !cited.has(execution.execution_id)).length;
  return { total: emergencies.length, unclosed };
}

function alertLevelOf(
  breached: number,
  failed: number,
  open: number,
  unclosedEmergencies: number,
): AlertLevel {
  if (breached > 0 || failed > 0 || unclosedEmergencies > 0) return 'critical';
  if (open > 0) return 'warning';
  return 'healthy';
}

/**
 * The retry recovery report and its metadata (docs/reference.md §4). Reads every record; the output depends
 * only on the set of records and the options, never on their order.
 */
export function computeRetryRecoveryReport(records: RecordSet, options: ReportOptions): ReportEnvelope {
  const { sloMinutes, now } = options;
  const nowMs = now.getTime();
  const providers = new Map<string, ProviderAccumulator>();
  const providerOf = (name: string): ProviderAccumulator => {
    let accumulator = providers.get(name);
    if (accumulator === undefined) {
      accumulator = newAccumulator();
      providers.set(name, accumulator);
    }
    return accumulator;
  };

  // Executions: counts, per-provider numbers and the newest few, in one pass.
  const statusCounts = new Map<string, number>();
  const latest: ExecutionRecord[] = [];
  let delivered = 0;
  let failed = 0;
  for (const record of records.executions) {
    const status = record.execution_status;
    increment(statusCounts, status);
    const provider = providerOf(record.provider);
    provider.executionCount += 1;
    if (status === 'delivered') {
      delivered += 1;
      provider.delivered += 1;
    } else if (status === 'failed' || status === 'skipped') {
      failed += 1;
      provider.failed += 1;
      if (status === 'skipped') provider.skipped += 1;
    }
    if (provider.latestExecutionAt === '' || isLaterIso(record.executed_at, provider.latestExecutionAt)) {
      provider.latestExecutionAt = record.executed_at;
    }
    insertLatest(latest, record, LATEST_EXECUTION_LIMIT);
  }

  // Recovery rows: one per (playbook × provider playbook), decided by its latest closure.
  const generatedMsByPlaybook = new Map<string, number>();
  const timedRows: TimedRow[] = listRecoveryRows(records.playbooks, records.closures).map((state) => {
    let generatedMs = generatedMsByPlaybook.get(state.playbook.playbook_id);
    if (generatedMs === undefined) {
      generatedMs = timeOf(state.playbook.generated_at);
      generatedMsByPlaybook.set(state.playbook.playbook_id, generatedMs);
    }
    return { generatedMs, row: toRecoveryRow(state, generatedMs, sloMinutes, nowMs) };
  });
  timedRows.sort(compareRows);
  const rows = timedRows.map((timed) => timed.row);
  let closed = 0;
  let breached = 0;
  for (const row of rows) {
    const provider = providerOf(row.provider);
    provider.rows += 1;
    if (row.slo_status === 'closed') closed += 1;
    else provider.open += 1;
    if (row.slo_breached) {
      breached += 1;
      provider.breached += 1;
    }
  }
  const open = rows.length - closed;

  // Closures: every record counts (not only the latest per row).
  const closureStateCounts = new Map<string, number>();
  for (const closure of records.closures) {
    increment(closureStateCounts, closure.closure_state);
    const provider = providerOf(closure.provider);
    provider.closures += 1;
    if (provider.latestClosureAt === '' || isLaterIso(closure.closed_at, provider.latestClosureAt)) {
      provider.latestClosureAt = closure.closed_at;
    }
  }

  const providerSummary: ProviderSummary[] = [...providers.keys()].sort(compareStrings).map((name) => {
    const p = providers.get(name) as ProviderAccumulator;
    return {
      provider: name,
      execution_count: p.executionCount,
      execution_delivered_count: p.delivered,
      execution_failed_count: p.failed,
      execution_skipped_count: p.skipped,
      recovery_playbook_count: p.rows,
      recovery_closure_count: p.closures,
      open_recovery_count: p.open,
      slo_breached_count: p.breached,
      latest_execution_at: p.latestExecutionAt,
      latest_closure_at: p.latestClosureAt,
    };
  });

  const executionCount = records.executions.length;
  const emergencies = countEmergencyExecutions(records);
  const content = {
    recovery_slo_minutes: sloMinutes,
    alert_level: alertLevelOf(breached, failed, open, emergencies.unclosed),
    execution_count: executionCount,
    execution_success_count: delivered,
    execution_failed_count: failed,
    execution_success_rate: executionCount === 0 ? null : round4(delivered / executionCount),
    execution_status_counts: sortedCounts(statusCounts),
    emergency_execution_count: emergencies.total,
    emergency_unclosed_count: emergencies.unclosed,
    recovery_playbook_provider_count: rows.length,
    recovery_closed_count: closed,
    recovery_open_count: open,
    recovery_slo_breached_count: breached,
    closure_state_counts: sortedCounts(closureStateCounts),
    provider_summary: providerSummary,
    recovery_rows: rows,
    closure_trends: computeClosureTrends(records.closures),
    latest_executions: latest.map((record) => ({
      execution_id: record.execution_id,
      provider: record.provider,
      execution_status: record.execution_status,
      executed_at: record.executed_at,
      delivery_success: record.delivery_success,
      approval_decision_id: record.approval_decision_id,
      run_id: record.run_id,
    })),
  };
  const generatedAt = now.toISOString();
  // The content is built in a fixed key order, so its JSON text is deterministic; digesting that
  // text (rather than canonicalising tens of thousands of rows) keeps the id cheap and still
  // covers every byte of the report.
  const reportId = makeId(REPORT_ID_PREFIX, {
    revision: options.revision,
    generated_at: generatedAt,
    recovery_slo_minutes: sloMinutes,
    generated_by: options.generatedBy,
    content_sha256: sha256Hex(JSON.stringify(content)),
  });
  const report: RetryRecoveryReport = {
    report_id: reportId,
    generated_at: generatedAt,
    generated_by: options.generatedBy,
    revision: options.revision,
    ...content,
  };
  const metadata: ReportMetadata = {
    schema: schemaIdOf('report', CURRENT_RECORD_VERSION),
    product: RECORD_PRODUCT,
    kind: REPORT_METADATA_KIND,
    session_id: reportId,
    created_at: generatedAt,
    signer: options.generatedBy,
    decision_count: rows.length,
    blocked_count: breached + failed,
    approval_required_count: open,
    revision: options.revision,
  };
  return { report, metadata };
}

/**
 * The report as format `version` writes it: v1 (reports committed before format v2) has no
 * `schema` and `product` in its metadata. `verify` recomputes a committed report in its own
 * version, so a ledger written before v2 still verifies byte-identical.
 */
export function reportAtVersion(envelope: ReportEnvelope, version: 1 | 2): ReportEnvelope {
  if (version === 2) return envelope;
  const { schema: _schema, product: _product, ...metadata } = envelope.metadata;
  return { report: envelope.report, metadata };
}

/**
 * Keys (`<playbook_id>/<provider>`) of the breached rows, sorted: the reconciler commits a new
 * report when this set changes even if no record was added.
 */
export function breachedRowKeys(report: RetryRecoveryReport): string[] {
  return report.recovery_rows
    .filter((row) => row.slo_breached)
    .map((row) => `${row.playbook_id}/${row.provider}`)
    .sort(compareStrings);
}

/**
 * When the next open row will cross its SLO (first instant its `age_minutes` exceeds
 * `sloMinutes`), strictly after `now`; null when no open row is still within its SLO. The loop
 * sleeps until then so a breach is committed on time without polling.
 */
export function nextBreachAt(records: RecordSet, sloMinutes: number, now: Date): IsoTime | null {
  const nowMs = now.getTime();
  let next = Number.POSITIVE_INFINITY;
  for (const row of listRecoveryRows(records.playbooks, records.closures)) {
    if (row.closed) continue;
    // floor((t − g)/60 s) > slo  ⇔  t − g ≥ (slo + 1) minutes.
    const breachMs = timeOf(row.playbook.generated_at) + (sloMinutes + 1) * MINUTE_MS;
    if (breachMs > nowMs && breachMs < next) next = breachMs;
  }
  return Number.isFinite(next) ? new Date(next).toISOString() : null;
}
