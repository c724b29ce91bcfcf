/**
 * The history and dashboard views of docs/reference.md §8 (`GET B` and `GET B/dashboard`), pure functions of
 * the records of one revision. History items are the records themselves, flattened as in CAVRA's
 * metadata history: each carries `metadata_kind`, `metadata_id` and `created_at` beside its fields.
 */
import { compareStrings, listRecoveryRows, timeOf } from './recovery-state.js';
import { countEmergencyExecutions } from './report.js';
import type {
  ClosureRecord,
  DeliveryRecord,
  ExecutionRecord,
  IsoTime,
  ManifestSet,
  PlaybookRecord,
  RecordSet,
} from './types.js';

const HISTORY_SCHEMA_VERSION = 1;
const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 500;

const KIND_PREFIX = 'go-backend-rollback-drill-acknowledgement-audit-delivery-';

/** CAVRA's metadata kinds of the records in history, by short name. */
export const HISTORY_METADATA_KINDS = {
  delivery: `${KIND_PREFIX}connector-delivery`,
  execution: `${KIND_PREFIX}retry-execution-record`,
  playbook: `${KIND_PREFIX}connector-recovery-playbook`,
  closure: `${KIND_PREFIX}connector-recovery-closure`,
} as const;

export type HistoryKindName = keyof typeof HISTORY_METADATA_KINDS;
export type HistoryMetadataKind = (typeof HISTORY_METADATA_KINDS)[HistoryKindName];

interface HistoryItemBase {
  metadata_kind: HistoryMetadataKind;
  /** The record's id (delivery `record_id`, `execution_id`, `playbook_id`, `closure_id`). */
  metadata_id: string;
  /** When it happened: `completed_at`, `executed_at`, `generated_at` or `closed_at`. */
  created_at: IsoTime;
}

export type HistoryItem =
  | (HistoryItemBase & DeliveryRecord)
  | (HistoryItemBase & ExecutionRecord)
  | (HistoryItemBase & PlaybookRecord)
  | (HistoryItemBase & ClosureRecord);

export interface HistoryFilters {
  provider?: string;
  /** A full metadata kind (short names `delivery`, `execution`, `playbook`, `closure` are parsed to it). */
  metadata_kind?: HistoryMetadataKind;
  delivery_success?: boolean;
  audit_id?: string;
  delivery_id?: string;
  limit: number;
  offset: number;
}

export interface HistoryPage {
  schema_version: number;
  items: HistoryItem[];
  total: number;
  limit: number;
  offset: number;
}

/** A 400-style parameter error: the API answers `{error: {code, message}}`. */
export interface ParameterError {
  code: 'invalid_parameter';
  message: string;
}

export type HistoryFiltersResult =
  { ok: true; filters: HistoryFilters } | { ok: false; error: ParameterError };

const STRING_FILTERS = ['provider', 'audit_id', 'delivery_id'] as const;

function invalid(message: string): { ok: false; error: ParameterError } {
  return { ok: false, error: { code: 'invalid_parameter', message } };
}

/** Show a user value in a message without echoing an unbounded string. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function parseInteger(name: string, raw: string, min: number, max: number): number | ParameterError {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    return {
      code: 'invalid_parameter',
      message: `${name}=${shown(raw)} is not valid; use a whole number ${range}.`,
    };
  }
  return Number(raw);
}

/**
 * Parse history query parameters (as express gives them: string, string[] or absent). Unknown
 * parameters are ignored, as browsers and proxies add their own; a repeated one is an error.
 */
export function parseHistoryFilters(query: Readonly<Record<string, unknown>>): HistoryFiltersResult {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') return invalid(`${name} must be given once as a plain value.`);
    values.set(name, value);
  }
  const filters: HistoryFilters = { limit: HISTORY_DEFAULT_LIMIT, offset: 0 };
  for (const name of STRING_FILTERS) {
    const value = values.get(name);
    if (value === undefined) continue;
    if (value === '') return invalid(`${name} must not be empty; leave it out to list everything.`);
    filters[name] = value;
  }
  const kind = values.get('metadata_kind');
  if (kind !== undefined) {
    let full: HistoryMetadataKind | undefined;
    if ((Object.values(HISTORY_METADATA_KINDS) as string[]).includes(kind))
      full = kind as HistoryMetadataKind;
    else if (Object.hasOwn(HISTORY_METADATA_KINDS, kind))
      full = HISTORY_METADATA_KINDS[kind as HistoryKindName];
    if (full === undefined) {
      const accepted = Object.keys(HISTORY_METADATA_KINDS).join(', ');
      return invalid(
        `metadata_kind=${shown(kind)} is not known; use one of ${accepted} (or the full ${KIND_PREFIX}… kind).`,
      );
    }
    filters.metadata_kind = full;
  }
  const success = values.get('delivery_success');
  if (success !== undefined) {
    if (success !== 'true' && success !== 'false') {
      return invalid(`delivery_success=${shown(success)} is not valid; use true or false.`);
    }
    filters.delivery_success = success === 'true';
  }
  const limit = values.get('limit');
  if (limit !== undefined) {
    const parsed = parseInteger('limit', limit, 1, HISTORY_MAX_LIMIT);
    if (typeof parsed !== 'number') return { ok: false, error: parsed };
    filters.limit = parsed;
  }
  const offset = values.get('offset');
  if (offset !== undefined) {
    const parsed = parseInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
    if (typeof parsed !== 'number') return { ok: false, error: parsed };
    filters.offset = parsed;
  }
  return { ok: true, filters };
}

