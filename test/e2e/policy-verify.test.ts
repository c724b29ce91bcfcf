/**
 * `verify` recomputes the approval policies (docs/reference.md §4, §6a): an execution record forged
 * into the ledger — a commit that touches only records/ with a reconciler trailer, what signed
 * records would stop — for a retry the freeze window held back is `verify.approval-not-allowed`;
 * the same forgery dated after the window closes recomputes and is not; one for a retry with 1 of 2
 * required approvals is `verify.approval-not-allowed` too. So `plan`, `reconcile` and `verify`
 * agree on the freeze and the quorum.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditFinding } from '../../src/audit/audit-finding.js';
import { EVIDENCE_URI_SCHEMES, evidenceUri } from '../../src/domain/evidence-uris.js';
import {
  approvalPlanId,
  deliveryPlanId,
  deliveryRecordId,
  executionId,
  retryPlanId,
} from '../../src/domain/ids.js';
import { sealRecord } from '../../src/domain/record-format.js';
import type { DeliveryKey, ExecutionRecord } from '../../src/domain/types.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import {
  ackByYaml,
  gateApprovalYaml,
  gatePolicyYaml,
  openPolicyScenario,
  PROVIDER,
  type PolicyScenario,
} from '../helpers/policy-scenario.js';

const FREEZE = { from: '2026-06-28T10:00:00Z', to: '2026-06-28T12:00:00Z', reason: 'release freeze' };

/** The evidence fields of a forged attempt-2 execution of `key`, as the reconciler would write them. */
function forgedRefs(key: DeliveryKey, decision: string, runId: string) {
  return {
    delivery_plan_id: deliveryPlanId(key),
    delivery_metadata_id: deliveryRecordId(key, 2),
    public_evidence_refs: [
      evidenceUri(EVIDENCE_URI_SCHEMES.connectorDelivery, deliveryRecordId(key, 2)),
      evidenceUri(EVIDENCE_URI_SCHEMES.auditDelivery, deliveryPlanId(key)),
      evidenceUri(EVIDENCE_URI_SCHEMES.retryApproval, decision),
      evidenceUri(EVIDENCE_URI_SCHEMES.retryWorker, runId),
    ],
  };
}

describe('verify recomputes the freeze', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  /**
   * d1 and d2 fail, are approved in one file (one blob, so d1's evidence is d2's but for the
   * name), are frozen, and at 12:00 only d1 is executed (one execution per run). Returns d1's
   * execution and d2's approval decision id.
   */
  async function executeOnlyD1(): Promise<{ d1: ExecutionRecord; d2Decision: string }> {
    s = await openPolicyScenario(
      '2026-06-28T10:01:00Z',
      gatePolicyYaml({ freezeWindows: [FREEZE], maxPerRun: 1 }),
      ['d1', 'd2'],
    );
    expect((await s.reconcile()).calls).toBe(2);
    await s.commit(
      {
        'manifests/approvals.yaml': [
          ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com'),
          ackByYaml('ack-d2', 'd2', PROVIDER, 'alice@example.com'),
          gateApprovalYaml('approve-d1', 'd1', PROVIDER),
          gateApprovalYaml('approve-d2', 'd2', PROVIDER),
        ].join('---\n'),
      },
      'ack and approve d1 and d2',
    );
    s.clock.set('2026-06-28T10:30:00Z');
    const frozen = await s.decisionOf('d2');
    expect(frozen.reason).toBe('change_freeze');
    expect((await s.reconcile()).calls).toBe(0);
    s.clock.set('2026-06-28T12:00:00Z');
    expect((await s.reconcile()).calls).toBe(1);
    const executions = (await s.records()).executions;
    expect(executions.map((e) => e.delivery_id)).toEqual(['d1']);
    expect((await s.verify()).exitCode).toBe(0);
    return { d1: executions[0]!, d2Decision: frozen.approval!.approval_decision_id };
  }

  /** Commit an execution of d2's retry at `executedAt`, built like the reconciler builds one. */
  async function forgeD2Execution(
    d1: ExecutionRecord,
    d2Decision: string,
    executedAt: string,
  ): Promise<string> {
    const key = { delivery_id: 'd2', audit_id: 'audit-d2', provider: PROVIDER };
    const { execution_hash: _hash, ...rest } = {
      ...d1,
      ...key,
      execution_id: executionId(d2Decision, key, 2),
      retry_plan_id: retryPlanId(key, 2),
      approval_plan_id: approvalPlanId(key),
      approval_decision_id: d2Decision,
      executed_at: executedAt,
      approval: { ...d1.approval, name: 'approve-d2' },
      ...forgedRefs(key, d2Decision, d1.run_id),
    };
    // Sealed as the reconciler seals a record: current schema, recomputed controls, a correct hash.
    const forged = sealRecord<ExecutionRecord>('executions', rest, 'execution_hash');
    const file = recordPath('executions', forged.execution_id, forged.executed_at);
    await s.commit(
      { [file]: serializeRecord(forged) },
      'cavra-gitops: record 1 executions\n\nCavra-Gitops-Replica: r',
    );
    return file;
  }

  async function verifyFindings(): Promise<AuditFinding[]> {
    const { stdout } = await s.verify();
    return (JSON.parse(stdout) as { findings: AuditFinding[] }).findings;
  }

  it('an execution forged inside the freeze is verify.approval-not-allowed', async () => {
    const { d1, d2Decision } = await executeOnlyD1();
    const file = await forgeD2Execution(d1, d2Decision, '2026-06-28T11:00:00.000Z');
    const findings = await verifyFindings();
    const finding = findings.find((f) => f.rule === 'verify.approval-not-allowed');
    expect(finding, JSON.stringify(findings)).toBeDefined();
    expect(finding!.file).toBe(file);
    expect(finding!.message).toContain('change_freeze');
    expect(findings.some((f) => f.rule === 'verify.missing-delivery' && f.file === file)).toBe(true);
  });

  it('the same forgery dated after the freeze recomputes (no approval-not-allowed)', async () => {
    const { d1, d2Decision } = await executeOnlyD1();
    const file = await forgeD2Execution(d1, d2Decision, '2026-06-28T12:00:00.000Z');
    const findings = await verifyFindings();
    // The forged record was audited (no delivery record of its attempt was forged with it) ...
    expect(findings.some((f) => f.rule === 'verify.missing-delivery' && f.file === file)).toBe(true);
    // ... but the gate admits it at 12:00.
    expect(findings.filter((f) => f.rule === 'verify.approval-not-allowed')).toEqual([]);
  });
});

