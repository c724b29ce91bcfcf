/**
 * Every record at one revision, read in batch (one `ls-tree`, one `cat-file --batch`), parsed and
 * checked. A file that is not valid JSON, has the wrong shape, is filed under a name that is not
 * its id, or whose `*_hash` does not match its content is reported as a Finding and kept OUT of
 * the RecordSet: the rules never act on a record that cannot be trusted, and the finding (shown
 * by `validate`, `verify`, status and the API) makes sure it is never silently dropped either.
 */
import { collectClosureTargets } from '../domain/closures.js';
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import type { GitReader } from '../domain/ports.js';
import { readAheadInChunks } from '../domain/read-ahead.js';
import { compareStrings } from '../domain/recovery-state.js';
import type { Finding, RecordKind, RecordSet } from '../domain/types.js';
import { emptyRecordSet } from '../domain/types.js';
import type { ClosureTargets } from '../domain/closures.js';
import { hasValidHash } from '../domain/hash.js';
import { GitError } from '../errors.js';
import { recordVersionOf } from '../domain/record-format.js';
import { HASH_FIELD, ID_FIELD, PRIMARY_TIME_FIELD, RECORDS_DIR, parseRecordPath } from './layout.js';
import { validateRecordSchema } from './record-schemas.js';

/** Record files larger than this are refused unread (records are a few KiB). */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Record files read through the batch reader at a time. */
const READ_CHUNK = 2000;

/** One copy of each repeated value of a read (see {@link shareRepeatedValues}). */
export interface SharedValues {
  strings: Map<string, string>;
  /** Controls lists by their entries' (shared) names and values. */
  controls: Map<string, unknown[]>;
}

export interface RecordFile {
  path: string;
  content: Buffer;
}

export interface ReadRecordsResult {
  records: RecordSet;
  findings: Finding[];
}

/** What one file turned out to be: a record of a kind, or a finding. */
export type ParsedRecordFile =
  | {
      kind: RecordKind | 'claims';
      id: string;
      path: string;
      record: Record<string, unknown>;
      warning: Finding | null;
    }
  | { kind: null; finding: Finding };

/**
 * Outcomes of files already parsed and checked, by blob id. A blob id is the hash of the content,
 * so an outcome never goes stale: a long-running reconciler passes the same cache to every
 * readRecords call and only parses what is new (a no-op run parses nothing). An outcome depends
 * on the path too (the file name is the record's id), so it serves only a file at the path it
 * was parsed at ({@link cachedOutcome}); keyed by the blob alone, the cache adds no string per
 * record (a `<blob>:<path>` key cost 64 bytes of rope for each of 100,000 records).
 */
export type RecordCache = Map<string, ParsedRecordFile>;

/** The cached outcome of the file at `path` with content `blob`, if that is where it was parsed. */
export function cachedOutcome(
  cache: RecordCache | undefined,
  blob: string,
  path: string,
): ParsedRecordFile | undefined {
  const outcome = cache?.get(blob);
  if (outcome === undefined) return undefined;
  return (outcome.kind === null ? outcome.finding.file : outcome.path) === path ? outcome : undefined;
}

export interface ReadRecordsOptions {
  cache?: RecordCache;
  /** Called as record files are checked (the CLI draws a progress bar on a terminal). */
  onProgress?: (done: number, total: number) => void;
  /** Called with each file this read parses (not with cache hits), and the blob it was read from. */
  onParsed?: (blob: string, outcome: ParsedRecordFile) => void;
  /** Called with each file that has an outcome, cached or parsed now (not one refused for its size). */
  onFile?: (file: { path: string; blob: string }, outcome: ParsedRecordFile) => void;
}

