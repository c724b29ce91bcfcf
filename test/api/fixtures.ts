/**
 * A real ops repository with known manifests and records, for the API and console tests.
 *
 * Two commits: `first` has two providers' executions, playbook A (ops-webhook + siem-splunk) and a
 * closure of A/siem-splunk; `second` adds playbook B (archive) and a committed reports/status.json.
 * At {@link FIXTURE_NOW} with the policy's 240-minute SLO the report has three rows: A/ops-webhook
 * breached (300 minutes old), A/siem-splunk closed, B/archive open.
 */
import type {
  ClosureRecord,
  DeliveryRecord,
  ExecutionRecord,
  PlaybookRecord,
} from '../../src/domain/types.js';
import { makeId, withHash } from '../../src/domain/hash.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { REPLICA_TRAILER } from '../../src/git/store.js';

export const FIXTURE_NOW = new Date('2026-06-28T12:00:30Z');
const at = (clock: string): string => `2026-06-28T${clock}Z`;

export const MANIFESTS: Record<string, string> = {
  'manifests/providers.yaml': `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: ops-webhook
spec:
  type: webhook
  url_env: OPS_WEBHOOK_URL
  signing_secret_env: OPS_WEBHOOK_SECRET
---
apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: siem-splunk
spec:
  type: splunk
  url_env: SPLUNK_HEC_URL
  token_env: SPLUNK_HEC_TOKEN
---
apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: archive
spec:
  type: file
  options:
    directory: audit-archive
`,
  'manifests/policy.yaml': `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  recovery:
    recovery_slo_minutes: 240
`,
  'manifests/deliveries/weekly.yaml': `apiVersion: cavra.dev/v1
kind: AuditDelivery
metadata:
  name: weekly-audit
spec:
  audit_id: audit-2026-26
  providers: [ops-webhook, archive]
  package:
    route_count: 1
    acknowledgement_count: 2
    acknowledged_count: 1
    resolved_count: 1
    escalated_count: 0
    dismissed_count: 0
    outstanding_count: 0
    routes:
      - route_id: route-1
        provider: ops-webhook
        state: resolved
        owner: team-ops
`,
  'manifests/retries/ack.yaml': `apiVersion: cavra.dev/v1
kind: RetryAcknowledgement
metadata:
  name: ack-weekly-ops-webhook
spec:
  delivery: weekly-audit
  provider: ops-webhook
  acknowledged_by: alice
`,
  'manifests/retries/approval.yaml': `apiVersion: cavra.dev/v1
kind: RetryApproval
metadata:
  name: approve-weekly-ops-webhook
spec:
  delivery: weekly-audit
  provider: ops-webhook
  decided_by: bob
`,
};

const KEY = { delivery_id: 'weekly-audit', audit_id: 'audit-2026-26' };

function delivery(
  provider: string,
  attempt: number,
  success: boolean,
  time: string,
  executionId = '',
): DeliveryRecord {
  return withHash<DeliveryRecord>(
    {
      record_id: `weekly-audit.${provider}.${attempt}`,
      ...KEY,
      provider,
      attempt,
      delivery_success: success,
      status_code: success ? 200 : 503,
      error: success ? '' : 'HTTP 503 Service Unavailable',
      execution_id: executionId,
      idempotency_key: executionId || 'weekly-audit',
      attempted_at: time,
      completed_at: time,
      run_id: 'gordackworker-0000000000000001',
      source_revision: '0'.repeat(40),
    },
    'record_hash',
  );
}

function execution(
  provider: string,
  attempt: number,
  status: 'delivered' | 'failed',
  time: string,
): ExecutionRecord {
  return withHash<ExecutionRecord>(
    {
      execution_id: makeId('gordackretryexec-', { provider, attempt }),
      execution_status: status,
      executed_at: time,
      executed_by: 'replica-a',
      run_id: 'gordackworker-0000000000000002',
      retry_plan_id: makeId('gordackretryplan-', { provider, attempt }),
      approval_decision_id: makeId('gordackretryapprovaldecision-', { provider }),
      approval_plan_id: makeId('gordackretryapproval-', { provider }),
      ...KEY,
      provider,
      attempt,
      skipped: '',
      delivery_success: status === 'delivered',
      status_code: status === 'delivered' ? 200 : 503,
      error: status === 'delivered' ? '' : 'HTTP 503 Service Unavailable',
      selected_providers: [provider],
      public_evidence_refs: [],
      approval: {
        manifest: 'manifests/retries/approval.yaml',
        blob: '1'.repeat(40),
        commit: '2'.repeat(40),
        author: 'Bob <bob@example.test>',
        signature: { status: 'none', principal: '' },
      },
      source_revision: '0'.repeat(40),
    },
    'execution_hash',
  );
}

function playbook(
  seed: string,
  time: string,
  providers: { provider: string; category: 'webhook' | 'siem' }[],
): PlaybookRecord {
  return withHash<PlaybookRecord>(
    {
      playbook_id: makeId('gordackrecovery-', { seed }),
      generated_at: time,
      generated_by: 'cavra-gitops',
      lookback_hours: 24,
      min_failure_count: 2,
      provider_count: providers.length,
      failure_count: providers.length * 2,
      provider_playbooks: providers.map(({ provider, category }) => ({
        provider,
        category,
        failure_count: 2,
        latest_failure_at: time,
        status_codes: [503],
        recovery_steps: [`Check ${provider} health.`],
      })),
      source_revision: '0'.repeat(40),
    },
    'playbook_hash',
  );
}

