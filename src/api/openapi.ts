/**
 * The OpenAPI 3.1 description of the API (`/openapi.json`). Schemas are JSON Schema 2020-12; a
 * test validates the real responses of every route against them, so this document cannot drift
 * from the code without a failing test.
 */
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import { HISTORY_MAX_LIMIT } from '../domain/history.js';
import {
  MAX_RECOVERY_SLO_MINUTES,
  MIN_RECOVERY_SLO_MINUTES,
  REPORT_METADATA_KIND,
} from '../domain/report.js';
import { EXECUTION_STATUSES } from '../domain/types.js';
import { AUDIT_DELIVERY, FLOW_BASE, LIST_MAX_LIMIT } from './flow-routes.js';
import { FORMER_POST_HINTS } from './method-not-allowed.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
/** A time, or '' when there is none (CAVRA's convention). */
const timeOrEmpty: Schema = { anyOf: [time, { const: '' }] };
const counts: Schema = { type: 'object', additionalProperties: int };
const strings: Schema = { type: 'array', items: str };

/** An object with exactly these properties, all required. */
function closed(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: 'object',
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    properties,
    additionalProperties: false,
  };
}

/** An object with at least these properties (records may gain fields). */
function open(properties: Record<string, Schema>): Schema {
  return { type: 'object', required: Object.keys(properties), properties };
}

function listPage(item: Schema, extra: Record<string, Schema> = {}): Schema {
  return closed({
    ...extra,
    schema_version: { const: 1 },
    items: { type: 'array', items: item },
    total: int,
    limit: { type: 'integer', minimum: 1 },
    offset: int,
  });
}

const signature = closed({ status: str, principal: str });

