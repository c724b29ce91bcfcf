/**
 * Recovery closures (docs/reference.md §4, Closure records): each valid `RecoveryClosure` manifest becomes one
 * hashed closure record, once. Pure: a function of the manifests, the records, what the ledger's
 * history has recorded, and `now`.
 *
 * The closure id hashes the manifest's identity (kind and name), its normalised spec and the
 * commit that introduced it, so the same manifest is recorded once however many runs see it. A
 * closure (kind + name) is recorded at most once, for good: a later change to a recorded closure
 * is a `closure.already-recorded` finding, never a second record (a new closure needs a new name).
 */
import { makeId } from './hash.js';
import { sealRecord } from './record-format.js';
import { ID_PREFIXES } from './ids.js';
import { compareStrings } from './recovery-state.js';
import type { ClosureRecord, Finding, RecordSet, RecoveryClosure } from './types.js';

/** docs/reference.md §4 id prefix of closures. */
const CLOSURE_ID_PREFIX = ID_PREFIXES.closure;

export interface PlanClosuresInput {
  closures: readonly RecoveryClosure[];
  records: RecordSet;
  /**
   * RecoveryClosure name → ids of the closure records the ledger's history holds for any version
   * of it (GateFacts.consumed.closures); a deleted record still counts. Optional: without it only
   * the records at the tip are consulted.
   */
  consumed?: ReadonlyMap<string, readonly string[]>;
  now: Date;
  /** Manifest revision the run read (recorded as `source_revision`). */
  revision: string;
}

export interface PlanClosuresResult {
  /** New closure records, ordered by closure id. */
  closures: ClosureRecord[];
  /**
   * Findings, no record for those: references (`ref.playbook`, `ref.playbook-provider`,
   * `ref.verification`, retried on a later run) and `closure.already-recorded` (a recorded closure
   * was changed afterwards).
   */
  findings: Finding[];
}

/** The deterministic closure id of a manifest (known before the record exists). */
export function closureIdOf(manifest: RecoveryClosure): string {
  return makeId(CLOSURE_ID_PREFIX, {
    kind: manifest.kind,
    name: manifest.name,
    spec: manifest.spec,
    commit: manifest.source.introduced?.commit ?? '',
  });
}

/** What a closure may reference: each playbook's providers, and every record id. */
export interface ClosureTargets {
  /** playbook_id → provider names in it. */
  playbooks: ReadonlyMap<string, readonly string[]>;
  /** Every delivery/execution/playbook/closure/run id. */
  recordIds: Pick<ReadonlySet<string>, 'has'>;
}

/** Every record id a verification ref may name: deliveries, executions, playbooks, closures, runs. */
export function collectRecordIds(records: RecordSet): Set<string> {
  const ids = new Set<string>();
  for (const record of records.deliveries) ids.add(record.record_id);
  for (const record of records.executions) ids.add(record.execution_id);
  for (const record of records.playbooks) ids.add(record.playbook_id);
  for (const record of records.closures) ids.add(record.closure_id);
  for (const record of records.runs) ids.add(record.run_id);
  return ids;
}

/** The closure targets of a record set. */
export function collectClosureTargets(records: RecordSet): ClosureTargets {
  const playbooks = new Map<string, string[]>();
  for (const playbook of records.playbooks) {
    playbooks.set(
      playbook.playbook_id,
      playbook.provider_playbooks.map((row) => row.provider),
    );
  }
  // The set of every id (100,000 of them over a large ledger) is built only when a closure's
  // verification ref is looked up, not on every read of the records.
  let ids: Set<string> | undefined;
  return { playbooks, recordIds: { has: (id) => (ids ??= collectRecordIds(records)).has(id) } };
}

/** A broken reference of a closure; `segments` is the path of the field inside the manifest. */
export interface ClosureReferenceViolation {
  rule: 'ref.playbook' | 'ref.playbook-provider' | 'ref.verification';
  segments: (string | number)[];
  message: string;
}

/**
 * The reference rules of a RecoveryClosure (shared by manifest validation and closure planning):
 * its playbook exists, its provider is part of that playbook, and each verification ref names a
 * record.
 */
export function checkClosureReferences(
  spec: RecoveryClosure['spec'],
  targets: ClosureTargets,
): ClosureReferenceViolation[] {
  const violations: ClosureReferenceViolation[] = [];
  const providers = targets.playbooks.get(spec.playbook_id);
  if (providers === undefined) {
    violations.push({
      rule: 'ref.playbook',
      segments: ['spec', 'playbook_id'],
      message: `playbook_id "${spec.playbook_id}" names no playbook record; copy the id of an existing playbook from records/playbooks/.`,
    });
  } else if (!providers.includes(spec.provider)) {
    violations.push({
      rule: 'ref.playbook-provider',
      segments: ['spec', 'provider'],
      message: `provider "${spec.provider}" is not in playbook ${spec.playbook_id} (it covers: ${[...providers].sort(compareStrings).join(', ')}); use one of those providers.`,
    });
  }
  spec.verification_refs.forEach((ref, index) => {
    if (targets.recordIds.has(ref)) return;
    violations.push({
      rule: 'ref.verification',
      segments: ['spec', 'verification_refs', index],
      message: `verification ref "${ref}" names no record; use the id of an existing execution, delivery, playbook or closure record.`,
    });
  });
  return violations;
}

