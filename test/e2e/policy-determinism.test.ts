/**
 * Determinism of the approval policies end to end (docs/reference.md §4: "Same inputs give
 * byte-identical decisions, records and reports"): one scenario exercising quorum, separation of duties, a freeze window and a
 * break-glass approval, run twice in fresh repositories (other temp dirs, another receiver port)
 * with the same injected clock, gives byte-identical records, reports and plan outputs.
 */
import { describe, expect, it } from 'vitest';
import { renderPlanMarkdown, renderPlanText } from '../../src/cli/plan.js';
import {
  ackByYaml,
  gateApprovalYaml,
  gatePolicyYaml,
  openPolicyScenario,
  PROVIDER,
} from '../helpers/policy-scenario.js';

interface Transcript {
  /** Plan outputs (json and text) and run summaries, step by step. */
  steps: string[];
  /** records/ and reports/ at the remote's tip, path → content. */
  ledger: Map<string, string>;
  /** `delivery_id:emergency` of every execution record. */
  executions: string[];
}

async function runScenario(): Promise<Transcript> {
  const policy = gatePolicyYaml({
    approvalsRequired: 2,
    separateDuties: true,
    freezeWindows: [
      { from: '2026-06-28T10:00:00Z', to: '2026-06-28T12:00:00Z', reason: 'release freeze' },
      { cron: '0 23 * * *', duration_minutes: 120, reason: 'nightly batch' },
    ],
  });
  const s = await openPolicyScenario('2026-06-28T10:01:00Z', policy, ['d1', 'd2']);
  const steps: string[] = [];
  const step = async (label: string): Promise<void> => {
    const { view } = await s.plan();
    steps.push(`${label}\n${JSON.stringify(view)}\n${renderPlanText(view)}\n${renderPlanMarkdown(view)}`);
    const { calls, result } = await s.reconcile();
    steps.push(
      `${label}: ${calls} call(s), ${result.outcome}, ${result.reason}, next ${result.nextDueAt ?? '-'}, ${result.commits.join(',')}`,
    );
  };
  try {
    await step('initial deliveries');
    await s.commit(
      {
        'manifests/acks.yaml':
          ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') +
          '---\n' +
          ackByYaml('ack-d2', 'd2', PROVIDER, 'alice@example.com'),
        'manifests/approvals/d1-bob.yaml': gateApprovalYaml('approve-d1-bob', 'd1', PROVIDER),
        'manifests/approvals/d1-alice.yaml': gateApprovalYaml('approve-d1-alice', 'd1', PROVIDER, {
          decidedBy: 'alice@example.com',
        }),
      },
      'acknowledge, bob and alice approve d1',
      { date: '2026-06-28T10:02:00Z', author: 'Alice <alice@example.com>' },
    );
    s.clock.set('2026-06-28T10:10:00Z');
    await step('quorum not met (alice is separated out)');
    await s.commit(
      {
        'manifests/approvals/d1-carol.yaml': gateApprovalYaml('approve-d1-carol', 'd1', PROVIDER, {
          decidedBy: 'carol@example.com',
        }),
        'manifests/approvals/d2-break-glass.yaml': gateApprovalYaml('break-glass-d2', 'd2', PROVIDER, {
          decidedBy: 'carol@example.com',
          emergency: true,
          expiresAt: '2026-06-28T11:00:00Z',
        }),
      },
      'carol approves d1, breaks glass for d2',
      { date: '2026-06-28T10:15:00Z', author: 'Carol <carol@example.com>' },
    );
    s.clock.set('2026-06-28T10:20:00Z');
    await step('d1 frozen, d2 under break-glass');
    s.clock.set('2026-06-28T12:00:00Z');
    await step('freeze over');
    return {
      steps,
      ledger: await s.ledgerFiles(),
      executions: (await s.records()).executions.map((e) => `${e.delivery_id}:${e.emergency}`).sort(),
    };
  } finally {
    await s.close();
  }
}

describe('approval policies are deterministic end to end', () => {
  it('the same scenario twice, fresh repositories, same clock: byte-identical records, reports and plans', async () => {
    const first = await runScenario();
    const second = await runScenario();
    // d2 under break-glass inside the freeze, d1 after it under bob's and carol's approvals.
    expect(first.executions).toEqual(['d1:false', 'd2:true']);
    expect(second.executions).toEqual(first.executions);
    expect([...first.ledger.keys()].some((path) => path.startsWith('records/executions/'))).toBe(true);
    expect([...first.ledger.keys()]).toContain('reports/retry-recovery-report.json');
    expect([...second.ledger.keys()]).toEqual([...first.ledger.keys()]);
    for (const [path, content] of first.ledger) expect(second.ledger.get(path), path).toBe(content);
    expect(second.steps).toEqual(first.steps);
    expect(first.steps.join('\n')).toContain('quorum_not_met');
    expect(first.steps.join('\n')).toContain('change_freeze');
  });
});