const schemas: Record<string, Schema> = {
  Error: closed({
    error: closed(
      {
        code: { type: 'string', pattern: '^[a-z_]+$' },
        message: str,
        manifest_kind: {
          enum: [
            'AuditDelivery',
            'RetryAcknowledgement',
            'RetryApproval',
            'ReconcilerPolicy',
            'RecoveryClosure',
          ],
        },
      },
      ['manifest_kind'],
    ),
  }),
  HistoryItem: open({ metadata_kind: str, metadata_id: str, created_at: time }),
  HistoryPage: listPage(ref('HistoryItem')),
  Dashboard: closed({
    acknowledgement_audit_delivery_plan_count: int,
    acknowledgement_audit_delivery_count: int,
    acknowledgement_audit_delivery_success_count: int,
    failed_acknowledgement_audit_delivery_count: int,
    acknowledgement_audit_delivery_success_rate: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    acknowledgement_audit_delivery_providers: strings,
    acknowledgement_audit_delivery_provider_count: int,
    acknowledgement_audit_delivery_retry_count: int,
    acknowledgement_audit_delivery_outstanding_failure_count: int,
    acknowledgement_audit_delivery_retry_execution_count: int,
    acknowledgement_audit_delivery_retry_execution_success_count: int,
    acknowledgement_audit_delivery_retry_execution_failed_count: int,
    acknowledgement_audit_delivery_retry_emergency_execution_count: int,
    acknowledgement_audit_delivery_retry_emergency_unclosed_count: int,
    acknowledgement_audit_delivery_recovery_playbook_count: int,
    acknowledgement_audit_delivery_recovery_row_count: int,
    acknowledgement_audit_delivery_recovery_closure_count: int,
    acknowledgement_audit_delivery_recovery_closed_count: int,
    acknowledgement_audit_delivery_recovery_open_count: int,
    acknowledgement_audit_delivery_health: { enum: ['critical', 'warning', 'healthy'] },
  }),
  RecoveryRow: closed({
    playbook_id: str,
    provider: str,
    category: str,
    failure_count: int,
    generated_at: time,
    age_minutes: { type: 'integer' },
    recovery_slo_minutes: int,
    closure_state: str,
    closure_id: str,
    closed_at: timeOrEmpty,
    closure_minutes: { type: ['integer', 'null'] },
    slo_status: { enum: ['breached', 'closed', 'open'] },
    slo_breached: bool,
  }),
  ProviderSummary: closed({
    provider: str,
    execution_count: int,
    execution_delivered_count: int,
    execution_failed_count: int,
    execution_skipped_count: int,
    recovery_playbook_count: int,
    recovery_closure_count: int,
    open_recovery_count: int,
    slo_breached_count: int,
    latest_execution_at: timeOrEmpty,
    latest_closure_at: timeOrEmpty,
  }),
  ClosureTrend: closed({
    date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    closure_count: int,
    resolved_count: int,
    mitigated_count: int,
    deferred_count: int,
    escalated_count: int,
    reopened_count: int,
    provider_counts: counts,
  }),
  LatestExecution: closed({
    execution_id: str,
    provider: str,
    execution_status: str,
    executed_at: time,
    delivery_success: bool,
    approval_decision_id: str,
    run_id: str,
  }),
  RetryRecoveryReport: closed({
    report_id: { type: 'string', pattern: '^gordackretryreport-[0-9a-f]{16}$' },
    generated_at: time,
    generated_by: str,
    revision: str,
    recovery_slo_minutes: {
      type: 'integer',
      minimum: MIN_RECOVERY_SLO_MINUTES,
      maximum: MAX_RECOVERY_SLO_MINUTES,
    },
    alert_level: { enum: ['critical', 'warning', 'healthy'] },
    execution_count: int,
    execution_success_count: int,
    execution_failed_count: int,
    execution_success_rate: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    execution_status_counts: counts,
    emergency_execution_count: int,
    emergency_unclosed_count: int,
    recovery_playbook_provider_count: int,
    recovery_closed_count: int,
    recovery_open_count: int,
    recovery_slo_breached_count: int,
    closure_state_counts: counts,
    provider_summary: { type: 'array', items: ref('ProviderSummary') },
    recovery_rows: { type: 'array', items: ref('RecoveryRow') },
    closure_trends: { type: 'array', items: ref('ClosureTrend') },
    latest_executions: { type: 'array', maxItems: 20, items: ref('LatestExecution') },
  }),
  ReportMetadata: closed(
    {
      schema: {
        type: 'string',
        description: 'Record format of the report (docs/records.md), e.g. `…-retry-recovery-report.v2`.',
      },
      product: { const: 'cavra-gitops' },
      kind: { const: REPORT_METADATA_KIND },
      session_id: str,
      created_at: time,
      signer: str,
      decision_count: int,
      blocked_count: int,
      approval_required_count: int,
      revision: str,
    },
    ['schema', 'product'],
  ),
  ReportEnvelope: closed({ report: ref('RetryRecoveryReport'), metadata: ref('ReportMetadata') }),
  NextStep: closed({
    action: {
      enum: ['commit', 'wait', 'fix', 'none'],
      description:
        'commit: commit `manifest` through a pull request; wait: time or the reconciler moves the key; fix: change a manifest; none: nothing to do.',
    },
    summary: str,
    kind: { enum: ['RetryAcknowledgement', 'RetryApproval', null] },
    path: { type: ['string', 'null'], description: 'Suggested repository path of the manifest.' },
    manifest: {
      type: ['string', 'null'],
      description: 'A ready-to-paste YAML manifest; replace the placeholder person field before committing.',
    },
  }),
  RetryDecision: {
    ...open({ action: str, reason: str, execute: bool }),
    // The planner's decision also says why in words, which policy (base or current) decided, and
    // what to commit next.
    properties: {
      key: open({ delivery_id: str, audit_id: str, provider: str }),
      action: str,
      reason: str,
      execute: bool,
      message: str,
      policy: { enum: ['base', 'current', null] },
      policy_commit: { type: ['string', 'null'] },
      max_retry_attempts: {
        type: 'integer',
        minimum: 0,
        description: 'The attempt limit the key is judged by (action suppress once retry_count reaches it).',
      },
      next_step: ref('NextStep'),
    },
  },
  RetryPlan: closed({
    schema_version: { const: 1 },
    revision: str,
    evaluated_at: time,
    decision_count: int,
    execute_count: int,
    waiting_count: {
      ...int,
      description: 'Keys whose next step is a manifest for a person to commit (next_step.action commit).',
    },
    action_counts: counts,
    reason_counts: counts,
    decisions: {
      type: 'array',
      items: ref('RetryDecision'),
      description:
        'This page of the decisions, waiting for a person first, then executing on the next run, then the rest; by delivery id and provider within each. The counts cover every key.',
    },
    total: int,
    limit: { type: 'integer', minimum: 1 },
    offset: int,
  }),
  ExecutionRecord: open({
    execution_id: { type: 'string', pattern: '^gordackretryexec-' },
    execution_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    execution_status: str,
    executed_at: time,
    executed_by: str,
    run_id: str,
    retry_plan_id: str,
    approval_decision_id: str,
    approval_plan_id: str,
    delivery_id: str,
    audit_id: str,
    provider: str,
    attempt: { type: 'integer', minimum: 1 },
    skipped: str,
    delivery_success: bool,
    selected_providers: strings,
    public_evidence_refs: {
      ...strings,
      description:
        'Format v2: CAVRA evidence URIs, each resolvable with GET /runtime/go-pilot/rollback-drill-notifications/evidence?uri=…; format v1 records hold plain record ids and manifest paths.',
    },
    approval: open({ manifest: str, blob: str, commit: str, author: str, signature }),
    source_revision: str,
  }),
  PlaybookRecord: open({
    playbook_id: { type: 'string', pattern: '^gordackrecovery-' },
    playbook_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    generated_at: time,
    generated_by: str,
    lookback_hours: int,
    min_failure_count: int,
    provider_count: int,
    failure_count: int,
    provider_playbooks: {
      type: 'array',
      items: open({
        provider: str,
        category: str,
        failure_count: int,
        latest_failure_at: time,
        status_codes: { type: 'array', items: { type: 'integer' } },
        recovery_steps: strings,
      }),
    },
  }),
  ClosureRecord: open({
    closure_id: { type: 'string', pattern: '^gordackrecoveryclosure-' },
    closure_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    playbook_id: str,
    provider: str,
    closure_state: str,
    closed_by: str,
    closed_at: time,
    external_ref: str,
    notes: str,
    verification_refs: strings,
    source: open({ manifest: str, blob: str, commit: str, author: str }),
  }),
  ManifestItem: closed({
    kind: str,
    name: str,
    labels: { type: 'object', additionalProperties: str },
    spec: { type: 'object' },
    source: open({
      path: str,
      document: int,
      line: int,
      column: int,
      blob: str,
      introduced: { type: ['object', 'null'] },
    }),
  }),
  StatusCondition: closed({ type: str, status: str, reason: str, message: str }),
  ManifestCondition: open({
    file: str,
    document: int,
    kind: str,
    name: str,
    ready: bool,
    reason: str,
    message: str,
  }),
  ProcessRun: closed({
    source: { const: 'process', description: 'A run of the reconcile loop of this process (`start`).' },
    finished_at: time,
    outcome: { enum: ['ok', 'noop', 'failed'] },
    revision: { type: ['string', 'null'] },
    commit_count: int,
    calls: int,
    delivered: int,
    failed: int,
    unknown: int,
    next_due_at: { anyOf: [time, { type: 'null' }] },
    message: str,
  }),
  RecordedRun: closed({
    source: {
      const: 'records',
      description: 'The newest run record on the ledger (this process runs no loop, e.g. `serve`).',
    },
    run_id: str,
    replica_id: str,
    started_at: time,
    source_revision: str,
    delivery_count: int,
    execution_count: int,
    playbook_count: int,
    closure_count: int,
  }),
  Status: closed({
    revision: str,
    ledger_revision: str,
    committed: {
      description: 'reports/status.json as committed at the revision, or null when absent or unreadable.',
      anyOf: [{ type: 'null' }, { type: 'object' }],
    },
    observed_revision: { type: ['string', 'null'] },
    observed_at: { type: ['string', 'null'] },
    conditions: {
      type: 'array',
      description:
        'The committed Flux-style conditions (Ready, Reconciling, Stalled); empty without a status.',
      items: ref('StatusCondition'),
    },
    pending_reasons: counts,
    skipped_manifests: {
      type: 'array',
      description: 'Manifest documents the reconciler skips at the served revision, and why.',
      items: ref('ManifestCondition'),
    },
    manifest_finding_count: int,
    record_finding_count: int,
    last_run: { anyOf: [ref('ProcessRun'), ref('RecordedRun'), { type: 'null' }] },
    last_error: {
      description: 'The last failed run of this process (null without one, and always for `serve`).',
      anyOf: [closed({ at: time, message: str }), { type: 'null' }],
    },
    process: closed({
      ready: bool,
      started_at: time,
      observes_runs: {
        type: 'boolean',
        description:
          'True when this process runs the reconcile loop, so last_run and last_error are its own.',
      },
      consecutive_failures: int,
    }),
  }),
  ExecutionTrends: closed({
    revision: str,
    schema_version: { const: 1 },
    dates: { type: 'array', items: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
    providers: strings,
    statuses: strings,
    items: {
      type: 'array',
      items: closed({
        date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
        provider: str,
        execution_status: str,
        count: { type: 'integer', minimum: 1 },
      }),
    },
    execution_count: int,
  }),
  DeliveredRoute: closed({
    delivery_id: str,
    audit_id: str,
    route_id: str,
    provider: {
      type: 'string',
      description: 'Provider the route notifies ("" when the manifest names none).',
    },
    state: str,
    owner: str,
  }),
  DeliveredRoutes: listPage(ref('DeliveredRoute'), {
    revision: str,
    ledger_revision: str,
    delivery_count: {
      type: 'integer',
      minimum: 0,
      description: 'AuditDelivery manifests at the revision that have delivery records (before filters).',
    },
    missing_deliveries: {
      ...strings,
      description: 'Delivery ids with records but no valid AuditDelivery manifest at the revision.',
    },
    owners: strings,
    states: strings,
    providers: strings,
    owner_state_counts: {
      type: 'array',
      description:
        'Routes per owner and state over every route that passes the filters (not only this page).',
      items: closed({ owner: str, state: str, count: { type: 'integer', minimum: 1 } }),
    },
  }),
  SuppressedKey: closed({
    delivery_id: str,
    audit_id: str,
    provider: str,
    attempts: int,
    retry_count: int,
    max_retry_attempts: { type: ['integer', 'null'], minimum: 0 },
    latest_failure_at: { anyOf: [time, { type: 'null' }] },
    latest_status_code: { type: ['integer', 'null'] },
    latest_error: str,
    message: str,
  }),
  Suppressions: closed({
    schema_version: { const: 1 },
    revision: str,
    ledger_revision: str,
    evaluated_at: time,
    suppressed_count: int,
    provider_counts: {
      type: 'array',
      items: closed({ provider: str, suppressed_count: { type: 'integer', minimum: 1 } }),
    },
    items: { type: 'array', items: ref('SuppressedKey') },
  }),
  Health: closed({ status: { const: 'ok' } }),
  Ready: closed({ status: { const: 'ready' } }),
};

const parameters: Record<string, Schema> = {
  at: {
    name: 'at',
    in: 'query',
    description: 'Answer as of this commit (7 to 64 hex characters) instead of the tracked tip.',
    schema: { type: 'string', pattern: '^[0-9a-fA-F]{7,64}$' },
  },
  limit: {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: LIST_MAX_LIMIT, default: 50 },
  },
  offset: { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
  provider: {
    name: 'provider',
    in: 'query',
    description: 'Provider manifest name.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  },
  delivery_id: { name: 'delivery_id', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 200 } },
  audit_id: { name: 'audit_id', in: 'query', schema: { type: 'string', minLength: 1 } },
  delivery_success: { name: 'delivery_success', in: 'query', schema: { enum: ['true', 'false'] } },
  metadata_kind: {
    name: 'metadata_kind',
    in: 'query',
    description: 'delivery, execution, playbook, closure, or the full CAVRA metadata kind.',
    schema: { type: 'string' },
  },
  history_limit: {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: HISTORY_MAX_LIMIT, default: 50 },
  },
  execution_status: { name: 'execution_status', in: 'query', schema: { enum: [...EXECUTION_STATUSES] } },
  recovery_slo_minutes: {
    name: 'recovery_slo_minutes',
    in: 'query',
    description: 'Default: the ReconcilerPolicy spec.recovery.recovery_slo_minutes (240 without a policy).',
    schema: { type: 'integer', minimum: MIN_RECOVERY_SLO_MINUTES, maximum: MAX_RECOVERY_SLO_MINUTES },
  },
  generated_by: {
    name: 'generated_by',
    in: 'query',
    schema: { type: 'string', minLength: 1, maxLength: 200, default: 'console' },
  },
  owner: {
    name: 'owner',
    in: 'query',
    description: 'Route owner, exactly.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  },
  state: {
    name: 'state',
    in: 'query',
    description: 'Route state, exactly.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  },
  executionId: { name: 'executionId', in: 'path', required: true, schema: str },
  playbookId: { name: 'playbookId', in: 'path', required: true, schema: str },
  uri: {
    name: 'uri',
    in: 'query',
    required: true,
    description:
      "A CAVRA evidence URI from a record's public_evidence_refs. `connector-delivery://<record_id>` → the delivery record of that attempt (kind `delivery`); `go-rollback-drill-audit-delivery://<delivery_plan_id>` → every delivery record of the plan, by attempt (kind `delivery-plan`); `go-rollback-drill-retry-approval://<approval_decision_id>` → the execution records that carry the decision and its approval evidence (kind `approval-decision`); `go-rollback-drill-retry-worker://<run_id>` → the run record (kind `run`).",
    schema: {
      type: 'string',
      maxLength: 200,
      pattern:
        '^(connector-delivery|go-rollback-drill-audit-delivery|go-rollback-drill-retry-approval|go-rollback-drill-retry-worker)://[a-z0-9][a-z0-9.-]*$',
    },
  },
};

const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });

