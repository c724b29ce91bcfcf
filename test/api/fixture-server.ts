/** The API over the fixture repository, listening on a real port, with an injected clock. */
import { createApp } from '../../src/api/app.js';
import { createMetrics, type Metrics } from '../../src/api/metrics.js';
import { createRetryPlanner, type RetryPlanner } from '../../src/api/retry-planner.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { createSnapshotSource, type SnapshotSource } from '../../src/api/snapshot-source.js';
import { createGitReader } from '../../src/git/index.js';
import { FIXTURE_NOW, createFixtureRepo, type FixtureRepo } from './fixtures.js';

/** Two decisions in the shape the real planner returns (the fields the API reads). */
export const FIXED_DECISIONS = [
  {
    key: { delivery_id: 'weekly-audit', audit_id: 'audit-2026-26', provider: 'ops-webhook' },
    action: 'retry',
    reason: 'executed',
    execute: true,
  },
  {
    key: { delivery_id: 'weekly-audit', audit_id: 'audit-2026-26', provider: 'archive' },
    action: 'none',
    reason: 'delivered',
    execute: false,
  },
];

export interface FixtureServer {
  repo: FixtureRepo;
  url: string;
  source: SnapshotSource;
  metrics: Metrics;
  /** Move the tracked tip the snapshot source reports. */
  setTip(commit: string): void;
  /** Set the injected clock. */
  setNow(now: Date): void;
  close(): Promise<void>;
}

/** Start the API on 127.0.0.1:0 over a fresh fixture repository. */
export async function startFixtureServer(
  options: { planner?: 'fixed' | 'real' | 'none' | RetryPlanner } = {},
): Promise<FixtureServer> {
  const repo = await createFixtureRepo();
  const reader = createGitReader(repo.dir);
  let tip = repo.second;
  let now = FIXTURE_NOW;
  const source = createSnapshotSource(reader, { tip: async () => tip, tipCacheMs: 0 });
  const metrics = createMetrics();
  const planners: Record<string, RetryPlanner | undefined> = {
    fixed: async () => ({ decisions: FIXED_DECISIONS }),
    real: createRetryPlanner(reader),
    none: undefined,
  };
  const planRetries =
    typeof options.planner === 'function' ? options.planner : planners[options.planner ?? 'fixed'];
  const app = createApp({ source, clock: { now: () => now }, metrics, planRetries });
  let running: RunningServer | null = await startServer(app, { port: 0 });
  return {
    repo,
    url: running.url,
    source,
    metrics,
    setTip: (commit) => {
      tip = commit;
    },
    setNow: (value) => {
      now = value;
    },
    async close() {
      await running?.close();
      running = null;
      await reader.close();
      await repo.cleanup();
    },
  };
}
