/**
 * Quorum (`approvals_required`, docs/reference.md §4) end to end with real git: one approval of two
 * is `quorum_not_met (1 of 2)` with no call and `plan` names who approved; a second person makes
 * exactly one execution whose record lists both; one person approving in two documents counts once;
 * an approver the BASE policy does not allow (the change widened `approvers` for itself) is not
 * counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ackByYaml,
  gateApprovalYaml,
  gatePolicyYaml,
  openPolicyScenario,
  PROVIDER,
  type PolicyScenario,
} from '../helpers/policy-scenario.js';

describe('quorum: approvals_required 2, end to end', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  async function failFirstAttempt(policy: string): Promise<void> {
    s = await openPolicyScenario('2026-06-28T10:00:00Z', policy);
    s.clock.advanceMinutes(1);
    expect((await s.reconcile()).calls).toBe(1); // attempt 1 of d1 fails (503)
    await s.commit(
      { 'manifests/acks/d1.yaml': ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') },
      'alice acknowledges d1',
    );
    s.clock.advanceMinutes(1);
  }

  it('one approval of two: quorum_not_met (1 of 2), no call; a second person: one execution listing both', async () => {
    await failFirstAttempt(gatePolicyYaml({ approvalsRequired: 2 }));
    await s.commit(
      { 'manifests/approvals/bob.yaml': gateApprovalYaml('approve-d1-bob', 'd1', PROVIDER) },
      'bob approves',
      { author: 'Bob <bob@example.com>' },
    );
    const first = await s.decisionOf('d1');
    expect(first.reason).toBe('quorum_not_met');
    expect(first.execute).toBe(false);
    expect(first.message).toContain('1 of 2 distinct approvers');
    expect(first.message).toContain('bob@example.com (approve-d1-bob)');
    expect(first.message).toContain('approvals_required');
    expect(await s.planText()).toMatch(/d1 → ops-webhook: retry — quorum_not_met/);
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);

    s.clock.advanceMinutes(1);
    await s.commit(
      {
        'manifests/approvals/carol.yaml': gateApprovalYaml('approve-d1-carol', 'd1', PROVIDER, {
          decidedBy: 'carol@example.com',
        }),
      },
      'carol approves',
      { author: 'Carol <carol@example.com>' },
    );
    const second = await s.decisionOf('d1');
    expect(second.reason).toBe('executed');
    expect(second.execute).toBe(true);
    expect([...second.counted_approvals].sort()).toEqual(['approve-d1-bob', 'approve-d1-carol']);
    expect((await s.reconcile()).calls).toBe(1);

    const executions = (await s.records()).executions;
    expect(executions).toHaveLength(1);
    const approvals = executions[0]!.approvals ?? [];
    expect(approvals.map((a) => a.name).sort()).toEqual(['approve-d1-bob', 'approve-d1-carol']);
    expect(approvals.map((a) => a.manifest).sort()).toEqual([
      'manifests/approvals/bob.yaml',
      'manifests/approvals/carol.yaml',
    ]);
    // Each approver committed their own approval: the evidence names both people.
    expect(approvals.map((a) => a.author).sort()).toEqual([
      'Bob <bob@example.com>',
      'Carol <carol@example.com>',
    ]);
    for (const entry of approvals) expect(entry.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(executions[0]!.emergency).toBe(false);

    // Both approvals are consumed: nothing is retried again.
    s.clock.advanceMinutes(5);
    expect((await s.decisionOf('d1')).reason).toBe('approval_consumed');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(1);
    const verified = await s.verify();
    expect(verified.exitCode, verified.stdout).toBe(0);
  });

  it('the same person approving in two documents counts once', async () => {
    await failFirstAttempt(gatePolicyYaml({ approvalsRequired: 2 }));
    await s.commit(
      {
        'manifests/approvals/bob-1.yaml': gateApprovalYaml('approve-d1-bob-1', 'd1', PROVIDER),
        // Another document, the same person written differently: still one person.
        'manifests/approvals/bob-2.yaml': gateApprovalYaml('approve-d1-bob-2', 'd1', PROVIDER, {
          decidedBy: 'Bob@Example.com',
        }),
      },
      'bob approves twice',
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('quorum_not_met');
    expect(decision.message).toContain('1 of 2 distinct approvers');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });

  it('an approver the base policy does not allow (widened in the same change) is not counted', async () => {
    await failFirstAttempt(
      gatePolicyYaml({ approvalsRequired: 2, approvers: ['bob@example.com', 'carol@example.com'] }),
    );
    await s.commit(
      { 'manifests/approvals/bob.yaml': gateApprovalYaml('approve-d1-bob', 'd1', PROVIDER) },
      'bob approves',
    );
    expect((await s.reconcile()).calls).toBe(0);
    // One change widens approvers to dave and has dave approve: judged at its base, dave does not count.
    await s.commit(
      {
        'manifests/policy.yaml': gatePolicyYaml({
          approvalsRequired: 2,
          approvers: ['bob@example.com', 'carol@example.com', 'dave@example.com'],
        }),
        'manifests/approvals/dave.yaml': gateApprovalYaml('approve-d1-dave', 'd1', PROVIDER, {
          decidedBy: 'dave@example.com',
        }),
      },
      'widen approvers to dave, dave approves',
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('quorum_not_met');
    expect(decision.message).toContain('1 of 2 distinct approvers');
    expect(decision.message).toContain('not counted: approve-d1-dave: approver_not_allowed');
    expect((await s.reconcile()).calls).toBe(0);

    // A second allowed person completes the quorum; dave's approval is still not among the counted.
    s.clock.advanceMinutes(1);
    await s.commit(
      {
        'manifests/approvals/carol.yaml': gateApprovalYaml('approve-d1-carol', 'd1', PROVIDER, {
          decidedBy: 'carol@example.com',
        }),
      },
      'carol approves',
    );
    expect((await s.reconcile()).calls).toBe(1);
    const executions = (await s.records()).executions;
    expect(executions).toHaveLength(1);
    expect((executions[0]!.approvals ?? []).map((a) => a.name).sort()).toEqual([
      'approve-d1-bob',
      'approve-d1-carol',
    ]);
  });

  it('a change that lowers approvals_required to 1 and approves is judged at its base: 1 of 2', async () => {
    await failFirstAttempt(gatePolicyYaml({ approvalsRequired: 2 }));
    await s.commit(
      {
        'manifests/policy.yaml': gatePolicyYaml({ approvalsRequired: 1 }),
        'manifests/approvals/bob.yaml': gateApprovalYaml('approve-d1-bob', 'd1', PROVIDER),
      },
      'lower the quorum, bob approves',
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('quorum_not_met');
    expect(decision.policy).toBe('base');
    expect(decision.message).toContain('1 of 2 distinct approvers required by the base policy');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });
});
