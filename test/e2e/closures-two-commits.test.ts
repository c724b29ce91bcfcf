/**
 * Recovery closures are provenance per document too, end to end through `reconcile` and `plan`:
 * two RecoveryClosures appended to one file in two commits each get their own introducing commit
 * — their closure records carry that commit, and `closed_at` (defaulted from the commit time) is
 * their own commit's time — whether a reconcile ran between the two commits or not. Nothing is
 * recorded twice across reconciles, and neither a comment-only edit nor moving the file records
 * anything again or raises a finding (issue 11: appending a second closure used to re-record the
 * first with a new `closed_at`).
 */
import type { Env } from '../../src/domain/ports.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlan, type PlanView } from '../../src/cli/plan.js';
import type { ClosureRecord } from '../../src/domain/types.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';

import { git } from '../helpers/git-fixtures.js';
import {
  createCliContext,
  createSettableClock,
  deliveryYaml,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  type OpsRepo,
  type TestReconciler,
  openFailingHookReplica,
  type FailingHookReplica,
} from '../helpers/reconciler-fixtures.js';

function closureYaml(name: string, playbookId: string, state: string): string {
  return `apiVersion: cavra.dev/v1
kind: RecoveryClosure
metadata:
  name: ${name}
spec:
  playbook_id: ${playbookId}
  provider: ops-webhook
  state: ${state}
  closed_by: carol@example.com
  external_ref: INC-4711
`;
}

const FIRST_AT = '2026-06-28T11:00:00Z';
const SECOND_AT = '2026-06-28T12:00:00Z';

describe('two closures appended to one file in two commits', () => {
  let ops: OpsRepo;
  let replica: TestReconciler;
  const clock = createSettableClock('2026-06-28T10:00:00Z');
  let env: Env;

  let fixture: FailingHookReplica;

  beforeEach(async () => {
    clock.set('2026-06-28T10:00:00Z');
    fixture = await openFailingHookReplica(clock);
    ({ ops, replica, env } = fixture);
  });
  afterEach(() => fixture.close());

  async function reconcile(at: string): Promise<void> {
    clock.set(at);
    await reconcileOnce(replica.options);
  }

  async function closures(): Promise<ClosureRecord[]> {
    return (await readRemoteRecords(ops.remote)).closures;
  }

  /** Two failed deliveries to one provider: a reconcile generates a playbook for it. Returns its id. */
  async function failToPlaybook(): Promise<string> {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
      },
      'provider, policy with auto playbooks, deliveries',
      { date: '2026-06-28T09:00:00Z' },
    );
    await reconcile('2026-06-28T10:00:00Z');
    const { playbooks, closures: none } = await readRemoteRecords(ops.remote);
    expect(none).toEqual([]);
    expect(playbooks).toHaveLength(1);
    return playbooks[0]!.playbook_id;
  }

  /** The plan at the remote's tip: no closure to record, no finding, exit 0. */
  async function expectPlanRecordsNoClosure(): Promise<void> {
    const cli = createCliContext(ops.work, env, clock);
    expect(await runPlan({ remote: ops.remote, format: 'json' }, cli.context)).toBe(0);
    const view = JSON.parse(cli.stdout()) as PlanView;
    expect(view.closures).toEqual([]);
    expect(view.would_record.closures).toEqual([]);
    expect(view.findings).toEqual([]);
  }

  function expectOwnCommits(
    records: ClosureRecord[],
    first: { commit: string; at: string },
    second: { commit: string; at: string },
  ): void {
    const byName = new Map(records.map((r) => [r.source.name, r]));
    expect(records).toHaveLength(2);
    expect(byName.get('mitigate-ops-webhook')).toMatchObject({
      closure_state: 'mitigated',
      closed_at: first.at,
      source: { manifest: 'manifests/closures.yaml', commit: first.commit },
    });
    expect(byName.get('resolve-ops-webhook')).toMatchObject({
      closure_state: 'resolved',
      closed_at: second.at,
      source: { manifest: 'manifests/closures.yaml', commit: second.commit },
    });
  }

  it('reconciled between the two commits: the first is recorded once, with its own commit and time', async () => {
    const playbook = await failToPlaybook();
    const mitigated = closureYaml('mitigate-ops-webhook', playbook, 'mitigated');
    const k1 = await ops.commit({ 'manifests/closures.yaml': mitigated }, 'ops-webhook mitigated', {
      date: FIRST_AT,
    });
    await reconcile('2026-06-28T11:05:00Z');
    const [first] = await closures();
    expect(first).toMatchObject({ closed_at: FIRST_AT, source: { commit: k1 } });

    const k2 = await ops.commit(
      {
        'manifests/closures.yaml': `${mitigated}---\n${closureYaml('resolve-ops-webhook', playbook, 'resolved')}`,
      },
      'ops-webhook resolved',
      { date: SECOND_AT },
    );
    await reconcile('2026-06-28T12:05:00Z');
    const records = await closures();
    expectOwnCommits(records, { commit: k1, at: FIRST_AT }, { commit: k2, at: SECOND_AT });
    // The first closure's record is the one written before the append, untouched.
    expect(records.find((r) => r.source.name === 'mitigate-ops-webhook')).toEqual(first);
    await expectPlanRecordsNoClosure();

    // More reconciles, a comment-only edit and a move of the file: nothing recorded again.
    await reconcile('2026-06-28T12:10:00Z');
    const content = await git(ops.work, ['show', 'HEAD:manifests/closures.yaml']);
    await ops.commit(
      { 'manifests/closures.yaml': `# reviewed by carol\n${content}\n` },
      'comment the closures',
      { date: '2026-06-28T13:00:00Z' },
    );
    await reconcile('2026-06-28T13:05:00Z');
    await ops.commit(
      { 'manifests/closures.yaml': null, 'manifests/archive/2026/closures.yaml': `${content}\n` },
      'archive the closures',
      { date: '2026-06-28T14:00:00Z' },
    );
    await reconcile('2026-06-28T14:05:00Z');
    expect(await closures()).toEqual(records);
    await expectPlanRecordsNoClosure();
  });

  it('pushed together, then one reconcile: each closure still carries its own commit and time', async () => {
    const playbook = await failToPlaybook();
    const mitigated = closureYaml('mitigate-ops-webhook', playbook, 'mitigated');
    const k1 = await ops.commit({ 'manifests/closures.yaml': mitigated }, 'ops-webhook mitigated', {
      date: FIRST_AT,
    });
    const k2 = await ops.commit(
      {
        'manifests/closures.yaml': `${mitigated}---\n${closureYaml('resolve-ops-webhook', playbook, 'resolved')}`,
      },
      'ops-webhook resolved',
      { date: SECOND_AT },
    );
    await reconcile('2026-06-28T12:05:00Z');
    const records = await closures();
    expectOwnCommits(records, { commit: k1, at: FIRST_AT }, { commit: k2, at: SECOND_AT });
    await reconcile('2026-06-28T12:10:00Z');
    expect(await closures()).toEqual(records);
    await expectPlanRecordsNoClosure();
  });
});
