/**
 * "A change cannot loosen its own rules", end to end through `plan` and `reconcile`, for the two
 * merge shapes a forge offers besides fast-forward: a pull request whose first commit widens
 * `approvers` and whose second adds the approval by the newly allowed approver, merged with
 * `git merge --no-ff` or squashed into one commit. Either way the approval is judged at its base
 * (the tracked branch as a reconciler last recorded it before the merge): approver_not_allowed,
 * the base policy and its commit named in plan output, no call. The control: once the widening is
 * merged and a reconcile has recorded it (the base moved), a new approval by the new approver is
 * executed exactly once — and the approval that came with the widening stays blocked, since its
 * own base has not moved.
 * (The fast-forward shape is in approval-gate-git.test.ts.)
 */
import type { Env } from '../../src/domain/ports.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlan } from '../../src/cli/plan.js';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import { reply, type HttpReceiver } from '../helpers/http-receiver.js';
import { commitFiles, git, pushBranch } from '../helpers/git-fixtures.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createSettableClock,
  deliveryYaml,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  type OpsRepo,
  openFailingHookReplica,
  type FailingHookReplica,
} from '../helpers/reconciler-fixtures.js';

type Shape = 'no-ff' | 'squash';
type Files = Record<string, string | null>;

const ALICE_ONLY = policyYaml({ approvers: ['alice@example.com'] });
const ALICE_AND_BOB = policyYaml({ approvers: ['alice@example.com', 'bob@example.com'] });
const BOB = 'Bob <bob@example.com>';