/** Read, parse and check every file under `records/` at `commit` (one ls-tree, one blob batch). */
export async function readRecords(
  reader: GitReader,
  commit: string,
  options: ReadRecordsOptions = {},
): Promise<ReadRecordsResult> {
  const cache = options.cache;
  // No sizes in the listing: a file over the limit is refused as `cat-file` announces it.
  const entries = await reader.listTree(commit, [RECORDS_DIR], { sizes: false });
  const outcomes: ParsedRecordFile[] = [];
  const toRead: { path: string; blob: string }[] = [];
  for (const entry of entries) {
    const cached = cachedOutcome(cache, entry.blob, entry.path);
    if (cached) {
      outcomes.push(cached);
      options.onFile?.(entry, cached);
    } else toRead.push(entry);
  }
  options.onProgress?.(outcomes.length, entries.length);
  // Values many records repeat (provider, run id, revision, times, controls) are kept once for this read.
  const shared: SharedValues = { strings: new Map(), controls: new Map() };
  // Read and parse in chunks: the whole ledger's bytes (131 MB for 100,000 v1 records) are never
  // held at once, only two chunks', dropped as soon as their files are parsed.
  await readAheadInChunks(
    toRead,
    READ_CHUNK,
    (chunk) =>
      reader.readObjects([...new Set(chunk.map((entry) => entry.blob))], { maxBytes: MAX_RECORD_BYTES }),
    (chunk, objects) => {
      for (const entry of chunk) {
        const object = objects.get(entry.blob);
        if (object == null) {
          // As readBlobs: a blob the listing names is missing only from an incomplete repository.
          throw new GitError(
            `record blob ${entry.blob} (${entry.path}) not found at ${commit}; the repository may be incomplete, fetch again.`,
          );
        }
        if (object.content === null) {
          // Not cached and not passed on: only what was read has an outcome to keep.
          outcomes.push({ kind: null, finding: tooLarge(entry.path, object.size) });
        } else {
          const outcome = parseRecordFile({ path: entry.path, content: object.content }, shared);
          cache?.set(entry.blob, outcome);
          options.onParsed?.(entry.blob, outcome);
          options.onFile?.(entry, outcome);
          outcomes.push(outcome);
        }
        options.onProgress?.(outcomes.length, entries.length);
      }
    },
  );
  return assembleRecords(outcomes);
}

/** A record file over the size limit, refused unread. */
function tooLarge(path: string, size: number): Finding {
  return finding(
    path,
    '',
    '',
    'record.too-large',
    `record file is ${size} bytes, over the ${MAX_RECORD_BYTES}-byte limit; records are small JSON files, so this one was not written by cavra-gitops and should be removed.`,
  );
}

/** Parse and check record files already in memory (pure). The result does not depend on input order. */
export function parseRecordFiles(files: readonly RecordFile[]): ReadRecordsResult {
  return assembleRecords(files.map((file) => parseRecordFile(file)));
}

/**
 * One file on its own: its place in the layout, JSON, shape, id = file name, hash, month.
 * Records are frozen-by-convention: cached outcomes are shared between calls, never mutate them.
 */
