/**
 * The facts about history that the approval gate needs beyond one revision's manifests and
 * records: where each approval came from (by content), the base of the change that brought it,
 * its signature as the allowed-signers files at the base and at the tip see it, and what the
 * ledger's whole history has already consumed. Read once per run by the read step (git), then
 * handed to the pure planner, so `plan`, `reconcile` and `verify` decide alike.
 *
 * Pure types; no imports of the project outside domain/.
 */
import type { CommitInfo, ReconcilerPolicySpec, SignatureInfo } from './types.js';

/** The policy in force at a commit, and the commit it was read at (null: no commit, defaults). */
export interface PolicyAt {
  commit: string | null;
  policy: ReconcilerPolicySpec;
}

/** Provenance of the version of one RetryApproval at the tip (keyed by `metadata.name`). */
export interface ApprovalFacts {
  /**
   * The commit that introduced this version: the oldest commit of the tracked branch's history
   * whose tree holds a RetryApproval of this name with the same normalised written spec.
   */
  introduced: CommitInfo;
  /**
   * The base of the change (docs/reference.md §4): the newest proper ancestor of `introduced` that a reconciler
   * recorded as a `source_revision`, else `introduced`'s first parent; with the policy there.
   * `recorded` says which of the two it is.
   */
  base: PolicyAt & { recorded: boolean };
  /** `introduced`'s signature verified against the allowed-signers file read at the base. */
  signatureAtBase: SignatureInfo;
  /** `introduced`'s signature verified against the allowed-signers file read at the tip. */
  signatureAtTip: SignatureInfo;
}

/** What the ledger has consumed, over its whole history (a deleted record still counts). */
export interface ConsumptionFacts {
  /** RetryApproval name → ids of the executions whose records carried any version of it. */
  approvals: ReadonlyMap<string, readonly string[]>;
  /** RecoveryClosure name → ids of the closure records written for any version of it. */
  closures: ReadonlyMap<string, readonly string[]>;
}

/** Everything about history the gate reads. */
export interface GateFacts {
  /** The tip's policy and the commit it was read at. */
  current: PolicyAt;
  /** By approval name, for every valid approval at the tip. */
  approvals: ReadonlyMap<string, ApprovalFacts>;
  consumed: ConsumptionFacts;
  /**
   * Whether a reconciler has recorded the tip as a base already: the tip, or a commit on its
   * first-parent line down to the newest commit without the reconciler trailer, is a recorded
   * `source_revision`. When not, the run records it (a run record), so a change reconciled on its
   * own — a policy widened, and nothing to deliver — is the base of the changes merged after it.
   */
  tipRecorded: boolean;
}
