/**
 * A provider whose connector cannot be built — its `url_env` unset, or a bug in a factory — is
 * not ready: the plan claims, calls and counts nothing for it (no delivery attempt is used up, no
 * playbook is fed), the status says why, the other providers are delivered, and the delivery goes
 * out once the provider is fixed. (Before, such a call was claimed and recorded as a failed
 * attempt although no call was made: two decision points disagreed. The plan is now the only one.)
 */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/domain/conditions.js';
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

function remoteStatus(remote: string): StatusDocument {
  return JSON.parse(
    execFileSync('git', ['--git-dir', remote, 'show', 'refs/heads/main:reports/status.json'], {
      encoding: 'utf8',
    }),
  ) as StatusDocument;
}

describe('providers that are not ready', () => {
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
        'manifests/providers.yaml': [
          providerYaml('good-hook'),
          providerYaml('broken-hook', { urlEnv: 'BROKEN_URL' }),
        ].join('---\n'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['good-hook', 'broken-hook']),
      },
      'Two providers, one delivery',
    );
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('a provider whose url_env is unset: NotReady, 0 calls, 0 attempts used; delivered once the variable is set', async () => {
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    const options = { remote: ops.remote, stateDir: state.dir, replicaId: 'r', clock };
    const first = await openTestReconciler({
      ...options,
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }),
    });
    try {
      const result = await reconcileOnce(first.options);
      expect(result.calls).toBe(1);
      const records = await readRemoteRecords(ops.remote);
      expect(records.deliveries.map((r) => r.provider)).toEqual(['good-hook']);
      expect(records.claims).toEqual([]);
      expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
      const status = remoteStatus(ops.remote);
      expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ProviderNotReady',
      });
      expect(status.providers?.map((p) => p.provider)).toEqual(['broken-hook']);
      expect(status.providers?.[0]?.message).toContain('BROKEN_URL');
    } finally {
      await first.close();
    }

    clock.set('2026-06-28T10:05:00Z');
    const fixed = await openTestReconciler({
      ...options,
      env: reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook`, BROKEN_URL: `${receiver.origin}/broken` }),
    });
    try {
      const result = await reconcileOnce(fixed.options);
      expect(result.calls).toBe(1);
      const records = await readRemoteRecords(ops.remote);
      const broken = records.deliveries.filter((r) => r.provider === 'broken-hook');
      expect(broken).toHaveLength(1);
      expect(broken[0]).toMatchObject({ attempt: 1, delivery_success: true });
      expect(receiver.requests.map((r) => r.url)).toEqual(['/hook', '/broken']);
      expect(remoteStatus(ops.remote).providers).toBeUndefined();
    } finally {
      await fixed.close();
    }
  });

  it('a bug in a connector factory is NotReady too: nothing claimed or recorded for it, the others delivered', async () => {
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
      expect(result.calls).toBe(1);
      const records = await readRemoteRecords(ops.remote);
      expect(records.deliveries.map((r) => r.provider)).toEqual(['good-hook']);
      expect(records.claims).toEqual([]);
      expect(remoteStatus(ops.remote).providers?.[0]?.message).toContain('bug in a connector factory');
      expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
    } finally {
      await replica.close();
    }
  });
});
