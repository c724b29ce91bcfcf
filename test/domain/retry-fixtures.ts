/**
 * Builders for runtime manifests and records in the retry tests: every field explicit, so a test
 * states only what it is about.
 */
import { DEFAULT_POLICY_SPEC } from '../../src/domain/defaults.js';
import type { ApprovalFacts, GateFacts } from '../../src/domain/gate-facts.js';
import type {
  AuditDelivery,
  CommitInfo,
  DeliveryRecord,
  ManifestSet,
  Provider,
  ReconcilerPolicySpec,
  RetryAcknowledgement,
  RetryApproval,
} from '../../src/domain/types.js';
import { planRetryWork, type RetryWorkInput, type RetryWorkPlan } from '../../src/domain/retry-plan.js';
import { withHash } from '../../src/domain/hash.js';
import { deliveryRecordId } from '../../src/domain/ids.js';

export const REVISION = 'a'.repeat(40);

export function commitInfo(commit: string, overrides: Partial<CommitInfo> = {}): CommitInfo {
  return {
    commit,
    time: '2026-06-28T09:00:00Z',
    author: 'Alice <alice@example.test>',
    signature: { status: 'none', principal: '' },
    ...overrides,
  };
}

function source(path: string, introduced: CommitInfo | null) {
  return { path, document: 0, line: 1, column: 1, blob: 'b'.repeat(40), introduced };
}

export function provider(name: string, overrides: Partial<Provider['spec']> = {}): Provider {
  return {
    apiVersion: 'cavra.dev/v1',
    kind: 'Provider',
    name,
    labels: {},
    spec: {
      type: 'webhook',
      url_env: 'HOOK_URL',
      token_env: null,
      signing_secret_env: null,
      enabled: true,
      timeout_seconds: 10,
      category: 'webhook',
      idempotent: true,
      options: {},
      ...overrides,
    },
    source: source(`manifests/providers/${name}.yaml`, commitInfo('1'.repeat(40))),
  };
}

export function delivery(
  name: string,
  providers: string[] | 'all' = ['ops-webhook'],
  auditId = 'audit-1',
): AuditDelivery {
  return {
    apiVersion: 'cavra.dev/v1',
    kind: 'AuditDelivery',
    name,
    labels: {},
    spec: {
      audit_id: auditId,
      providers,
      cadence: 'on_demand',
      package: {
        route_count: 1,
        acknowledgement_count: 1,
        acknowledged_count: 1,
        resolved_count: 0,
        escalated_count: 0,
        dismissed_count: 0,
        outstanding_count: 0,
        routes: [{ route_id: 'r1', provider: 'ops-webhook', state: 'acknowledged', owner: 'sre' }],
      },
    },
    source: source(`manifests/deliveries/${name}.yaml`, commitInfo('2'.repeat(40))),
  };
}

export interface ApprovalOptions extends Partial<RetryApproval['spec']> {
  name?: string;
  commit?: string;
  introduced?: CommitInfo | null;
}

export function approval(options: ApprovalOptions = {}): RetryApproval {
  const { name = 'approve-1', commit = '3'.repeat(40), introduced, ...spec } = options;
  return {
    apiVersion: 'cavra.dev/v1',
    kind: 'RetryApproval',
    name,
    labels: {},
    spec: {
      delivery: 'audit-2026-06',
      provider: 'ops-webhook',
      state: 'approved',
      decided_by: 'alice',
      decided_at: '2026-06-28T09:00:00Z',
      expires_at: null,
      external_ref: '',
      notes: '',
      retry_policy: {
        max_retry_attempts: null,
        retry_delay_minutes: null,
        backoff_multiplier: null,
        allow_immediate_retry: false,
      },
      emergency: false,
      ...spec,
    },
    source: source(
      `manifests/approvals/${name}.yaml`,
      introduced === undefined ? commitInfo(commit) : introduced,
    ),
  };
}

export function acknowledgement(
  options: Partial<RetryAcknowledgement['spec']> & { name?: string } = {},
): RetryAcknowledgement {
  const { name = 'ack-1', ...spec } = options;
  return {
    apiVersion: 'cavra.dev/v1',
    kind: 'RetryAcknowledgement',
    name,
    labels: {},
    spec: {
      delivery: 'audit-2026-06',
      provider: 'ops-webhook',
      state: 'accepted',
      acknowledged_by: 'bob',
      acknowledged_at: '2026-06-28T08:30:00Z',
      external_ref: '',
      notes: '',
      ...spec,
    },
    source: source(`manifests/acks/${name}.yaml`, commitInfo('4'.repeat(40))),
  };
}

