/**
 * Domain types shared by every layer: the runtime shape of manifests (all defaults filled),
 * validation findings, and the records the reconciler writes. Pure types, no imports of the project.
 *
 * Field names that appear in YAML or in record files are snake_case, as in CAVRA's API.
 */

/** UTC ISO-8601 timestamp ending in `Z`, e.g. `2026-06-28T10:00:00Z` or with milliseconds. */
export type IsoTime = string;

export const API_VERSION = 'cavra.dev/v1';

export const MANIFEST_KINDS = [
  'Provider',
  'ReconcilerPolicy',
  'AuditDelivery',
  'RetryAcknowledgement',
  'RetryApproval',
  'RecoveryClosure',
] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

export const PROVIDER_TYPES = [
  'webhook',
  'slack',
  'teams',
  'splunk',
  'datadog',
  'sentinel',
  'jira',
  'servicenow',
  'file',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const PROVIDER_CATEGORIES = ['siem', 'itsm', 'chatops', 'webhook'] as const;
export type ProviderCategory = (typeof PROVIDER_CATEGORIES)[number];

export const ACK_STATES = ['accepted', 'deferred', 'escalated', 'resolved', 'dismissed'] as const;
export type AckState = (typeof ACK_STATES)[number];

export const APPROVAL_STATES = ['approved', 'denied', 'deferred', 'expired'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export const CLOSURE_STATES = ['resolved', 'mitigated', 'deferred', 'escalated', 'reopened'] as const;
export type ClosureState = (typeof CLOSURE_STATES)[number];

export const EXECUTION_STATUSES = ['delivered', 'failed', 'skipped', 'unknown'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

// ---------------------------------------------------------------------------------------------
// Findings (validation results never throw; they return these)
// ---------------------------------------------------------------------------------------------

export type Severity = 'error' | 'warning';

/** One validation finding. Every finding locates itself and says how to fix the problem. */
export interface Finding {
  /** Repository-relative path of the file, e.g. `manifests/approvals/x.yaml`. */
  file: string;
  /** 1-based line and column of the offending node (of the document start when no node applies). */
  line: number;
  column: number;
  /** Kind and name of the document when known, else ''. */
  kind: string;
  name: string;
  /** Field path inside the document, as a JSON Pointer (`/spec/providers/0`), '' for the document. */
  path: string;
  /** One sentence: what is wrong and how to fix it. Never echoes secret material. */
  message: string;
  /** Stable rule id, e.g. `yaml.duplicate-key`, `schema.required`, `ref.delivery`, `secret.private-key`. */
  rule: string;
  severity: Severity;
}

// ---------------------------------------------------------------------------------------------
// Git provenance
// ---------------------------------------------------------------------------------------------

/** Signature status of a commit as git reports it (`%G?`), mapped to words. */
export type SignatureStatus = 'good' | 'bad' | 'untrusted' | 'expired' | 'revoked' | 'error' | 'none';

export interface SignatureInfo {
  status: SignatureStatus;
  /** Principal (ssh) or signer (gpg) git reports, '' when none. */
  principal: string;
}

/** A commit as evidence: who, when, whether signed. */
export interface CommitInfo {
  commit: string;
  /** Committer time, UTC ISO. */
  time: IsoTime;
  /** `Name <email>` of the author. */
  author: string;
  signature: SignatureInfo;
}

/** Where a manifest document came from. */
export interface ManifestSource {
  /** Repository-relative file path. */
  path: string;
  /** 0-based index of the document inside a multi-document file. */
  document: number;
  /** 1-based position of the document start. */
  line: number;
  column: number;
  /** Git blob id of the file ('' when read from the working tree). */
  blob: string;
  /**
   * The commit that introduced this document (provenance by content, docs/reference.md §4: the
   * oldest commit whose tree holds a document of this kind and name with the same written spec).
   * Its `signature` is not verified here (`none`); GateFacts carries verified signatures. Null when
   * read from the working tree.
   */
  introduced: CommitInfo | null;
}

// ---------------------------------------------------------------------------------------------
// Manifests, runtime shape (every default filled by normalisation)
// ---------------------------------------------------------------------------------------------

export interface ManifestBase<K extends ManifestKind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  name: string;
  labels: Record<string, string>;
  spec: S;
  source: ManifestSource;
}

export type ProviderOptions = Record<string, string | number | boolean>;

export interface ProviderSpec {
  type: ProviderType;
  /** Name of the env var holding the endpoint URL; null for `file`. */
  url_env: string | null;
  token_env: string | null;
  signing_secret_env: string | null;
  enabled: boolean;
  timeout_seconds: number;
  category: ProviderCategory;
  idempotent: boolean;
  options: ProviderOptions;
}

export interface RetryDefaults {
  max_retry_attempts: number;
  retry_delay_minutes: number;
  backoff_multiplier: number;
}

export interface RecoveryPolicy {
  min_failure_count: number;
  lookback_hours: number;
  recovery_slo_minutes: number;
  auto_playbooks: boolean;
}

/** A freeze window between two fixed UTC times: open while `from <= now < to`. */
export interface AbsoluteFreezeWindow {
  from: IsoTime;
  to: IsoTime;
  reason: string;
}

/**
 * A recurring freeze window: it opens at every time the 5-field cron expression matches (UTC) and
 * stays open for `duration_minutes`.
 */
export interface RecurringFreezeWindow {
  cron: string;
  duration_minutes: number;
  reason: string;
}

export type FreezeWindow = AbsoluteFreezeWindow | RecurringFreezeWindow;

export interface ReconcilerPolicySpec {
  retry_defaults: RetryDefaults;
  require_retry_ack: boolean;
  /** Empty means anyone may approve. */
  approvers: string[];
  require_signed_approvals: boolean;
  allowed_signers_file: string;
  max_retry_deliveries_per_run: number;
  recovery: RecoveryPolicy;
  /** Quorum: distinct `decided_by` a retry needs (break-glass approvals aside). */
  approvals_required: number;
  /** The approver may be neither the acknowledger nor the author of the acknowledgement's commit. */
  separate_duties: boolean;
  /** No retry is executed while one is open (break-glass approvals aside). */
  freeze_windows: FreezeWindow[];
  /** An emergency approval must expire at most this many minutes after its commit. */
  max_emergency_minutes: number;
  /**
   * Principals of the allowed-signers file whose signatures mark a reconciler commit
   * (docs/reference.md §6a).
   */
  reconciler_signers: string[];
  /** With it, an unsigned or foreign record commit is tampering (docs/reference.md §6a). */
  require_signed_records: boolean;
}

export interface AuditRoute {
  route_id: string;
  provider: string;
  state: string;
  owner: string;
}

/** Public-safe acknowledgement audit summary delivered to providers. */
export interface AuditPackage {
  route_count: number;
  acknowledgement_count: number;
  acknowledged_count: number;
  resolved_count: number;
  escalated_count: number;
  dismissed_count: number;
  outstanding_count: number;
  routes: AuditRoute[];
}

export interface AuditDeliverySpec {
  audit_id: string;
  /** Provider names, or 'all' (every enabled provider). */
  providers: string[] | 'all';
  cadence: string;
  package: AuditPackage;
}

export interface RetryAcknowledgementSpec {
  delivery: string;
  provider: string;
  state: AckState;
  acknowledged_by: string;
  /** Defaults to the time of the commit that introduced the manifest. */
  acknowledged_at: IsoTime;
  external_ref: string;
  notes: string;
}

/** Per-approval overrides; a null falls back to the policy's `retry_defaults`. */
export interface ApprovalRetryPolicy {
  max_retry_attempts: number | null;
  retry_delay_minutes: number | null;
  backoff_multiplier: number | null;
  allow_immediate_retry: boolean;
}

export interface RetryApprovalSpec {
  delivery: string;
  provider: string;
  state: ApprovalState;
  decided_by: string;
  /** Defaults to the time of the commit that introduced the manifest. */
  decided_at: IsoTime;
  expires_at: IsoTime | null;
  external_ref: string;
  notes: string;
  retry_policy: ApprovalRetryPolicy;
  /**
   * Break-glass (docs/reference.md §4): passes freeze windows and the quorum, nothing else; must
   * expire within the policy's `max_emergency_minutes` of its commit.
   */
  emergency: boolean;
}

export interface RecoveryClosureSpec {
  playbook_id: string;
  provider: string;
  state: ClosureState;
  closed_by: string;
  /** Defaults to the time of the commit that added the manifest. */
  closed_at: IsoTime;
  external_ref: string;
  notes: string;
  verification_refs: string[];
}

export type Provider = ManifestBase<'Provider', ProviderSpec>;
export type ReconcilerPolicy = ManifestBase<'ReconcilerPolicy', ReconcilerPolicySpec>;
export type AuditDelivery = ManifestBase<'AuditDelivery', AuditDeliverySpec>;
export type RetryAcknowledgement = ManifestBase<'RetryAcknowledgement', RetryAcknowledgementSpec>;
export type RetryApproval = ManifestBase<'RetryApproval', RetryApprovalSpec>;
export type RecoveryClosure = ManifestBase<'RecoveryClosure', RecoveryClosureSpec>;

export type Manifest =
  Provider | ReconcilerPolicy | AuditDelivery | RetryAcknowledgement | RetryApproval | RecoveryClosure;

/** The valid manifests of one revision, by kind. Invalid documents are not in here. */
export interface ManifestSet {
  providers: Provider[];
  /** The ReconcilerPolicy `default`, or null when the repository has none (defaults apply). */
  policy: ReconcilerPolicy | null;
  deliveries: AuditDelivery[];
  acknowledgements: RetryAcknowledgement[];
  approvals: RetryApproval[];
  closures: RecoveryClosure[];
}

/** Per-document validation outcome, for `reports/status.json`. */
export interface ManifestCondition {
  file: string;
  document: number;
  kind: string;
  name: string;
  /** True when the document is valid and took part in the reconcile. */
  ready: boolean;
  /** PascalCase reason: `Valid`, `InvalidYaml`, `SchemaViolation`, `UnresolvedReference`, `SecretMaterial`, ... */
  reason: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Records written by the reconciler (append-only, pretty canonical JSON)
// ---------------------------------------------------------------------------------------------

export const RECORD_KINDS = ['deliveries', 'executions', 'playbooks', 'closures', 'runs'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** Identity of a retry group: every attempt of one audit delivery to one provider. */
export interface DeliveryKey {
  delivery_id: string;
  audit_id: string;
  provider: string;
}

/** One attempt to deliver an audit package to a provider (initial attempt or a retry). */
/** One entry of a record's `controls[]`: a check the reconciler really ran on the record. */
export interface RecordControlEntry {
  id: string;
  passed: boolean;
  detail: string;
}

export interface DeliveryRecord extends DeliveryKey {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  /** `<delivery_id>.<provider>.<attempt>`; also the file name. */
  record_id: string;
  attempt: number;
  delivery_success: boolean;
  /** HTTP status of the final answer, null when there was no HTTP answer. */
  status_code: number | null;
  /** Public-safe, redacted error; '' on success. */
  error: string;
  /** Set for retries, '' for attempt 1. */
  execution_id: string;
  /** The idempotency key sent to the connector (webhook-id). */
  idempotency_key: string;
  attempted_at: IsoTime;
  completed_at: IsoTime;
  run_id: string;
  source_revision: string;
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
  record_hash: string;
}

export interface ApprovalEvidence {
  /** `metadata.name` of the RetryApproval (absent in records written before quorums). */
  name?: string;
  /** Repository path of the approval manifest and its blob id. */
  manifest: string;
  blob: string;
  /** The commit that introduced the approval and its author. */
  commit: string;
  author: string;
  /** The introducing commit's signature, as the allowed-signers file at the base sees it. */
  signature: SignatureInfo;
  /** The base of the change that brought the approval ('' when unknown; absent in older records). */
  base?: string;
}

export interface ExecutionRecord extends DeliveryKey {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  execution_id: string;
  execution_hash: string;
  execution_status: ExecutionStatus;
  executed_at: IsoTime;
  executed_by: string;
  run_id: string;
  retry_plan_id: string;
  approval_decision_id: string;
  approval_plan_id: string;
  attempt: number;
  /** Reason when skipped, else ''. */
  skipped: string;
  delivery_success: boolean;
  status_code: number | null;
  error: string;
  selected_providers: string[];
  public_evidence_refs: string[];
  /** The primary (first counted) approval. */
  approval: ApprovalEvidence;
  /** Every counted approval, the primary first; written only when more than one was counted. */
  approvals?: ApprovalEvidence[];
  /** True when a break-glass approval was counted (absent in records written before break-glass). */
  emergency?: boolean;
  source_revision: string;
  /** Format v2: CAVRA's id of the audit delivery plan (deliveryPlanId of the key). */
  delivery_plan_id?: string;
  /** Format v2: the delivery record of this attempt ('' when skipped: no attempt was made). */
  delivery_metadata_id?: string;
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
}

export interface ProviderPlaybook {
  provider: string;
  category: ProviderCategory;
  failure_count: number;
  latest_failure_at: IsoTime;
  status_codes: number[];
  recovery_steps: string[];
}

export interface PlaybookRecord {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  playbook_id: string;
  playbook_hash: string;
  generated_at: IsoTime;
  generated_by: string;
  lookback_hours: number;
  min_failure_count: number;
  provider_count: number;
  failure_count: number;
  provider_playbooks: ProviderPlaybook[];
  source_revision: string;
  /** Format v2: critical when a provider had a 5xx or no HTTP answer, else warning. */
  alert_level?: 'critical' | 'warning';
  /** Format v2: CAVRA's note on where connector secrets and endpoints live. */
  private_connector_boundary?: string;
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
}

export interface ClosureSourceEvidence {
  /** `metadata.name` of the RecoveryClosure (absent in records written before it was recorded). */
  name?: string;
  manifest: string;
  blob: string;
  commit: string;
  author: string;
}

export interface ClosureRecord {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  closure_id: string;
  closure_hash: string;
  playbook_id: string;
  provider: string;
  /** Usually a ClosureState; kept as string so unknown states in old records still count. */
  closure_state: string;
  closed_by: string;
  closed_at: IsoTime;
  external_ref: string;
  notes: string;
  verification_refs: string[];
  source: ClosureSourceEvidence;
  recorded_at: IsoTime;
  source_revision: string;
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
}

/** One reconcile run that wrote something. */
export interface RunRecord {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  run_id: string;
  run_hash: string;
  replica_id: string;
  started_at: IsoTime;
  source_revision: string;
  delivery_count: number;
  execution_count: number;
  playbook_count: number;
  closure_count: number;
  /**
   * Commits whose changes to the ledger an operator accepted in this run
   * (`reconcile --accept-ledger-change`); absent when none.
   */
  accepted_ledger_changes?: string[];
  /** Tips whose rewritten history an operator accepted in this run (`--accept-history`); absent when none. */
  accepted_history?: string[];
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
}

/** An in-flight claim on a connector call (records/claims/<id>.json); removed with the outcome. */
export interface ClaimRecord {
  /** Format v2 (docs/records.md): the record's schema id; absent in v1 records. */
  schema?: string;
  /** Format v2: the writer, `cavra-gitops`; absent in v1 records. */
  product?: string;
  /** execution_id for retries, delivery record_id for attempt 1; also the file name. */
  claim_id: string;
  claim_kind: 'delivery' | 'execution';
  delivery_id: string;
  audit_id: string;
  provider: string;
  attempt: number;
  holder: string;
  claimed_at: IsoTime;
  lease_expires_at: IsoTime;
  source_revision: string;
  /**
   * Execution claims: the names of the approvals the execution counts, so the call can be rebuilt
   * exactly when the lease expires (absent in delivery claims and in older claims).
   */
  approval_names?: string[];
  /** Format v2: the checks the reconciler ran on this record (record-controls.ts); absent in v1. */
  controls?: RecordControlEntry[];
}

/** Every record at one revision (no cap on how many). */
export interface RecordSet {
  deliveries: DeliveryRecord[];
  executions: ExecutionRecord[];
  playbooks: PlaybookRecord[];
  closures: ClosureRecord[];
  runs: RunRecord[];
  claims: ClaimRecord[];
}

export function emptyRecordSet(): RecordSet {
  return { deliveries: [], executions: [], playbooks: [], closures: [], runs: [], claims: [] };
}
