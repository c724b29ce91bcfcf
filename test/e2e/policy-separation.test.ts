/**
 * Separation of duties (`separate_duties`, docs/reference.md §4) end to end with real git: the
 * approver may be neither the acknowledgement's `acknowledged_by` nor the author of the commit that
 * introduced the acknowledgement (`separation_of_duties`, naming the person, no call); a different
 * person is executed once. A change cannot switch the rule off for itself (judged at its base).
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

describe('separate_duties, end to end', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  /** d1 fails once; alice's acknowledgement is committed by `ackAuthor`. */
  async function failAndAcknowledge(ackAuthor: string): Promise<void> {
    s = await openPolicyScenario('2026-06-28T10:00:00Z', gatePolicyYaml({ separateDuties: true }));
    s.clock.advanceMinutes(1);
    expect((await s.reconcile()).calls).toBe(1);
    await s.commit(
      { 'manifests/acks/d1.yaml': ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') },
      'acknowledge d1',
      { author: ackAuthor },
    );
    s.clock.advanceMinutes(1);
  }

  it('approver = acknowledger: separation_of_duties naming them, no call', async () => {
    await failAndAcknowledge('Alice <alice@example.com>');
    await s.commit(
      {
        'manifests/approvals/d1.yaml': gateApprovalYaml('approve-d1', 'd1', PROVIDER, {
          decidedBy: 'Alice@Example.com',
        }),
      },
      'alice approves her own acknowledgement',
      { author: 'Alice <alice@example.com>' },
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('separation_of_duties');
    expect(decision.execute).toBe(false);
    expect(decision.message).toContain('Alice@Example.com also acknowledged the failure');
    expect(decision.message).toContain('RetryAcknowledgement ack-d1');
    expect(decision.message).toContain('separate_duties');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });

  it("approver = author of the acknowledgement's commit: separation_of_duties naming them, no call", async () => {
    // Bob committed alice's acknowledgement, then approves the retry himself.
    await failAndAcknowledge('Bob Builder <bob@example.com>');
    const ackCommit = await s.ops.tip();
    await s.commit(
      { 'manifests/approvals/d1.yaml': gateApprovalYaml('approve-d1', 'd1', PROVIDER) },
      'bob approves',
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('separation_of_duties');
    expect(decision.message).toContain(
      'bob@example.com authored the commit that introduced RetryAcknowledgement ack-d1',
    );
    expect(decision.message).toContain(`commit ${ackCommit}`);
    expect(decision.message).toContain('Bob Builder <bob@example.com>');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });

  it('a different person is executed once', async () => {
    await failAndAcknowledge('Bob Builder <bob@example.com>');
    await s.commit(
      {
        'manifests/approvals/d1.yaml': gateApprovalYaml('approve-d1', 'd1', PROVIDER, {
          decidedBy: 'carol@example.com',
        }),
      },
      'carol approves',
      { author: 'Carol <carol@example.com>' },
    );
    expect((await s.decisionOf('d1')).reason).toBe('executed');
    expect((await s.reconcile()).calls).toBe(1);
    s.clock.advanceMinutes(5);
    expect((await s.reconcile()).calls).toBe(0);
    const executions = (await s.records()).executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]!.approval.name).toBe('approve-d1');
    expect(executions[0]!.approval.author).toBe('Carol <carol@example.com>');
    const verified = await s.verify();
    expect(verified.exitCode, verified.stdout).toBe(0);
  });

  it('a change that turns separate_duties off and self-approves is judged at its base', async () => {
    await failAndAcknowledge('Alice <alice@example.com>');
    await s.commit(
      {
        'manifests/policy.yaml': gatePolicyYaml({ separateDuties: false }),
        'manifests/approvals/d1.yaml': gateApprovalYaml('approve-d1', 'd1', PROVIDER, {
          decidedBy: 'alice@example.com',
        }),
      },
      'drop separate_duties, alice approves',
    );
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('separation_of_duties');
    expect(decision.policy).toBe('base');
    expect((await s.reconcile()).calls).toBe(0);
  });
});
