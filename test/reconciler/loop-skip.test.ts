/**
 * The loop's skip check (`last-run.json`): a run whose tips did not move is skipped only while
 * nothing is due, so a time that falls due (a retry delay elapsing) is never forgotten, even when
 * a run in between had nothing to commit.
 */
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.js';
import { reconcilerMetrics } from '../../src/cli/reconcile.js';
import { runLoop } from '../../src/reconciler/loop.js';
import type { RunResult } from '../../src/reconciler/run-once.js';
import { git, type TempDir } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveriesOfKey,
  deliveryYaml,
  openTestReconciler,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  type OpsRepo,
  type TestReconciler,
  type TestReconcilerOptions,
} from '../helpers/reconciler-fixtures.js';

describe('reconcile loop: skip check and nextDueAt', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;
  let reconciler: TestReconciler;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    await reconciler.close();
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  const once = (options: TestReconciler['options']): Promise<RunResult | null> =>
    runLoop({ ...options, intervalMs: 1000, signal: new AbortController().signal, once: true });

  /** The replica of every test here, on the ops repo's remote and the state dir. */
  const openReplica = (
    clock: TestReconcilerOptions['clock'],
    extra: Partial<TestReconcilerOptions> = {},
  ): Promise<TestReconciler> =>
    openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'replica-a',
      clock,
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }),
      ...extra,
    });

  /** A policy, a provider and one delivery to it, committed an hour before the tests' clocks. */
  const commitDelivery = (): Promise<string> =>
    ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
      },
      'Deliver',
      { date: '2026-06-28T09:00:00Z' },
    );

  it('remembers a retry that falls due across a run that committed nothing', async () => {
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ retryDelayMinutes: 15 }),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
        'manifests/ack.yaml': ackYaml('ack-drill-1', 'drill-1', 'ops-webhook'),
        'manifests/approval.yaml': approvalYaml('approve-drill-1', 'drill-1', 'ops-webhook', {
          allowImmediateRetry: false,
        }),
      },
      'Deliver, acknowledged and approved in advance',
      { date: '2026-06-28T09:00:00Z' },
    );
    receiver.enqueue('/hook', reply.status(500, 'down'));
    reconciler = await openReplica(clock);

    // Attempt 1 fails; the approved retry is due at 10:15.
    const first = await once(reconciler.options);
    expect(first?.calls).toBe(1);
    expect(first?.nextDueAt).toBe('2026-06-28T10:15:00.000Z');

    // An unrelated commit moves the tip: a full run with nothing else to record records the new
    // tip (a run record only: no report, no status) and still knows what is due.
    clock.set('2026-06-28T10:05:00Z');
    const docs = await ops.commit({ 'README.md': '# ops\n' }, 'Docs only', {
      date: '2026-06-28T10:05:00Z',
    });
    const second = await once(reconciler.options);
    expect(second?.commits).toHaveLength(1);
    const changed = await git(ops.remote, [
      'diff-tree',
      '--no-commit-id',
      '--name-only',
      '-r',
      second!.commits[0]!,
    ]);
    expect(changed).toMatch(/^records\/runs\/2026-06\/[a-z]+-[0-9a-f]{16}\.json$/);
    const runs = (await readRemoteRecords(ops.remote)).runs;
    expect(runs.filter((run) => run.source_revision === docs)).toMatchObject([
      { delivery_count: 0, execution_count: 0, playbook_count: 0, closure_count: 0 },
    ]);
    expect(second?.nextDueAt).toBe('2026-06-28T10:15:00.000Z');

    // Tips unchanged, but the retry fell due: the run is not skipped and the retry is executed.
    clock.set('2026-06-28T10:16:00Z');
    const third = await once(reconciler.options);
    expect(third?.calls).toBe(1);
    const records = await readRemoteRecords(ops.remote);
    expect(deliveriesOfKey(records, 'drill-1', 'ops-webhook').map((r) => r.delivery_success)).toEqual([
      false,
      true,
    ]);
  });

  it('observes every pass in cavra_reconcile_duration_seconds by outcome, the skipped no-op passes and a failed one too', async () => {
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await commitDelivery();
    const metrics = createMetrics({ processMetrics: false });
    reconciler = await openReplica(clock, { metrics: reconcilerMetrics(metrics) });
    const seen: { outcome: string; seconds: number }[] = [];
    const pass = (): Promise<RunResult | null> =>
      runLoop({
        ...reconciler.options,
        intervalMs: 1000,
        signal: new AbortController().signal,
        once: true,
        onRun: (result, seconds) => seen.push({ outcome: result.outcome, seconds }),
      });

    expect((await pass())?.calls).toBe(1); // attempt 1 delivered
    // Tips unmoved and nothing due: skipped without reading the revision, and still observed.
    expect((await pass())?.message).toBe('tips unchanged and nothing due');
    expect((await pass())?.outcome).toBe('noop');
    // The remote is gone: the pass fails, and is observed as failed.
    await rename(ops.remote, `${ops.remote}.moved`);
    await expect(pass()).rejects.toThrow();
    await rename(`${ops.remote}.moved`, ops.remote);

    expect(seen.map((run) => run.outcome)).toEqual(['ok', 'noop', 'noop']);
    expect(seen.every((run) => run.seconds > 0 && run.seconds < 60)).toBe(true);
    const counts: Record<string, number> = {};
    for (const value of (await metrics.reconcileDuration.get()).values) {
      if (value.metricName === 'cavra_reconcile_duration_seconds_count')
        counts[String(value.labels.outcome)] = value.value;
    }
    expect(counts).toEqual({ ok: 1, noop: 2, failed: 1 });
  });

  it('--no-push: calls it cannot make are not due now, so the loop does not spin on them', async () => {
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await commitDelivery();
    reconciler = await openReplica(clock, { push: false });
    const result = await once(reconciler.options);
    expect(result?.calls).toBe(0);
    expect(result?.commits).toHaveLength(1); // report and status, locally
    expect(result?.nextDueAt).toBeNull();
    expect(receiver.requests).toHaveLength(0);
  });

  it('rolls the clone packs up after a run that committed, not after one that did not', async () => {
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
    reconciler = await openReplica(clock);
    const { store } = reconciler;
    const packs = async () =>
      (await readdir(join(store.repoDir, 'objects', 'pack'))).filter((name) => name.endsWith('.pack')).length;
    const pileUp = async () => {
      const tip = await store.fetch('main');
      for (let i = 0; i < 40; i++) {
        await store.createCommit(
          tip,
          { put: [{ path: `scratch/${i}.txt`, content: `${i}\n` }], remove: [] },
          'scratch',
        );
      }
    };
    await once(reconciler.options); // the first run commits the report and status
    await pileUp();
    expect(await packs()).toBeGreaterThan(32);
    await once(reconciler.options); // nothing moved, nothing due: no commit, no repack
    expect(await packs()).toBeGreaterThan(32);
    await ops.commit({ 'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']) }, 'deliver');
    receiver.respond('/hook', reply.ok());
    const result = await once(reconciler.options);
    expect(result?.commits.length).toBeGreaterThan(0);
    expect(await packs()).toBeLessThan(8);
  });
});
