/**
 * Determinism (issue 3): the same repository and the same `CAVRA_GITOPS_NOW` twice, on two fresh
 * bare remotes seeded with the same commits and reconciled by the same replica id, give
 * byte-identical records and identical reconciler commit ids.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClock } from '../../src/cli/context.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { git, type TempDir } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createOpsRepo,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  remoteLog,
  seedApprovedRetries,
  urlEnvOf,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';

describe('determinism', () => {
  let receiver: HttpReceiver;
  const cleanups: (OpsRepo | TempDir)[] = [];

  beforeEach(async () => {
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    for (const item of cleanups.splice(0)) await item.cleanup();
    await receiver.close();
  });

  /** Seed, fail attempt 1, approve, execute: everything at fixed times. Returns the remote. */
  async function replay(): Promise<OpsRepo> {
    const ops = await createOpsRepo();
    const state = await createStateDir();
    cleanups.push(ops, state);
    const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers.yaml': providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
        'manifests/deliveries.yaml': `${deliveryYaml('drill-1', ['ops-webhook'])}---\n${deliveryYaml('drill-2', ['ops-webhook'])}`,
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
    const run = async (now: string): Promise<void> => {
      const reconciler = await openTestReconciler({
        remote: ops.remote,
        stateDir: state.dir,
        replicaId: 'replica-det',
        clock: createClock({ CAVRA_GITOPS_NOW: now }),
        env,
      });
      try {
        await reconcileOnce(reconciler.options);
      } finally {
        await reconciler.close();
      }
    };
    receiver.respond('/hook', reply.status(503, 'maintenance'));
    await run('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/ack.yaml': ackYaml('ack-drill-1', 'drill-1', 'ops-webhook'),
        'manifests/approval.yaml': approvalYaml('approve-drill-1', 'drill-1', 'ops-webhook'),
      },
      'approve drill-1',
      { date: '2026-06-28T10:05:00Z', author: 'Bob <bob@example.com>' },
    );
    // The approved retry fails again: a second failure opens a recovery playbook too.
    await run('2026-06-28T10:10:00Z');
    receiver.reset();
    return ops;
  }

  it('gives identical record bytes and identical reconciler commit ids', async () => {
    const first = await replay();
    const second = await replay();
    const logA = await remoteLog(first.remote);
    const logB = await remoteLog(second.remote);
    const reconcilerCommits = logA.filter((c) => c.subject.startsWith('cavra-gitops:'));
    expect(reconcilerCommits.length).toBeGreaterThanOrEqual(4); // two claims, two outcomes
    expect(logB).toEqual(logA);

    const tree = async (ops: OpsRepo) =>
      git(ops.remote, ['ls-tree', '-r', 'refs/heads/main', '--', 'records', 'reports']);
    const treeA = await tree(first);
    expect(await tree(second)).toBe(treeA);
    expect(treeA).toMatch(/records\/executions\/2026-06\/gordackretryexec-/);
    expect(treeA).toMatch(/records\/playbooks\/2026-06\/gordackrecovery-/);
  });

  it('a pipelined run gives the same commits too, whatever its calls take', async () => {
    /** Seed 30 approved retries and run them; `unevenCalls`: the receiver answers some late. */
    const replayPipelined = async (unevenCalls: boolean): Promise<OpsRepo> => {
      const ops = await createOpsRepo();
      const state = await createStateDir();
      cleanups.push(ops, state);
      const env = reconcilerEnv({ [urlEnvOf('hook-a')]: `${receiver.origin}/hook-a` });
      receiver.respond('*', reply.status(500));
      await seedApprovedRetries({
        ops,
        receiverOrigin: receiver.origin,
        deliveries: 30,
        providers: ['hook-a'],
        policy: { maxPerRun: 30 },
        failAt: '2026-06-28T10:00:00Z',
        approveAt: '2026-06-28T10:05:00Z',
        env,
      });
      receiver.reset();
      let n = 0;
      if (unevenCalls) receiver.handle(() => (n++ % 3 === 0 ? reply.delay(30, reply.ok()) : undefined));
      const reconciler = await openTestReconciler({
        remote: ops.remote,
        stateDir: state.dir,
        replicaId: 'replica-det',
        clock: createClock({ CAVRA_GITOPS_NOW: '2026-06-28T10:10:00Z' }),
        env,
        concurrency: 1, // batches of 8, 16 and 6 calls
      });
      try {
        await reconcileOnce(reconciler.options);
      } finally {
        await reconciler.close();
      }
      return ops;
    };
    const first = await replayPipelined(false);
    const second = await replayPipelined(true);
    const logA = await remoteLog(first.remote);
    // One claim commit of the seeding run, then the three batches.
    expect(logA.filter((c) => c.subject.startsWith('cavra-gitops: claim'))).toHaveLength(4);
    expect(await remoteLog(second.remote)).toEqual(logA);
  });
});
