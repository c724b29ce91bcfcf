/**
 * The read step of a reconcile: every fact the pure planner needs, gathered from git once — the
 * snapshot (manifests and records), the policy in force before each approval's commit, verified
 * signatures when a policy asks for them, the committed report and status, and which providers
 * can be called now. `planReconcile` then decides everything from these facts alone.
 */
import type { ProviderCondition, StatusDocument } from '../domain/conditions.js';
import type { GitReader } from '../domain/ports.js';
import type { ReportEnvelope } from '../domain/report.js';
import type { Provider, ReconcilerPolicySpec, RetryApproval } from '../domain/types.js';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import { readPolicyAt } from './read-manifests.js';
import { REPORT_JSON_PATH, STATUS_PATH } from '../records/layout.js';
import { readCommittedFile, readCommittedJson, type Snapshot } from './read-snapshot.js';

/** Why a provider's connector cannot be built now, or null when it can (no I/O). */
export type ProviderReadinessCheck = (
  provider: Provider,
) => Omit<ProviderCondition, 'provider' | 'ready'> | null;

export interface PlanFacts {
  snapshot: Snapshot;
  /** Approvals with their introducing commit's signature verified when a policy asks for it. */
  approvals: RetryApproval[];
  /** Approval's introducing commit id → the policy in force at its parent. */
  priorPolicies: ReadonlyMap<string, ReconcilerPolicySpec>;
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
  /** Policies before approval commits, by commit id (a commit never changes: kept for the loop's lifetime). */
  policyCache?: Map<string, ReconcilerPolicySpec>;
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
  const policy = manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;
  const priorPolicies = await readPriorPolicies(reader, manifests.approvals, options.policyCache);
  const needsSignatures =
    policy.require_signed_approvals || [...priorPolicies.values()].some((p) => p.require_signed_approvals);
  const approvals = needsSignatures
    ? await verifyApprovalSignatures(reader, snapshot.revision, manifests.approvals, policy)
    : manifests.approvals;
  const committed = await readCommittedReports(reader, snapshot.ledgerRevision);
  const notReady: ProviderCondition[] = [];
  for (const provider of manifests.providers) {
    const problem = provider.spec.enabled ? options.checkProvider?.(provider) : null;
    if (problem) notReady.push({ provider: provider.name, ready: false, ...problem });
  }
  return { snapshot, approvals, priorPolicies, committed, notReady };
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

/**
 * The policy in force just before each approval's introducing commit (its first parent), so an
 * approval committed together with a policy change is held to the stricter of both.
 */
async function readPriorPolicies(
  reader: GitReader,
  approvals: RetryApproval[],
  cache: Map<string, ReconcilerPolicySpec> = new Map(),
): Promise<Map<string, ReconcilerPolicySpec>> {
  const prior = new Map<string, ReconcilerPolicySpec>();
  const commits = new Set(
    approvals.flatMap((a) => (a.source.introduced ? [a.source.introduced.commit] : [])),
  );
  for (const commit of commits) {
    let policy = cache.get(commit);
    if (policy === undefined) {
      policy = await readPolicyAt(reader, await reader.readParent(commit));
      cache.set(commit, policy);
    }
    prior.set(commit, policy);
  }
  return prior;
}

/**
 * Re-read the approvals' introducing commits with the revision's allowed-signers file so that
 * `signature.principal` is the verified signer (git verifies ssh signatures only against it).
 */
async function verifyApprovalSignatures(
  reader: GitReader,
  revision: string,
  approvals: RetryApproval[],
  policy: ReconcilerPolicySpec,
): Promise<RetryApproval[]> {
  const file = await readCommittedFile(reader, revision, policy.allowed_signers_file);
  if (file === null) return approvals.map((a) => withoutVerifiedSignature(a));
  const allowedSigners = file.toString('utf8');
  const paths = [...new Set(approvals.map((a) => a.source.path))];
  const verified = await reader.readIntroducingCommits(revision, paths, { allowedSigners });
  return approvals.map((approval) => {
    const introduced = verified.get(approval.source.path);
    return introduced
      ? { ...approval, source: { ...approval.source, introduced } }
      : withoutVerifiedSignature(approval);
  });
}

/** Without an allowed-signers file nothing can be verified: treat the signature as absent. */
function withoutVerifiedSignature(approval: RetryApproval): RetryApproval {
  const introduced = approval.source.introduced;
  if (!introduced) return approval;
  return {
    ...approval,
    source: {
      ...approval.source,
      introduced: { ...introduced, signature: { status: 'none', principal: '' } },
    },
  };
}
