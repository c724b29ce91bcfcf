/**
 * Break-glass approvals (`emergency: true`, docs/reference.md §4, issue 13): they pass freeze
 * windows and the quorum, nothing else; they must expire within `max_emergency_minutes` of their
 * commit; the execution record says `emergency: true`; the report and the dashboard count emergency
 * executions and stay critical until a closure cites each of them.
 */
import { describe, expect, it } from 'vitest';
import { buildExecutionRecord } from '../../src/domain/record-builders.js';
import { computeDashboard } from '../../src/domain/history.js';
import { computeRetryRecoveryReport } from '../../src/domain/report.js';
import {
  emptyRecordSet,
  type ClosureRecord,
  type FreezeWindow,
  type RecordSet,
} from '../../src/domain/types.js';
import { serializeRecord } from '../../src/records/layout.js';
import {
  REVISION,
  approval,
  attempt,
  commitInfo,
  decisionOf,
  manifestSet,
  planScenario,
  policy,
  type Scenario,
} from './retry-fixtures.js';

const COMMIT = '3'.repeat(40);
/** The approval's commit is at 09:00; now is 09:40, inside a freeze. */
const COMMIT_TIME = '2026-12-24T09:00:00Z';
const NOW = new Date('2026-12-24T09:40:00.000Z');
const FREEZE: FreezeWindow = { from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z', reason: 'holidays' };

const emergency = (overrides: Parameters<typeof approval>[0] = {}) =>
  approval({
    emergency: true,
    decided_at: COMMIT_TIME,
    expires_at: '2026-12-24T10:00:00Z',
    introduced: commitInfo(COMMIT, { time: COMMIT_TIME }),
    ...overrides,
  });

function scenario(overrides: Partial<Scenario> = {}): Scenario {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, '2026-12-24T08:00:00.000Z'));
  return {
    revision: REVISION,
    manifests: manifestSet({ approvals: [emergency()] }),
    policy: policy({ freeze_windows: [FREEZE], approvals_required: 2 }),
    facts: {},
    records,
    now: NOW,
    leaseMinutes: 10,
    ...overrides,
  };
}

describe('break-glass approvals in the gate', () => {
  it('inside a freeze and below the quorum: executed once, marked emergency', () => {
    const plan = planScenario(scenario());
    const decision = decisionOf(plan);
    expect(decision).toMatchObject({
      reason: 'executed',
      execute: true,
      emergency: true,
      counted_approvals: ['approve-1'],
    });
    expect(decision?.message).toContain('break-glass');
    expect(plan.executions).toHaveLength(1);
    const call = plan.executions[0]!;
    expect(call.emergency).toBe(true);
    const record = buildExecutionRecord(
      call,
      { success: true, statusCode: 200, error: '' },
      {
        runId: 'gordackworker-0000000000000001',
        executedAt: NOW.toISOString(),
        executedBy: 'replica-a',
        revision: REVISION,
      },
    );
    expect(record.emergency).toBe(true);
    expect(serializeRecord(record)).toContain('"emergency": true');
  });

  it('a normal approval in the same freeze is not executed', () => {
    const input = scenario({
      manifests: manifestSet({ approvals: [approval({ decided_at: COMMIT_TIME })] }),
    });
    input.policy = policy({ freeze_windows: [FREEZE] });
    expect(decisionOf(planScenario(input))?.reason).toBe('change_freeze');
  });

  it.each<[string, (s: Scenario) => void, string, string | null]>([
    [
      'needs an allowed approver (current policy)',
      (s) => void (s.policy = { ...s.policy, approvers: ['bob'] }),
      'approver_not_allowed',
      'current',
    ],
    [
      'needs an allowed approver (base policy)',
      (s) => void (s.facts.basePolicies = new Map([['approve-1', policy({ approvers: ['bob'] })]])),
      'approver_not_allowed',
      'base',
    ],
    [
      'needs the acknowledgement',
      (s) => void (s.manifests.acknowledgements = []),
      'wait_for_retry_ack',
      'current',
    ],
    [
      'needs a signature when required: unsigned',
      (s) => void (s.policy = { ...s.policy, require_signed_approvals: true }),
      'signature_required',
      'current',
    ],
    [
      'needs a signature when required: signed by someone else',
      (s) => {
        s.policy = { ...s.policy, require_signed_approvals: true };
        s.manifests.approvals = [
          emergency({
            introduced: commitInfo(COMMIT, {
              time: COMMIT_TIME,
              signature: { status: 'good', principal: 'mallory' },
            }),
          }),
        ];
      },
      'signer_not_trusted',
      'current',
    ],
    [
      'passes with a valid signature',
      (s) => {
        s.policy = { ...s.policy, require_signed_approvals: true };
        s.manifests.approvals = [
          emergency({
            introduced: commitInfo(COMMIT, {
              time: COMMIT_TIME,
              signature: { status: 'good', principal: 'alice' },
            }),
          }),
        ];
      },
      'executed',
      null,
    ],
    ['expires', (s) => void (s.now = new Date('2026-12-24T10:00:00.000Z')), 'approval_expired', null],
    [
      'has no expires_at',
      (s) => void (s.manifests.approvals = [emergency({ expires_at: null })]),
      'emergency_expiry_invalid',
      'current',
    ],
    [
      'expires later than max_emergency_minutes after its commit',
      (s) => void (s.manifests.approvals = [emergency({ expires_at: '2026-12-24T10:00:01Z' })]),
      'emergency_expiry_invalid',
      'current',
    ],
    [
      'the base policy allows fewer minutes',
      (s) => void (s.facts.basePolicies = new Map([['approve-1', policy({ max_emergency_minutes: 30 })]])),
      'emergency_expiry_invalid',
      'base',
    ],
    [
      'is not consumed',
      (s) =>
        void (s.facts.consumedApprovals = new Map([['approve-1', ['gordackretryexec-0000000000000001']]])),
      'approval_consumed',
      null,
    ],
  ])('%s → %s', (_name, change, reason, role) => {
    const input = scenario();
    change(input);
    const plan = planScenario(input);
    const decision = decisionOf(plan);
    expect(decision?.reason).toBe(reason);
    expect(decision?.policy).toBe(role);
    expect(plan.executions).toHaveLength(reason === 'executed' ? 1 : 0);
    if (reason === 'approval_consumed')
      expect(decision?.message).toContain('gordackretryexec-0000000000000001');
  });
});