describe('verify recomputes the quorum', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  it('an execution forged for a retry with 1 of 2 approvals is verify.approval-not-allowed', async () => {
    s = await openPolicyScenario('2026-06-28T10:01:00Z', gatePolicyYaml({ approvalsRequired: 2 }), [
      'd1',
      'd2',
    ]);
    expect((await s.reconcile()).calls).toBe(2);
    // Bob approves both in one file (one blob); only carol's second approval makes d1's quorum.
    await s.commit(
      {
        'manifests/acks.yaml': [
          ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com'),
          ackByYaml('ack-d2', 'd2', PROVIDER, 'alice@example.com'),
        ].join('---\n'),
        'manifests/approvals/bob.yaml': [
          gateApprovalYaml('approve-d1-bob', 'd1', PROVIDER),
          gateApprovalYaml('approve-d2-bob', 'd2', PROVIDER),
        ].join('---\n'),
        'manifests/approvals/carol.yaml': gateApprovalYaml('approve-d1-carol', 'd1', PROVIDER, {
          decidedBy: 'carol@example.com',
        }),
      },
      'ack both; bob approves both, carol approves d1',
    );
    s.clock.set('2026-06-28T10:30:00Z');
    const d2 = await s.decisionOf('d2');
    expect(d2.reason).toBe('quorum_not_met');
    expect((await s.reconcile()).calls).toBe(1);
    const d1 = (await s.records()).executions[0]!;
    expect(d1.delivery_id).toBe('d1');
    expect((await s.verify()).exitCode).toBe(0);

    const bob = (d1.approvals ?? []).find((a) => a.name === 'approve-d1-bob')!;
    const key = { delivery_id: 'd2', audit_id: 'audit-d2', provider: PROVIDER };
    const decision = d2.approval!.approval_decision_id;
    const {
      execution_hash: _hash,
      approvals: _approvals,
      ...rest
    } = {
      ...d1,
      ...key,
      execution_id: executionId(decision, key, 2),
      retry_plan_id: retryPlanId(key, 2),
      approval_plan_id: approvalPlanId(key),
      approval_decision_id: decision,
      approval: { ...bob, name: 'approve-d2-bob' },
      ...forgedRefs(key, decision, d1.run_id),
    };
    const forged = sealRecord<ExecutionRecord>('executions', rest, 'execution_hash');
    const file = recordPath('executions', forged.execution_id, forged.executed_at);
    await s.commit(
      { [file]: serializeRecord(forged) },
      'cavra-gitops: record 1 executions\n\nCavra-Gitops-Replica: r',
    );
    const { stdout } = await s.verify();
    const findings = (JSON.parse(stdout) as { findings: AuditFinding[] }).findings;
    const finding = findings.find((f) => f.rule === 'verify.approval-not-allowed');
    expect(finding, stdout).toBeDefined();
    expect(finding!.file).toBe(file);
    expect(finding!.message).toContain('quorum_not_met');
  });
});