export const KEY = { delivery_id: 'audit-2026-06', audit_id: 'audit-1', provider: 'ops-webhook' };

export function attempt(
  number: number,
  success: boolean,
  completedAt: string,
  key: { delivery_id: string; audit_id: string; provider: string } = KEY,
  executionId = number === 1 ? '' : `gordackretryexec-${String(number).padStart(16, '0')}`,
): DeliveryRecord {
  return withHash<DeliveryRecord, 'record_hash'>(
    {
      record_id: deliveryRecordId(key, number),
      ...key,
      attempt: number,
      delivery_success: success,
      status_code: success ? 200 : 503,
      error: success ? '' : 'HTTP 503',
      execution_id: executionId,
      idempotency_key: executionId || key.delivery_id,
      attempted_at: completedAt,
      completed_at: completedAt,
      run_id: 'gordackworker-0000000000000000',
      source_revision: REVISION,
    },
    'record_hash',
  );
}

export function policy(overrides: Partial<ReconcilerPolicySpec> = {}): ReconcilerPolicySpec {
  return { ...DEFAULT_POLICY_SPEC, approvers: [], ...overrides };
}

export function manifestSet(overrides: Partial<ManifestSet> = {}): ManifestSet {
  return {
    providers: [provider('ops-webhook')],
    policy: null,
    deliveries: [delivery('audit-2026-06')],
    acknowledgements: [acknowledgement()],
    approvals: [approval()],
    closures: [],
    ...overrides,
  };
}

/** The commit the hand-built facts name as every approval's base, unless told otherwise. */
export const BASE_COMMIT = 'e'.repeat(40);

export interface FactsOptions {
  /** Base policy by approval name (missing: `policy()`, i.e. defaults). */
  basePolicies?: ReadonlyMap<string, ReconcilerPolicySpec>;
  /** Base commit by approval name (missing: BASE_COMMIT). */
  baseCommits?: ReadonlyMap<string, string | null>;
  /** Signatures by approval name; missing: the introducing commit's signature, at base and tip alike. */
  signatures?: ReadonlyMap<string, Pick<ApprovalFacts, 'signatureAtBase' | 'signatureAtTip'>>;
  /** Approval name → consuming execution ids. */
  consumedApprovals?: ReadonlyMap<string, readonly string[]>;
  consumedClosures?: ReadonlyMap<string, readonly string[]>;
  /** The commit the current policy is read at. */
  currentCommit?: string | null;
}

/**
 * GateFacts built by hand, as the read step would give them: for each approval with an
 * introducing commit, that commit, the base (BASE_COMMIT and `policy()` unless told otherwise)
 * and its signature seen alike at base and tip.
 */
export function factsFor(
  manifests: Pick<ManifestSet, 'approvals' | 'policy'>,
  options: FactsOptions = {},
): GateFacts {
  const approvals = new Map<string, ApprovalFacts>();
  for (const manifest of manifests.approvals) {
    const introduced = manifest.source.introduced;
    if (introduced === null) continue;
    const signatures = options.signatures?.get(manifest.name);
    approvals.set(manifest.name, {
      introduced,
      base: {
        commit: options.baseCommits?.has(manifest.name)
          ? (options.baseCommits.get(manifest.name) ?? null)
          : BASE_COMMIT,
        policy: options.basePolicies?.get(manifest.name) ?? policy(),
        recorded: true,
      },
      signatureAtBase: signatures?.signatureAtBase ?? introduced.signature,
      signatureAtTip: signatures?.signatureAtTip ?? introduced.signature,
    });
  }
  return {
    current: {
      commit: options.currentCommit === undefined ? REVISION : options.currentCommit,
      policy: manifests.policy?.spec ?? policy(),
    },
    approvals,
    consumed: {
      approvals: options.consumedApprovals ?? new Map(),
      closures: options.consumedClosures ?? new Map(),
    },
    // A reconciler has recorded the tip already: planner tests see no run record for it.
    tipRecorded: true,
  };
}

/** A planner input whose gate facts are built by hand (factsFor) when it is planned. */
export interface Scenario extends Omit<RetryWorkInput, 'gateFacts'> {
  facts: FactsOptions;
}

export function planScenario(scenario: Scenario): RetryWorkPlan {
  const { facts, ...rest } = scenario;
  return planRetryWork({ ...rest, gateFacts: factsFor(scenario.manifests, facts) });
}

/** The decision of the fixtures' key (KEY) in a plan. */
export function decisionOf(plan: RetryWorkPlan) {
  return plan.decisions.find((d) => d.key.delivery_id === KEY.delivery_id && d.key.provider === KEY.provider);
}