describe('emergency executions in the report and the dashboard', () => {
  function ledger(): RecordSet {
    const plan = planScenario(scenario());
    const records = emptyRecordSet();
    records.executions.push(
      buildExecutionRecord(
        plan.executions[0]!,
        { success: true, statusCode: 200, error: '' },
        {
          runId: 'gordackworker-0000000000000001',
          executedAt: NOW.toISOString(),
          executedBy: 'replica-a',
          revision: REVISION,
        },
      ),
    );
    return records;
  }

  const closureCiting = (refs: string[]): ClosureRecord => ({
    closure_id: 'gordackrecoveryclosure-0000000000000001',
    closure_hash: '0'.repeat(64),
    playbook_id: 'gordackrecovery-0000000000000001',
    provider: 'ops-webhook',
    closure_state: 'resolved',
    closed_by: 'bob',
    closed_at: '2026-12-24T11:00:00Z',
    external_ref: '',
    notes: 'post-incident review done',
    verification_refs: refs,
    source: {
      name: 'close-1',
      manifest: 'manifests/closures/close-1.yaml',
      blob: '',
      commit: '',
      author: '',
    },
    recorded_at: '2026-12-24T11:00:00Z',
    source_revision: REVISION,
  });

  const report = (records: RecordSet) =>
    computeRetryRecoveryReport(records, {
      sloMinutes: 240,
      generatedBy: 'test',
      now: NOW,
      revision: REVISION,
    }).report;

  it('counts the emergency execution and is critical until a closure cites it', () => {
    const records = ledger();
    const id = records.executions[0]!.execution_id;
    expect(report(records)).toMatchObject({
      emergency_execution_count: 1,
      emergency_unclosed_count: 1,
      alert_level: 'critical',
    });
    expect(computeDashboard(records)).toMatchObject({
      acknowledgement_audit_delivery_retry_emergency_execution_count: 1,
      acknowledgement_audit_delivery_retry_emergency_unclosed_count: 1,
      acknowledgement_audit_delivery_health: 'critical',
    });

    records.closures.push(closureCiting(['something-else']));
    expect(report(records).alert_level).toBe('critical');

    records.closures = [closureCiting([id])];
    expect(report(records)).toMatchObject({
      emergency_execution_count: 1,
      emergency_unclosed_count: 0,
      alert_level: 'healthy',
    });
    expect(computeDashboard(records).acknowledgement_audit_delivery_health).toBe('healthy');
  });

  it('records written before break-glass (no `emergency` field) count as normal executions', () => {
    const records = ledger();
    const { emergency: _dropped, ...old } = records.executions[0]!;
    records.executions = [old];
    expect(report(records)).toMatchObject({ emergency_execution_count: 0, alert_level: 'healthy' });
  });
});
