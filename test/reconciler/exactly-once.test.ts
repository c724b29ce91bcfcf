/**
 * The exactly-once protocol (docs/reference.md §6) in process, against real bare remotes and a real
 * receiver: push races between replicas, a server-side hook rejecting pushes, an unreachable
 * remote, and claims whose lease expired without an outcome.
 */
import { rename, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { DeliveryRequest } from '../../src/domain/ports.js';
import { GitError } from '../../src/errors.js';
import { readJournal } from '../../src/reconciler/journal.js';
import { runLoop } from '../../src/reconciler/loop.js';
import { reconcileOnce, type RunResult } from '../../src/reconciler/run-once.js';
import { git, type TempDir } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  createCliContext,
  createCountingMetrics,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryName,
  deliveryYaml,
  listRemoteFiles,
  openTestReconciler,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  remoteLog,
  seedApprovedRetries,
  urlEnvOf,
  type OpsRepo,
  type TestReconciler,
  installRejectingHook,
} from '../helpers/reconciler-fixtures.js';

const FAIL_AT = '2026-06-28T10:00:00Z';
const APPROVE_AT = '2026-06-28T10:05:00Z';
const RUN_AT = '2026-06-28T10:10:00Z';

describe('exactly once', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  const states: TempDir[] = [];
  const opened: TestReconciler[] = [];

  beforeEach(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    for (const reconciler of opened.splice(0)) await reconciler.close();
    for (const state of states.splice(0)) await state.cleanup();
    await receiver.close();
    try {
      // No false positives (issue 12): whatever the races, rejections and unknown outcomes of the
      // test, the history they leave is a legitimate ledger.
      const cli = createCliContext(ops.work, reconcilerEnv(), createSettableClock(RUN_AT));
      const code = await runCli(['verify', '--remote', ops.remote, '--format', 'json'], cli.context);
      expect(code, `${cli.stdout()}${cli.stderr()}`).toBe(0);
    } finally {
      await ops.cleanup();
    }
  });

  const envFor = (providers: string[]) =>
    reconcilerEnv(Object.fromEntries(providers.map((p) => [urlEnvOf(p), `${receiver.origin}/${p}`])));

  async function seed(
    deliveries: number,
    providers = ['hook-a'],
    extra: Partial<Parameters<typeof seedApprovedRetries>[0]> = {},
  ) {
    const env = envFor(providers);
    receiver.respond('*', reply.status(500));
    const count = await seedApprovedRetries({
      ops,
      receiverOrigin: receiver.origin,
      deliveries,
      providers,
      failAt: FAIL_AT,
      approveAt: APPROVE_AT,
      env,
      ...extra,
    });
    receiver.reset();
    return { env, count };
  }

  async function replica(
    id: string,
    env: ReturnType<typeof envFor>,
    options: Partial<Parameters<typeof openTestReconciler>[0]> = {},
  ) {
    const state = await createStateDir();
    states.push(state);
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: id,
      clock: createSettableClock(RUN_AT),
      env,
      ...options,
    });
    opened.push(reconciler);
    return reconciler;
  }

  /** Run `during` inside each of the replica's connector calls, before the call goes out. */
  function beforeEachCall(
    replica: TestReconciler,
    during: (request: DeliveryRequest) => Promise<void>,
  ): void {
    const realConnectorFor = replica.options.connectorFor;
    replica.options.connectorFor = (provider) => {
      const connector = realConnectorFor(provider);
      return {
        type: connector.type,
        idempotent: connector.idempotent,
        deliver: async (request, signal) => {
          await during(request);
          return connector.deliver(request, signal);
        },
      };
    };
  }

  /** Every webhook-id seen by the receiver, with counts. */
  const seenIds = (): Map<string, number> => receiver.countByHeader('webhook-id');

  async function expectEveryApprovalExecutedOnce(count: number): Promise<void> {
    const records = await readRemoteRecords(ops.remote);
    expect(records.executions).toHaveLength(count);
    expect(new Set(records.executions.map((r) => r.execution_id)).size).toBe(count);
    expect(new Set(records.executions.map((r) => r.approval_decision_id)).size).toBe(count);
    expect(records.claims).toEqual([]);
    expect(await listRemoteFiles(ops.remote, 'records/claims')).toEqual([]);
    const ids = seenIds();
    expect([...ids.keys()].sort()).toEqual(records.executions.map((r) => r.execution_id).sort());
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
  }

  it('push race: both replicas plan on the same tip, exactly one claim lands, the loser re-plans and does not call', async () => {
    const { env, count } = await seed(3);
    const metricsB = createCountingMetrics();
    const a = await replica('a', env);
    const b = await replica('b', env, { metrics: metricsB });
    // B has read and planned on the tip; before its claim push, A runs a whole reconcile.
    let interleaved: RunResult | null = null;
    const realPush: typeof b.store.push = (commit, branch) => b.store.push(commit, branch);
    b.options.store = {
      ...b.store,
      push: async (commit, branch) => {
        if (interleaved === null) interleaved = await reconcileOnce(a.options);
        return realPush(commit, branch);
      },
    };

    const resultB = await reconcileOnce(b.options);
    expect(interleaved).toMatchObject({ outcome: 'ok', calls: count });
    expect(resultB.calls).toBe(0);
    expect(resultB.commits).toEqual([]);
    expect(metricsB.pushConflicts).toBe(1);
    await expectEveryApprovalExecutedOnce(count);
    const records = await readRemoteRecords(ops.remote);
    expect(new Set(records.executions.map((r) => r.executed_by))).toEqual(new Set(['a']));
  });

  it('a live claim held by another replica blocks its call, and its claim commit causes no commit elsewhere', async () => {
    // One execution per run, so the second run starts from a committed status that is Idle.
    const { env, count } = await seed(2, ['hook-a'], { policy: { maxPerRun: 1 } });
    const a = await replica('a', env);
    const b = await replica('b', env);
    expect((await reconcileOnce(a.options)).calls).toBe(1);

    // While A's second call is in flight (its claim pushed), B runs: no call and no commit.
    let duringCalls: RunResult | null = null;
    beforeEachCall(a, async () => {
      duringCalls ??= await reconcileOnce(b.options);
    });
    const second = await reconcileOnce(a.options);
    expect(second.calls).toBe(1);
    expect(duringCalls).toMatchObject({ calls: 0, commits: [] });
    await expectEveryApprovalExecutedOnce(count);
    // B afterwards: nothing left, no commit.
    const tip = await ops.tip();
    expect((await reconcileOnce(b.options)).commits).toEqual([]);
    expect(await ops.tip()).toBe(tip);
  });

  it("a release replayed from a journal never removes another replica's live claim of the same id", async () => {
    const { env, count } = await seed(1);
    const a = await replica('a', env);
    const b = await replica('b', env);
    // While A's call is in flight, B starts with a journal saying it released a claim of that id
    // uncalled in an earlier, killed run (a claim of B's that has since gone).
    let duringCall: RunResult | null = null;
    beforeEachCall(a, async (request) => {
      const release = { deliveries: [], executions: [], claimIds: [request.executionId] };
      await writeFile(
        join(b.store.stateDir, 'pending-outcomes.jsonl'),
        `${JSON.stringify({ pending: release })}\n`,
      );
      duringCall ??= await reconcileOnce(b.options);
      expect(await listRemoteFiles(ops.remote, 'records/claims')).toEqual([
        `records/claims/${request.executionId}.json`,
      ]);
    });
    expect((await reconcileOnce(a.options)).calls).toBe(1);
    expect(duringCall).toMatchObject({ calls: 0 });
    await expectEveryApprovalExecutedOnce(count);
  });

  it('a run larger than one claim batch is pipelined: every call after its claim landed, commits in a fixed order', async () => {
    const { env, count } = await seed(30, ['hook-a'], { policy: { maxPerRun: 30 } });
    // At concurrency 1 the batches are 8, 16 and 6 calls.
    const unclaimedCalls: string[] = [];
    receiver.handle((request) => {
      const id = String(request.headers['webhook-id']);
      try {
        execFileSync('git', ['--git-dir', ops.remote, 'cat-file', '-e', `main:records/claims/${id}.json`]);
      } catch {
        unclaimedCalls.push(id);
      }
      return undefined;
    });
    const before = (await remoteLog(ops.remote)).length;
    const a = await replica('a', env, { concurrency: 1 });
    const result = await reconcileOnce(a.options);
    expect(result).toMatchObject({ outcome: 'ok', calls: count, delivered: count });
    expect(unclaimedCalls).toEqual([]);
    await expectEveryApprovalExecutedOnce(count);

    const log = (await remoteLog(ops.remote)).slice(0, -before).reverse();
    expect(log.map((commit) => commit.subject.replace(/ (at|for) [0-9a-f]{12}$/, ''))).toEqual([
      'cavra-gitops: claim 8 call(s)',
      'cavra-gitops: claim 16 call(s)',
      'cavra-gitops: claim 6 call(s), record 8 outcome(s)',
      'cavra-gitops: record 16 outcome(s)',
      'cavra-gitops: record 6 deliveries, 6 executions, 1 runs',
    ]);
    // Every commit that adds records carries the report; only the last one the run record.
    for (const [index, { commit }] of log.entries()) {
      const files = (
        await git(ops.remote, ['diff-tree', '--no-commit-id', '--name-only', '-r', commit])
      ).split('\n');
      const addsRecords = files.some((file) => /^records\/(deliveries|executions)\//.test(file));
      expect(files.includes('reports/retry-recovery-report.json')).toBe(addsRecords);
      expect(files.some((file) => file.startsWith('records/runs/'))).toBe(index === log.length - 1);
    }
    const { runs, executions } = await readRemoteRecords(ops.remote);
    const run = runs.find((r) => r.run_id === executions[0]!.run_id);
    expect(run).toMatchObject({ execution_count: count, delivery_count: count });
  });

  it('a call whose claim has waited half its lease is released uncalled and made by a later run, once', async () => {
    const { env, count } = await seed(30, ['hook-a'], { policy: { maxPerRun: 30 } });
    const clock = createSettableClock(RUN_AT);
    // Every call takes a minute on the clock; the lease is 10 minutes, so calls queued behind
    // others outlive half their claim's lease.
    const lateCalls: string[] = [];
    receiver.handle((request) => {
      const id = String(request.headers['webhook-id']);
      const claim = JSON.parse(
        execFileSync('git', ['--git-dir', ops.remote, 'show', `main:records/claims/${id}.json`], {
          encoding: 'utf8',
        }),
      ) as { claimed_at: string };
      if (clock.now().getTime() - Date.parse(claim.claimed_at) > 5 * 60_000) lateCalls.push(id);
      clock.advanceMinutes(1);
      return undefined;
    });
    const a = await replica('a', env, { concurrency: 1, clock });
    const first = await reconcileOnce(a.options);
    expect(first.released).toBeGreaterThan(0);
    expect(first.calls + first.released).toBe(count);
    expect(first.message).toMatch(/released uncalled/);
    // Released claims are gone and left no record: their keys are simply planned again.
    expect(await listRemoteFiles(ops.remote, 'records/claims')).toEqual([]);
    expect((await readRemoteRecords(ops.remote)).executions).toHaveLength(first.calls);
    let runs = 1;
    while ((await readRemoteRecords(ops.remote)).executions.length < count && runs < 12) {
      await reconcileOnce(a.options);
      runs++;
    }
    expect(lateCalls).toEqual([]);
    await expectEveryApprovalExecutedOnce(count);
  });

  describe('a pre-receive hook on the remote rejects pushes', () => {
    it('rejects the first 3 pushes: everything lands after bounded, jittered retries', async () => {
      const { env, count } = await seed(2);
      await installRejectingHook(ops.remote, [1, 2, 3]);
      const metrics = createCountingMetrics();
      const sleeps: number[] = [];
      const a = await replica('a', env, { metrics, sleeps });
      const result = await reconcileOnce(a.options);
      expect(result.outcome).toBe('ok');
      expect(metrics.pushConflicts).toBe(3);
      expect(sleeps).toHaveLength(3);
      // Jittered exponential back-off (random fixed at 0.5): 50, 100, 200 ms, capped.
      expect(sleeps).toEqual([50, 100, 200]);
      await expectEveryApprovalExecutedOnce(count);
    });

    it('rejects the outcome pushes: the commit is rebuilt and lands, the call is not repeated', async () => {
      const { env, count } = await seed(2);
      // Push 1 is the claim; 2 and 3 are outcome pushes.
      await installRejectingHook(ops.remote, [2, 3]);
      const metrics = createCountingMetrics();
      const a = await replica('a', env, { metrics });
      const result = await reconcileOnce(a.options);
      expect(result.outcome).toBe('ok');
      expect(metrics.pushConflicts).toBe(2);
      await expectEveryApprovalExecutedOnce(count);
    });

    it('rejects a push in the middle of a pipelined run: landed claims are called and recorded once, the rest re-planned', async () => {
      const { env, count } = await seed(30, ['hook-a'], { policy: { maxPerRun: 30 } });
      // Pushes 1 and 2 claim batches of 8 and 16; push 3 (claims of the last 6, outcomes of the
      // first 8) is rejected.
      await installRejectingHook(ops.remote, [3]);
      const metrics = createCountingMetrics();
      const a = await replica('a', env, { concurrency: 1, metrics });
      const result = await reconcileOnce(a.options);
      expect(result).toMatchObject({ outcome: 'ok', calls: count, delivered: count });
      expect(metrics.pushConflicts).toBe(1);
      await expectEveryApprovalExecutedOnce(count);
      expect(await readJournal(a.store.stateDir)).toBeNull();
    });

    // Pushes: 1 claims 8, 2 claims 16, 3 claims 6 and records 8, 4 records 16, 5 is the last commit.
    it.each([
      { reject: 4, what: 'after an intermediate commit recorded a batch' },
      { reject: 5, what: 'the last commit, rebuilt on the re-read tip' },
    ])(
      'rejects push $reject of a pipelined run ($what): the run record counts the whole run',
      async ({ reject }) => {
        const { env, count } = await seed(30, ['hook-a'], { policy: { maxPerRun: 30 } });
        await installRejectingHook(ops.remote, [reject]);
        const a = await replica('a', env, { concurrency: 1 });
        const result = await reconcileOnce(a.options);
        expect(result).toMatchObject({ outcome: 'ok', calls: count, delivered: count });
        await expectEveryApprovalExecutedOnce(count);
        const { runs, executions } = await readRemoteRecords(ops.remote);
        const ours = runs.filter((r) => r.replica_id === 'a');
        expect(ours).toHaveLength(1);
        expect(ours[0]).toMatchObject({
          run_id: executions[0]!.run_id,
          execution_count: count,
          delivery_count: count,
        });
      },
    );

    it('more rejections than allowed: the run gives up (journal kept), the next run lands the outcomes', async () => {
      const { env, count } = await seed(2);
      await installRejectingHook(ops.remote, [2, 3, 4]);
      const a = await replica('a', env, { maxPushAttempts: 3 });
      await expect(reconcileOnce(a.options)).rejects.toThrow(GitError);
      expect((await readJournal(a.store.stateDir))?.executions).toHaveLength(count);
      expect(seenIds().size).toBe(count);
      const second = await reconcileOnce(a.options);
      expect(second.calls).toBe(0);
      expect(await readJournal(a.store.stateDir)).toBeNull();
      await expectEveryApprovalExecutedOnce(count);
    });

    it('rejects every claim push: gives up after the bound without calling anyone', async () => {
      const { env } = await seed(1);
      await installRejectingHook(ops.remote, [1, 2, 3, 4]);
      const sleeps: number[] = [];
      const a = await replica('a', env, { maxPushAttempts: 4, sleeps });
      const result = await reconcileOnce(a.options);
      expect(result.outcome).toBe('failed');
      expect(result.message).toMatch(/gave up after 4 rejected claim pushes/);
      expect(sleeps).toHaveLength(4);
      expect(receiver.requests).toHaveLength(0);
      expect(await listRemoteFiles(ops.remote, 'records/claims')).toEqual([]);
    });
  });

  it('remote unreachable after the claim push: the loop keeps running, loses nothing and lands on return', async () => {
    const { env, count } = await seed(2);
    const away = `${ops.remote}.away`;
    let moved = false;
    receiver.handle(() => {
      if (!moved) {
        renameSync(ops.remote, away);
        moved = true;
      }
      return undefined;
    });
    const a = await replica('a', env);

    // A single run: the outcome push fails with GitError; the journal holds every outcome.
    await expect(reconcileOnce(a.options)).rejects.toThrow(GitError);
    const journal = await readJournal(a.store.stateDir);
    expect(journal?.executions.map((r) => r.execution_status)).toEqual(Array(count).fill('delivered'));
    expect(journal?.claimIds).toHaveLength(count);
    expect(seenIds().size).toBe(count);

    // The loop: fails while the remote is away, keeps going, and lands the journal once it is back.
    const controller = new AbortController();
    let failedFetches = 0;
    const realFetch: typeof a.store.fetch = (branch) => a.store.fetch(branch);
    const results: RunResult[] = [];
    a.options.store = {
      ...a.store,
      fetch: async (branch) => {
        try {
          return await realFetch(branch);
        } catch (error) {
          failedFetches++;
          if (failedFetches === 3) await rename(away, ops.remote);
          throw error;
        }
      },
    };
    const loop = runLoop({
      ...a.options,
      intervalMs: 5,
      signal: controller.signal,
      onRun: (result) => {
        results.push(result);
        if (result.commits.length > 0) controller.abort();
      },
    });
    await loop;
    expect(failedFetches).toBe(3);
    expect(await readJournal(a.store.stateDir)).toBeNull();
    await expectEveryApprovalExecutedOnce(count);
    const log = await remoteLog(ops.remote);
    expect(log.filter((c) => c.subject.startsWith('cavra-gitops: record'))).toHaveLength(2); // seed + these outcomes
  });

  // A run killed while its calls were in flight leaves a journal whose outcomes all landed (the
  // earlier batches' `landed` lines), or a power loss a last line cut short. The next run must start
  // its own journal afresh, or the outcome of a call it then cannot push is hidden or unreadable.
  it.each([
    {
      left: 'a claim released uncalled and landed, whose key is now planned again under the same id',
      journal: (claim: string) =>
        `${JSON.stringify({ pending: { deliveries: [], executions: [], claimIds: [claim] } })}\n${JSON.stringify({ landed: [claim] })}\n`,
    },
    { left: 'a last line cut short', journal: () => '{"pending":{"deliveries":[{"rec' },
  ])(
    'a journal left with nothing pending ($left) does not hide the outcome of the next run that cannot push',
    async ({ journal }) => {
      const claim = 'drill-1.ops-webhook.1';
      const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
      await ops.commit(
        {
          'manifests/policy.yaml': policyYaml(),
          'manifests/providers.yaml': providerYaml('ops-webhook'),
          'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
        },
        'Deliver drill-1',
        { date: '2026-06-28T10:00:00Z' },
      );
      receiver.respond('/hook', reply.ok());
      const a = await replica('a', env, { maxPushAttempts: 2 });
      await writeFile(join(a.store.stateDir, 'pending-outcomes.jsonl'), journal(claim));
      // The claim lands; every later push is rejected, so the run gives up after the call.
      let pushes = 0;
      a.options.store = {
        ...a.store,
        push: async (commit, branch) =>
          ++pushes === 1 ? a.store.push(commit, branch) : { status: 'rejected', reason: 'test' },
      };
      await expect(reconcileOnce(a.options)).rejects.toThrow(GitError);
      const journaled = await readJournal(a.store.stateDir);
      expect(journaled?.deliveries.map((r) => [r.record_id, r.delivery_success])).toEqual([[claim, true]]);

      a.options.store = a.store;
      expect((await reconcileOnce(a.options)).calls).toBe(0);
      const records = await readRemoteRecords(ops.remote);
      expect(records.deliveries.map((r) => [r.record_id, r.delivery_success])).toEqual([[claim, true]]);
      expect(records.claims).toEqual([]);
      expect(receiver.requests).toHaveLength(1);
    },
  );

  describe('claims whose lease expired without an outcome', () => {
    /**
     * Replica A pushes its claims and makes the calls, then "crashes" before the outcome commit
     * (its push throws), and never comes back with that state dir.
     */
    async function crashAfterCalls(env: ReturnType<typeof envFor>): Promise<void> {
      const a = await replica('a', env, { leaseMinutes: 10 });
      let pushes = 0;
      const realPush: typeof a.store.push = (commit, branch) => a.store.push(commit, branch);
      a.options.store = {
        ...a.store,
        push: async (commit, branch) => {
          pushes++;
          if (pushes === 2) throw new Error('simulated crash before the outcome push');
          return realPush(commit, branch);
        },
      };
      await expect(reconcileOnce(a.options)).rejects.toThrow('simulated crash');
      expect((await readRemoteRecords(ops.remote)).claims).toHaveLength(1);
    }

    it('idempotent provider: re-sent once with the same idempotency key after the lease, then recorded', async () => {
      const { env } = await seed(1);
      await crashAfterCalls(env);
      const [executionId] = [...seenIds().keys()];

      // Before the lease ends, B leaves the claim alone.
      const b = await replica('b', env);
      const early = await reconcileOnce(b.options);
      expect(early.calls).toBe(0);
      expect([...seenIds().values()]).toEqual([1]);

      (b.options.clock as ReturnType<typeof createSettableClock>).set('2026-06-28T10:21:00Z');
      const late = await reconcileOnce(b.options);
      expect(late.resent).toBe(1);
      expect([...seenIds()]).toEqual([[executionId, 2]]);
      const records = await readRemoteRecords(ops.remote);
      expect(records.executions.map((r) => [r.execution_id, r.execution_status, r.executed_by])).toEqual([
        [executionId, 'delivered', 'b'],
      ]);
      expect(records.claims).toEqual([]);
      const tip = await ops.tip();
      expect((await reconcileOnce(b.options)).commits).toEqual([]);
      expect(await ops.tip()).toBe(tip);
    });

    it('non-idempotent provider: an unknown execution record, nothing re-sent', async () => {
      const { env } = await seed(1, ['hook-a'], { providerOptions: { 'hook-a': { idempotent: false } } });
      await crashAfterCalls(env);
      const [executionId] = [...seenIds().keys()];
      const b = await replica('b', env);
      (b.options.clock as ReturnType<typeof createSettableClock>).set('2026-06-28T10:21:00Z');
      const result = await reconcileOnce(b.options);
      expect(result.calls).toBe(0);
      expect(result.unknown).toBe(1);
      expect([...seenIds()]).toEqual([[executionId, 1]]);
      const records = await readRemoteRecords(ops.remote);
      expect(records.executions).toHaveLength(1);
      expect(records.executions[0]).toMatchObject({
        execution_id: executionId,
        execution_status: 'unknown',
        delivery_success: false,
        executed_by: 'b',
      });
      expect(records.executions[0]?.error).toMatch(
        /outcome unknown: claim lease expired at 2026-06-28T10:20:00.000Z \(held by a\)/,
      );
      const attempt2 = records.deliveries.find((r) => r.delivery_id === deliveryName(0) && r.attempt === 2);
      expect(attempt2).toMatchObject({ delivery_success: false, execution_id: executionId });
      expect(records.claims).toEqual([]);
    });
  });
});