/**
 * Closure records for the RecoveryClosure manifests not recorded yet. A manifest whose playbook
 * does not exist, whose provider is not in that playbook, or whose verification refs name no
 * record gets findings and no record (it is retried on a later run, when the records may exist).
 */
export function planClosures(input: PlanClosuresInput): PlanClosuresResult {
  const recorded = new Set(input.records.closures.map((closure) => closure.closure_id));
  const recordsById = new Map(input.records.closures.map((closure) => [closure.closure_id, closure]));
  const targets = collectClosureTargets(input.records);
  const recordedAt = input.now.toISOString();

  const closures: ClosureRecord[] = [];
  const findings: Finding[] = [];
  const manifests = [...input.closures].sort((a, b) => compareStrings(a.name, b.name));
  for (const manifest of manifests) {
    const closureId = closureIdOf(manifest);
    if (recorded.has(closureId)) continue;
    const historyIds = input.consumed?.get(manifest.name) ?? [];
    if (historyIds.includes(closureId)) continue;
    const earlier = [
      ...historyIds.flatMap((id) => recordsById.get(id) ?? []),
      ...input.records.closures.filter((record) => record.source?.name === manifest.name),
    ];
    if (historyIds.length > 0 || earlier.length > 0) {
      // The same content seen under another commit (e.g. its file was moved) is the same closure.
      if (earlier.some((record) => sameClosureContent(record, manifest))) continue;
      const ids = [...new Set([...historyIds, ...earlier.map((record) => record.closure_id)])].sort(
        compareStrings,
      );
      findings.push(
        finding(manifest, {
          rule: 'closure.already-recorded',
          segments: ['spec'],
          message: `RecoveryClosure ${manifest.name} was already recorded (${ids.join(', ')}) and has changed since; a closure is recorded once: revert the change, or add a RecoveryClosure with a new name for a new closure event.`,
        }),
      );
      continue;
    }
    const problems = checkClosureReferences(manifest.spec, targets);
    if (problems.length > 0) {
      findings.push(...problems.map((problem) => finding(manifest, problem)));
      continue;
    }
    closures.push(buildClosureRecord(manifest, closureId, recordedAt, input.revision));
  }
  closures.sort((a, b) => compareStrings(a.closure_id, b.closure_id));
  return { closures, findings };
}

/** Whether a closure record says what the manifest says now (its recorded fields, not the commit). */
function sameClosureContent(record: ClosureRecord, manifest: RecoveryClosure): boolean {
  const { spec } = manifest;
  return (
    record.playbook_id === spec.playbook_id &&
    record.provider === spec.provider &&
    record.closure_state === spec.state &&
    record.closed_by === spec.closed_by &&
    record.closed_at === spec.closed_at &&
    record.external_ref === spec.external_ref &&
    record.notes === spec.notes &&
    record.verification_refs.length === spec.verification_refs.length &&
    record.verification_refs.every((ref, index) => ref === spec.verification_refs[index])
  );
}

function finding(
  manifest: RecoveryClosure,
  violation: { rule: string; segments: (string | number)[]; message: string },
): Finding {
  return {
    file: manifest.source.path,
    line: manifest.source.line,
    column: manifest.source.column,
    kind: manifest.kind,
    name: manifest.name,
    path: `/${violation.segments.join('/')}`,
    message: violation.message,
    rule: violation.rule,
    severity: 'error',
  };
}

function buildClosureRecord(
  manifest: RecoveryClosure,
  closureId: string,
  recordedAt: string,
  revision: string,
): ClosureRecord {
  const { spec, source } = manifest;
  const record = {
    closure_id: closureId,
    playbook_id: spec.playbook_id,
    provider: spec.provider,
    closure_state: spec.state,
    closed_by: spec.closed_by,
    closed_at: spec.closed_at,
    external_ref: spec.external_ref,
    notes: spec.notes,
    verification_refs: [...spec.verification_refs],
    source: {
      name: manifest.name,
      manifest: source.path,
      blob: source.blob,
      commit: source.introduced?.commit ?? '',
      author: source.introduced?.author ?? '',
    },
    recorded_at: recordedAt,
    source_revision: revision,
  };
  return sealRecord<ClosureRecord>('closures', record, 'closure_hash');
}
