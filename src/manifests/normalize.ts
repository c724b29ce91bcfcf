/**
 * File shape → runtime shape. Each `normalizeX` takes a document that already passed its schema
 * and fills every default of docs/reference.md §3 (values from src/domain/defaults.ts). This is the only place
 * defaults are applied.
 */
import {
  DEFAULT_ACK_STATE,
  DEFAULT_ALLOW_IMMEDIATE_RETRY,
  DEFAULT_APPROVAL_STATE,
  DEFAULT_CADENCE,
  DEFAULT_CLOSURE_STATE,
  DEFAULT_EMERGENCY,
  DEFAULT_POLICY_SPEC,
  DEFAULT_PROVIDER_ENABLED,
  DEFAULT_PROVIDER_TIMEOUT_SECONDS,
  UNKNOWN_COMMIT_TIME,
  defaultCategory,
  defaultIdempotent,
} from '../domain/defaults.js';
import {
  API_VERSION,
  type AckState,
  type ApprovalState,
  type AuditDelivery,
  type AuditPackage,
  type ClosureState,
  type FreezeWindow,
  type IsoTime,
  type Manifest,
  type ManifestBase,
  type ManifestKind,
  type ManifestSource,
  type Provider,
  type ProviderCategory,
  type ProviderOptions,
  type ProviderType,
  type ReconcilerPolicy,
  type ReconcilerPolicySpec,
  type RecoveryClosure,
  type RetryAcknowledgement,
  type RetryApproval,
} from '../domain/types.js';

// ---------------------------------------------------------------------------------------------
// Written shapes: what a schema-valid YAML document contains (optional fields may be absent).
// ---------------------------------------------------------------------------------------------

export interface WrittenManifest<K extends ManifestKind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: { name: string; labels?: Record<string, string> };
  spec: S;
}

export interface WrittenProviderSpec {
  type: ProviderType;
  url_env?: string;
  token_env?: string;
  signing_secret_env?: string;
  enabled?: boolean;
  timeout_seconds?: number;
  category?: ProviderCategory;
  idempotent?: boolean;
  options?: ProviderOptions;
}

export interface WrittenPolicySpec {
  retry_defaults?: Partial<ReconcilerPolicySpec['retry_defaults']>;
  require_retry_ack?: boolean;
  approvers?: string[];
  require_signed_approvals?: boolean;
  allowed_signers_file?: string;
  max_retry_deliveries_per_run?: number;
  recovery?: Partial<ReconcilerPolicySpec['recovery']>;
  approvals_required?: number;
  separate_duties?: boolean;
  freeze_windows?: FreezeWindow[];
  max_emergency_minutes?: number;
  reconciler_signers?: string[];
  require_signed_records?: boolean;
}

export interface WrittenAuditDeliverySpec {
  audit_id: string;
  providers: string[] | 'all';
  cadence?: string;
  package: Omit<AuditPackage, 'routes'> & {
    routes?: { route_id: string; provider?: string; state?: string; owner?: string }[];
  };
}

export interface WrittenAckSpec {
  delivery: string;
  provider: string;
  state?: AckState;
  acknowledged_by: string;
  acknowledged_at?: IsoTime;
  external_ref?: string;
  notes?: string;
}

export interface WrittenApprovalSpec {
  delivery: string;
  provider: string;
  state?: ApprovalState;
  decided_by: string;
  decided_at?: IsoTime;
  expires_at?: IsoTime | null;
  external_ref?: string;
  notes?: string;
  retry_policy?: {
    max_retry_attempts?: number;
    retry_delay_minutes?: number;
    backoff_multiplier?: number;
    allow_immediate_retry?: boolean;
  };
  emergency?: boolean;
}

export interface WrittenClosureSpec {
  playbook_id: string;
  provider: string;
  state?: ClosureState;
  closed_by: string;
  closed_at?: IsoTime;
  external_ref?: string;
  notes?: string;
  verification_refs?: string[];
}

type Written<S> = WrittenManifest<ManifestKind, S>;

// ---------------------------------------------------------------------------------------------

/**
 * The "commit time" default: the time of the commit that introduced the manifest, or
 * UNKNOWN_COMMIT_TIME (the epoch) when reading the working tree. `usedFallback` tells the caller
 * to emit the `time.commit-time-unknown` warning.
 */