describe('a PR that widens approvers and then approves, merged --no-ff or squashed', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  const clock = createSettableClock('2026-06-28T10:00:00Z');
  let env: Env;

  let fixture: FailingHookReplica;

  beforeEach(async () => {
    clock.set('2026-06-28T10:00:00Z');
    fixture = await openFailingHookReplica(clock);
    ({ ops, receiver, env } = fixture);
  });
  afterEach(() => fixture.close());

  const reconcile = (): Promise<number> => fixture.reconcile();
  const callsFor = (delivery: string): number => fixture.callsFor(delivery);
  const decisionOf = (delivery: string): Promise<RetryDecision> => fixture.decisionOf(delivery);

  async function plan(format: 'json' | 'text'): Promise<string> {
    const cli = createCliContext(ops.work, env, clock);
    expect(await runPlan({ remote: ops.remote, format }, cli.context)).toBe(0);
    return cli.stdout();
  }

  /**
   * Alice-only policy, one provider, deliveries d1 and d2; a reconcile fails attempt 1 of both and
   * records this revision as its source revision (the base of what comes next). Returns it.
   */
  async function narrowBase(): Promise<string> {
    const t0 = await ops.commit(
      {
        'manifests/policy.yaml': ALICE_ONLY,
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
      },
      'only alice approves',
      { date: '2026-06-28T09:00:00Z' },
    );
    expect(await reconcile()).toBe(2);
    const records = await readRemoteRecords(ops.remote);
    expect(records.deliveries.map((d) => d.source_revision)).toEqual([t0, t0]);
    return t0;
  }

  /**
   * A pull request as a forge merges it: branch `pr` off the remote's main (reconciler commits
   * included), one commit per entry, then merged into main with `--no-ff` (a merge commit) or
   * `--squash` (one new commit), and pushed. Returns the PR's commits and the merge result.
   */
  async function mergePullRequest(
    shape: Shape,
    commits: { files: Files; message: string; date: string }[],
  ): Promise<{ branch: string[]; merged: string }> {
    const work = ops.work;
    await git(work, ['fetch', '-q', ops.remote, 'main']);
    await git(work, ['reset', '-q', '--hard', 'FETCH_HEAD']);
    await git(work, ['checkout', '-q', '-b', 'pr']);
    const branch: string[] = [];
    for (const commit of commits) {
      branch.push(await commitFiles(work, commit.files, commit.message, { date: commit.date, author: BOB }));
    }
    await git(work, ['checkout', '-q', 'main']);
    const at = `@${Date.parse('2026-06-28T09:30:00Z') / 1000} +0000`;
    const dates = { GIT_AUTHOR_DATE: at, GIT_COMMITTER_DATE: at };
    if (shape === 'no-ff') {
      await git(work, ['merge', '-q', '--no-ff', '--no-edit', 'pr'], dates);
    } else {
      await git(work, ['merge', '-q', '--squash', 'pr']);
      await commitFiles(work, {}, 'Widen approvers and approve d1 (#7)', { date: '2026-06-28T09:30:00Z' });
    }
    await git(work, ['branch', '-q', '-D', 'pr']);
    await pushBranch(work, ops.remote);
    const merged = await git(work, ['rev-parse', 'HEAD']);
    return { branch, merged };
  }

  const widenThenApprove: { files: Files; message: string; date: string }[] = [
    {
      files: { 'manifests/policy.yaml': ALICE_AND_BOB },
      message: 'Widen approvers',
      date: '2026-06-28T09:10:00Z',
    },
    {
      files: {
        'manifests/approvals/d1.yaml':
          ackYaml('ack-d1', 'd1', 'ops-webhook') + '---\n' + approvalYaml('approve-d1', 'd1', 'ops-webhook'),
      },
      message: 'Bob approves d1',
      date: '2026-06-28T09:11:00Z',
    },
  ];

  it.each([
    ['merged with --no-ff', 'no-ff'],
    ['squashed', 'squash'],
  ] as const)('%s: judged at the base, approver_not_allowed named in plan, no call', async (_what, shape) => {
    const t0 = await narrowBase();
    const { branch, merged } = await mergePullRequest(shape, widenThenApprove);
    // The approval's introducing commit: its own branch commit after --no-ff, the squash commit after a squash.
    const introduced = shape === 'no-ff' ? branch[1]! : merged;
    if (shape === 'no-ff') {
      expect((await git(ops.work, ['rev-list', '--parents', '-n', '1', merged])).split(' ')).toHaveLength(3);
    }

    const decision = await decisionOf('d1');
    expect(decision.reason).toBe('approver_not_allowed');
    expect(decision.execute).toBe(false);
    expect(decision.policy).toBe('base');
    expect(decision.policy_commit).toBe(t0);
    expect(decision.message).toContain(`manifests/approvals/d1.yaml, commit ${introduced}`);
    expect(decision.message).toContain(`the base policy (at ${t0})`);
    expect(decision.message).toContain('a change cannot widen its own approvers');
    // The operator reads the same in the text plan.
    const text = await plan('text');
    expect(text).toMatch(/d1 → ops-webhook: retry — approver_not_allowed/);
    expect(text).toContain(`the base policy (at ${t0})`);
    expect(text).not.toContain('Execute approved retries');

    const before = callsFor('d1');
    expect(await reconcile()).toBe(0);
    expect(await reconcile()).toBe(0);
    expect(callsFor('d1')).toBe(before);
    expect((await readRemoteRecords(ops.remote)).executions).toEqual([]);
  });

  it.each([
    ['merged with --no-ff', 'no-ff'],
    ['squashed', 'squash'],
  ] as const)(
    '%s, then reconciled (the base moved): a new approval by the new approver is executed once; the old one stays blocked',
    async (_what, shape) => {
      await narrowBase();
      await mergePullRequest(shape, widenThenApprove);
      expect(await reconcile()).toBe(0); // d1 blocked; nothing else to deliver, so no source revision recorded

      // A push that delivers something: its run records the widened revision as a source revision.
      const widened = await ops.commit(
        {
          'manifests/deliveries-more.yaml': deliveryYaml('d3', ['ops-webhook']),
          'manifests/approvals/ack-d2.yaml': ackYaml('ack-d2', 'd2', 'ops-webhook'),
        },
        'deliver d3, acknowledge d2',
        { date: '2026-06-28T09:40:00Z' },
      );
      expect(await reconcile()).toBe(1); // attempt 1 of d3
      expect(
        (await readRemoteRecords(ops.remote)).deliveries.find((d) => d.delivery_id === 'd3')?.source_revision,
      ).toBe(widened);

      const approved = await ops.commit(
        { 'manifests/approvals/approve-d2.yaml': approvalYaml('approve-d2', 'd2', 'ops-webhook') },
        'Bob approves d2',
        { date: '2026-06-28T09:50:00Z', author: BOB },
      );
      const d2 = await decisionOf('d2');
      expect(d2.reason).toBe('executed');
      expect(d2.execute).toBe(true);
      // The approval that came with the widening is still judged at its own base.
      expect((await decisionOf('d1')).reason).toBe('approver_not_allowed');

      receiver.respond('/hook', reply.ok());
      expect(await reconcile()).toBe(1);
      expect(await reconcile()).toBe(0);
      expect(callsFor('d1')).toBe(1); // attempt 1 only
      const executions = (await readRemoteRecords(ops.remote)).executions;
      expect(executions.map((e) => [e.delivery_id, e.execution_status])).toEqual([['d2', 'delivered']]);
      expect(executions[0]!.approval).toMatchObject({
        name: 'approve-d2',
        commit: approved,
        base: widened,
      });
      expect((await decisionOf('d2')).reason).not.toBe('executed');
    },
  );
});
