/**
 * The loop's no-op pass in a replica's own process, for the history bench: run as a child process
 * on the state a first `reconcile` left, it reconciles once in full (so it holds what a
 * long-running replica holds once it has read the history), which must neither call nor commit,
 * then times the no-op passes (tips unmoved, nothing due) and prints them as JSON.
 *
 * Each pass forks `git ls-remote`, and a fork costs with the memory of the process it copies:
 * timed in the bench's own process, the passes also paid for the bench's buffers (the generated
 * history) rather than for what a replica holds.
 *
 * Usage: noop-replica.ts STATE_DIR REMOTE NOW (ISO-8601) REPLICA_ID; the provider's env (HOOK_URL)
 * comes from the environment, as for the CLI.
 */
import { createConnector, createConnectorContext } from '../src/connectors/index.js';
import { openGitStore } from '../src/git/index.js';
import { createSilentLogger } from '../src/observability/logger.js';
import type { LoopOptions } from '../src/reconciler/loop.js';
import { reconcileOnce } from '../src/reconciler/run-once.js';
import { createSnapshotCache } from '../src/read-model/read-snapshot.js';
import { timeNoopPasses } from './noop-passes.js';

const [stateDir, remote, nowText, replicaId] = process.argv.slice(2);
if (!stateDir || !remote || !nowText || !replicaId)
  throw new Error('usage: noop-replica.ts STATE_DIR REMOTE NOW REPLICA_ID');
const now = new Date(nowText);
const clock = { now: () => now };
const store = await openGitStore({ remote, stateDir, branch: 'main', replicaId, env: process.env, clock });
try {
  const connectorContext = createConnectorContext({ env: process.env, fileRoot: stateDir });
  const options: LoopOptions = {
    store,
    branch: 'main',
    ledgerBranch: null,
    replicaId,
    clock,
    leaseMinutes: 10,
    push: true,
    shard: null,
    connectorFor: (provider) => createConnector(provider, connectorContext),
    logger: await createSilentLogger(),
    intervalMs: 1000,
    signal: new AbortController().signal,
    once: true,
    cache: createSnapshotCache(),
  };
  const full = await reconcileOnce(options);
  if (full.calls > 0 || full.commits.length > 0)
    throw new Error(
      `the full pass after the first reconcile called ${full.calls} and committed ${full.commits.length}`,
    );
  const samples = await timeNoopPasses(options);
  console.log(JSON.stringify({ samples, rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20) }));
} finally {
  await store.close();
}
