/**
 * Every tip a reconciler reads is recorded once (docs/reference.md §4, the base of a change): a run
 * with nothing else to record writes a run record naming its tip, and nothing more; the next run,
 * on the reconciler's own commit above that tip, writes none; and a replica whose push lost the
 * race to another replica's run record for the same tip rebuilds its commit without a second one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { git, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  createCountingMetrics,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  installRejectingHook,
  openTestReconciler,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  type OpsRepo,
  type TestReconciler,
  type TestReconcilerOptions,
} from '../helpers/reconciler-fixtures.js';

describe('every tip a reconciler reads is recorded once', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  const states: TempDir[] = [];
  const replicas: TestReconciler[] = [];
  const clock = createSettableClock('2026-06-28T10:00:00Z');

  beforeEach(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    await ops.commit(
      { 'manifests/policy.yaml': policyYaml(), 'manifests/providers.yaml': providerYaml('ops-webhook') },
      'a policy and a provider, nothing to deliver',
      { date: '2026-06-28T09:00:00Z' },
    );
  });
  afterEach(async () => {
    for (const replica of replicas.splice(0)) await replica.close();
    for (const state of states.splice(0)) await state.cleanup();
    await receiver.close();
    await ops.cleanup();
  });

  async function replica(id: string, extra: Partial<TestReconcilerOptions> = {}): Promise<TestReconciler> {
    const state = await createStateDir();
    states.push(state);
    const opened = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: id,
      clock,
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }),
      ...extra,
    });
    replicas.push(opened);
    return opened;
  }

  const runsNaming = async (revision: string): Promise<number> =>
    (await readRemoteRecords(ops.remote)).runs.filter((run) => run.source_revision === revision).length;

  it('a quiet tip gets one run record; the run on the reconciler commit above it adds none', async () => {
    const tip = (await ops.tip())!;
    const a = await replica('replica-a');
    const first = await reconcileOnce(a.options);
    expect(first.calls).toBe(0);
    expect(first.commits).toHaveLength(1);
    expect(await runsNaming(tip)).toBe(1);
    const again = await reconcileOnce(a.options);
    expect(again.commits).toEqual([]);
    // A new replica, reading the whole history from nothing, agrees that the tip is recorded.
    const b = await replica('replica-b');
    expect((await reconcileOnce(b.options)).commits).toEqual([]);
    expect(await runsNaming(tip)).toBe(1);
  });

  it('a push that lost the race to another replica’s run record for the same tip is rebuilt without one', async () => {
    const tip = (await ops.tip())!;
    await reconcileOnce((await replica('replica-a')).options); // records the first tip
    const quiet = await ops.commit({ 'README.md': '# ops\n' }, 'docs only');
    expect(quiet).not.toBe(tip);
    const b = await replica('replica-b');
    // Replica c reads the quiet tip, builds its run record and pushes: the hook rejects that
    // push, and while c backs off, b records the same tip. c's rebuilt commit sees b's record.
    await installRejectingHook(ops.remote, [1]);
    const metrics = createCountingMetrics();
    const c = await replica('replica-c', { metrics });
    let raced = false;
    const result = await reconcileOnce({
      ...c.options,
      sleep: async () => {
        if (raced) return;
        raced = true;
        expect((await reconcileOnce(b.options)).commits).toHaveLength(1);
      },
    });
    expect(raced).toBe(true);
    expect(metrics.pushConflicts).toBe(1);
    expect(result.commits).toEqual([]);
    expect(await runsNaming(quiet)).toBe(1);
    const last = await git(ops.remote, [
      'log',
      '-1',
      '--format=%(trailers:key=Cavra-Gitops-Replica,valueonly)',
      'main',
    ]);
    expect(last.trim()).toBe('replica-b');
  });
});
