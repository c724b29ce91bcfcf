/**
 * A break-glass approval (`emergency: true`, docs/reference.md §4) passes freeze windows and the
 * quorum but nothing else, end to end with real git: it still needs an allowed approver, a commit
 * signed by its decider when the policy requires signed approvals (real ssh signatures), and
 * separation of duties.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BREAK_GLASS_AT,
  commitBreakGlass,
  FREEZE,
  openFrozenFailure,
} from '../helpers/break-glass-scenario.js';
import { createSshSigningKey, createTempDir } from '../helpers/git-fixtures.js';
import {
  gateApprovalYaml,
  gatePolicyYaml,
  PROVIDER,
  type PolicyScenario,
} from '../helpers/policy-scenario.js';

describe('break-glass approvals pass freeze and quorum only', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  it('still needs an allowed approver: approver_not_allowed, no call', async () => {
    s = await openFrozenFailure({ approvers: ['alice@example.com', 'carol@example.com'] });
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z', decidedBy: 'mallory@example.com' });
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('approver_not_allowed');
    expect(decision.message).toContain('mallory@example.com');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });

  it('still needs a signed commit when the policy requires one: signature_required, no call', async () => {
    s = await openFrozenFailure({ requireSignedApprovals: true });
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z' });
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('signature_required');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });

  it('with signed approvals required: signed by another key, signer_not_trusted; signed by its decider, executed', async () => {
    const keys = await createTempDir('cavra-keys-');
    try {
      const bob = await createSshSigningKey(keys.dir, 'bob@example.com', 'bob');
      const mallory = await createSshSigningKey(keys.dir, 'mallory@example.com', 'mallory');
      s = await openFrozenFailure(
        { requireSignedApprovals: true },
        { '.cavra/allowed_signers': bob.allowedSignersLine + mallory.allowedSignersLine },
      );
      await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z' }, mallory.keyPath);
      const forged = await s.decisionOf('d1');
      expect(forged.reason).toBe('signer_not_trusted');
      expect(forged.message).toContain('mallory@example.com');
      expect((await s.reconcile()).calls).toBe(0);

      await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z', name: 'break-glass-d1-2' }, bob.keyPath);
      const signed = await s.decisionOf('d1');
      expect(signed.reason).toBe('executed');
      expect(signed.emergency).toBe(true);
      expect((await s.reconcile()).calls).toBe(1);
      const executions = (await s.records()).executions;
      expect(executions).toHaveLength(1);
      expect(executions[0]!.emergency).toBe(true);
      expect(executions[0]!.approval.name).toBe('break-glass-d1-2');
      expect(executions[0]!.approval.signature).toMatchObject({
        status: 'good',
        principal: 'bob@example.com',
      });
    } finally {
      await keys.cleanup();
    }
  });

  it('still under separation of duties: the acknowledger breaking glass is separation_of_duties, no call', async () => {
    s = await openFrozenFailure({ separateDuties: true });
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z', decidedBy: 'alice@example.com' });
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('separation_of_duties');
    expect((await s.reconcile()).calls).toBe(0);
  });

  it('a change that raises max_emergency_minutes for its own break-glass approval is judged at its base', async () => {
    s = await openFrozenFailure();
    await s.commit(
      {
        'manifests/policy.yaml': gatePolicyYaml({ freezeWindows: [FREEZE], maxEmergencyMinutes: 600 }),
        'manifests/approvals/break-glass-d1.yaml': gateApprovalYaml('break-glass-d1', 'd1', PROVIDER, {
          emergency: true,
          expiresAt: '2026-06-28T14:00:00Z',
        }),
      },
      'allow 10 h break-glass, break glass for 4 h',
      { date: BREAK_GLASS_AT },
    );
    // `validate` reads one revision and checks against its own policy (600 min): no finding there;
    // the gate, which knows the base, refuses it.
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('emergency_expiry_invalid');
    expect(decision.policy).toBe('base');
    expect(decision.message).toContain('later than the 60 min after its commit');
    expect((await s.reconcile()).calls).toBe(0);
    expect((await s.records()).executions).toHaveLength(0);
  });
});
