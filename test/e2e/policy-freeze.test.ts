/**
 * Freeze windows (`freeze_windows`, docs/reference.md §4) end to end with real git: while a window
 * is open an approved retry is `change_freeze` (the message names the window and its reason; the
 * run's `nextDueAt` is the window's end) with no call, and it is executed once the window has
 * closed — by moving the injected clock, never by sleeping. Absolute windows, and recurring cron
 * windows (UTC) whose occurrence spans a midnight, a month end, and a weekend across a month end. A
 * change cannot lift its own freeze.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FreezeWindow } from '../../src/domain/types.js';
import {
  ackByYaml,
  gateApprovalYaml,
  gatePolicyYaml,
  openPolicyScenario,
  PROVIDER,
  type PolicyScenario,
} from '../helpers/policy-scenario.js';

describe('freeze windows, end to end', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  /** d1's first attempt fails at `failAt`, then it is acknowledged and approved (immediate retry). */
  async function approveAfterFailure(windows: FreezeWindow[], failAt: string): Promise<void> {
    s = await openPolicyScenario(failAt, gatePolicyYaml({ freezeWindows: windows }));
    expect((await s.reconcile()).calls).toBe(1); // attempt 1 is a delivery, not a retry
    await s.commit(
      {
        'manifests/approvals/d1.yaml':
          ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') +
          '---\n' +
          gateApprovalYaml('approve-d1', 'd1', PROVIDER),
      },
      'ack and approve d1',
    );
  }

  /** At `at`: plan says change_freeze until `closesAt`, and a reconcile makes no call and is due then. */
  async function expectFrozen(at: string, closesAt: string, window: string, reason: string): Promise<void> {
    s.clock.set(at);
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('change_freeze');
    expect(decision.execute).toBe(false);
    expect(decision.message).toContain(`the window ${window} ("${reason}")`);
    expect(decision.message).toContain(`until ${closesAt}`);
    const { calls, result } = await s.reconcile();
    expect(calls).toBe(0);
    expect(result.nextDueAt).toBe(closesAt);
    expect((await s.records()).executions).toHaveLength(0);
  }

  async function expectExecutedOnceAt(at: string): Promise<void> {
    s.clock.set(at);
    expect((await s.decisionOf('d1')).reason).toBe('executed');
    expect((await s.reconcile()).calls).toBe(1);
    s.clock.advanceMinutes(5);
    expect((await s.reconcile()).calls).toBe(0);
    const executions = (await s.records()).executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]!.executed_at).toBe(new Date(at).toISOString());
    expect(executions[0]!.emergency).toBe(false);
    const verified = await s.verify();
    expect(verified.exitCode, verified.stdout).toBe(0);
  }

  it('an absolute window open at now: change_freeze naming it, then executed once it closes', async () => {
    const window = {
      from: '2026-06-28T10:00:00Z',
      to: '2026-06-28T12:00:00Z',
      reason: 'quarter-end release freeze',
    };
    await approveAfterFailure([window], '2026-06-28T10:01:00Z');
    await expectFrozen(
      '2026-06-28T10:05:00Z',
      '2026-06-28T12:00:00.000Z',
      '2026-06-28T10:00:00Z to 2026-06-28T12:00:00Z',
      window.reason,
    );
    expect(await s.planText()).toContain('change_freeze');
    await expectFrozen(
      '2026-06-28T11:59:59Z',
      '2026-06-28T12:00:00.000Z',
      '2026-06-28T10:00:00Z to 2026-06-28T12:00:00Z',
      window.reason,
    );
    await expectExecutedOnceAt('2026-06-28T12:00:00Z'); // windows are [from, to)
  });

  it.each([
    {
      what: 'a nightly window 23:00–01:00 UTC, across midnight',
      window: { cron: '0 23 * * *', duration_minutes: 120, reason: 'nightly batch' },
      failAt: '2026-06-28T22:00:00Z',
      inside: ['2026-06-28T23:00:00Z', '2026-06-29T00:30:00Z', '2026-06-29T00:59:00Z'],
      closesAt: '2026-06-29T01:00:00.000Z',
    },
    {
      what: 'the last day of the month 22:00 for 4 h, across the month end',
      window: { cron: '0 22 L * *', duration_minutes: 240, reason: 'month-end close' },
      failAt: '2026-06-30T21:00:00Z',
      inside: ['2026-06-30T22:00:00Z', '2026-07-01T01:30:00Z'],
      closesAt: '2026-07-01T02:00:00.000Z',
    },
    {
      what: 'a weekend window Friday 18:00 to Monday 06:00, across midnight and a month end',
      window: { cron: '0 18 * * 5', duration_minutes: 3600, reason: 'weekend change freeze' },
      failAt: '2026-07-31T17:00:00Z', // a Friday, the last day of July
      inside: ['2026-07-31T23:59:00Z', '2026-08-01T00:30:00Z', '2026-08-03T05:59:00Z'],
      closesAt: '2026-08-03T06:00:00.000Z',
    },
  ])('$what: change_freeze inside, executed after', async ({ window, failAt, inside, closesAt }) => {
    await approveAfterFailure([window], failAt);
    const described = `cron "${window.cron}" (UTC) for ${window.duration_minutes} min`;
    for (const at of inside) await expectFrozen(at, closesAt, described, window.reason);
    await expectExecutedOnceAt(closesAt);
  });

  it('a change that removes the freeze and approves in one commit is still frozen (judged at its base)', async () => {
    const window = { from: '2026-06-28T10:00:00Z', to: '2026-06-28T12:00:00Z', reason: 'release freeze' };
    s = await openPolicyScenario('2026-06-28T10:01:00Z', gatePolicyYaml({ freezeWindows: [window] }));
    expect((await s.reconcile()).calls).toBe(1);
    await s.commit(
      {
        'manifests/policy.yaml': gatePolicyYaml({ freezeWindows: [] }),
        'manifests/approvals/d1.yaml':
          ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') +
          '---\n' +
          gateApprovalYaml('approve-d1', 'd1', PROVIDER),
      },
      'lift the freeze and approve',
    );
    s.clock.set('2026-06-28T10:30:00Z');
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('change_freeze');
    expect(decision.policy).toBe('base');
    expect((await s.reconcile()).calls).toBe(0);
    await expectExecutedOnceAt('2026-06-28T12:00:00Z');
  });
});