function commitTimeOf(source: ManifestSource): { time: IsoTime; usedFallback: boolean } {
  return source.introduced === null
    ? { time: UNKNOWN_COMMIT_TIME, usedFallback: true }
    : { time: source.introduced.time, usedFallback: false };
}

/**
 * The manifest object: one literal, fields in this order. Built as `{ ...common, spec }` each
 * object got a hidden class of its own (V8's object-spread clone), 10,000 of them for 10,000
 * manifests: ~450 bytes each, and every property read of them megamorphic.
 */
function manifestOf<K extends ManifestKind, S>(
  written: Written<unknown>,
  kind: K,
  source: ManifestSource,
  spec: S,
): ManifestBase<K, S> {
  return {
    apiVersion: API_VERSION,
    kind,
    name: written.metadata.name,
    labels: { ...(written.metadata.labels ?? {}) },
    source,
    spec,
  };
}

export function normalizeProvider(written: Written<WrittenProviderSpec>, source: ManifestSource): Provider {
  const spec = written.spec;
  return manifestOf(written, 'Provider', source, {
    type: spec.type,
    url_env: spec.url_env ?? null,
    token_env: spec.token_env ?? null,
    signing_secret_env: spec.signing_secret_env ?? null,
    enabled: spec.enabled ?? DEFAULT_PROVIDER_ENABLED,
    timeout_seconds: spec.timeout_seconds ?? DEFAULT_PROVIDER_TIMEOUT_SECONDS,
    category: spec.category ?? defaultCategory(spec.type),
    idempotent: spec.idempotent ?? defaultIdempotent(spec.type),
    options: { ...(spec.options ?? {}) },
  });
}

/** The policy spec with every default filled (also used for a repository without a policy). */
export function normalizePolicySpec(spec: WrittenPolicySpec | undefined): ReconcilerPolicySpec {
  const d = DEFAULT_POLICY_SPEC;
  const s = spec ?? {};
  return {
    retry_defaults: {
      max_retry_attempts: s.retry_defaults?.max_retry_attempts ?? d.retry_defaults.max_retry_attempts,
      retry_delay_minutes: s.retry_defaults?.retry_delay_minutes ?? d.retry_defaults.retry_delay_minutes,
      backoff_multiplier: s.retry_defaults?.backoff_multiplier ?? d.retry_defaults.backoff_multiplier,
    },
    require_retry_ack: s.require_retry_ack ?? d.require_retry_ack,
    approvers: [...(s.approvers ?? d.approvers)],
    require_signed_approvals: s.require_signed_approvals ?? d.require_signed_approvals,
    allowed_signers_file: s.allowed_signers_file ?? d.allowed_signers_file,
    max_retry_deliveries_per_run: s.max_retry_deliveries_per_run ?? d.max_retry_deliveries_per_run,
    recovery: {
      min_failure_count: s.recovery?.min_failure_count ?? d.recovery.min_failure_count,
      lookback_hours: s.recovery?.lookback_hours ?? d.recovery.lookback_hours,
      recovery_slo_minutes: s.recovery?.recovery_slo_minutes ?? d.recovery.recovery_slo_minutes,
      auto_playbooks: s.recovery?.auto_playbooks ?? d.recovery.auto_playbooks,
    },
    approvals_required: s.approvals_required ?? d.approvals_required,
    separate_duties: s.separate_duties ?? d.separate_duties,
    freeze_windows: (s.freeze_windows ?? d.freeze_windows).map(normalizeFreezeWindow),
    max_emergency_minutes: s.max_emergency_minutes ?? d.max_emergency_minutes,
    reconciler_signers: [...(s.reconciler_signers ?? d.reconciler_signers)],
    require_signed_records: s.require_signed_records ?? d.require_signed_records,
  };
}

/** A copy of a schema-valid window, with only the fields of its shape (absolute or recurring). */
function normalizeFreezeWindow(window: FreezeWindow): FreezeWindow {
  return 'cron' in window
    ? { cron: window.cron, duration_minutes: window.duration_minutes, reason: window.reason }
    : { from: window.from, to: window.to, reason: window.reason };
}

function normalizePolicy(written: Written<WrittenPolicySpec | undefined>, source: ManifestSource): ReconcilerPolicy {
  return manifestOf(written, 'ReconcilerPolicy', source, normalizePolicySpec(written.spec));
}

