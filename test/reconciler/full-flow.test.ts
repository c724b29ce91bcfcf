/**
 * Issue 3 acceptance, the full flow on real git and real HTTP: a failing provider, an ack and an
 * approval merged, the retry executed exactly once, records with correct hashes and approval
 * evidence, the report and status committed, `verify` clean, and no empty commit afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { hasValidHash } from '../../src/domain/hash.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { runLoop } from '../../src/reconciler/loop.js';
import { git } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveriesOfKey,
  deliveryYaml,
  listRemoteFiles,
  openTestReconciler,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  remoteLog,
  verifyStandardWebhook,
  WEBHOOK_SECRET,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';

const APPROVER_AUTHOR = 'Bob Approver <bob@example.com>';

describe('reconcile: the full flow', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('fails attempt 1, executes the approved retry once with evidence, then stays quiet', async () => {
    const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
      },
      'Add provider, policy and delivery',
      { date: '2026-06-28T09:00:00Z' },
    );
    receiver.enqueue('/hook', reply.status(500, 'down'));

    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'replica-a',
      clock,
      env,
    });
    try {
      const first = await reconcileOnce(reconciler.options);
      expect(first.outcome).toBe('ok');
      expect(receiver.requests).toHaveLength(1);
      expect(receiver.requests[0]?.headers['webhook-id']).toBe('drill-1');
      let records = await readRemoteRecords(ops.remote);
      const attempt1 = deliveriesOfKey(records, 'drill-1', 'ops-webhook');
      expect(attempt1.map((r) => [r.attempt, r.delivery_success, r.status_code])).toEqual([[1, false, 500]]);
      expect(hasValidHash(attempt1[0]!, 'record_hash')).toBe(true);
      expect(records.claims).toEqual([]);

      // The operator merges an acknowledgement and an approval (a separate commit, by Bob).
      const approvalCommit = await ops.commit(
        {
          'manifests/ack.yaml': ackYaml('ack-drill-1', 'drill-1', 'ops-webhook'),
          'manifests/approval.yaml': approvalYaml('approve-drill-1', 'drill-1', 'ops-webhook'),
        },
        'Approve the retry',
        { date: '2026-06-28T10:05:00Z', author: APPROVER_AUTHOR },
      );
      clock.set('2026-06-28T10:10:00Z');
      receiver.reset();

      const second = await reconcileOnce(reconciler.options);
      expect(second.outcome).toBe('ok');
      expect(second.calls).toBe(1);
      records = await readRemoteRecords(ops.remote);
      expect(records.executions).toHaveLength(1);
      const execution = records.executions[0]!;

      // Exactly one POST, webhook-id = execution id, signed per Standard Webhooks.
      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0]!;
      expect(request.method).toBe('POST');
      expect(request.headers['webhook-id']).toBe(execution.execution_id);
      const body = JSON.parse(request.body) as Record<string, unknown>;
      expect(body).toMatchObject({
        execution_id: execution.execution_id,
        delivery_id: 'drill-1',
        attempt: 2,
      });
      expect(
        verifyStandardWebhook(
          WEBHOOK_SECRET,
          execution.execution_id,
          String(request.headers['webhook-timestamp']),
          request.body,
          String(request.headers['webhook-signature']),
        ),
      ).toBe(true);
      expect(request.headers['webhook-timestamp']).toBe(String(Date.parse('2026-06-28T10:10:00Z') / 1000));

      // The execution record: delivered, hash recomputed, evidence names the approval's commit and author.
      expect(execution.execution_id).toMatch(/^gordackretryexec-[0-9a-f]{16}$/);
      expect(execution).toMatchObject({
        execution_status: 'delivered',
        delivery_success: true,
        status_code: 200,
        attempt: 2,
        executed_at: '2026-06-28T10:10:00.000Z',
        executed_by: 'replica-a',
        delivery_id: 'drill-1',
        provider: 'ops-webhook',
        selected_providers: ['ops-webhook'],
      });
      expect(hasValidHash(execution, 'execution_hash')).toBe(true);
      expect(hasValidHash({ ...execution, executed_by: 'someone-else' }, 'execution_hash')).toBe(false);
      expect(execution.approval).toMatchObject({
        manifest: 'manifests/approval.yaml',
        commit: approvalCommit,
        author: APPROVER_AUTHOR,
        signature: { status: 'none', principal: '' },
      });
      expect(execution.approval.blob).toBe(
        await git(ops.work, ['rev-parse', `${approvalCommit}:manifests/approval.yaml`]),
      );
      expect(execution.source_revision).toBe(approvalCommit);
      expect(
        deliveriesOfKey(records, 'drill-1', 'ops-webhook').map((r) => [r.attempt, r.delivery_success]),
      ).toEqual([
        [1, false],
        [2, true],
      ]);

      // Claim removed in the outcome commit; report and status committed with it.
      expect(records.claims).toEqual([]);
      expect(await listRemoteFiles(ops.remote, 'records/claims')).toEqual([]);
      const log = await remoteLog(ops.remote);
      expect(log[0]?.subject).toMatch(/^cavra-gitops: record /);
      expect(log[1]?.subject).toMatch(/^cavra-gitops: claim 1 call/);
      const changed = (
        await git(ops.remote, ['diff-tree', '--no-commit-id', '--name-status', '-r', log[0]!.commit])
      ).split('\n');
      expect(changed).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^D\trecords\/claims\/gordackretryexec-/),
          expect.stringMatching(/^A\trecords\/executions\/2026-06\/gordackretryexec-/),
          'M\treports/retry-recovery-report.json',
          'M\treports/status.json',
        ]),
      );
      const report = JSON.parse(
        await git(ops.remote, ['show', 'refs/heads/main:reports/retry-recovery-report.json']),
      ) as {
        report: { execution_count: number; execution_success_count: number };
      };
      expect(report.report).toMatchObject({ execution_count: 1, execution_success_count: 1 });

      // A third run (through the loop, --once) changes nothing and makes no commit.
      const tip = await ops.tip();
      clock.set('2026-06-28T10:20:00Z');
      receiver.reset();
      const third = await runLoop({
        ...reconciler.options,
        intervalMs: 1000,
        signal: new AbortController().signal,
        once: true,
      });
      expect(third?.commits).toEqual([]);
      expect(await ops.tip()).toBe(tip);
      expect(receiver.requests).toHaveLength(0);
      const fourth = await reconcileOnce(reconciler.options);
      expect(fourth.outcome).toBe('noop');
      expect(await ops.tip()).toBe(tip);
    } finally {
      await reconciler.close();
    }

    // verify (the CLI, in process) recomputes every hash and reference: exit 0.
    const cli = createCliContext(ops.work, env, clock);
    expect(await runCli(['verify', '--remote', ops.remote], cli.context)).toBe(0);
    expect(cli.stdout()).toMatch(/append-only, every hash, id, approval and report recomputes/);
  });

  it('runs the same flow through `runCli reconcile --once`', async () => {
    const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
    // The CLI's connectors make 3 attempts per call: fail them all.
    receiver.enqueue('/hook', reply.status(500), reply.status(500), reply.status(500));
    const cli = createCliContext(ops.work, env, clock);
    const args = [
      'reconcile',
      '--once',
      '--remote',
      ops.remote,
      '--replica-id',
      'cli-a',
      '--state-dir',
      state.dir,
    ];
    expect(await runCli(args, cli.context)).toBe(0);
    expect(receiver.requests).toHaveLength(3);

    await ops.commit(
      {
        'manifests/ack.yaml': ackYaml('ack-drill-1', 'drill-1', 'ops-webhook'),
        'manifests/approval.yaml': approvalYaml('approve-drill-1', 'drill-1', 'ops-webhook'),
      },
      'approve',
      { date: '2026-06-28T10:05:00Z', author: APPROVER_AUTHOR },
    );
    clock.set('2026-06-28T10:10:00Z');
    receiver.reset();
    expect(await runCli(args, cli.context)).toBe(0);
    const records = await readRemoteRecords(ops.remote);
    expect(records.executions.map((r) => r.execution_status)).toEqual(['delivered']);
    expect([...receiver.countByHeader('webhook-id')]).toEqual([[records.executions[0]!.execution_id, 1]]);
    const tip = await ops.tip();
    expect(await runCli(args, cli.context)).toBe(0);
    expect(await ops.tip()).toBe(tip);
    // The endpoint's path (part of the secret HOOK_URL value) never reaches the logs.
    expect(cli.stderr()).not.toContain(`${receiver.origin}/hook`);
  });

  it('a call that takes time: the failure it records still makes the playbook due in the same run', async () => {
    const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers.yaml': providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
        'manifests/delivery.yaml': `${deliveryYaml('drill-1', ['ops-webhook'])}---\n${deliveryYaml('drill-2', ['ops-webhook'])}`,
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
    // Each call takes 2 s on the clock: its failure completes after the run planned.
    receiver.handle(() => {
      clock.set(new Date(clock.now().getTime() + 2_000).toISOString());
      return reply.status(503, 'maintenance');
    });
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'replica-a',
      clock,
      env,
    });
    try {
      await reconcileOnce(reconciler.options);
    } finally {
      await reconciler.close();
    }
    const records = await readRemoteRecords(ops.remote);
    expect(records.deliveries.filter((r) => !r.delivery_success)).toHaveLength(2);
    expect(records.playbooks).toHaveLength(1);
    expect(records.playbooks[0]).toMatchObject({ failure_count: 2 });
  });
});
