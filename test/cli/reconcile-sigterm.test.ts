/**
 * SIGTERM while a connector call is in flight: the reconcile process finishes the call, commits
 * the outcome with the claim's removal, and exits 0 — no claim left behind, nothing called twice.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import {
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
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';

describe('reconcile and SIGTERM', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let server: Server;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
  });
  /** `cavra-gitops reconcile` on the test remote and state dir, in a process of its own. */
  function spawnReconcile(args: string[], env: NodeJS.ProcessEnv) {
    return spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'reconcile',
        '--remote',
        ops.remote,
        '--state-dir',
        state.dir,
        ...args,
      ],
      { env: { ...env, CAVRA_GITOPS_NOW: '2026-06-28T10:00:00Z' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }

  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('finishes the in-flight call and its commit, then exits 0', async () => {
    let requests = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived: () => void = () => {};
    const callArrived = new Promise<void>((resolve) => (arrived = resolve));
    server = createServer((request, response) => {
      requests++;
      request.resume();
      arrived();
      void released.then(() => response.writeHead(200).end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
      },
      'Provider, policy and a delivery',
    );
    const child = spawnReconcile(
      ['--replica-id', 'term', '--interval', '1h'],
      reconcilerEnv({ HOOK_URL: `http://127.0.0.1:${port}/hook` }),
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await callArrived;
    child.kill('SIGTERM');
    // Let the signal land while the call is still open, then answer it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();

    expect(await exited, stderr).toBe(0);
    expect(requests).toBe(1);
    const records = await readRemoteRecords(ops.remote);
    expect(records.deliveries.map((r) => [r.record_id, r.delivery_success])).toEqual([
      ['drill-1.ops-webhook.1', true],
    ]);
    expect(records.claims).toEqual([]);
  }, 60_000);

  it('SIGKILL after a call returned: the next run records its outcome from the journal and never calls again', async () => {
    // drill-1 is answered at once; drill-2 is held open until the process is killed.
    const seen = new Map<string, number>();
    let holdDrill2 = true;
    server = createServer((request, response) => {
      const id = String(request.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      request.resume();
      if (id.startsWith('drill-2') && holdDrill2) return; // never answered
      response.writeHead(200).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const env = reconcilerEnv({ HOOK_URL: `http://127.0.0.1:${port}/hook` });
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml': `${deliveryYaml('drill-1', ['ops-webhook'])}---\n${deliveryYaml('drill-2', ['ops-webhook'])}`,
      },
      'Provider, policy and two deliveries',
    );
    const child = spawnReconcile(['--replica-id', 'kill', '--once'], env);
    child.stderr?.resume(); // its logs are not needed, but must not fill the pipe
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Kill as soon as drill-1's outcome is journaled (and before any commit records it).
    const journal = join(state.dir, 'pending-outcomes.jsonl');
    while (!(await readFile(journal, 'utf8').catch(() => '')).includes('drill-1.ops-webhook.1')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await exited;
    expect((await readRemoteRecords(ops.remote)).deliveries).toEqual([]);

    holdDrill2 = false;
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'kill',
      clock,
      env,
    });
    try {
      await reconcileOnce(reconciler.options);
      // drill-1 is recorded from the journal; drill-2's claim is still leased.
      let records = await readRemoteRecords(ops.remote);
      expect(records.deliveries.map((r) => [r.record_id, r.delivery_success])).toEqual([
        ['drill-1.ops-webhook.1', true],
      ]);
      expect(records.claims.map((c) => c.claim_id)).toEqual(['drill-2.ops-webhook.1']);
      clock.advanceMinutes(11); // drill-2's lease expires: an unknown outcome, re-sent (idempotent)
      await reconcileOnce(reconciler.options);
      records = await readRemoteRecords(ops.remote);
      expect(records.deliveries.map((r) => r.record_id).sort()).toEqual([
        'drill-1.ops-webhook.1',
        'drill-2.ops-webhook.1',
      ]);
      expect(records.claims).toEqual([]);
    } finally {
      await reconciler.close();
    }
    expect(seen.get('drill-1')).toBe(1); // webhook-id: the delivery id for attempt 1
    expect(seen.get('drill-2')).toBe(2); // the declared re-send of an unknown outcome
  }, 60_000);
});
