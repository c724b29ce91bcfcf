/**
 * Break-glass approvals (`emergency: true`, docs/reference.md §4) end to end with real git: inside
 * a freeze, with a quorum of two, one break-glass approval is executed exactly once; its execution
 * record says `emergency: true`, and the committed report counts it (`emergency_execution_count`,
 * critical while no closure cites it). A break-glass approval with no `expires_at`, or one beyond
 * `max_emergency_minutes` after its commit, is a validation finding shown by `validate` and `plan`,
 * and is not executed; nor is an expired one. (That it passes freeze and quorum only:
 * policy-emergency-limits.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { createGitReader } from '../../src/git/index.js';
import { commitBreakGlass, openFrozenFailure } from '../helpers/break-glass-scenario.js';
import { git } from '../helpers/git-fixtures.js';
import { reply } from '../helpers/http-receiver.js';
import { gateApprovalYaml, PROVIDER, type PolicyScenario } from '../helpers/policy-scenario.js';

function closureYaml(name: string, playbookId: string, refs: string[]): string {
  return (
    `apiVersion: cavra.dev/v1\nkind: RecoveryClosure\nmetadata:\n  name: ${name}\nspec:\n` +
    `  playbook_id: ${playbookId}\n  provider: ${PROVIDER}\n  state: resolved\n  closed_by: alice@example.com\n` +
    `  verification_refs: [${refs.join(', ')}]\n`
  );
}

/** The dashboard's break-glass gauges, scraped from `/metrics` of the API over the scenario's remote. */
async function emergencyGauges(s: PolicyScenario): Promise<Record<string, number>> {
  const reader = createGitReader(s.ops.remote);
  try {
    const source = createSnapshotSource(reader, {
      tip: () => reader.resolve('refs/heads/main'),
      tipCacheMs: 0,
    });
    const app = createApp({
      source,
      clock: s.clock,
      metrics: createMetrics({ processMetrics: false }),
      startedAt: new Date('2026-06-28T08:00:00Z'),
    });
    const running = await startServer(app, { port: 0 });
    const text = await (await fetch(`${running.url}/metrics`)).text();
    await running.close();
    const values: Record<string, number> = {};
    for (const match of text.matchAll(/^(cavra_emergency_\w+) (\d+)$/gm))
      values[match[1]!] = Number(match[2]);
    return values;
  } finally {
    await reader.close();
  }
}

