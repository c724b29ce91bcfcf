/**
 * `prepareCalls` (the CLI loads the HTTP client with it) runs once a pass has calls to make, while
 * its first claims are being pushed and before any call goes out; a pass without calls never runs
 * it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import type { TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
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

describe('prepareCalls', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('hook'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['hook']),
      },
      'One provider, one delivery',
    );
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('runs once in a pass with calls, while the claims are pushed, before the first call; not in a pass without calls', async () => {
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'r',
      clock: createSettableClock('2026-06-28T10:00:00Z'),
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }),
    });
    try {
      // How many requests the receiver had, and how many pushes had started, when prepareCalls ran:
      // run during the claim commit's fast-import instead, its ~50 ms held the push back.
      const seen: number[] = [];
      const pushesSeen: number[] = [];
      let pushes = 0;
      const { store } = reconciler.options;
      const options = {
        ...reconciler.options,
        store: { ...store, push: (commit: string, branch: string) => (pushes++, store.push(commit, branch)) },
        prepareCalls: () => {
          seen.push(receiver.requests.length);
          pushesSeen.push(pushes);
        },
      };
      const first = await reconcileOnce(options);
      expect(first.calls).toBe(1);
      expect(seen).toEqual([0]);
      expect(pushesSeen).toEqual([1]);
      expect((await readRemoteRecords(ops.remote)).deliveries).toHaveLength(1);

      const second = await reconcileOnce(options); // delivered: nothing to call
      expect(second.calls).toBe(0);
      expect(seen).toHaveLength(1);
    } finally {
      await reconciler.close();
    }
  });
});
