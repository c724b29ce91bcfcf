/**
 * What one record file in the ledger's history tells the gate: the revision a reconciler read
 * (`source_revision`), and for executions and closures which manifest blob they came from. Read
 * leniently: consumption must count every execution ever recorded, so a record is summarised
 * when its few fields are there, whatever else is wrong with it (the ledger checks report that).
 * Pure.
 */
import type { DeliveryKey } from '../domain/types.js';
import { parseRecordPath } from '../records/layout.js';

/** Where an execution's approval (or a closure's manifest) came from. */
export interface ManifestEvidence {
  manifest: string;
  blob: string;
  commit: string;
}

export interface ExecutionSummary {
  executionId: string;
  approvalDecisionId: string;
  key: DeliveryKey;
  /** The approval evidence (one per counted approval when the record lists several). */
  evidence: ManifestEvidence[];
}

export interface ClosureSummary {
  closureId: string;
  playbookId: string;
  provider: string;
  source: ManifestEvidence;
}

export interface RecordSummary {
  /** '' when the record names none. */
  sourceRevision: string;
  execution: ExecutionSummary | null;
  closure: ClosureSummary | null;
}

const COMMIT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const BLOB_ID = COMMIT_ID;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function evidenceOf(value: unknown): ManifestEvidence | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const blob = text(record.blob);
  if (!BLOB_ID.test(blob)) return null;
  return { manifest: text(record.manifest), blob, commit: text(record.commit) };
}

/** The record kind a path under `records/` holds, or null. */
export function recordKindOf(path: string): string | null {
  return parseRecordPath(path)?.kind ?? null;
}

/** Summarise a record file's content; null when it is not a JSON object. */
export function summarizeRecord(kind: string, content: Buffer): RecordSummary | null {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  return summarizeRecordValue(kind, value);
}

/** Summarise a record file's parsed JSON; null when it is not an object. */
export function summarizeRecordValue(kind: string, value: unknown): RecordSummary | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const sourceRevision = COMMIT_ID.test(text(record.source_revision)) ? text(record.source_revision) : '';
  let execution: ExecutionSummary | null = null;
  if (kind === 'executions' && typeof record.execution_id === 'string') {
    const listed = Array.isArray(record.approvals) ? record.approvals.map(evidenceOf) : [];
    const evidence = [evidenceOf(record.approval), ...listed].filter(
      (item): item is ManifestEvidence => item !== null,
    );
    execution = {
      executionId: record.execution_id,
      approvalDecisionId: text(record.approval_decision_id),
      key: {
        delivery_id: text(record.delivery_id),
        audit_id: text(record.audit_id),
        provider: text(record.provider),
      },
      evidence: dedupeEvidence(evidence),
    };
  }
  let closure: ClosureSummary | null = null;
  const source = evidenceOf(record.source);
  if (kind === 'closures' && typeof record.closure_id === 'string' && source !== null) {
    closure = {
      closureId: record.closure_id,
      playbookId: text(record.playbook_id),
      provider: text(record.provider),
      source,
    };
  }
  return { sourceRevision, execution, closure };
}

function dedupeEvidence(list: ManifestEvidence[]): ManifestEvidence[] {
  const seen = new Set<string>();
  return list.filter((item) => {
    const key = `${item.blob}\n${item.commit}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
