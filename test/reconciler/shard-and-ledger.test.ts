/**
 * `--shard i/n`: replicas split the calls by claim id, together making each exactly once.
 * `--ledger-branch`: records go to their own branch; the tracked branch is never written.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createConnector, createConnectorContext } from '../../src/connectors/index.js';
import type { Env } from '../../src/domain/ports.js';
import { openGitStore } from '../../src/git/index.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { readBranch, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
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
} from '../helpers/reconciler-fixtures.js';

const DELIVERIES = Array.from({ length: 10 }, (_, i) => `drill-${i}`);

describe('shards and the ledger branch', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  const states: TempDir[] = [];

  beforeEach(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    const files: Record<string, string> = {
      'manifests/policy.yaml': policyYaml(),
      'manifests/providers.yaml': providerYaml('ops-webhook'),
    };
    for (const name of DELIVERIES)
      files[`manifests/deliveries/${name}.yaml`] = deliveryYaml(name, ['ops-webhook']);
    await ops.commit(files, 'Ten deliveries', { date: '2026-06-28T09:00:00Z' });
  });
  afterEach(async () => {
    await receiver.close();
    for (const state of states.splice(0)) await state.cleanup();
    await ops.cleanup();
  });

  /** `verify --remote` on the remote (issue 12: no false positives on shards and a ledger branch). */
  async function verify(env: Env, args: string[]): Promise<number> {
    const cli = createCliContext(ops.work, env, createSettableClock('2026-06-28T10:00:00Z'));
    const code = await runCli(['verify', '--remote', ops.remote, '--format', 'json', ...args], cli.context);
    if (code !== 0) process.stderr.write(`${cli.stdout()}${cli.stderr()}`);
    return code;
  }

  async function stateDir(): Promise<string> {
    const state = await createStateDir();
    states.push(state);
    return state.dir;
  }

  it('two shards make disjoint calls that together deliver everything once', async () => {
    const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    const called: string[][] = [];
    for (const index of [0, 1]) {
      const replica = await openTestReconciler({
        remote: ops.remote,
        stateDir: await stateDir(),
        replicaId: `shard-${index}`,
        clock,
        env,
      });
      try {
        receiver.reset();
        const result = await reconcileOnce({ ...replica.options, shard: { index, count: 2 } });
        expect(result.outcome).toBe('ok');
        // The other shard's deliveries are not due for this replica: its loop must not spin on them.
        expect(result.nextDueAt).toBeNull();
        called.push(receiver.requests.map((r) => String(r.headers['webhook-id'])).sort());
      } finally {
        await replica.close();
      }
    }
    const [first, second] = called as [string[], string[]];
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect([...first, ...second].sort()).toEqual([...DELIVERIES].sort());
    const records = await readRemoteRecords(ops.remote);
    expect(records.deliveries).toHaveLength(DELIVERIES.length);
    expect(records.claims).toEqual([]);
    expect(await verify(env, [])).toBe(0);
  });

  it.each([
    ['in one batch', undefined, 2],
    ['in pipelined batches of 8 and 2', 1, 4],
  ])(
    'writes records only to the ledger branch and leaves the tracked branch alone (%s)',
    async (_name, concurrency, commits) => {
      const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
      const tracked = await readBranch(ops.remote);
      const store = await openGitStore({
        remote: ops.remote,
        stateDir: await stateDir(),
        branch: 'main',
        ledgerBranch: 'cavra-ledger',
        replicaId: 'ledger',
        env,
      });
      const connectorContext = createConnectorContext({ env, fileRoot: ops.work, maxAttempts: 1 });
      const options = {
        store,
        branch: 'main',
        ledgerBranch: 'cavra-ledger',
        replicaId: 'ledger',
        clock: createSettableClock('2026-06-28T10:00:00Z'),
        leaseMinutes: 10,
        push: true,
        shard: null,
        connectorFor: (provider: Parameters<typeof createConnector>[0]) =>
          createConnector(provider, connectorContext),
        logger: await createSilentLogger(),
        ...(concurrency ? { concurrency } : {}),
      };
      try {
        const first = await reconcileOnce(options);
        expect(first.calls).toBe(DELIVERIES.length);
        expect(first.commits).toHaveLength(commits);
        expect(await readBranch(ops.remote)).toBe(tracked);
        const ledger = await readRemoteRecords(ops.remote, 'cavra-ledger');
        expect(ledger.deliveries).toHaveLength(DELIVERIES.length);
        expect(ledger.claims).toEqual([]);
        expect((await readRemoteRecords(ops.remote)).deliveries).toEqual([]);

        receiver.reset();
        const second = await reconcileOnce(options);
        expect(second.calls).toBe(0);
        expect(second.commits).toEqual([]);
        expect(receiver.requests).toEqual([]);
        expect(await verify(env, ['--ledger-branch', 'cavra-ledger'])).toBe(0);
      } finally {
        await store.close();
      }
    },
  );
});
