/**
 * Where records live in the ops repository and how their files look (docs/reference.md §2):
 * `records/<kind>/<YYYY-MM>/<id>.json` (UTC month of the record's primary timestamp),
 * `records/claims/<id>.json`, pretty JSON with 2 spaces, a stable key order and a trailing newline.
 */
import type { IsoTime, RecordKind } from '../domain/types.js';
import { RECORD_KINDS } from '../domain/types.js';
import { InternalError } from '../errors.js';
import { writeJson, type JsonLayout } from '../domain/canonical-json.js';

export const RECORDS_DIR = 'records/';
export const CLAIMS_DIR = 'records/claims/';
/** The report as the API serves it, and the same for humans. */
export const REPORT_JSON_PATH = 'reports/retry-recovery-report.json';
export const REPORT_MD_PATH = 'reports/retry-recovery-report.md';
/** The reconciler's status document (src/domain/conditions.ts). */
export const STATUS_PATH = 'reports/status.json';

/** The timestamp field that places a record of each kind in its `YYYY-MM` directory. */
export const PRIMARY_TIME_FIELD: Readonly<Record<RecordKind, string>> = {
  deliveries: 'attempted_at',
  executions: 'executed_at',
  playbooks: 'generated_at',
  closures: 'recorded_at',
  runs: 'started_at',
};

/** The field holding the id (and file name) of a record of each kind. */
export const ID_FIELD: Readonly<Record<RecordKind | 'claims', string>> = {
  deliveries: 'record_id',
  executions: 'execution_id',
  playbooks: 'playbook_id',
  closures: 'closure_id',
  runs: 'run_id',
  claims: 'claim_id',
};

/** The `*_hash` field of each hashed record kind (claims are not hashed: they are removed, not kept). */
export const HASH_FIELD: Readonly<Record<RecordKind, string>> = {
  deliveries: 'record_hash',
  executions: 'execution_hash',
  playbooks: 'playbook_hash',
  closures: 'closure_hash',
  runs: 'run_hash',
};

// File names are ids: DNS-1123 names, dots and the hex of hashed ids. Anything else (a path
// separator, `..`, spaces) is refused so a record id can never address a file outside its folder.
const SAFE_ID = /^[a-z0-9](?:[a-z0-9.-]{0,250}[a-z0-9])?$/;

function assertSafeId(id: string): void {
  if (!SAFE_ID.test(id) || id.includes('..')) {
    throw new InternalError(
      `record id "${id}" cannot be a file name; ids are lower-case letters, digits, '-' and '.', so fix the code that built it.`,
    );
  }
}

/** `records/<kind>/<YYYY-MM>/<id>.json`, where `YYYY-MM` is the UTC month of `at`. */
export function recordPath(kind: RecordKind, id: string, at: IsoTime): string {
  assertSafeId(id);
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) {
    throw new InternalError(`record ${id}: "${at}" is not an ISO-8601 time, so it cannot be filed by month.`);
  }
  const month = `${String(time.getUTCFullYear()).padStart(4, '0')}-${String(time.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${RECORDS_DIR}${kind}/${month}/${id}.json`;
}

/** `records/claims/<id>.json`. */
export function claimPath(claimId: string): string {
  assertSafeId(claimId);
  return `${CLAIMS_DIR}${claimId}.json`;
}

/** What a path under `records/` names, or null when it is not a record or claim file. */
export type ParsedRecordPath =
  { kind: RecordKind; month: string; id: string } | { kind: 'claims'; month: null; id: string };

const RECORD_PATH = /^records\/([a-z]+)\/(\d{4}-(?:0[1-9]|1[0-2]))\/([^/]+)\.json$/;
const CLAIM_PATH = /^records\/claims\/([^/]+)\.json$/;

/**
 * The same shapes as {@link parseRecordPath}, without captures: a first check of the ledger tells
 * the kind of every path it walks (100,000 and more), and `test` allocates no match array.
 */
const recordFilePath = (kinds: readonly string[]): RegExp =>
  new RegExp(`^records/(?:${kinds.join('|')})/\\d{4}-(?:0[1-9]|1[0-2])/[^/]+\\.json$`);
const RECORD_FILE_PATH = recordFilePath(RECORD_KINDS);
const DELIVERY_OR_EXECUTION_PATH = recordFilePath(['deliveries', 'executions']);
const CLAIM_FILE_PATH = /^records\/claims\/[^/]+\.json$/;

/** What `path` is under `records/`: a record file, a claim file, or neither (null). */
export function recordFileKind(path: string): 'record' | 'claim' | null {
  if (CLAIM_FILE_PATH.test(path)) return 'claim';
  return RECORD_FILE_PATH.test(path) ? 'record' : null;
}

/**
 * The id of a delivery or execution record file (the ids a reconciler remembers it recorded),
 * null for any other path.
 */
export function deliveryOrExecutionIdOf(path: string): string | null {
  return DELIVERY_OR_EXECUTION_PATH.test(path)
    ? path.slice(path.lastIndexOf('/') + 1, -'.json'.length)
    : null;
}

