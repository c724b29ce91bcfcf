import { it } from 'vitest';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { readSnapshot } from '../../src/reconciler/read-snapshot.js';
import { planFromSnapshot } from '../../src/reconciler/plan-reconcile.js';
import { startHttpReceiver } from '../helpers/http-receiver.js';
import { createOpsRepo, createSettableClock, createStateDir, openTestReconciler, reconcilerEnv, seedApprovedRetries, urlEnvOf } from '../helpers/reconciler-fixtures.js';
it('scratch', async () => {
  const ops = await createOpsRepo();
  const receiver = await startHttpReceiver();
  const providers = ['hook-a', 'hook-b'];
  const env = reconcilerEnv(Object.fromEntries(providers.map((p) => [urlEnvOf(p), `${receiver.origin}/${p}`])));
  receiver.handle(() => ({ kind: 'respond', status: 500 }));
  let t = Date.now();
  await seedApprovedRetries({ ops, receiverOrigin: receiver.origin, deliveries: 100, providers, policy: { maxPerRun: 10 }, failAt: '2026-06-28T10:00:00Z', approveAt: '2026-06-28T10:05:00Z', env });
  console.log('seed', Date.now() - t);
  receiver.reset();
  const a = await openTestReconciler({ remote: ops.remote, stateDir: (await createStateDir()).dir, replicaId: 'a', clock: createSettableClock('2026-06-28T10:10:00Z'), env });
  for (let i = 0; i < 3; i++) {
    t = Date.now();
    const tip = await a.store.fetch('main');
    console.log('fetch', Date.now() - t); t = Date.now();
    const snap = await readSnapshot(a.store, tip!);
    console.log('snapshot', Date.now() - t); t = Date.now();
    await planFromSnapshot(a.store, snap, new Date('2026-06-28T10:10:00Z'));
    console.log('plan', Date.now() - t); t = Date.now();
    await reconcileOnce(a.options);
    console.log('run', Date.now() - t);
  }
});
