/**
 * The check step's walk of the ledger (every path, since the last checked tip) is started before
 * the run reads its snapshot, so git walks while the records are read, and the check uses that
 * walk instead of making a second one: on a fresh replica (the whole history) and on one with
 * state (the commits since its last check). A fresh replica's walk from the root is also the
 * gate's history walk: git walks the whole history once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryWalkRequest } from '../../src/domain/ports.js';
import { createSnapshotCache } from '../../src/read-model/read-snapshot.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import {
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function openReplica(): Promise<{
  ops: OpsRepo;
  replica: Awaited<ReturnType<typeof openTestReconciler>>;
  calls: string[];
}> {
  const ops: OpsRepo = await createOpsRepo();
  cleanups.push(() => ops.cleanup());
  const state: TempDir = await createStateDir();
  cleanups.push(() => state.cleanup());
  await ops.commit(
    { 'manifests/providers/out.yaml': providerYaml('out', { type: 'file', options: { directory: 'out' } }) },
    'provider',
  );
  await ops.commit({ 'manifests/deliveries/a.yaml': deliveryYaml('a', ['out']) }, 'delivery a');
  const replica = await openTestReconciler({
    remote: ops.remote,
    stateDir: state.dir,
    replicaId: 'r',
    clock: createSettableClock('2026-03-01T10:00:00Z'),
    env: reconcilerEnv(),
  });
  cleanups.push(() => replica.close());
  const calls: string[] = [];
  const { store } = replica;
  const walk = store.walkHistory.bind(store);
  const listTree = store.listTree.bind(store);
  store.walkHistory = (request: HistoryWalkRequest) => {
    calls.push(
      request.prefixes.length === 0 ? `walk every path ${request.exclude?.length ? 'since' : 'all'}` : 'walk',
    );
    return walk(request);
  };
  store.listTree = (commit, paths) => {
    if (paths.includes('records/')) calls.push('list records');
    return listTree(commit, paths);
  };
  return { ops, replica, calls };
}

describe('the check walk', () => {
  it('is started before the records are listed and is the only walk of every path', async () => {
    const { ops, replica, calls } = await openReplica();
    expect((await reconcileOnce(replica.options)).outcome).toBe('ok');
    expect(calls.filter((call) => call.startsWith('walk every path'))).toEqual(['walk every path all']);
    expect(calls.indexOf('walk every path all')).toBeLessThan(calls.indexOf('list records'));

    await ops.commit({ 'manifests/deliveries/b.yaml': deliveryYaml('b', ['out']) }, 'delivery b');
    calls.length = 0;
    expect((await reconcileOnce(replica.options)).outcome).toBe('ok');
    expect(calls.filter((call) => call.startsWith('walk every path'))).toEqual(['walk every path since']);
    expect(calls.indexOf('walk every path since')).toBeLessThan(calls.indexOf('list records'));
  });

  it('on a fresh replica with a read cache is also the gate history walk: git walks the history once', async () => {
    const { ops, replica, calls } = await openReplica();
    const options = { ...replica.options, cache: createSnapshotCache() };
    expect((await reconcileOnce(options)).outcome).toBe('ok');
    expect(calls.filter((call) => call.startsWith('walk'))).toEqual(['walk every path all']);
    const records = await readRemoteRecords(ops.remote);
    expect(records.deliveries.map((record) => record.delivery_id)).toEqual(['a']);

    // The loop's next pass walks the new commits for the gate and for the check, each its own range.
    await ops.commit({ 'manifests/deliveries/b.yaml': deliveryYaml('b', ['out']) }, 'delivery b');
    calls.length = 0;
    expect((await reconcileOnce(options)).outcome).toBe('ok');
    expect(calls.filter((call) => call.startsWith('walk')).sort()).toEqual(['walk', 'walk every path since']);
  });
});
