/**
 * Status conditions (Flux style: `Ready`, `Reconciling`, `Stalled`) and every reason they carry,
 * in one place, so the reconciler, `reports/status.json`, the API and the console use one
 * vocabulary. Reasons are PascalCase.
 */
import type { Finding, IsoTime, ManifestCondition } from './types.js';

export const CONDITION_REASONS = {
  /** Ready=True: every manifest valid, every due action applied and delivered. */
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  /** Ready=False: invalid manifests, closures or record files were skipped. */
  InvalidManifests: 'InvalidManifests',
  /** Ready=False: the latest delivery attempt of some key failed (retries follow the retry rules). */
  DeliveryFailed: 'DeliveryFailed',
  /** Ready=False: a provider's connector cannot be built (missing env var, bad option). */
  ProviderNotReady: 'ProviderNotReady',
  /** Reconciling=True: keys wait for operators (ack, approval) or for time. */
  WaitingForOperators: 'WaitingForOperators',
  /** Reconciling=False. */
  Idle: 'Idle',
  /** Stalled=True: a human must fix input through a pull request. */
  NeedsOperatorFix: 'NeedsOperatorFix',
  /**
   * Stalled=True: the ledger's history holds a record modified or deleted, a claim removed or a
   * file under records/ or reports/ written by a commit that is not a reconciler commit; nothing is
   * called until the files are restored or `--accept-ledger-change` accepts the commit.
   */
  LedgerTampered: 'LedgerTampered',
  /**
   * Stalled=True: a tracked or ledger tip does not descend from the tip the last run built on
   * (a force-push); nothing is called until the history is restored or `--accept-history` accepts it.
   */
  HistoryRewritten: 'HistoryRewritten',
  /** Stalled=False. */
  None: 'None',
} as const;
export type ConditionReason = (typeof CONDITION_REASONS)[keyof typeof CONDITION_REASONS];

export interface Condition {
  type: 'Ready' | 'Reconciling' | 'Stalled';
  status: 'True' | 'False';
  reason: ConditionReason;
  message: string;
}

/** A provider whose connector cannot be built now: nothing is claimed, called or counted for it. */
export interface ProviderCondition {
  provider: string;
  ready: boolean;
  /** PascalCase: `Ready`, `MissingEnv`, `InvalidOption`, ... */
  reason: string;
  message: string;
}

/** `reports/status.json`. */
export interface StatusDocument {
  schema_version: 1;
  observed_revision: string;
  observed_at: IsoTime;
  conditions: Condition[];
  /** Keys waiting for something, by reason (e.g. `{ "request_approval": 2 }`). */
  pending_reasons: Record<string, number>;
  manifests: ManifestCondition[];
  /** Providers that are not ready (absent when every provider is). */
  providers?: ProviderCondition[];
  record_findings: Finding[];
  closure_findings: Finding[];
}