/** Parse `records/<kind>/<YYYY-MM>/<id>.json` or `records/claims/<id>.json`; null for anything else. */
export function parseRecordPath(path: string): ParsedRecordPath | null {
  const claim = CLAIM_PATH.exec(path);
  if (claim) return { kind: 'claims', month: null, id: claim[1] ?? '' };
  const match = RECORD_PATH.exec(path);
  if (!match) return null;
  const kind = match[1] as RecordKind;
  if (!RECORD_KINDS.includes(kind)) return null;
  return { kind, month: match[2] ?? '', id: match[3] ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------

/*
 * Key order. Record files are read by humans in diffs, so fields appear in the order the record
 * interfaces declare them in src/domain/types.ts (id and hash first, evidence last), which is
 * also CAVRA's order. The kind is recognised from the record's own fields (its `*_hash` or
 * `claim_id`), so the order is a pure function of the content: any key not in the list (an
 * unknown record, a future field) follows the known ones in UTF-16 code-unit order, and objects
 * with no declared order are fully sorted. Same content → same bytes, whatever the insertion order.
 */
const DELIVERY_KEY_FIELDS = ['delivery_id', 'audit_id', 'provider'];
/** Format v2 (docs/records.md): what the file is, first; its controls last (before a trailing hash). */
const FORMAT_FIELDS = ['schema', 'product'];

/** A declared member order, with its set for the lookups. */
interface KeyOrder {
  fields: readonly string[];
  declared: ReadonlySet<string>;
}

/** Each field once, so that the count of declared keys a record has tells whether it has others. */
function keyOrder(fields: readonly string[]): KeyOrder {
  const declared = new Set(fields);
  return { fields: [...declared], declared };
}

/** Objects with no declared order: every member in UTF-16 order. */
const UNORDERED = keyOrder([]);

const TOP_LEVEL_ORDER: readonly { marker: string; order: KeyOrder }[] = [
  {
    marker: 'execution_hash',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'execution_id',
      'execution_hash',
      'execution_status',
      'executed_at',
      'executed_by',
      'run_id',
      'retry_plan_id',
      'approval_decision_id',
      'approval_plan_id',
      ...DELIVERY_KEY_FIELDS,
      'attempt',
      'skipped',
      'delivery_success',
      'status_code',
      'error',
      'selected_providers',
      'public_evidence_refs',
      'approval',
      'approvals',
      'emergency',
      'source_revision',
      'delivery_plan_id',
      'delivery_metadata_id',
      'controls',
    ]),
  },
  {
    marker: 'record_hash',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'record_id',
      ...DELIVERY_KEY_FIELDS,
      'attempt',
      'delivery_success',
      'status_code',
      'error',
      'execution_id',
      'idempotency_key',
      'attempted_at',
      'completed_at',
      'run_id',
      'source_revision',
      'controls',
      'record_hash',
    ]),
  },
  {
    marker: 'playbook_hash',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'playbook_id',
      'playbook_hash',
      'generated_at',
      'generated_by',
      'lookback_hours',
      'min_failure_count',
      'provider_count',
      'failure_count',
      'provider_playbooks',
      'source_revision',
      'alert_level',
      'private_connector_boundary',
      'controls',
    ]),
  },
  {
    marker: 'closure_hash',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'closure_id',
      'closure_hash',
      'playbook_id',
      'provider',
      'closure_state',
      'closed_by',
      'closed_at',
      'external_ref',
      'notes',
      'verification_refs',
      'source',
      'recorded_at',
      'source_revision',
      'controls',
    ]),
  },
  {
    marker: 'run_hash',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'run_id',
      'run_hash',
      'replica_id',
      'started_at',
      'source_revision',
      'delivery_count',
      'execution_count',
      'playbook_count',
      'closure_count',
      'accepted_ledger_changes',
      'accepted_history',
      'controls',
    ]),
  },
  {
    marker: 'claim_id',
    order: keyOrder([
      ...FORMAT_FIELDS,
      'claim_id',
      'claim_kind',
      ...DELIVERY_KEY_FIELDS,
      'attempt',
      'holder',
      'claimed_at',
      'lease_expires_at',
      'source_revision',
      'approval_names',
      'controls',
    ]),
  },
];

/** Declared order of nested objects, by the member name that holds them (or an array of them). */
// A Map, not an object literal: a member named `valueOf` or `constructor` must not find Object.prototype.
const NESTED_ORDER: ReadonlyMap<string, KeyOrder> = new Map(
  Object.entries({
    approval: ['name', 'manifest', 'blob', 'commit', 'author', 'signature', 'base'],
    approvals: ['name', 'manifest', 'blob', 'commit', 'author', 'signature', 'base'],
    signature: ['status', 'principal'],
    controls: ['id', 'passed', 'detail'],
    source: ['name', 'manifest', 'blob', 'commit', 'author'],
    provider_playbooks: [
      'provider',
      'category',
      'failure_count',
      'latest_failure_at',
      'status_codes',
      'recovery_steps',
    ],
  }).map(([member, fields]) => [member, keyOrder(fields)]),
);

/** A record file's layout: 2 spaces, members in their declared order (see above). */
const RECORD_FILE: JsonLayout<KeyOrder> = {
  indent: '  ',
  keys: orderKeys,
  memberOrder: (key) => NESTED_ORDER.get(key) ?? UNORDERED,
};

/**
 * The record file's text: pretty JSON (2 spaces), keys in the stable order described above,
 * numbers and strings exactly as RFC 8785 writes them, and a trailing newline. Checks every value
 * as canonicalJson does, in the same pass (throws InternalError for NaN, lone surrogates, ...).
 */
export function serializeRecord(record: object): string {
  const top = TOP_LEVEL_ORDER.find((entry) => Object.hasOwn(record, entry.marker));
  return `${writeJson(record, RECORD_FILE, top?.order ?? UNORDERED)}\n`;
}

/** The declared keys `record` has, in their order, then the others in UTF-16 order. */
function orderKeys(record: Readonly<Record<string, unknown>>, order: KeyOrder): string[] {
  const keys = Object.keys(record);
  if (order.fields.length === 0) return keys.sort();
  // Own and enumerable: exactly the keys Object.keys lists.
  const known = order.fields.filter((key) => Object.prototype.propertyIsEnumerable.call(record, key));
  // All of them declared (the usual record): nothing else to sort.
  if (known.length === keys.length) return known;
  return known.concat(keys.filter((key) => !order.declared.has(key)).sort());
}