const errorResponse = (description: string): Schema => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

const revisionHeaders: Schema = {
  'X-Cavra-Revision': { description: 'The commit the answer was computed from.', schema: { type: 'string' } },
  ETag: { description: 'Strong validator: SHA-256 of the body, quoted.', schema: { type: 'string' } },
};

interface Operation {
  path: string;
  operationId: string;
  summary: string;
  schema: string;
  params: string[];
  revisionBound?: boolean;
  notFound?: boolean;
  unavailable?: boolean;
}

const operations: Operation[] = [
  {
    path: FLOW_BASE,
    operationId: 'history',
    summary: 'History of delivery, execution, playbook and closure records, newest first.',
    schema: 'HistoryPage',
    params: [
      'provider',
      'metadata_kind',
      'delivery_success',
      'audit_id',
      'delivery_id',
      'history_limit',
      'offset',
    ],
  },
  {
    path: `${FLOW_BASE}/dashboard`,
    operationId: 'dashboard',
    summary: 'Delivery counters of the flow.',
    schema: 'Dashboard',
    params: [],
  },
  {
    path: `${AUDIT_DELIVERY}/retry-recovery-report`,
    operationId: 'retryRecoveryReport',
    summary: 'The retry recovery report (evaluated at the current time floored to the minute).',
    schema: 'ReportEnvelope',
    params: ['recovery_slo_minutes', 'generated_by'],
  },
  {
    path: `${AUDIT_DELIVERY}/retry-plan`,
    operationId: 'retryPlan',
    summary:
      'Current retry decision and approval state per key, with reasons and the next step (a ready-to-paste manifest when a person must act), paged: keys waiting for a person first.',
    schema: 'RetryPlan',
    params: ['limit', 'offset'],
    unavailable: true,
  },
  {
    path: `${AUDIT_DELIVERY}/retry-execution-trends`,
    operationId: 'retryExecutionTrends',
    summary:
      'Executions per provider by outcome over time: counts by UTC day, provider and execution status.',
    schema: 'ExecutionTrends',
    params: [],
  },
  {
    path: `${AUDIT_DELIVERY}/routes`,
    operationId: 'auditPackageRoutes',
    summary:
      'Routes (package.routes[]) of the AuditDelivery packages that have delivery records, by owner, state, provider and route id, with counts per owner and state.',
    schema: 'DeliveredRoutes',
    params: ['owner', 'state', 'provider', 'delivery_id', 'limit', 'offset'],
  },
  {
    path: `${AUDIT_DELIVERY}/suppressions`,
    operationId: 'retrySuppressions',
    summary:
      'Keys whose retry decision is suppress (failed attempts reached the attempt limit), counted by provider, with attempts and limit (evaluated as the retry plan).',
    schema: 'Suppressions',
    params: ['provider'],
    unavailable: true,
  },
  {
    path: `${AUDIT_DELIVERY}/retry-executions`,
    operationId: 'retryExecutions',
    summary: 'Execution records, newest first.',
    schema: 'ExecutionPage',
    params: ['provider', 'execution_status', 'delivery_id', 'limit', 'offset'],
  },
  {
    path: `${AUDIT_DELIVERY}/retry-executions/{executionId}`,
    operationId: 'retryExecution',
    summary: 'One execution record.',
    schema: 'ExecutionRecord',
    params: ['executionId'],
    notFound: true,
  },
  {
    path: `${AUDIT_DELIVERY}/connector-recovery-playbooks`,
    operationId: 'connectorRecoveryPlaybooks',
    summary: 'Playbooks, newest first.',
    schema: 'PlaybookPage',
    params: ['provider', 'limit', 'offset'],
  },
  {
    path: `${AUDIT_DELIVERY}/connector-recovery-playbooks/{playbookId}`,
    operationId: 'connectorRecoveryPlaybook',
    summary: 'One playbook.',
    schema: 'PlaybookRecord',
    params: ['playbookId'],
    notFound: true,
  },
  {
    path: `${AUDIT_DELIVERY}/connector-recovery-playbooks/{playbookId}/closures`,
    operationId: 'connectorRecoveryPlaybookClosures',
    summary: "A playbook's closure records, newest first.",
    schema: 'ClosurePage',
    params: ['playbookId', 'limit', 'offset'],
    notFound: true,
  },
  {
    path: `${FLOW_BASE}/evidence`,
    operationId: 'resolveEvidence',
    summary:
      'Resolve a CAVRA evidence URI (public_evidence_refs) to the records it names; each URI form and what it resolves to is listed under the `uri` parameter.',
    schema: 'EvidenceAnswer',
    params: ['uri'],
    notFound: true,
  },
  {
    path: `${AUDIT_DELIVERY}/retry-approvals`,
    operationId: 'retryApprovals',
    summary: 'Valid RetryApproval manifests at the revision, with their introducing commits.',
    schema: 'ManifestPage',
    params: ['limit', 'offset'],
  },
  {
    path: `${AUDIT_DELIVERY}/retry-acknowledgements`,
    operationId: 'retryAcknowledgements',
    summary: 'Valid RetryAcknowledgement manifests at the revision, with their introducing commits.',
    schema: 'ManifestPage',
    params: ['limit', 'offset'],
  },
  {
    path: '/status',
    operationId: 'status',
    summary:
      'Reconciler conditions and skipped manifests of the revision, the last run and last error, and process readiness.',
    schema: 'Status',
    params: [],
  },
  {
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness.',
    schema: 'Health',
    params: [],
    revisionBound: false,
  },
];