export function parseRecordFile(file: RecordFile, shared?: SharedValues): ParsedRecordFile {
  const location = parseRecordPath(file.path);
  if (location === null) {
    return rejected(
      finding(
        file.path,
        '',
        '',
        'record.unknown-path',
        'this file is not where cavra-gitops writes records (records/<kind>/<YYYY-MM>/<id>.json or records/claims/<id>.json); move or remove it.',
        'warning',
      ),
    );
  }
  const { kind, id } = location;
  let value: unknown;
  try {
    value = JSON.parse(file.content.toString('utf8'));
  } catch (error) {
    return rejected(
      finding(
        file.path,
        kind,
        id,
        'record.invalid-json',
        `record is not valid JSON (${(error as Error).message}); restore it from git history.`,
      ),
    );
  }
  const shapeError = checkShape(kind, value);
  if (shapeError !== null) {
    return rejected(
      finding(
        file.path,
        kind,
        id,
        'record.invalid-shape',
        `record ${shapeError}; restore it from git history.`,
      ),
    );
  }
  const record = value as Record<string, unknown>;
  // The format (docs/records.md): `schema` names the version, none means v1 (written before v2).
  const version = recordVersionOf(record, kind);
  if (version === null) {
    return rejected({
      ...finding(
        file.path,
        kind,
        id,
        'record.unknown-schema',
        `record's schema "${String(record.schema).slice(0, 120)}" is not a ${kind} format this version of cavra-gitops reads; upgrade cavra-gitops, or restore the file from git history.`,
      ),
      path: '/schema',
    });
  }
  const violation = validateRecordSchema(kind, version, record);
  if (violation !== null) {
    return rejected({
      ...finding(
        file.path,
        kind,
        id,
        'record.schema-violation',
        `record ${violation.message} (rule "${violation.keyword}" of ${violation.schemaId}); restore it from git history.`,
      ),
      path: violation.field,
    });
  }
  const idField = ID_FIELD[kind];
  if (record[idField] !== id) {
    return rejected(
      finding(
        file.path,
        kind,
        id,
        'record.id-mismatch',
        `record's ${idField} is "${String(record[idField])}" but its file is named "${id}.json"; restore it from git history.`,
      ),
    );
  }
  // The record's own id string (equal to the file name's, checked above) is what the outcome
  // keeps: the file name's is a substring that would be one more string per record.
  const ownId = record[idField];
  if (kind === 'claims') return { kind, id: ownId, path: file.path, record, warning: null };
  if (shared) shareRepeatedValues(record, shared);
  let valid: boolean;
  try {
    valid = hasValidHash(record, HASH_FIELD[kind]);
  } catch {
    valid = false; // not hashable (e.g. a lone surrogate): it cannot have been written by us
  }
  if (!valid) {
    return rejected(
      finding(
        file.path,
        kind,
        id,
        'record.hash-mismatch',
        `record's ${HASH_FIELD[kind]} does not match its content, so it was edited after it was written; restore it from git history.`,
      ),
    );
  }
  const month = new Date(record[PRIMARY_TIME_FIELD[kind]] as string).toISOString().slice(0, 7);
  const warning =
    month === location.month
      ? null
      : finding(
          file.path,
          kind,
          id,
          'record.misfiled',
          `record's ${PRIMARY_TIME_FIELD[kind]} is in ${month} but it is filed under ${location.month}; it still counts, but move it to records/${kind}/${month}/.`,
          'warning',
        );
  return { kind, id: ownId, path: file.path, record, warning };
}

/**
 * Top-level fields whose values many records share: the provider, the delivery and audit a record
 * is of (one per provider and attempt), the run and revision that wrote them, batch times, the
 * writer. JSON.parse gives each record its own copy of every string.
 */
const REPEATED_FIELDS = [
  'schema',
  'product',
  'provider',
  'delivery_id',
  'audit_id',
  'error',
  'attempted_at',
  'completed_at',
  'executed_at',
  'executed_by',
  'execution_status',
  'generated_at',
  'generated_by',
  'recorded_at',
  'closed_at',
  'closure_state',
  'started_at',
  'replica_id',
  'run_id',
  'source_revision',
  'skipped',
] as const;

/**
 * Replace repeated string values of a freshly parsed record with the table's equal copy (also
 * the check ids and details of a v2 record's `controls`), its idempotency key with its delivery id
 * when they are equal, and its `controls` list with an equal one read before (most records of a
 * kind carry the same checks with the same details), so 100,000 records hold each such value
 * once. Values stay equal, so nothing a record says (or its hash) changes; records are never
 * mutated once read (see {@link parseRecordFile}), so sharing a list is safe.
 */
