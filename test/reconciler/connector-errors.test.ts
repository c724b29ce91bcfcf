/**
 * A connector that cannot even be built — by misconfiguration or by a bug — still ends its claim
 * in a recorded outcome, and the other calls of the same batch keep theirs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
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
import type { TempDir } from '../helpers/git-fixtures.js';

describe('connectors that cannot be built', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('records a failed attempt for the broken provider and delivers to the others', async () => {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': [
          providerYaml('good-hook'),
          providerYaml('broken-hook', { urlEnv: 'BROKEN_URL' }),
        ].join('---\n'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['good-hook', 'broken-hook']),
      },
      'Two providers, one delivery',
    );
    const replica = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'r',
      clock: createSettableClock('2026-06-28T10:00:00Z'),
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook`, BROKEN_URL: `${receiver.origin}/broken` }),
    });
    try {
      const build = replica.options.connectorFor;
      const result = await reconcileOnce({
        ...replica.options,
        connectorFor: (provider) => {
          if (provider.name === 'broken-hook') throw new Error('bug in a connector factory');
          return build(provider);
        },
      });
      expect(result.calls).toBe(2);
      const records = await readRemoteRecords(ops.remote);
      const byProvider = Object.fromEntries(records.deliveries.map((r) => [r.provider, r]));
      expect(byProvider['good-hook']?.delivery_success).toBe(true);
      expect(byProvider['broken-hook']).toMatchObject({ delivery_success: false, status_code: null });
      expect(byProvider['broken-hook']?.error).toContain(
        'connector could not be built: bug in a connector factory',
      );
      expect(records.claims).toEqual([]);
      expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
    } finally {
      await replica.close();
    }
  });
});
