/**
 * A repository written before record format v2 (test/fixtures/ledger-v1: the records of five real
 * reconcile runs by the reconciler at 886a853) still reconciles, serves and verifies. Exactly once
 * across the format change: the ids of work already done (execution ids, claim ids, idempotency
 * keys) must be what the new code computes too, or the new reconciler would call again — so the
 * run below must make 0 calls and claim nothing. New work on top is written as v2, and the mixed
 * ledger verifies clean.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { AUDIT_DELIVERY } from '../../src/api/flow-routes.js';
import { createMetrics } from '../../src/api/metrics.js';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { runCli } from '../../src/cli/main.js';
import { createGitReader } from '../../src/git/reader.js';
import { readRecords } from '../../src/records/read-records.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { createTempDir, createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  approvalYaml,
  createCliContext,
  createSettableClock,
  createStateDir,
  listRemoteFiles,
  openTestReconciler,
  opsRepoOf,
  readRemoteRecords,
  reconcilerEnv,
} from '../helpers/reconciler-fixtures.js';

const BUNDLE = fileURLToPath(new URL('../fixtures/ledger-v1/ops-v1.bundle', import.meta.url));
/** The bundle's tip: what the old reconciler last committed. */
const FIXTURE_TIP = 'c8551d9fef9614cf159d626a4fad28f4a6dfa547';
/** Every execution and claim id the old reconciler wrote (claims: from the history). */
const OLD_EXECUTION_IDS = [
  'gordackretryexec-1b5711fd07d75d5e',
  'gordackretryexec-4da8d2e6a56eb5ee',
  'gordackretryexec-6d5ed3f19aa18764',
];

let remote: TempDir;
let state: TempDir;
let receiver: HttpReceiver;

beforeAll(async () => {
  remote = await createTempDir('cavra-ledger-v1-');
  await git(remote.dir, ['clone', '-q', '--bare', BUNDLE, '.']);
  state = await createStateDir();
  receiver = await startHttpReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await state?.cleanup();
  await remote?.cleanup();
});

