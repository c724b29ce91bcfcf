/**
 * `verify` (pure): recompute what the records claim. Every `*_hash`, every id that is a pure
 * function of the record's own fields, the approval each execution names, and the consistency of
 * attempt numbers and executions. A clean ledger gives no findings.
 */
import { countedDecisionId } from '../domain/approval-views.js';
import { compareStrings } from '../domain/recovery-state.js';
import { compareKeys, keyString } from '../domain/retry-rules.js';
import type {
  DeliveryRecord,
  ExecutionRecord,
  Finding,
  ManifestSet,
  RecordKind,
  RecordSet,
  RunRecord,
} from '../domain/types.js';
import { hasValidHash } from '../domain/hash.js';
import {
  approvalDecisionId,
  approvalPlanId,
  deliveryRecordId,
  executionId,
  retryPlanId,
  runId,
} from '../domain/ids.js';
import { verifyControls, type ControlMismatch } from '../domain/record-controls.js';
import { recordVersionOf } from '../domain/record-format.js';
import { HASH_FIELD, ID_FIELD, PRIMARY_TIME_FIELD, recordPath } from './layout.js';

export interface VerifyOptions {
  /**
   * Approval decision ids known from history (e.g. recomputed from the approval evidence blobs of
   * the executions), so an approval edited or removed after its execution still verifies.
   */
  knownApprovalDecisionIds?: ReadonlySet<string>;
  /** Leave out the hash and id checks (the caller made them already, e.g. per blob of history). */
  skipHashesAndIds?: boolean;
}

/** Findings for every record that does not verify; sorted by file, then rule. */
export function verifyRecords(
  records: RecordSet,
  manifests: ManifestSet,
  options: VerifyOptions = {},
): Finding[] {
  const findings: Finding[] = [];
  if (options.skipHashesAndIds !== true) {
    verifyHashes(records, findings);
    verifyIds(records, findings);
  }
  verifyExecutions(records, manifests, options, findings);
  verifyAttempts(records, findings);
  return findings.sort(
    (a, b) =>
      compareStrings(a.file, b.file) ||
      compareStrings(a.rule, b.rule) ||
      compareStrings(a.message, b.message),
  );
}

function verifyHashes(records: RecordSet, findings: Finding[]): void {
  for (const kind of Object.keys(HASH_FIELD) as RecordKind[]) {
    for (const record of records[kind] as object[]) {
      let valid: boolean;
      try {
        valid = hasValidHash(record, HASH_FIELD[kind]);
      } catch {
        valid = false;
      }
      if (!valid) {
        findings.push(
          at(
            kind,
            record,
            'verify.hash-mismatch',
            `${HASH_FIELD[kind]} does not match the record's content: the record was changed after it was written; restore it from git history.`,
          ),
        );
      }
    }
  }
}

function verifyIds(records: RecordSet, findings: Finding[]): void {
  for (const kind of ['deliveries', 'executions', 'runs'] as const) {
    for (const record of records[kind]) {
      for (const mismatch of checkRecordIds(kind, record)) {
        findings.push(at(kind, record, 'verify.id-mismatch', describeIdMismatch(mismatch)));
      }
    }
  }
}

/** An id field that its inputs do not recompute. */
/**
 * The controls a format-v2 record claims, recomputed (docs/records.md): a control whose
 * `passed` or `detail` does not recompute, an unknown or a missing one. v1 records have none.
 */
export function checkRecordControls(kind: RecordKind | 'claims', value: object): ControlMismatch[] {
  const record = value as Record<string, unknown>;
  if (recordVersionOf(record, kind) !== 2) return [];
  return verifyControls(kind, record, kind === 'claims' ? null : HASH_FIELD[kind]);
}

export interface IdMismatch {
  field: string;
  actual: string;
  expected: string;
}

/**
 * The ids of a record that are pure functions of its own fields, recomputed: a delivery's
 * `record_id`, an execution's `execution_id`, `retry_plan_id` and `approval_plan_id`, a run's
 * `run_id`. Other kinds have none. The record must have its kind's shape (read-records checks it).
 */
export function checkRecordIds(kind: RecordKind, value: object): IdMismatch[] {
  const mismatches: IdMismatch[] = [];
  const expect = (field: string, actual: string, expected: string): void => {
    if (actual !== expected) mismatches.push({ field, actual, expected });
  };
  if (kind === 'deliveries') {
    const record = value as DeliveryRecord;
    expect('record_id', record.record_id, deliveryRecordId(record, record.attempt));
  } else if (kind === 'executions') {
    const record = value as ExecutionRecord;
    expect(
      'execution_id',
      record.execution_id,
      executionId(record.approval_decision_id, record, record.attempt),
    );
    expect('retry_plan_id', record.retry_plan_id, retryPlanId(record, record.attempt));
    expect('approval_plan_id', record.approval_plan_id, approvalPlanId(record));
  } else if (kind === 'runs') {
    const record = value as RunRecord;
    expect('run_id', record.run_id, runId(record.source_revision, record.started_at, record.replica_id));
  }
  return mismatches;
}

export function describeIdMismatch(mismatch: IdMismatch): string {
  return `${mismatch.field} is "${mismatch.actual}" but its inputs give "${mismatch.expected}"; the record was not written by this version of cavra-gitops or was altered.`;
}

