/**
 * Issue 12 acceptance, moving an existing repository to `--ledger-branch` on real git: 20 calls
 * delivered on the tracked branch (half to a non-idempotent provider) and one failed attempt;
 * then the replica (with its state) and a fresh one reconcile with `--ledger-branch`: the ledger
 * branch is seeded from the tracked branch's records byte-identical and 0 calls are made. Work
 * merged afterwards lands on the ledger only, and `plan`, `report`, `verify` and `serve` read the
 * ledger with `--remote --ledger-branch`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { WouldRecord } from '../../src/plan/plan-reconcile.js';
import { reconcileOnce, type RunResult } from '../../src/reconciler/run-once.js';
import { git, readBranch, type TempDir } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  type OpsRepo,
  type SettableClock,
} from '../helpers/reconciler-fixtures.js';

const LEDGER = 'cavra-ledger';
const DRILLS = Array.from({ length: 10 }, (_, i) => `drill-${i}`);

describe('moving to a ledger branch', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  let clock: SettableClock;
  const states: TempDir[] = [];

  beforeEach(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    clock = createSettableClock('2026-06-28T10:00:00Z');
  });
  afterEach(async () => {
    await receiver.close();
    for (const state of states.splice(0)) await state.cleanup();
    await ops.cleanup();
  });

  const env = (): ReturnType<typeof reconcilerEnv> =>
    reconcilerEnv({ URL_A: `${receiver.origin}/hook-a`, URL_B: `${receiver.origin}/hook-b` });

  async function stateDir(): Promise<string> {
    const state = await createStateDir();
    states.push(state);
    return state.dir;
  }

  async function reconcile(state: string, ledgerBranch: string | null): Promise<RunResult> {
    const replica = await openTestReconciler({
      remote: ops.remote,
      stateDir: state,
      replicaId: 'r',
      clock,
      env: env(),
      ...(ledgerBranch ? { ledgerBranch } : {}),
    });
    try {
      return await reconcileOnce(replica.options);
    } finally {
      await replica.close();
    }
  }

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const context = createCliContext(ops.work, env(), clock);
    const code = await runCli([...args, '--remote', ops.remote], context.context);
    return { code, stdout: context.stdout(), stderr: context.stderr() };
  }

  it('20 delivered calls, half non-idempotent: 0 new calls, and every reader follows the ledger', async () => {
    const files: Record<string, string> = {
      'manifests/policy.yaml': policyYaml(),
      'manifests/providers/hook-a.yaml': providerYaml('hook-a', {
        urlEnv: 'URL_A',
        signingSecretEnv: 'HOOK_SECRET',
      }),
      'manifests/providers/hook-b.yaml': providerYaml('hook-b', {
        urlEnv: 'URL_B',
        signingSecretEnv: 'HOOK_SECRET',
        idempotent: false,
      }),
      'manifests/deliveries/drill-fail.yaml': deliveryYaml('drill-fail', ['hook-a']),
    };
    for (const name of DRILLS)
      files[`manifests/deliveries/${name}.yaml`] = deliveryYaml(name, ['hook-a', 'hook-b']);
    await ops.commit(files, 'twenty calls and one that fails', { date: '2026-06-28T09:00:00Z' });
    receiver.handle((request) =>
      request.headers['webhook-id'] === 'drill-fail' ? reply.status(500) : undefined,
    );
    const state = await stateDir();
    const first = await reconcile(state, null);
    expect(first.delivered).toBe(20);
    expect(first.failed).toBe(1);
    const tracked = (await readBranch(ops.remote))!;

    // The same replica, now with --ledger-branch, and a fresh one: nothing is called again.
    receiver.reset();
    const moved = await reconcile(state, LEDGER);
    expect(moved.outcome, moved.message).not.toBe('stalled');
    expect(moved.calls).toBe(0);
    const fresh = await reconcile(await stateDir(), LEDGER);
    expect(fresh.calls).toBe(0);
    expect(receiver.requests).toEqual([]);
    // The seed keeps every record and report byte-identical, and the tracked branch is not written.
    const listing = (rev: string, path: string) => git(ops.remote, ['ls-tree', '-r', rev, '--', path]);
    expect(await listing(LEDGER, 'records')).toBe(await listing(tracked, 'records'));
    expect(await listing(LEDGER, 'reports')).toBe(await listing(tracked, 'reports'));
    expect(await listing(LEDGER, 'manifests')).toBe('');
    expect(await readBranch(ops.remote)).toBe(tracked);
    expect(await git(ops.remote, ['rev-parse', `${LEDGER}^`])).toBe(tracked);

    // Work merged now is recorded on the ledger only.
    await ops.commit(
      {
        'manifests/acks/drill-fail.yaml': ackYaml('ack-drill-fail', 'drill-fail', 'hook-a'),
        'manifests/approvals/drill-fail.yaml': approvalYaml('approve-drill-fail', 'drill-fail', 'hook-a'),
      },
      'approve the retry',
      { date: '2026-06-28T10:05:00Z' },
    );
    clock.set('2026-06-28T10:10:00Z');
    receiver.reset();
    const retried = await reconcile(state, LEDGER);
    expect(retried.delivered).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    expect((await readRemoteRecords(ops.remote, LEDGER)).executions).toHaveLength(1);
    expect((await readRemoteRecords(ops.remote)).executions).toHaveLength(0);

    // plan: nothing pending on the ledger (the tracked branch alone would retry again).
    const plan = await cli(['plan', '--format', 'json', '--ledger-branch', LEDGER]);
    expect(plan.code, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout) as { would_record: WouldRecord }).would_record.calls).toEqual([]);
    const stale = await cli(['plan', '--format', 'json']);
    expect((JSON.parse(stale.stdout) as { would_record: WouldRecord }).would_record.calls).toHaveLength(1);

    // report: the execution recorded on the ledger.
    const report = await cli(['report', '--format', 'json', '--ledger-branch', LEDGER]);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({
      report: { execution_count: 1, execution_success_count: 1 },
    });

    // verify: the ledger's whole history, clean.
    const verified = await cli(['verify', '--format', 'json', '--ledger-branch', LEDGER]);
    expect(verified.code, verified.stdout).toBe(0);
    const audit = JSON.parse(verified.stdout) as { records: number; ledger_revision: string };
    expect(audit.ledger_revision).toBe(await readBranch(ops.remote, LEDGER));
    expect(audit.records).toBeGreaterThanOrEqual(23);

    // serve: the API answers from the ledger.
    const served = await serveOnce(
      ['--ledger-branch', LEDGER],
      '/runtime/go-pilot/rollback-drill-notifications/acknowledgements/audit-delivery/retry-recovery-report',
    );
    expect(served).toMatchObject({ report: { execution_count: 1 } });
  });

  /** `serve --remote … --port 0`, one GET, then shutdown. */
  async function serveOnce(args: string[], path: string): Promise<unknown> {
    const context = createCliContext(ops.work, env(), clock);
    const controller = new AbortController();
    const running = runCli(['serve', '--remote', ops.remote, '--port', '0', ...args], {
      ...context.context,
      signal: controller.signal,
    });
    try {
      let url: string | undefined;
      for (let i = 0; i < 200 && url === undefined; i++) {
        url = /"url":"(http:\/\/[^"]+)\/console\/"/.exec(context.stderr())?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (url === undefined) throw new Error(`serve did not start: ${context.stderr()}`);
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(200);
      return await response.json();
    } finally {
      controller.abort();
      expect(await running).toBe(0);
    }
  }
});