function describeOperation(operation: Operation): Schema {
  const revisionBound = operation.revisionBound ?? true;
  const responses: Record<string, Schema> = {
    '200': {
      description: 'OK',
      headers: revisionBound ? revisionHeaders : { ETag: revisionHeaders.ETag },
      content: { 'application/json': { schema: ref(operation.schema) } },
    },
    '304': { description: 'Not modified: the If-None-Match tag matches.' },
  };
  if (revisionBound) {
    responses['400'] = errorResponse(
      'Bad parameter (unknown, repeated, malformed or out of range; also an `at` that is malformed or names a tree or a blob, code not_a_commit).',
    );
    responses['404'] = errorResponse(
      operation.notFound ? 'Unknown id, or unknown `at` commit.' : 'Unknown `at` commit.',
    );
    responses['503'] = errorResponse(
      'The repository could not be read (or, for retry-plan and suppressions, no planner is configured).',
    );
  }
  // Path parameters belong to the path item, so every operation on it (GET and the refused POST)
  // declares them, as OpenAPI requires of each operation of a templated path.
  const pathParams = operation.params.filter((name) => parameters[name]?.in === 'path');
  const queryParams = operation.params.filter((name) => !pathParams.includes(name));
  const get: Schema = {
    operationId: operation.operationId,
    summary: operation.summary,
    parameters: [...queryParams.map(param), ...(revisionBound ? [param('at')] : [])],
    responses,
  };
  const relative = operation.path.startsWith(FLOW_BASE)
    ? operation.path.slice(FLOW_BASE.length).replace('{playbookId}', ':playbookId')
    : null;
  const hint = relative === null ? undefined : FORMER_POST_HINTS[relative];
  const notAllowed: Schema = {
    ...errorResponse(
      hint === undefined
        ? 'Read-only API: every method other than GET and HEAD.'
        : `Read-only API. Commit ${withIndefiniteArticle(hint.kind)} manifest instead; the error names it in manifest_kind.`,
    ),
    headers: { Allow: { schema: { const: 'GET, HEAD' } } },
  };
  return {
    ...(pathParams.length > 0 ? { parameters: pathParams.map(param) } : {}),
    get,
    post: {
      operationId: `${operation.operationId}Post`,
      summary: 'Not allowed.',
      responses: { '405': notAllowed },
    },
  };
}