function verifyExecutions(
  records: RecordSet,
  manifests: ManifestSet,
  options: VerifyOptions,
  findings: Finding[],
): void {
  const decisions = new Set(manifests.approvals.map(approvalDecisionId));
  for (const id of options.knownApprovalDecisionIds ?? []) decisions.add(id);
  const byName = new Map(
    manifests.approvals.map((approval) => [approval.name, approvalDecisionId(approval)]),
  );
  const byDecision = new Map<string, ExecutionRecord[]>();
  const byId = new Map<string, ExecutionRecord[]>();
  for (const record of records.executions) {
    if (!decisions.has(record.approval_decision_id) && !isCountedSetOf(record, byName)) {
      findings.push(
        at(
          'executions',
          record,
          'verify.unknown-approval',
          `approval_decision_id ${record.approval_decision_id} matches no RetryApproval of this revision (manifest ${record.approval.manifest || 'unknown'}); an execution must name the approval that authorised it.`,
        ),
      );
    }
    push(byDecision, record.approval_decision_id, record);
    push(byId, record.execution_id, record);
  }
  for (const [decision, group] of byDecision) {
    for (const record of group.slice(1)) {
      findings.push(
        at(
          'executions',
          record,
          'verify.duplicate-execution',
          `approval decision ${decision} has ${group.length} execution records; one approval authorises exactly one execution.`,
        ),
      );
    }
  }
  for (const [id, group] of byId) {
    // Same id implies same decision, already reported above; report only distinct-decision clashes.
    if (new Set(group.map((record) => record.approval_decision_id)).size > 1) {
      findings.push(
        at(
          'executions',
          group[1] as ExecutionRecord,
          'verify.duplicate-execution',
          `execution id ${id} appears in ${group.length} execution records.`,
        ),
      );
    }
  }
}

/**
 * An execution that counted several approvals (quorum) names them in `approvals`; its decision id
 * is the hash of their decision ids, recomputed here from the approvals of this revision.
 */
function isCountedSetOf(record: ExecutionRecord, byName: ReadonlyMap<string, string>): boolean {
  const entries = Array.isArray(record.approvals) ? record.approvals : [];
  if (entries.length < 2) return false;
  const ids = entries.map((entry) => (typeof entry?.name === 'string' ? byName.get(entry.name) : undefined));
  if (ids.some((id) => id === undefined)) return false;
  return countedDecisionId(ids as string[]) === record.approval_decision_id;
}

function verifyAttempts(records: RecordSet, findings: Finding[]): void {
  const attemptsByKey = new Map<string, DeliveryRecord[]>();
  for (const record of records.deliveries) push(attemptsByKey, keyString(record), record);
  const groups = [...attemptsByKey.values()].sort((a, b) =>
    compareKeys(a[0] as DeliveryRecord, b[0] as DeliveryRecord),
  );
  for (const group of groups) {
    group.sort((a, b) => a.attempt - b.attempt);
    group.forEach((record, index) => {
      if (record.attempt !== index + 1) {
        findings.push(
          at(
            'deliveries',
            record,
            'verify.attempt-sequence',
            `attempt ${record.attempt} of ${keyString(record).replaceAll('\n', '/')} should be attempt ${index + 1}: attempts of a key are numbered 1, 2, 3, … without gaps or repeats.`,
          ),
        );
      }
      if ((record.attempt === 1) !== (record.execution_id === '')) {
        findings.push(
          at(
            'deliveries',
            record,
            'verify.attempt-sequence',
            record.attempt === 1
              ? 'attempt 1 is the initial delivery and has no execution_id.'
              : `attempt ${record.attempt} is a retry and must name its execution_id.`,
          ),
        );
      }
    });
  }
  const executionsById = new Map(records.executions.map((record) => [record.execution_id, record]));
  for (const record of records.deliveries) {
    if (record.execution_id === '') continue;
    const execution = executionsById.get(record.execution_id);
    if (execution && (execution.attempt !== record.attempt || keyString(execution) !== keyString(record))) {
      findings.push(
        at(
          'deliveries',
          record,
          'verify.attempt-mismatch',
          `delivery record and execution ${record.execution_id} disagree on key or attempt.`,
        ),
      );
    }
  }
  const deliveriesById = new Set(records.deliveries.map((record) => record.record_id));
  for (const record of records.executions) {
    if (record.attempt < 2) {
      findings.push(
        at(
          'executions',
          record,
          'verify.attempt-sequence',
          `execution attempt is ${record.attempt}, but a retry is attempt 2 or later.`,
        ),
      );
    }
    if (
      record.execution_status !== 'skipped' &&
      !deliveriesById.has(deliveryRecordId(record, record.attempt))
    ) {
      findings.push(
        at(
          'executions',
          record,
          'verify.missing-delivery',
          `execution ${record.execution_id} (${record.execution_status}) has no delivery record ${deliveryRecordId(record, record.attempt)}; every attempt made is recorded as a delivery.`,
        ),
      );
    }
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function at(kind: RecordKind, record: object, rule: string, message: string): Finding {
  const fields = record as Record<string, unknown>;
  const idValue = fields[ID_FIELD[kind]];
  const id = typeof idValue === 'string' ? idValue : '';
  const time = fields[PRIMARY_TIME_FIELD[kind]];
  let file: string;
  try {
    file = recordPath(kind, id, typeof time === 'string' ? time : '');
  } catch {
    file = `records/${kind}/${id}.json`;
  }
  return { file, line: 1, column: 1, kind, name: id, path: '', message, rule, severity: 'error' };
}