function shareRepeatedValues(record: Record<string, unknown>, shared: SharedValues): void {
  const { strings } = shared;
  const share = (value: string): string => {
    const kept = strings.get(value);
    if (kept !== undefined) return kept;
    strings.set(value, value);
    return value;
  };
  for (const field of REPEATED_FIELDS) {
    const value = record[field];
    if (typeof value === 'string') record[field] = share(value);
  }
  if (typeof record.delivery_id === 'string' && record.idempotency_key === record.delivery_id)
    record.idempotency_key = record.delivery_id;
  if (!Array.isArray(record.controls)) return;
  // The list's key: each entry's field names and values, length-prefixed (so two keys are equal
  // only for equal lists), when all values are strings or booleans.
  let key: string | null = '';
  for (const control of record.controls as unknown[]) {
    if (control === null || typeof control !== 'object' || Array.isArray(control)) {
      key = null;
      continue;
    }
    const entry = control as Record<string, unknown>;
    if (typeof entry.id === 'string') entry.id = share(entry.id);
    if (typeof entry.detail === 'string') entry.detail = share(entry.detail);
    for (const [name, value] of Object.entries(entry)) {
      if (key === null) break;
      if (typeof value === 'string') key += `${name.length}:${name}s${value.length}:${value}`;
      else if (typeof value === 'boolean') key += `${name.length}:${name}b${value ? 1 : 0}`;
      else key = null;
    }
    if (key !== null) key += '|';
  }
  if (key === null) return;
  const kept = shared.controls.get(key);
  if (kept !== undefined) record.controls = kept;
  else shared.controls.set(key, record.controls as unknown[]);
}

function rejected(result: Finding): ParsedRecordFile {
  return { kind: null, finding: result };
}

/** Outcomes → RecordSet (first copy of an id wins, in path order) + findings, all sorted. */
export function assembleRecords(outcomes: readonly ParsedRecordFile[]): ReadRecordsResult {
  const records = emptyRecordSet();
  const findings: Finding[] = [];
  const accepted: Extract<ParsedRecordFile, { record: object }>[] = [];
  for (const outcome of outcomes) {
    if (outcome.kind === null) findings.push(outcome.finding);
    else {
      if (outcome.warning) findings.push(outcome.warning);
      accepted.push(outcome);
    }
  }
  // By kind, id, then path: the copies of one id are neighbours, the first in path order first, so
  // duplicates are found without a map of every `<kind>/<id>` (100,000 new strings on a first run).
  accepted.sort(
    (a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.id, b.id) || compareStrings(a.path, b.path),
  );
  let first: (typeof accepted)[number] | undefined;
  for (const item of accepted) {
    if (first !== undefined && first.kind === item.kind && first.id === item.id) {
      findings.push(
        finding(
          item.path,
          item.kind,
          item.id,
          'record.duplicate-id',
          `record ${item.id} is also at ${first.path}; the first one counts, remove this copy.`,
        ),
      );
      continue;
    }
    first = item;
    (records[item.kind] as unknown[]).push(item.record);
  }
  sortById(records);
  findings.sort((a, b) => compareStrings(a.file, b.file) || compareStrings(a.rule, b.rule));
  return { records, findings };
}

/** playbook_id → provider names, and every delivery/execution/playbook/closure/run id (for manifest references). */
export function indexRecords(records: RecordSet): ClosureTargets {
  return collectClosureTargets(records);
}

// ---------------------------------------------------------------------------------------------
// Shapes: the fields the rules read, with their JSON types. Extra fields are allowed (forward
// compatible); a missing or mistyped field makes the record untrustworthy.
// ---------------------------------------------------------------------------------------------

type FieldType =
  'string' | 'number' | 'boolean' | 'string|null' | 'number|null' | 'string[]' | 'object' | 'array';

const KEY_FIELDS: [string, FieldType][] = [
  ['delivery_id', 'string'],
  ['audit_id', 'string'],
  ['provider', 'string'],
];