/** The OpenAPI 3.1 document of every route. */
export function createOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Schema> = {};
  for (const operation of operations) paths[operation.path] = describeOperation(operation);
  paths['/readyz'] = {
    get: {
      operationId: 'readyz',
      summary: 'Readiness: 200 once a first revision was read.',
      responses: {
        '200': { description: 'Ready', content: { 'application/json': { schema: ref('Ready') } } },
        '503': errorResponse('No revision read yet.'),
      },
    },
  };
  paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format).',
      description:
        'Process and reconciler metrics, API latency, and gauges of the served revision computed at each scrape: cavra_recoveries_open, cavra_recoveries_breached, cavra_recoveries_pending (merged RecoveryClosure manifests not recorded yet), cavra_emergency_executions, cavra_emergency_executions_unclosed and cavra_retry_keys_waiting{reason}.',
      responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: str } } } },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document.',
      responses: {
        '200': {
          description: 'OpenAPI 3.1',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  };
  paths['/console/'] = {
    get: {
      operationId: 'console',
      summary: 'The Evidence Console (static HTML).',
      responses: { '200': { description: 'HTML', content: { 'text/html': { schema: str } } } },
    },
  };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'cavra-gitops read-only API',
      version: '1',
      description:
        'Every answer is computed from one committed revision of the ops repository (X-Cavra-Revision, strong ETag, 304 on If-None-Match). Unknown query parameters are rejected with 400. Changes are made by committing manifests, never through this API: every method other than GET and HEAD (PUT, PATCH, DELETE, OPTIONS, CONNECT, unknown ones) answers 405 with `Allow: GET, HEAD` on every path; POST is described per path because CAVRA accepted it on some.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: {
        ...schemas,
        ExecutionPage: listPage(ref('ExecutionRecord')),
        PlaybookPage: listPage(ref('PlaybookRecord')),
        ClosurePage: listPage(ref('ClosureRecord'), { playbook_id: str }),
        ManifestPage: listPage(ref('ManifestItem')),
        EvidenceAnswer: closed({
          uri: str,
          kind: { enum: ['delivery', 'delivery-plan', 'approval-decision', 'run'] },
          id: str,
          revision: str,
          records: { type: 'array', minItems: 1, items: { type: 'object' } },
        }),
      },
      parameters,
    },
  };
}