interface Candidate {
  ms: number;
  item: HistoryItem;
}

function matchesRecord(
  filters: HistoryFilters,
  providers: readonly string[],
  fields: { delivery_success?: boolean; audit_id?: string; delivery_id?: string },
): boolean {
  if (filters.provider !== undefined && !providers.includes(filters.provider)) return false;
  if (filters.delivery_success !== undefined && fields.delivery_success !== filters.delivery_success)
    return false;
  if (filters.audit_id !== undefined && fields.audit_id !== filters.audit_id) return false;
  if (filters.delivery_id !== undefined && fields.delivery_id !== filters.delivery_id) return false;
  return true;
}

function wants(filters: HistoryFilters, kind: HistoryKindName): boolean {
  return filters.metadata_kind === undefined || filters.metadata_kind === HISTORY_METADATA_KINDS[kind];
}

/**
 * One page of history: delivery, execution, playbook and closure records matching the filters,
 * newest first (then by kind and id, a total order). A filter on a field a kind does not have
 * (e.g. `delivery_success` for playbooks) excludes that kind; `provider` matches a playbook that
 * covers the provider.
 */
export function computeHistory(records: RecordSet, filters: HistoryFilters): HistoryPage {
  const candidates: Candidate[] = [];
  if (wants(filters, 'delivery')) {
    for (const record of records.deliveries) {
      if (!matchesRecord(filters, [record.provider], record)) continue;
      const createdAt = record.completed_at || record.attempted_at;
      candidates.push({
        ms: timeOf(createdAt),
        item: {
          metadata_kind: HISTORY_METADATA_KINDS.delivery,
          metadata_id: record.record_id,
          created_at: createdAt,
          ...record,
        },
      });
    }
  }
  if (wants(filters, 'execution')) {
    for (const record of records.executions) {
      if (!matchesRecord(filters, [record.provider], record)) continue;
      candidates.push({
        ms: timeOf(record.executed_at),
        item: {
          metadata_kind: HISTORY_METADATA_KINDS.execution,
          metadata_id: record.execution_id,
          created_at: record.executed_at,
          ...record,
        },
      });
    }
  }
  if (wants(filters, 'playbook')) {
    for (const record of records.playbooks) {
      const providers = record.provider_playbooks.map((entry) => entry.provider);
      if (!matchesRecord(filters, providers, {})) continue;
      candidates.push({
        ms: timeOf(record.generated_at),
        item: {
          metadata_kind: HISTORY_METADATA_KINDS.playbook,
          metadata_id: record.playbook_id,
          created_at: record.generated_at,
          ...record,
        },
      });
    }
  }
  if (wants(filters, 'closure')) {
    for (const record of records.closures) {
      if (!matchesRecord(filters, [record.provider], {})) continue;
      candidates.push({
        ms: timeOf(record.closed_at),
        item: {
          metadata_kind: HISTORY_METADATA_KINDS.closure,
          metadata_id: record.closure_id,
          created_at: record.closed_at,
          ...record,
        },
      });
    }
  }
  candidates.sort(
    (a, b) =>
      b.ms - a.ms ||
      compareStrings(a.item.metadata_kind, b.item.metadata_kind) ||
      compareStrings(a.item.metadata_id, b.item.metadata_id),
  );
  return {
    schema_version: HISTORY_SCHEMA_VERSION,
    items: candidates
      .slice(filters.offset, filters.offset + filters.limit)
      .map((candidate) => candidate.item),
    total: candidates.length,
    limit: filters.limit,
    offset: filters.offset,
  };
}

export type DeliveryHealth = 'critical' | 'warning' | 'healthy';