describe('break-glass approvals, end to end', () => {
  let s: PolicyScenario;
  afterEach(async () => {
    await s.close();
  });

  it('inside a freeze and with a quorum of 2: executed once, record and report say emergency', async () => {
    s = await openFrozenFailure({ approvalsRequired: 2 });
    // An ordinary approval is frozen first.
    await s.commit(
      { 'manifests/approvals/d1.yaml': gateApprovalYaml('approve-d1', 'd1', PROVIDER) },
      'bob approves',
      { date: '2026-06-28T10:03:00Z' },
    );
    expect((await s.decisionOf('d1')).reason).toBe('quorum_not_met');
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z', decidedBy: 'carol@example.com' });
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('executed');
    expect(decision.emergency).toBe(true);
    expect(decision.message).toContain('break-glass approval (emergency: true');
    s.receiver.respond('/hook', reply.ok());
    expect((await s.reconcile()).calls).toBe(1);
    s.clock.advanceMinutes(5);
    expect((await s.reconcile()).calls).toBe(0);

    const executions = (await s.records()).executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]!.emergency).toBe(true);
    expect(executions[0]!.execution_status).toBe('delivered');
    expect([executions[0]!.approval, ...(executions[0]!.approvals ?? [])].map((a) => a.name)).toContain(
      'break-glass-d1',
    );
    const report = await s.report();
    expect(report.emergency_execution_count).toBe(1);
    expect(report.emergency_unclosed_count).toBe(1);
    expect(report.execution_failed_count).toBe(0);
    // Critical only because no closure cites the break-glass execution.
    expect(report.alert_level).toBe('critical');
    const markdown = await git(s.ops.remote, ['show', 'refs/heads/main:reports/retry-recovery-report.md']);
    expect(markdown).toMatch(/Emergency executions \(break-glass\)\s*\|\s*1/);
    const verified = await s.verify();
    expect(verified.exitCode, verified.stdout).toBe(0);
  });

  it('the report stays critical until a closure cites the break-glass execution', async () => {
    s = await openFrozenFailure({ autoPlaybooks: true, minFailureCount: 1 });
    const playbook = (await s.records()).playbooks[0]!; // attempt 1's failure opened a recovery row
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z' });
    s.receiver.respond('/hook', reply.ok());
    expect((await s.reconcile()).calls).toBe(1);
    const execution = (await s.records()).executions[0]!;
    expect(execution.emergency).toBe(true);
    expect(execution.execution_status).toBe('delivered');

    // The recovery row is closed, but nothing cites the break-glass execution: still critical.
    s.clock.advanceMinutes(5);
    await s.commit(
      { 'manifests/closures/unrelated.yaml': closureYaml('close-row', playbook.playbook_id, []) },
      'close the recovery row',
      { date: '2026-06-28T10:15:00Z' },
    );
    await s.reconcile();
    let report = await s.report();
    expect(report.recovery_open_count).toBe(0);
    expect(report.emergency_unclosed_count).toBe(1);
    expect(report.alert_level).toBe('critical');
    expect(await emergencyGauges(s)).toEqual({
      cavra_emergency_executions: 1,
      cavra_emergency_executions_unclosed: 1,
    });

    s.clock.advanceMinutes(5);
    await s.commit(
      {
        'manifests/closures/break-glass.yaml': closureYaml('close-break-glass', playbook.playbook_id, [
          execution.execution_id,
        ]),
      },
      'close the break-glass execution',
      { date: '2026-06-28T10:20:00Z' },
    );
    await s.reconcile();
    report = await s.report();
    expect(report.emergency_execution_count).toBe(1);
    expect(report.emergency_unclosed_count).toBe(0);
    expect(report.alert_level).toBe('healthy');
    expect(await emergencyGauges(s)).toEqual({
      cavra_emergency_executions: 1,
      cavra_emergency_executions_unclosed: 0,
    });
  });

  it.each([
    {
      what: 'no expires_at',
      expiresAt: undefined,
      policy: {},
      field: '/spec/emergency',
      says: 'must carry `expires_at`',
    },
    {
      what: 'expires_at beyond max_emergency_minutes (60) after its commit',
      expiresAt: '2026-06-28T11:30:00Z',
      policy: {},
      field: '/spec/expires_at',
      says: 'until 2026-06-28T11:05:00.000Z',
    },
    {
      what: 'expires_at beyond a policy max_emergency_minutes of 30',
      expiresAt: '2026-06-28T10:50:00Z',
      policy: { maxEmergencyMinutes: 30 },
      field: '/spec/expires_at',
      says: 'until 2026-06-28T10:35:00.000Z',
    },
  ])(
    '$what: a validation finding in validate and plan, no call',
    async ({ expiresAt, policy, field, says }) => {
      s = await openFrozenFailure(policy);
      await commitBreakGlass(s, expiresAt === undefined ? {} : { expiresAt });
      s.clock.set('2026-06-28T10:20:00Z');

      const validated = await s.validate();
      expect(validated.exitCode).toBe(1);
      const findings = (JSON.parse(validated.stdout) as { findings: Record<string, unknown>[] }).findings;
      const finding = findings.find((f) => f.rule === 'approval.emergency-expiry');
      expect(finding, validated.stdout).toBeDefined();
      expect(finding!.file).toBe('manifests/approvals/break-glass-d1.yaml');
      expect(finding!.path).toBe(field);
      expect(finding!.kind).toBe('RetryApproval');
      expect(finding!.name).toBe('break-glass-d1');
      expect(finding!.severity).toBe('error');
      expect(String(finding!.message)).toContain(says);

      const { view, exitCode } = await s.plan();
      expect(exitCode).toBe(1);
      expect(view.findings.map((f) => f.rule)).toContain('approval.emergency-expiry');
      const decision = view.decisions.find((d) => d.key.delivery_id === 'd1')!;
      // The invalid manifest is skipped, so nothing approves the retry (the policy's 15 min delay
      // is over at 10:20, and a valid break-glass approval would pass the freeze).
      expect(decision.reason).toBe('request_approval');
      expect(decision.execute).toBe(false);
      expect(decision.emergency).toBe(false);
      expect((await s.reconcile()).calls).toBe(0);
      expect((await s.records()).executions).toHaveLength(0);
    },
  );

  it('an expired break-glass approval is not executed: approval_expired, no call', async () => {
    s = await openFrozenFailure();
    await commitBreakGlass(s, { expiresAt: '2026-06-28T10:50:00Z' });
    s.clock.set('2026-06-28T10:50:00Z');
    const decision = await s.decisionOf('d1');
    expect(decision.reason).toBe('approval_expired');
    expect((await s.reconcile()).calls).toBe(0);
  });
});
