/**
 * SIGTERM while a connector call is in flight: the reconcile process finishes the call, commits
 * the outcome with the claim's removal, and exits 0 — no claim left behind, nothing called twice.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createOpsRepo,
  createStateDir,
  deliveryYaml,
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
    const child = spawn(
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
        '--replica-id',
        'term',
        '--interval',
        '1h',
      ],
      {
        env: {
          ...reconcilerEnv({ HOOK_URL: `http://127.0.0.1:${port}/hook` }),
          CAVRA_GITOPS_NOW: '2026-06-28T10:00:00Z',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
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
});