const SHAPES: Readonly<Record<RecordKind | 'claims', readonly [string, FieldType][]>> = {
  deliveries: [
    ['record_id', 'string'],
    ...KEY_FIELDS,
    ['attempt', 'number'],
    ['delivery_success', 'boolean'],
    ['status_code', 'number|null'],
    ['error', 'string'],
    ['execution_id', 'string'],
    ['idempotency_key', 'string'],
    ['attempted_at', 'string'],
    ['completed_at', 'string'],
    ['run_id', 'string'],
    ['source_revision', 'string'],
    ['record_hash', 'string'],
  ],
  executions: [
    ['execution_id', 'string'],
    ['execution_hash', 'string'],
    ['execution_status', 'string'],
    ['executed_at', 'string'],
    ['executed_by', 'string'],
    ['run_id', 'string'],
    ['retry_plan_id', 'string'],
    ['approval_decision_id', 'string'],
    ['approval_plan_id', 'string'],
    ...KEY_FIELDS,
    ['attempt', 'number'],
    ['skipped', 'string'],
    ['delivery_success', 'boolean'],
    ['selected_providers', 'string[]'],
    ['public_evidence_refs', 'string[]'],
    ['approval', 'object'],
    ['source_revision', 'string'],
  ],
  playbooks: [
    ['playbook_id', 'string'],
    ['playbook_hash', 'string'],
    ['generated_at', 'string'],
    ['generated_by', 'string'],
    ['failure_count', 'number'],
    ['provider_playbooks', 'array'],
  ],
  closures: [
    ['closure_id', 'string'],
    ['closure_hash', 'string'],
    ['playbook_id', 'string'],
    ['provider', 'string'],
    ['closure_state', 'string'],
    ['closed_at', 'string'],
    ['verification_refs', 'string[]'],
    ['recorded_at', 'string'],
  ],
  runs: [
    ['run_id', 'string'],
    ['run_hash', 'string'],
    ['replica_id', 'string'],
    ['started_at', 'string'],
    ['source_revision', 'string'],
  ],
  claims: [
    ['claim_id', 'string'],
    ['claim_kind', 'string'],
    ...KEY_FIELDS,
    ['attempt', 'number'],
    ['holder', 'string'],
    ['claimed_at', 'string'],
    ['lease_expires_at', 'string'],
  ],
};

const TIME_FIELDS = new Set([
  'attempted_at',
  'completed_at',
  'executed_at',
  'generated_at',
  'closed_at',
  'recorded_at',
  'started_at',
  'claimed_at',
  'lease_expires_at',
]);

function checkShape(kind: RecordKind | 'claims', value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'is not a JSON object';
  const record = value as Record<string, unknown>;
  for (const [field, type] of SHAPES[kind]) {
    const member = record[field];
    if (!hasType(member, type)) return `field ${field} is ${describe(member)}, expected ${type}`;
    if (TIME_FIELDS.has(field) && Number.isNaN(Date.parse(member as string))) {
      return `field ${field} is not an ISO-8601 time`;
    }
  }
  if (kind === 'playbooks') {
    const rows = record.provider_playbooks as unknown[];
    if (
      !rows.every(
        (row) =>
          row !== null &&
          typeof row === 'object' &&
          typeof (row as { provider?: unknown }).provider === 'string',
      )
    ) {
      return 'field provider_playbooks has a row without a provider name';
    }
  }
  if (
    (kind === 'deliveries' || kind === 'executions' || kind === 'claims') &&
    !Number.isInteger(record.attempt)
  ) {
    return 'field attempt is not an integer';
  }
  if (kind === 'claims' && record.claim_kind !== 'delivery' && record.claim_kind !== 'execution') {
    return 'field claim_kind is neither "delivery" nor "execution"';
  }
  return null;
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value === type;
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'number|null':
      return value === null || typeof value === 'number';
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : withIndefiniteArticle(typeof value);
}

function sortById(records: RecordSet): void {
  const by =
    <T>(field: keyof T) =>
    (a: T, b: T) => {
      const x = String(a[field]);
      const y = String(b[field]);
      return x < y ? -1 : x > y ? 1 : 0;
    };
  records.deliveries.sort(by('record_id'));
  records.executions.sort(by('execution_id'));
  records.playbooks.sort(by('playbook_id'));
  records.closures.sort(by('closure_id'));
  records.runs.sort(by('run_id'));
  records.claims.sort(by('claim_id'));
}

function finding(
  file: string,
  kind: string,
  name: string,
  rule: string,
  message: string,
  severity: Finding['severity'] = 'error',
): Finding {
  return { file, line: 1, column: 1, kind, name, path: '', message, rule, severity };
}
