/**
 * Prometheus metrics of one process. The reconciler loop observes into the same handle the API
 * serves at `/metrics`, so one scrape shows both. Each handle owns its Registry (no global
 * registry), so tests and several apps in one process never collide.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Wall time of one pass of the reconcile loop, by how it ended (`ok`, `noop`, `waiting`, `stalled`, `failed`). */
  readonly reconcileDuration: Histogram<'outcome'>;
  /** Executions recorded, by `execution_status` (delivered, failed, skipped, unknown). */
  readonly executions: Counter<'status'>;
  /** Pushes the remote rejected as non-fast-forward (another replica won the race). */
  readonly pushConflicts: Counter;
  /** API latency by route pattern (never the raw path, to bound label cardinality). */
  readonly apiRequestDuration: Histogram<'route' | 'method' | 'status'>;
}

export interface MetricsOptions {
  /** Collect Node's default process metrics (default true). */
  processMetrics?: boolean;
}

/** A fresh metrics handle with its own registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'cavra_' });
  const reconcileDuration = new Histogram({
    name: 'cavra_reconcile_duration_seconds',
    help: 'Duration of one pass of the reconcile loop, in seconds, by outcome; a pass whose tips did not move and has nothing due is a noop of a few milliseconds.',
    labelNames: ['outcome'] as const,
    // From the no-op pass (one ls-remote) to a first run over a long history.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const executions = new Counter({
    name: 'cavra_executions_total',
    help: 'Retry executions recorded, by execution status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const pushConflicts = new Counter({
    name: 'cavra_push_conflicts_total',
    help: 'Pushes rejected by the remote because another commit landed first.',
    registers: [registry],
  });
  const apiRequestDuration = new Histogram({
    name: 'cavra_api_request_duration_seconds',
    help: 'Duration of API requests, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, reconcileDuration, executions, pushConflicts, apiRequestDuration };
}