export function normalizeAuditDelivery(written: Written<WrittenAuditDeliverySpec>, source: ManifestSource): AuditDelivery {
  const spec = written.spec;
  const pkg = spec.package;
  return manifestOf(written, 'AuditDelivery', source, {
    audit_id: spec.audit_id,
    providers: spec.providers === 'all' ? 'all' : [...spec.providers],
    cadence: spec.cadence ?? DEFAULT_CADENCE,
    package: {
      route_count: pkg.route_count,
      acknowledgement_count: pkg.acknowledgement_count,
      acknowledged_count: pkg.acknowledged_count,
      resolved_count: pkg.resolved_count,
      escalated_count: pkg.escalated_count,
      dismissed_count: pkg.dismissed_count,
      outstanding_count: pkg.outstanding_count,
      routes: (pkg.routes ?? []).map((route) => ({
        route_id: route.route_id,
        provider: route.provider ?? '',
        state: route.state ?? '',
        owner: route.owner ?? '',
      })),
    },
  });
}

function normalizeRetryAcknowledgement(
  written: Written<WrittenAckSpec>,
  source: ManifestSource,
): RetryAcknowledgement {
  const spec = written.spec;
  return manifestOf(written, 'RetryAcknowledgement', source, {
    delivery: spec.delivery,
    provider: spec.provider,
    state: spec.state ?? DEFAULT_ACK_STATE,
    acknowledged_by: spec.acknowledged_by,
    acknowledged_at: spec.acknowledged_at ?? commitTimeOf(source).time,
    external_ref: spec.external_ref ?? '',
    notes: spec.notes ?? '',
  });
}

export function normalizeRetryApproval(written: Written<WrittenApprovalSpec>, source: ManifestSource): RetryApproval {
  const spec = written.spec;
  const policy = spec.retry_policy ?? {};
  return manifestOf(written, 'RetryApproval', source, {
    delivery: spec.delivery,
    provider: spec.provider,
    state: spec.state ?? DEFAULT_APPROVAL_STATE,
    decided_by: spec.decided_by,
    decided_at: spec.decided_at ?? commitTimeOf(source).time,
    expires_at: spec.expires_at ?? null,
    external_ref: spec.external_ref ?? '',
    notes: spec.notes ?? '',
    retry_policy: {
      max_retry_attempts: policy.max_retry_attempts ?? null,
      retry_delay_minutes: policy.retry_delay_minutes ?? null,
      backoff_multiplier: policy.backoff_multiplier ?? null,
      allow_immediate_retry: policy.allow_immediate_retry ?? DEFAULT_ALLOW_IMMEDIATE_RETRY,
    },
    emergency: spec.emergency ?? DEFAULT_EMERGENCY,
  });
}

export function normalizeRecoveryClosure(written: Written<WrittenClosureSpec>, source: ManifestSource): RecoveryClosure {
  const spec = written.spec;
  return manifestOf(written, 'RecoveryClosure', source, {
    playbook_id: spec.playbook_id,
    provider: spec.provider,
    state: spec.state ?? DEFAULT_CLOSURE_STATE,
    closed_by: spec.closed_by,
    closed_at: spec.closed_at ?? commitTimeOf(source).time,
    external_ref: spec.external_ref ?? '',
    notes: spec.notes ?? '',
    verification_refs: [...(spec.verification_refs ?? [])],
  });
}

/** The commit-time field a kind defaults from the introducing commit, if any. */
export const COMMIT_TIME_FIELD: Partial<Record<ManifestKind, string>> = {
  RetryAcknowledgement: 'acknowledged_at',
  RetryApproval: 'decided_at',
  RecoveryClosure: 'closed_at',
};

/** Normalise a schema-valid document of any kind. */
export function normalizeManifest(kind: ManifestKind, value: unknown, source: ManifestSource): Manifest {
  switch (kind) {
    case 'Provider':
      return normalizeProvider(value as Written<WrittenProviderSpec>, source);
    case 'ReconcilerPolicy':
      return normalizePolicy(value as Written<WrittenPolicySpec>, source);
    case 'AuditDelivery':
      return normalizeAuditDelivery(value as Written<WrittenAuditDeliverySpec>, source);
    case 'RetryAcknowledgement':
      return normalizeRetryAcknowledgement(value as Written<WrittenAckSpec>, source);
    case 'RetryApproval':
      return normalizeRetryApproval(value as Written<WrittenApprovalSpec>, source);
    case 'RecoveryClosure':
      return normalizeRecoveryClosure(value as Written<WrittenClosureSpec>, source);
  }
}
