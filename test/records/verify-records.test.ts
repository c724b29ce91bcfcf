import { describe, expect, it } from 'vitest';
import { buildDeliveryRecord, buildExecutionRecord } from '../../src/domain/record-builders.js';
import { planRetryWork, type PlannedCall } from '../../src/domain/retry-plan.js';
import { emptyRecordSet, type ExecutionRecord, type RecordSet } from '../../src/domain/types.js';
import { withHash } from '../../src/domain/hash.js';
import { verifyRecords } from '../../src/records/verify-records.js';
import { REVISION, approval, attempt, factsFor, manifestSet, policy } from '../domain/retry-fixtures.js';

const NOW = new Date('2026-06-28T10:00:00.000Z');
const options = { runId: 'gordackworker-0000000000000001', revision: REVISION };
const FAILED = { success: false, statusCode: 503, error: 'HTTP 503' };

/** A ledger: attempt 1 failed, the approved retry (attempt 2) executed and failed. */
function ledger(): { records: RecordSet; call: PlannedCall } {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, '2026-06-28T09:00:00.000Z'));
  const call = planRetryWork({
    revision: REVISION,
    manifests: manifestSet(),
    policy: policy(),
    gateFacts: factsFor(manifestSet()),
    records,
    now: NOW,
    leaseMinutes: 10,
  }).executions[0];
  if (!call) throw new Error('expected an execution');
  records.executions.push(
    buildExecutionRecord(call, FAILED, {
      ...options,
      executedAt: NOW.toISOString(),
      executedBy: 'replica-a',
    }),
  );
  records.deliveries.push(
    buildDeliveryRecord(call, FAILED, {
      ...options,
      attemptedAt: NOW.toISOString(),
      completedAt: NOW.toISOString(),
    }),
  );
  return { records, call };
}

function rehash(record: ExecutionRecord): ExecutionRecord {
  return withHash<ExecutionRecord, 'execution_hash'>(record, 'execution_hash');
}

describe('verifyRecords', () => {
  it('finds nothing wrong in a ledger the reconciler wrote', () => {
    expect(verifyRecords(ledger().records, manifestSet())).toEqual([]);
  });

  it.each<[string, (records: RecordSet) => void, string]>([
    [
      'an edited execution',
      (r) => void (r.executions[0] = { ...(r.executions[0] as ExecutionRecord), executed_by: 'mallory' }),
      'verify.hash-mismatch',
    ],
    [
      'an edited delivery',
      (r) => void (r.deliveries[0] = { ...r.deliveries[0]!, delivery_success: true }),
      'verify.hash-mismatch',
    ],
    [
      'an execution id that is not f(decision, key, attempt)',
      (r) => void (r.executions[0] = rehash({ ...r.executions[0]!, attempt: 7 })),
      'verify.id-mismatch',
    ],
    [
      'a forged approval decision',
      (r) =>
        void (r.executions[0] = rehash({
          ...r.executions[0]!,
          approval_decision_id: 'gordackretryapprovaldecision-0000000000000000',
        })),
      'verify.unknown-approval',
    ],
    [
      'a second execution for one approval',
      (r) => void r.executions.push(rehash({ ...r.executions[0]!, executed_by: 'replica-b' })),
      'verify.duplicate-execution',
    ],
    ['a gap in attempts', (r) => void r.deliveries.splice(0, 1), 'verify.attempt-sequence'],
    [
      'an execution without its delivery record',
      (r) => void r.deliveries.splice(1, 1),
      'verify.missing-delivery',
    ],
  ])('reports %s', (_name, tamper, rule) => {
    const { records } = ledger();
    tamper(records);
    expect(verifyRecords(records, manifestSet()).map((f) => f.rule)).toContain(rule);
  });

  it('accepts an approval edited after its execution when history supplies the old decision id', () => {
    const { records, call } = ledger();
    const edited = manifestSet({ approvals: [approval({ notes: 'edited later' })] });
    expect(verifyRecords(records, edited).map((f) => f.rule)).toEqual(['verify.unknown-approval']);
    expect(
      verifyRecords(records, edited, { knownApprovalDecisionIds: new Set([call.approvalDecisionId]) }),
    ).toEqual([]);
  });

  it('locates findings at the record file', () => {
    const { records } = ledger();
    records.executions[0] = { ...records.executions[0]!, executed_by: 'mallory' };
    const [finding] = verifyRecords(records, manifestSet());
    expect(finding?.file).toBe(`records/executions/2026-06/${records.executions[0].execution_id}.json`);
  });
});
