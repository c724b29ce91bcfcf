/**
 * The read step of a reconcile: every fact the pure planner needs, gathered from git once — the
 * snapshot (manifests and records), the gate facts from the one walk of history (provenance by
 * content, the base of each approval with the policy and allowed signers there and at the tip,
 * signatures, consumption over the ledger's whole history), the committed report and status, and
 * which providers can be called now. `planReconcile` then decides everything from these facts.
 */
import type { ProviderCondition, StatusDocument } from '../domain/conditions.js';
import type { GateFacts } from '../domain/gate-facts.js';
import type { GitReader } from '../domain/ports.js';
import type { ReportEnvelope } from '../domain/report.js';
import type { Provider } from '../domain/types.js';
import { REPORT_JSON_PATH, STATUS_PATH } from '../records/layout.js';
import { readGateFacts } from './read-gate-facts.js';
import { readCommittedJson, type Snapshot } from './read-snapshot.js';

/** Why a provider's connector cannot be built now, or null when it can (no I/O). */
export type ProviderReadinessCheck = (
  provider: Provider,
) => Omit<ProviderCondition, 'provider' | 'ready'> | null;

export interface PlanFacts {
  snapshot: Snapshot;
  /** What history says about the approvals and closures of the snapshot. */
  gate: GateFacts;
  /** The report and status committed at the ledger revision (null when absent or unreadable). */
  committed: { report: ReportEnvelope | null; status: StatusDocument | null };
  /** Enabled providers whose connector cannot be built now. */
  notReady: ProviderCondition[];
  /**
   * Delivery and execution ids the ledger has recorded over its history, as the reconciler's check
   * saw them (docs/reference.md §6a): no call is made again for one, even when its record is no
   * longer at the tip (an accepted deletion, an accepted rewrite). Absent: the tip's records only.
   */
  recorded?: ReadonlySet<string>;
}

export interface ReadPlanFactsOptions {
  /** Without one, every provider counts as ready (read-only views: `report`, the API). */
  checkProvider?: ProviderReadinessCheck;
}

/** Gather the facts of one plan over `snapshot`. */
export async function readPlanFacts(
  reader: GitReader,
  snapshot: Snapshot,
  options: ReadPlanFactsOptions = {},
): Promise<PlanFacts> {
  const { manifests } = snapshot.manifests;
  const gate = await readGateFacts(reader, {
    revision: snapshot.revision,
    ledgerRevision: snapshot.ledgerRevision === '' ? null : snapshot.ledgerRevision,
    manifests,
    ...(snapshot.history ? { cache: snapshot.history } : {}),
  });
  const committed = await readCommittedReports(reader, snapshot.ledgerRevision);
  const notReady: ProviderCondition[] = [];
  for (const provider of manifests.providers) {
    const problem = provider.spec.enabled ? options.checkProvider?.(provider) : null;
    if (problem) notReady.push({ provider: provider.name, ready: false, ...problem });
  }
  return { snapshot, gate, committed, notReady };
}

/** The report and status committed at a ledger revision ('' for a new ledger: none). */
export async function readCommittedReports(
  reader: GitReader,
  ledgerRevision: string,
): Promise<PlanFacts['committed']> {
  if (ledgerRevision === '') return { report: null, status: null };
  return {
    report: (await readCommittedJson(reader, ledgerRevision, REPORT_JSON_PATH)) as ReportEnvelope | null,
    status: (await readCommittedJson(reader, ledgerRevision, STATUS_PATH)) as StatusDocument | null,
  };
}
