import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildClaim,
  buildDeliveryRecord,
  buildExecutionRecord,
  buildRunRecord,
  buildUnknownDeliveryFromClaim,
  buildUnknownOutcome,
} from '../../src/domain/record-builders.js';
import { planRetryWork, type PlannedCall, type RetryWorkInput } from '../../src/domain/retry-plan.js';
import { emptyRecordSet } from '../../src/domain/types.js';
import { hasValidHash } from '../../src/domain/hash.js';
import { deliveryPlanId, runId } from '../../src/domain/ids.js';
import { serializeRecord } from '../../src/records/layout.js';
import { REVISION, approval, attempt, commitInfo, factsFor, manifestSet, policy } from './retry-fixtures.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'records', 'golden');
const NOW = new Date('2026-06-28T10:00:00.000Z');
const RUN = runId(REVISION, NOW.toISOString(), 'replica-a');

/** Compare with test/fixtures/records/golden/<name>; UPDATE_GOLDEN=1 rewrites the file (review the diff!). */
function expectGolden(name: string, text: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, text);
  }
  expect(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

function plannedCalls(): { delivery: PlannedCall; execution: PlannedCall } {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, '2026-06-28T09:00:00.000Z'));
  const signed = approval({
    introduced: commitInfo('3'.repeat(40), { signature: { status: 'good', principal: 'alice' } }),
  });
  const manifests = manifestSet({ approvals: [signed], deliveries: [...manifestSet().deliveries] });
  const input: RetryWorkInput = {
    revision: REVISION,
    manifests,
    policy: policy(),
    gateFacts: factsFor(manifests),
    records,
    now: NOW,
    leaseMinutes: 10,
  };
  const execution = planRetryWork(input).executions[0];
  const delivery = planRetryWork({ ...input, records: emptyRecordSet() }).deliveries[0];
  if (!execution || !delivery) throw new Error('fixture must plan one delivery and one execution');
  return { delivery, execution };
}

const FAILED = { success: false, statusCode: 503, error: 'HTTP 503 Service Unavailable' };
const OK = { success: true, statusCode: 200, error: '' };
const times = { attemptedAt: '2026-06-28T10:00:00.000Z', completedAt: '2026-06-28T10:00:01.250Z' };

const BUILDERS: [name: string, build: () => object, hashField: string | null][] = [
  [
    'delivery-attempt-1.json',
    () => buildDeliveryRecord(plannedCalls().delivery, FAILED, { runId: RUN, revision: REVISION, ...times }),
    'record_hash',
  ],
  [
    'delivery-retry.json',
    () => buildDeliveryRecord(plannedCalls().execution, OK, { runId: RUN, revision: REVISION, ...times }),
    'record_hash',
  ],
  [
    'execution-delivered.json',
    () =>
      buildExecutionRecord(plannedCalls().execution, OK, {
        runId: RUN,
        executedAt: times.attemptedAt,
        executedBy: 'replica-a',
        revision: REVISION,
      }),
    'execution_hash',
  ],
  [
    'execution-failed.json',
    () =>
      buildExecutionRecord(plannedCalls().execution, FAILED, {
        runId: RUN,
        executedAt: times.attemptedAt,
        executedBy: 'replica-a',
        revision: REVISION,
      }),
    'execution_hash',
  ],
  [
    'claim.json',
    () =>
      buildClaim(plannedCalls().execution, {
        holder: 'replica-a',
        now: NOW,
        leaseMinutes: 10,
        revision: REVISION,
      }),
    null,
  ],
  [
    'run.json',
    () =>
      buildRunRecord({
        revision: REVISION,
        startedAt: NOW.toISOString(),
        replicaId: 'replica-a',
        deliveryCount: 1,
        executionCount: 1,
        playbookCount: 0,
        closureCount: 0,
      }),
    'run_hash',
  ],
];

describe('record builders: golden files', () => {
  it.each(BUILDERS)('%s', (name, build, hashField) => {
    const record = build();
    const text = serializeRecord(record);
    expectGolden(name, text);
    expect(serializeRecord(build())).toBe(text);
    if (hashField) expect(hasValidHash(JSON.parse(text) as object, hashField)).toBe(true);
  });
});

describe('buildExecutionRecord', () => {
  it('carries CAVRA fields, approval evidence and public refs', () => {
    const { execution } = plannedCalls();
    const record = buildExecutionRecord(execution, OK, {
      runId: RUN,
      executedAt: times.attemptedAt,
      executedBy: 'replica-a',
      revision: REVISION,
    });
    expect(record).toMatchObject({
      execution_id: execution.claimId,
      execution_status: 'delivered',
      approval_decision_id: execution.approvalDecisionId,
      attempt: 2,
      skipped: '',
      delivery_success: true,
      selected_providers: ['ops-webhook'],
      schema:
        'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-retry-execution-record.v2',
      product: 'cavra-gitops',
      public_evidence_refs: [
        'connector-delivery://audit-2026-06.ops-webhook.2',
        `go-rollback-drill-audit-delivery://${deliveryPlanId(execution.key)}`,
        `go-rollback-drill-retry-approval://${execution.approvalDecisionId}`,
        `go-rollback-drill-retry-worker://${RUN}`,
      ],
      delivery_plan_id: deliveryPlanId(execution.key),
      delivery_metadata_id: 'audit-2026-06.ops-webhook.2',
      approval: {
        manifest: 'manifests/approvals/approve-1.yaml',
        commit: '3'.repeat(40),
        author: 'Alice <alice@example.test>',
        signature: { status: 'good', principal: 'alice' },
      },
      source_revision: REVISION,
    });
  });
});

describe('buildUnknownOutcome', () => {
  it('writes an unknown execution and a failed delivery that counts as an attempt', () => {
    const { execution } = plannedCalls();
    const claim = buildClaim(execution, {
      holder: 'replica-a',
      now: NOW,
      leaseMinutes: 10,
      revision: REVISION,
    });
    const later = '2026-06-28T10:30:00.000Z';
    const result = buildUnknownOutcome(
      { claim, call: execution, resend: false },
      { runId: RUN, recordedAt: later, recordedBy: 'replica-b', revision: REVISION },
    );
    expect(result.execution).toMatchObject({
      execution_status: 'unknown',
      execution_id: execution.claimId,
      delivery_success: false,
      executed_by: 'replica-b',
    });
    expect(result.delivery).toMatchObject({
      record_id: 'audit-2026-06.ops-webhook.2',
      attempt: 2,
      delivery_success: false,
      execution_id: execution.claimId,
      error: 'outcome unknown: claim lease expired at 2026-06-28T10:10:00.000Z (held by replica-a)',
    });
    expect(hasValidHash(result.delivery, 'record_hash')).toBe(true);
    expectGolden('execution-unknown.json', serializeRecord(result.execution ?? {}));
  });

  it('for an initial delivery writes only the failed delivery record', () => {
    const { delivery } = plannedCalls();
    const claim = buildClaim(delivery, {
      holder: 'replica-a',
      now: NOW,
      leaseMinutes: 10,
      revision: REVISION,
    });
    const options = {
      runId: RUN,
      recordedAt: '2026-06-28T10:30:00.000Z',
      recordedBy: 'replica-b',
      revision: REVISION,
    };
    const result = buildUnknownOutcome({ claim, call: delivery, resend: false }, options);
    expect(result.execution).toBeNull();
    expect(result.delivery).toEqual(buildUnknownDeliveryFromClaim(claim, options));
    expect(result.delivery).toMatchObject({ attempt: 1, execution_id: '', idempotency_key: 'audit-2026-06' });
  });
});