/** CAVRA's `acknowledgement_audit_delivery_*` dashboard counters for this flow. */
export interface Dashboard {
  /** AuditDelivery manifests (with `manifests`), else distinct delivery ids among delivery records. */
  acknowledgement_audit_delivery_plan_count: number;
  /** Delivery attempts (records), initial and retries. */
  acknowledgement_audit_delivery_count: number;
  acknowledgement_audit_delivery_success_count: number;
  failed_acknowledgement_audit_delivery_count: number;
  /** round(success / count, 4), null when there are no attempts. */
  acknowledgement_audit_delivery_success_rate: number | null;
  /** Providers that have delivery records, sorted. */
  acknowledgement_audit_delivery_providers: string[];
  acknowledgement_audit_delivery_provider_count: number;
  /** Delivery attempts after the first (attempt > 1). */
  acknowledgement_audit_delivery_retry_count: number;
  /** Keys (delivery, audit, provider) whose latest attempt failed: failures nobody has fixed yet. */
  acknowledgement_audit_delivery_outstanding_failure_count: number;
  acknowledgement_audit_delivery_retry_execution_count: number;
  acknowledgement_audit_delivery_retry_execution_success_count: number;
  /** failed + skipped executions, as in the report. */
  acknowledgement_audit_delivery_retry_execution_failed_count: number;
  /** Executions under a break-glass approval (`emergency: true`). */
  acknowledgement_audit_delivery_retry_emergency_execution_count: number;
  /** Emergency executions no closure cites in its `verification_refs`. */
  acknowledgement_audit_delivery_retry_emergency_unclosed_count: number;
  acknowledgement_audit_delivery_recovery_playbook_count: number;
  /** Recovery rows (playbook × provider). */
  acknowledgement_audit_delivery_recovery_row_count: number;
  acknowledgement_audit_delivery_recovery_closure_count: number;
  acknowledgement_audit_delivery_recovery_closed_count: number;
  acknowledgement_audit_delivery_recovery_open_count: number;
  /**
   * critical: a key's latest attempt failed, or an emergency execution has no closure citing it;
   * warning: a recovery row is open; else healthy.
   */
  acknowledgement_audit_delivery_health: DeliveryHealth;
}

/** The dashboard counters of docs/reference.md §8 (`GET B/dashboard`). Time-independent: no SLO here (see the report). */
export function computeDashboard(records: RecordSet, manifests?: Pick<ManifestSet, 'deliveries'>): Dashboard {
  let success = 0;
  let retries = 0;
  const providers = new Set<string>();
  const deliveryIds = new Set<string>();
  const latestByKey = new Map<string, DeliveryRecord>();
  for (const record of records.deliveries) {
    if (record.delivery_success) success += 1;
    if (record.attempt > 1) retries += 1;
    providers.add(record.provider);
    deliveryIds.add(record.delivery_id);
    const key = `${record.delivery_id}\u0000${record.audit_id}\u0000${record.provider}`;
    const current = latestByKey.get(key);
    if (current === undefined || isLaterAttempt(record, current)) latestByKey.set(key, record);
  }
  let outstanding = 0;
  for (const record of latestByKey.values()) if (!record.delivery_success) outstanding += 1;

  let executionSuccess = 0;
  let executionFailed = 0;
  for (const record of records.executions) {
    if (record.execution_status === 'delivered') executionSuccess += 1;
    else if (record.execution_status === 'failed' || record.execution_status === 'skipped')
      executionFailed += 1;
  }
  const rows = listRecoveryRows(records.playbooks, records.closures);
  const closed = rows.filter((row) => row.closed).length;
  const open = rows.length - closed;
  const count = records.deliveries.length;
  const emergencies = countEmergencyExecutions(records);
  return {
    acknowledgement_audit_delivery_plan_count: manifests ? manifests.deliveries.length : deliveryIds.size,
    acknowledgement_audit_delivery_count: count,
    acknowledgement_audit_delivery_success_count: success,
    failed_acknowledgement_audit_delivery_count: count - success,
    acknowledgement_audit_delivery_success_rate:
      count === 0 ? null : Math.round((success / count) * 10_000) / 10_000,
    acknowledgement_audit_delivery_providers: [...providers].sort(compareStrings),
    acknowledgement_audit_delivery_provider_count: providers.size,
    acknowledgement_audit_delivery_retry_count: retries,
    acknowledgement_audit_delivery_outstanding_failure_count: outstanding,
    acknowledgement_audit_delivery_retry_execution_count: records.executions.length,
    acknowledgement_audit_delivery_retry_execution_success_count: executionSuccess,
    acknowledgement_audit_delivery_retry_execution_failed_count: executionFailed,
    acknowledgement_audit_delivery_retry_emergency_execution_count: emergencies.total,
    acknowledgement_audit_delivery_retry_emergency_unclosed_count: emergencies.unclosed,
    acknowledgement_audit_delivery_recovery_playbook_count: records.playbooks.length,
    acknowledgement_audit_delivery_recovery_row_count: rows.length,
    acknowledgement_audit_delivery_recovery_closure_count: records.closures.length,
    acknowledgement_audit_delivery_recovery_closed_count: closed,
    acknowledgement_audit_delivery_recovery_open_count: open,
    acknowledgement_audit_delivery_health:
      outstanding > 0 || emergencies.unclosed > 0 ? 'critical' : open > 0 ? 'warning' : 'healthy',
  };
}

/** Later attempt number wins; same attempt (should not happen): later completion, then record id. */
function isLaterAttempt(a: DeliveryRecord, b: DeliveryRecord): boolean {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt;
  const byTime = timeOf(a.completed_at) - timeOf(b.completed_at);
  if (byTime !== 0) return byTime > 0;
  return a.record_id > b.record_id;
}
