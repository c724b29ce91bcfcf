/**
 * The record format (docs/records.md): every record names its format in `schema`
 * (`cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-<kind>.v<N>`, CAVRA's
 * naming) and its writer in `product`, and carries `controls[]` — the checks the reconciler ran
 * on that very record (record-controls.ts). Records written before format v2 carry none of these
 * and read as v1; a file once written is never rewritten, so a reader understands every version.
 */
import { computeControls, type RecordControl } from './record-controls.js';
import { hashOf } from './hash.js';
import type { RecordKind } from './types.js';

/** What a schema describes: a record kind, claims, or the committed report. */
export type RecordSubject = RecordKind | 'claims' | 'report';

/** The writer of every record (not its version: a release must not change record bytes). */
export const RECORD_PRODUCT = 'cavra-gitops';

const SCHEMA_ID_PREFIX = 'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-';

/** The format version this code writes. */
export const CURRENT_RECORD_VERSION = 2;
/** Every version this code reads. */
export const RECORD_VERSIONS = [1, 2] as const;
export type RecordVersion = (typeof RECORD_VERSIONS)[number];

/** CAVRA's name of each subject inside the schema id. */
export const SCHEMA_NAMES: Readonly<Record<RecordSubject, string>> = {
  deliveries: 'delivery-record',
  executions: 'retry-execution-record',
  playbooks: 'connector-recovery-playbook',
  closures: 'connector-recovery-closure',
  runs: 'retry-worker-run',
  claims: 'retry-execution-claim',
  report: 'retry-recovery-report',
};

/** `cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-<name>.v<version>`. */
export function schemaIdOf(subject: RecordSubject, version: RecordVersion): string {
  return `${SCHEMA_ID_PREFIX}${SCHEMA_NAMES[subject]}.v${version}`;
}

/**
 * The format version of a record of `subject`: its `schema`'s version, 1 without `schema`
 * (written before v2), null when `schema` names another subject or a version this code does
 * not know (a newer writer: the record is reported, never guessed at).
 */
export function recordVersionOf(
  record: Record<string, unknown>,
  subject: RecordSubject,
): RecordVersion | null {
  if (!Object.hasOwn(record, 'schema')) return 1;
  for (const version of RECORD_VERSIONS) {
    if (record.schema === schemaIdOf(subject, version)) return version;
  }
  return null;
}

/**
 * A v2 record: `schema`, `product`, the controls run on the body, then (for hashed kinds) the
 * `*_hash` over everything else. The controls are computed on the record as it will be written
 * (their own entry included in the hash coverage they list), so `verify` can recompute them.
 */
export function sealRecord<T extends object>(
  subject: RecordSubject,
  body: Record<string, unknown>,
  hashField: string | null,
): T {
  const sealed: Record<string, unknown> = {
    schema: schemaIdOf(subject, CURRENT_RECORD_VERSION),
    product: RECORD_PRODUCT,
    ...body,
  };
  // One object, completed in place (controls, then the hash of all the rest), not a copy per
  // step; a body that carries either already (a record sealed again) has them recomputed.
  delete sealed.controls;
  if (hashField !== null) delete sealed[hashField];
  const controls: RecordControl[] = computeControls(subject, sealed, hashField);
  sealed.controls = controls;
  if (hashField !== null) sealed[hashField] = hashOf(sealed);
  return sealed as T;
}
