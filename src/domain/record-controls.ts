/**
 * `controls[]` of a record (docs/records.md): each entry names a check the reconciler ran on the
 * record it is written in, and whether it held. CAVRA writes fixed sentences ("contains no
 * connector secret or private endpoint"); here every control is recomputed from the record by
 * `verify` (verifyControls), so a control is evidence, not a slogan: a record that claims a
 * control its content does not satisfy is a finding.
 */
import { redactUrls } from '../redact.js';
import { executionId } from './ids.js';
import type { RecordKind } from './types.js';

/** A record kind, claims, or the report (record-format.ts's RecordSubject; not imported: no cycle). */
type RecordSubject = RecordKind | 'claims' | 'report';

export interface RecordControl {
  id: string;
  passed: boolean;
  detail: string;
}

/** Control ids, stable: auditors filter on them. */
const CONTROL_IDS = {
  /**
   * Every string is unchanged by the project's redaction (src/redact.ts) as it runs with no
   * secret known, as `verify` runs it: redactUrls, which is redactText without secrets.
   */
  secretScan: 'secret-scan',
  /** The connector error passed through redaction before it was recorded. */
  redaction: 'redaction-applied',
  /** Which fields the `*_hash` covers. */
  hashCoverage: 'hash-coverage',
  /** The execution id recomputes from (approval decision, key, attempt): the idempotency key. */
  idempotencyKey: 'idempotency-key',
} as const;

/**
 * The controls of `record` (without `controls` and without its hash): computed, never asserted.
 * `hashField` null for claims (not hashed: they are removed, not kept).
 */
export function computeControls(
  subject: RecordSubject,
  record: Record<string, unknown>,
  hashField: string | null,
): RecordControl[] {
  const controls: RecordControl[] = [secretScan(subject, record)];
  if (subject === 'deliveries' || subject === 'executions') controls.push(redactionApplied(record));
  if (subject === 'executions') controls.push(idempotencyKey(record));
  if (hashField !== null) controls.push(hashCoverage(subject, record, hashField));
  return controls;
}

function secretScan(subject: RecordSubject, record: Record<string, unknown>): RecordControl {
  const strings = collectStrings(record);
  const changed = strings.filter((text) => redactUrls(text) !== text).length;
  const what =
    subject === 'closures'
      ? 'the closure records public-safe operator evidence'
      : 'contains no connector secret or private endpoint';
  return {
    id: CONTROL_IDS.secretScan,
    passed: changed === 0,
    detail:
      changed === 0
        ? `${what}: ${strings.length} string values scanned, none changed by redaction (URL credentials, query strings, fragments, secret webhook paths)`
        : `${changed} of ${strings.length} string values would be changed by redaction`,
  };
}

function redactionApplied(record: Record<string, unknown>): RecordControl {
  const error = typeof record.error === 'string' ? record.error : '';
  const redacted = redactUrls(error) === error;
  return {
    id: CONTROL_IDS.redaction,
    passed: redacted,
    detail:
      error === ''
        ? 'no connector error to redact'
        : redacted
          ? 'the connector error is public-safe: redacted before it was recorded'
          : 'the connector error is not redacted',
  };
}

function idempotencyKey(record: Record<string, unknown>): RecordControl {
  const key = {
    delivery_id: String(record.delivery_id),
    audit_id: String(record.audit_id),
    provider: String(record.provider),
  };
  const expected = executionId(String(record.approval_decision_id), key, Number(record.attempt));
  const passed = record.execution_id === expected;
  return {
    id: CONTROL_IDS.idempotencyKey,
    passed,
    detail: passed
      ? 'execution_id is a pure function of approval_decision_id, delivery_id, audit_id, provider and attempt, and is the idempotency key sent to the connector'
      : 'execution_id does not recompute from approval_decision_id, delivery_id, audit_id, provider and attempt',
  };
}

function hashCoverage(
  subject: RecordSubject,
  record: Record<string, unknown>,
  hashField: string,
): RecordControl {
  // The default sort: UTF-16 code-unit order (compareStrings' order), without a call per comparison.
  const covered = [...Object.keys(record).filter((key) => record[key] !== undefined), 'controls']
    .filter((key) => key !== hashField)
    .sort();
  const lead =
    subject === 'closures'
      ? 'the hash covers playbook, provider, state and verification refs'
      : subject === 'playbooks'
        ? 'the hash covers every provider playbook, its failures and recovery steps'
        : `the hash covers the whole record`;
  return {
    id: CONTROL_IDS.hashCoverage,
    passed: true,
    detail: `${lead}: ${hashField} = SHA-256 of the RFC 8785 JSON of every field but itself (${covered.join(', ')})`,
  };
}

/** Every string value (not keys) under `value`, depth first. */
function collectStrings(value: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') out.push(current);
    else if (Array.isArray(current)) stack.push(...(current as unknown[]));
    else if (current !== null && typeof current === 'object')
      stack.push(...Object.values(current as Record<string, unknown>));
  }
  return out;
}

/** A claimed control that does not recompute, for `verify`. */
export interface ControlMismatch {
  id: string;
  message: string;
}

/**
 * Recompute the controls of a v2 record and compare them with what it claims: every claimed
 * control must recompute identically (a passed control that does not hold, a changed detail, an
 * unknown id), and none may be missing.
 */
export function verifyControls(
  subject: RecordSubject,
  record: Record<string, unknown>,
  hashField: string | null,
): ControlMismatch[] {
  const claimed = Array.isArray(record.controls) ? (record.controls as RecordControl[]) : [];
  const rest: Record<string, unknown> = { ...record };
  delete rest.controls;
  if (hashField !== null) delete rest[hashField];
  const expected = computeControls(subject, rest, hashField);
  const mismatches: ControlMismatch[] = [];
  const byId = new Map(expected.map((control) => [control.id, control]));
  for (const control of claimed) {
    const want = byId.get(control?.id);
    if (want === undefined) {
      mismatches.push({
        id: String(control?.id),
        message: `control "${String(control?.id)}" is not a check cavra-gitops runs`,
      });
    } else if (want.passed !== control.passed) {
      mismatches.push({
        id: want.id,
        message: `control "${want.id}" claims passed=${String(control.passed)} but recomputes to passed=${String(want.passed)} (${want.detail})`,
      });
    } else if (want.detail !== control.detail) {
      mismatches.push({
        id: want.id,
        message: `control "${want.id}" detail does not recompute: expected "${want.detail}"`,
      });
    }
    byId.delete(control?.id);
  }
  for (const missing of byId.values()) {
    mismatches.push({ id: missing.id, message: `control "${missing.id}" is missing` });
  }
  return mismatches;
}