describe('a ledger written before record format v2', () => {
  it('reads without findings, every record as format v1', async () => {
    const reader = createGitReader(remote.dir, { gitDir: true });
    try {
      const { records, findings } = await readRecords(reader, FIXTURE_TIP);
      expect(findings).toEqual([]);
      expect(records.executions.map((record) => record.execution_id)).toEqual(OLD_EXECUTION_IDS);
      expect(records.deliveries).toHaveLength(8);
      expect(records.playbooks).toHaveLength(1);
      expect(records.closures).toHaveLength(3);
      expect(records.runs).toHaveLength(5);
    } finally {
      await reader.close();
    }
  });

  it('verifies clean as it was written', async () => {
    const clock = createSettableClock('2026-06-30T12:00:00Z');
    const cli = createCliContext(remote.dir, reconcilerEnv(), clock);
    expect(await runCli(['verify', '--repo', remote.dir], cli.context)).toBe(0);
  });

  it('reconciles with 0 calls and 0 claims, then still verifies clean', async () => {
    const claimsInHistory = (
      await git(remote.dir, [
        'log',
        '--format=',
        '--name-only',
        '--diff-filter=A',
        'main',
        '--',
        'records/claims',
      ])
    )
      .split('\n')
      .filter((line) => line !== '')
      .map((path) => path.replace(/^records\/claims\/|\.json$/g, ''))
      .filter((id) => id.startsWith('gordackretryexec-'))
      .sort();
    expect(claimsInHistory).toEqual(OLD_EXECUTION_IDS);

    const clock = createSettableClock('2026-07-01T12:00:00Z');
    const env = reconcilerEnv({
      URL_OPS_WEBHOOK: `${receiver.origin}/ops-webhook`,
      URL_SIEM_HOOK: `${receiver.origin}/siem-hook`,
    });
    const reconciler = await openTestReconciler({
      remote: remote.dir,
      stateDir: state.dir,
      replicaId: 'replica-after-v2',
      clock,
      env,
    });
    try {
      const run = await reconcileOnce(reconciler.options);
      expect(run.calls).toBe(0);
      // Stalled only by the scenario's one invalid manifest (pager-bridge), never by the ledger.
      expect(run.message).toBe('Invalid input was skipped; fix it through a pull request.');
    } finally {
      await reconciler.close();
    }
    expect(receiver.requests).toEqual([]);
    expect(await listRemoteFiles(remote.dir, 'records/claims')).toEqual([]);
    // Nothing the old reconciler wrote was touched.
    const changed = await git(remote.dir, ['diff', '--name-status', FIXTURE_TIP, 'main', '--', 'records']);
    expect(changed.split('\n').filter((line) => line !== '' && !line.startsWith('A\trecords/runs/'))).toEqual(
      [],
    );

    const cli = createCliContext(remote.dir, env, clock);
    expect(await runCli(['verify', '--repo', remote.dir], cli.context)).toBe(0);
  });

  it('serves its records and report', async () => {
    const reader = createGitReader(remote.dir, { gitDir: true });
    const clock = createSettableClock('2026-07-01T12:00:00Z');
    const source = createSnapshotSource(reader, {
      tip: () => reader.resolve('refs/heads/main'),
      tipCacheMs: 0,
    });
    const app = createApp({
      source,
      clock,
      metrics: createMetrics({ processMetrics: false }),
      planRetries: createRetryPlanner(reader),
      startedAt: new Date('2026-07-01T11:00:00Z'),
    });
    const running = await startServer(app, { port: 0 });
    try {
      const executions = (await (await fetch(`${running.url}${AUDIT_DELIVERY}/retry-executions`)).json()) as {
        items: { execution_id: string }[];
      };
      expect(executions.items.map((item) => item.execution_id).sort()).toEqual(OLD_EXECUTION_IDS);
      for (const id of OLD_EXECUTION_IDS) {
        const response = await fetch(`${running.url}${AUDIT_DELIVERY}/retry-executions/${id}`);
        expect(response.status).toBe(200);
      }
      const report = await fetch(`${running.url}${AUDIT_DELIVERY}/retry-recovery-report`);
      expect(report.status).toBe(200);
      expect(((await report.json()) as { report: { execution_count: number } }).report.execution_count).toBe(
        3,
      );
    } finally {
      await running.close();
      await reader.close();
    }
  });

  it('new work on top of it is written as v2 beside the v1 records, and the mixed ledger verifies clean', async () => {
    const work = await createTempRepo();
    try {
      const ops = opsRepoOf(remote, work);
      // drill-b/siem-hook was acknowledged in the fixture and waits for an approval.
      await ops.commit(
        {
          'manifests/retries/approve-drill-b-siem-hook.yaml': approvalYaml(
            'approve-drill-b-siem-hook',
            'drill-b',
            'siem-hook',
          ),
        },
        'approve drill-b/siem-hook after the upgrade',
        { date: '2026-07-01T12:30:00Z' },
      );
      const clock = createSettableClock('2026-07-01T12:40:00Z');
      const env = reconcilerEnv({
        URL_OPS_WEBHOOK: `${receiver.origin}/ops-webhook`,
        URL_SIEM_HOOK: `${receiver.origin}/siem-hook`,
      });
      receiver.reset();
      const reconciler = await openTestReconciler({
        remote: remote.dir,
        stateDir: state.dir,
        replicaId: 'replica-after-v2',
        clock,
        env,
      });
      try {
        expect((await reconcileOnce(reconciler.options)).calls).toBe(1);
      } finally {
        await reconciler.close();
      }
      // Exactly the new retry was called: no id of the old work came back.
      expect(receiver.requests.map((request) => request.headers['webhook-id'])).toHaveLength(1);
      const newId = String(receiver.requests[0]?.headers['webhook-id']);
      expect(OLD_EXECUTION_IDS).not.toContain(newId);
      const records = await readRemoteRecords(remote.dir);
      const versions = records.executions.map((record) => [record.execution_id, record.schema ?? 'v1']);
      expect(versions).toEqual(
        expect.arrayContaining([
          ...OLD_EXECUTION_IDS.map((id) => [id, 'v1']),
          [
            newId,
            'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-retry-execution-record.v2',
          ],
        ]),
      );
      const cli = createCliContext(remote.dir, env, clock);
      expect(await runCli(['verify', '--repo', remote.dir], cli.context)).toBe(0);
    } finally {
      await work.cleanup();
    }
  });
});