/** A closure record as the reconciler writes it for a RecoveryClosure manifest. */
export function closureRecord(options: {
  playbookId: string;
  provider: string;
  state?: string;
  closedAt: string;
  manifest: string;
}): ClosureRecord {
  const state = options.state ?? 'resolved';
  return withHash<ClosureRecord>(
    {
      closure_id: makeId('gordackrecoveryclosure-', { ...options, state }),
      playbook_id: options.playbookId,
      provider: options.provider,
      closure_state: state,
      closed_by: 'carol',
      closed_at: options.closedAt,
      external_ref: 'INC-42',
      notes: '',
      verification_refs: [],
      source: {
        manifest: options.manifest,
        blob: '3'.repeat(40),
        commit: '4'.repeat(40),
        author: 'Carol <carol@example.test>',
      },
      recorded_at: options.closedAt,
      source_revision: '0'.repeat(40),
    },
    'closure_hash',
  );
}

/** The RecoveryClosure manifest text for a row. */
export function closureManifest(
  name: string,
  playbookId: string,
  provider: string,
  closedAt: string,
): string {
  return `apiVersion: cavra.dev/v1
kind: RecoveryClosure
metadata:
  name: ${name}
spec:
  playbook_id: ${playbookId}
  provider: ${provider}
  closed_by: carol
  closed_at: "${closedAt}"
  external_ref: INC-42
`;
}

export const EXECUTIONS = [
  execution('ops-webhook', 2, 'failed', at('06:30:00')),
  execution('ops-webhook', 3, 'delivered', at('10:00:00')),
];
export const PLAYBOOK_A = playbook('a', at('07:00:00'), [
  { provider: 'ops-webhook', category: 'webhook' },
  { provider: 'siem-splunk', category: 'siem' },
]);
export const PLAYBOOK_B = playbook('b', at('11:30:00'), [{ provider: 'archive', category: 'webhook' }]);
export const CLOSURE_A_SPLUNK = closureRecord({
  playbookId: PLAYBOOK_A.playbook_id,
  provider: 'siem-splunk',
  closedAt: at('09:00:00'),
  manifest: 'manifests/closures/a-splunk.yaml',
});
export const COMMITTED_STATUS = {
  schema_version: 1,
  observed_revision: 'x',
  conditions: [{ type: 'Ready', status: 'True' }],
};

/** Files of a record, keyed by its repository path. */
export function recordFile(
  kind: 'deliveries' | 'executions' | 'playbooks' | 'closures',
  record: object,
  id: string,
  time: string,
): Record<string, string> {
  return { [recordPath(kind, id, time)]: serializeRecord(record) };
}

export interface FixtureRepo extends TempDir {
  first: string;
  second: string;
}

/** Create the fixture repository (two commits on `main`). */
export async function createFixtureRepo(): Promise<FixtureRepo> {
  const repo = await createTempRepo();
  const deliveries = [
    delivery('ops-webhook', 1, false, at('06:00:00')),
    delivery('ops-webhook', 2, false, at('06:30:00'), EXECUTIONS[0]?.execution_id),
    delivery('archive', 1, true, at('06:00:00')),
  ];
  // Manifests come from operators, records from reconciler commits (trailer, records/ and
  // reports/ only): the ledger check of a reconcile over this repository must find it clean.
  await commitFiles(
    repo.dir,
    {
      ...MANIFESTS,
      'manifests/closures/a-splunk.yaml': closureManifest(
        'close-a-splunk',
        PLAYBOOK_A.playbook_id,
        'siem-splunk',
        at('09:00:00'),
      ),
    },
    'manifests',
    { date: at('09:00:00') },
  );
  const firstFiles: Record<string, string> = {};
  for (const record of deliveries)
    Object.assign(firstFiles, recordFile('deliveries', record, record.record_id, record.attempted_at));
  for (const record of EXECUTIONS)
    Object.assign(firstFiles, recordFile('executions', record, record.execution_id, record.executed_at));
  Object.assign(
    firstFiles,
    recordFile('playbooks', PLAYBOOK_A, PLAYBOOK_A.playbook_id, PLAYBOOK_A.generated_at),
  );
  Object.assign(
    firstFiles,
    recordFile('closures', CLOSURE_A_SPLUNK, CLOSURE_A_SPLUNK.closure_id, CLOSURE_A_SPLUNK.recorded_at),
  );
  const first = await commitFiles(repo.dir, firstFiles, `first records\n\n${REPLICA_TRAILER}: fixture`, {
    date: at('09:30:00'),
  });
  const second = await commitFiles(
    repo.dir,
    {
      ...recordFile('playbooks', PLAYBOOK_B, PLAYBOOK_B.playbook_id, PLAYBOOK_B.generated_at),
      'reports/status.json': `${JSON.stringify(COMMITTED_STATUS, null, 2)}\n`,
    },
    `playbook B\n\n${REPLICA_TRAILER}: fixture`,
    { date: at('11:30:00') },
  );
  return { ...repo, first, second };
}
