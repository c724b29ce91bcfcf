/**
 * The approval gate end to end, tried as a careless or hostile operator would with nothing but git:
 * after an approval was executed, appending another document to its file, a comment-only edit,
 * moving the file, and deleting and re-adding it re-arm nothing (`approval_consumed`, 0 calls);
 * a blocked approval stays blocked when unrelated documents are appended to its file; a
 * two-commit push that widens `approvers` and then approves is judged at its base; and a widening
 * reconciled on its own, with nothing to record, is the base of an approval merged after it.
 */
import type { Env } from '../../src/domain/ports.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlan, type PlanView } from '../../src/cli/plan.js';
import { type HttpReceiver } from '../helpers/http-receiver.js';
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

describe('the approval gate against ordinary git operations', () => {
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

  async function reasonOf(delivery: string): Promise<{ reason: string; message: string }> {
    const cli = createCliContext(ops.work, env, clock);
    await runPlan({ remote: ops.remote, format: 'json' }, cli.context);
    const view = JSON.parse(cli.stdout()) as PlanView;
    const decision = view.decisions.find((d) => d.key.delivery_id === delivery);
    return {
      reason: decision?.reason ?? '',
      message: (decision as { message?: string } | undefined)?.message ?? '',
    };
  }

  const approvalFile = (extra = ''): string =>
    ackYaml('ack-d1', 'd1', 'ops-webhook') +
    '---\n' +
    approvalYaml('approve-d1', 'd1', 'ops-webhook') +
    extra;

  async function executeOnce(): Promise<void> {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ maxRetryAttempts: 5 }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
      },
      'provider, policy, deliveries',
    );
    expect(await reconcile()).toBe(2); // attempt 1 of d1 and d2, both fail
    await ops.commit({ 'manifests/approvals/d1.yaml': approvalFile() }, 'ack and approve d1');
    expect(await reconcile()).toBe(1); // the approved retry, fails again
    const executions = (await readRemoteRecords(ops.remote)).executions;
    expect(executions).toHaveLength(1);
  }

  it.each([
    [
      'appending another approval to its file',
      {
        'manifests/approvals/d1.yaml': approvalFile(
          '---\n' + approvalYaml('approve-d2', 'd2', 'ops-webhook'),
        ),
      },
    ],
    ['a comment-only edit', { 'manifests/approvals/d1.yaml': `# reviewed again\n${approvalFile()}` }],
    [
      'git mv to another folder',
      { 'manifests/approvals/d1.yaml': null, 'manifests/archive/2026/d1.yaml': approvalFile() },
    ],
  ] as const)('%s re-arms nothing: approval_consumed, no call', async (_what, files) => {
    await executeOnce();
    await ops.commit({ ...files }, 'an ordinary edit');
    const { reason, message } = await reasonOf('d1');
    expect(reason).toBe('approval_consumed');
    expect(message).toMatch(/gordackretryexec-/);
    const callsBefore = receiver.requests.filter((r) => r.body.includes('"d1"')).length;
    await reconcile();
    expect(receiver.requests.filter((r) => r.body.includes('"d1"')).length).toBe(callsBefore);
    expect(
      (await readRemoteRecords(ops.remote)).executions.filter((e) => e.delivery_id === 'd1'),
    ).toHaveLength(1);
  });

  it('deleting the approval and re-adding it re-arms nothing', async () => {
    await executeOnce();
    await ops.commit({ 'manifests/approvals/d1.yaml': null }, 'remove the approval');
    await reconcile();
    await ops.commit({ 'manifests/approvals/d1-again.yaml': approvalFile() }, 're-add it');
    expect((await reasonOf('d1')).reason).toBe('approval_consumed');
    expect(await reconcile()).toBe(0);
  });

  it('a blocked approval stays blocked when unrelated documents are appended to its file', async () => {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ approvers: ['alice@example.com'] }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
      },
      'only alice approves',
    );
    await reconcile();
    await ops.commit({ 'manifests/approvals/d1.yaml': approvalFile() }, 'bob approves d1');
    expect((await reasonOf('d1')).reason).toBe('approver_not_allowed');
    await ops.commit(
      { 'manifests/approvals/d1.yaml': approvalFile('---\n' + ackYaml('ack-d2', 'd2', 'ops-webhook')) },
      'append an unrelated acknowledgement',
    );
    expect((await reasonOf('d1')).reason).toBe('approver_not_allowed');
    expect(await reconcile()).toBe(0);
  });

  it('a two-commit push (widen approvers, then approve) is judged at its base; reconciled first, the widening holds', async () => {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ approvers: ['alice@example.com'] }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
      },
      'only alice approves',
    );
    await reconcile(); // records the base: attempt 1 of both deliveries, at this source revision
    const base = (await readRemoteRecords(ops.remote)).deliveries[0]!.source_revision;
    // One push of two commits: ops.commit pushes each, but no reconcile runs in between.
    await ops.commit(
      { 'manifests/policy.yaml': policyYaml({ approvers: ['alice@example.com', 'bob@example.com'] }) },
      'widen',
    );
    await ops.commit({ 'manifests/approvals/d1.yaml': approvalFile() }, 'bob approves');
    const { reason, message } = await reasonOf('d1');
    expect(reason).toBe('approver_not_allowed');
    expect(message).toContain(`base policy (at ${base})`);
    expect(await reconcile()).toBe(0);

    // The same widening, reconciled first (that run records a delivery, so its revision is a
    // recorded source revision): a later approval executes once.
    await ops.commit(
      {
        'manifests/approvals/d2.yaml': ackYaml('ack-d2', 'd2', 'ops-webhook'),
        'manifests/deliveries-more.yaml': deliveryYaml('d3', ['ops-webhook']),
      },
      'ack d2, deliver d3',
    );
    expect(await reconcile()).toBe(1); // attempt 1 of d3
    await ops.commit(
      { 'manifests/approvals/d2-approve.yaml': approvalYaml('approve-d2', 'd2', 'ops-webhook') },
      'bob approves d2',
    );
    expect(await reconcile()).toBe(1);
    expect((await readRemoteRecords(ops.remote)).executions.map((e) => e.delivery_id)).toEqual(['d2']);
  });

  it('a widening reconciled on its own, with nothing to deliver, is the base of the approval merged after it', async () => {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ approvers: ['alice@example.com'] }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml': deliveryYaml('d1', ['ops-webhook']),
        'manifests/acks/d1.yaml': ackYaml('ack-d1', 'd1', 'ops-webhook'),
      },
      'only alice approves',
    );
    expect(await reconcile()).toBe(1); // attempt 1 of d1 fails
    const widen = await ops.commit(
      { 'manifests/policy.yaml': policyYaml({ approvers: ['alice@example.com', 'bob@example.com'] }) },
      'widen: bob approves too',
    );
    // Nothing to call: the run records the widened tip (a run record naming it), nothing else.
    expect(await reconcile()).toBe(0);
    const runs = (await readRemoteRecords(ops.remote)).runs;
    expect(runs.filter((run) => run.source_revision === widen)).toHaveLength(1);
    await ops.commit(
      { 'manifests/approvals/d1.yaml': approvalYaml('approve-d1', 'd1', 'ops-webhook') },
      'bob approves d1',
    );
    expect(await reasonOf('d1')).toMatchObject({ reason: 'executed' });
    expect(await reconcile()).toBe(1);
    expect((await readRemoteRecords(ops.remote)).executions.map((e) => e.delivery_id)).toEqual(['d1']);
    // The runs that followed recorded nothing new for tips already recorded: one run record per tip.
    const after = (await readRemoteRecords(ops.remote)).runs.map((run) => run.source_revision);
    expect(new Set(after).size).toBe(after.length);
  });
});
