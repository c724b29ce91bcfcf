/**
 * What a reconcile would do at a revision and why: the pure planners, fed with the few facts that
 * need git beyond the snapshot (the policy in force before each approval's commit, and verified
 * signatures when the policy asks for them). `plan` prints this; `reconcile` applies it.
 */
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { GitReader } from '../domain/ports.js';
import { closureIdOf, planClosures } from '../domain/closures.js';
import type { ApprovalFacts, GateFacts } from '../domain/gate-facts.js';
import { planRetryWork, type RetryWorkInput, type RetryWorkPlan } from '../domain/retry-plan.js';
import type {
  ClosureRecord,
  Finding,
  IsoTime,
  ReconcilerPolicySpec,
  RecordSet,
  RecoveryClosure,
  RetryApproval,
} from '../domain/types.js';
import { readPolicyAt } from '../manifests/read-manifests.js';
import { approvalDecisionId } from '../records/ids.js';
import { readCommittedFile, type Snapshot } from './read-snapshot.js';

export interface ReconcilePlan {
  revision: string;
  ledgerRevision: string;
  now: IsoTime;
  policy: ReconcilerPolicySpec;
  retry: RetryWorkPlan;
  /** What `retry` was planned from, so the run can re-plan over the records it adds. */
  retryInput: RetryWorkInput;
  /** Closure manifests not yet recorded, as records to write. */
  closures: ClosureRecord[];
  /** Closure manifests that cannot be recorded (unknown playbook, provider, verification ref). */
  closureFindings: Finding[];
}

export interface PlanOptions {
  leaseMinutes?: number;
  /** Policies before approval commits, by commit id (immutable: kept for the loop's lifetime). */
  policyCache?: Map<string, ReconcilerPolicySpec>;
}

export const DEFAULT_LEASE_MINUTES = 10;

/** Plan a reconcile of `snapshot` at `now`. Reads git only for prior policies and signatures. */
export async function planFromSnapshot(
  reader: GitReader,
  snapshot: Snapshot,
  now: Date,
  options: PlanOptions = {},
): Promise<ReconcilePlan> {
  const { manifests } = snapshot.manifests;
  const policy = manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;
  const priorPolicies = await readPriorPolicies(reader, manifests.approvals, options.policyCache);
  const needsSignatures =
    policy.require_signed_approvals || [...priorPolicies.values()].some((p) => p.require_signed_approvals);
  const approvals = needsSignatures
    ? await verifyApprovalSignatures(reader, snapshot.revision, manifests.approvals, policy)
    : manifests.approvals;
  const gateFacts = await buildTemporaryGateFacts(reader, approvals, priorPolicies, {
    revision: snapshot.revision,
    policy,
    records: snapshot.records,
    closures: manifests.closures,
  });

  const retryInput: RetryWorkInput = {
    revision: snapshot.revision,
    manifests: { ...manifests, approvals },
    policy,
    gateFacts,
    records: snapshot.records,
    now,
    leaseMinutes: options.leaseMinutes ?? DEFAULT_LEASE_MINUTES,
  };
  const retry = planRetryWork(retryInput);
  const closurePlan = planClosures({
    closures: manifests.closures,
    records: snapshot.records,
    consumed: gateFacts.consumed.closures,
    now,
    revision: snapshot.revision,
  });
  return {
    revision: snapshot.revision,
    ledgerRevision: snapshot.ledgerRevision,
    now: now.toISOString(),
    policy,
    retry,
    retryInput,
    closures: closurePlan.closures,
    closureFindings: closurePlan.findings,
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

// ---------------------------------------------------------------------------------------------
// TEMPORARY adapter — remove when the read step produces GateFacts from git (provenance by
// content, recorded base, signatures at base and tip, consumption over the ledger's history).
// It builds GateFacts from what this module read before GateFacts existed: the policy at the
// introducing commit's first parent as the base (recorded: false), the introducing commit's
// signature (verified against the tip's allowed-signers file) as both signatureAtBase and
// signatureAtTip, and as consumed the approvals and closures whose current decision/closure id
// an execution/closure record at the tip carries.
// ---------------------------------------------------------------------------------------------

/** First parents of approval commits (immutable git facts), kept for the loop's lifetime. */
const temporaryParentCache = new Map<string, string | null>();
const TEMPORARY_PARENT_CACHE_LIMIT = 10_000;

async function buildTemporaryGateFacts(
  reader: GitReader,
  approvals: readonly RetryApproval[],
  priorPolicies: ReadonlyMap<string, ReconcilerPolicySpec>,
  tip: {
    revision: string;
    policy: ReconcilerPolicySpec;
    records: RecordSet;
    closures: readonly RecoveryClosure[];
  },
): Promise<GateFacts> {
  const facts = new Map<string, ApprovalFacts>();
  for (const approval of approvals) {
    const introduced = approval.source.introduced;
    if (introduced === null) continue;
    let parent = temporaryParentCache.get(introduced.commit);
    if (parent === undefined) {
      parent = await reader.readParent(introduced.commit);
      if (temporaryParentCache.size >= TEMPORARY_PARENT_CACHE_LIMIT) temporaryParentCache.clear();
      temporaryParentCache.set(introduced.commit, parent);
    }
    facts.set(approval.name, {
      introduced,
      base: {
        commit: parent,
        policy: priorPolicies.get(introduced.commit) ?? DEFAULT_POLICY_SPEC,
        recorded: false,
      },
      signatureAtBase: introduced.signature,
      signatureAtTip: introduced.signature,
    });
  }
  const consumedApprovals = new Map<string, string[]>();
  for (const approval of approvals) {
    const decision = approvalDecisionId(approval);
    const ids = tip.records.executions
      .filter((execution) => execution.approval_decision_id === decision)
      .map((execution) => execution.execution_id);
    if (ids.length > 0) consumedApprovals.set(approval.name, ids);
  }
  const consumedClosures = new Map<string, string[]>();
  const recordedClosures = new Set(tip.records.closures.map((closure) => closure.closure_id));
  for (const closure of tip.closures) {
    const id = closureIdOf(closure);
    if (recordedClosures.has(id)) consumedClosures.set(closure.name, [id]);
  }
  return {
    current: { commit: tip.revision, policy: tip.policy },
    approvals: facts,
    consumed: { approvals: consumedApprovals, closures: consumedClosures },
  };
}
