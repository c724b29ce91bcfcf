/**
 * Gauges of the served revision in `/metrics`: open, breached and pending recoveries and
 * break-glass executions, all and those no closure cites yet (from the retry recovery report at
 * now), and retry keys waiting, by reason (from the retry plan). They are
 * computed when Prometheus scrapes, from the same revision the API serves, so a scrape and a GET
 * of the report agree; every metric of one scrape shares one computation.
 */
import { Gauge, type Registry } from 'prom-client';
import { closureIdOf } from '../domain/closures.js';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import { computeRetryRecoveryReport } from '../domain/report.js';
import type { Clock } from '../domain/ports.js';
import { planDecisions } from './flow-routes.js';
import type { RetryPlanner } from './retry-planner.js';
import type { RevisionView, SnapshotSource } from './snapshot-source.js';

export interface RevisionGaugeOptions {
  source: SnapshotSource;
  clock: Clock;
  planRetries?: RetryPlanner | undefined;
}

export interface RevisionGaugeValues {
  open: number;
  breached: number;
  pending: number;
  emergency: number;
  emergencyUnclosed: number;
  /** Keys the plan does not execute now, by reason (delivered and executed keys are not waiting). */
  waiting: Record<string, number>;
}

const NOT_WAITING = new Set(['delivered', 'executed']);
const MINUTE_MS = 60_000;

/** The gauge values of one view at `now`. */
async function computeRevisionGauges(
  view: RevisionView,
  now: Date,
  planRetries: RetryPlanner | undefined,
): Promise<RevisionGaugeValues> {
  const minute = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
  view.expireBefore(now.getTime());
  const bucket = { at: minute.getTime(), until: minute.getTime() + MINUTE_MS };
  const counts = view.memoAt('gauges:report', bucket, () => {
    const policy = view.snapshot.manifests.manifests.policy;
    const { report } = computeRetryRecoveryReport(view.snapshot.records, {
      sloMinutes:
        policy?.spec.recovery.recovery_slo_minutes ?? DEFAULT_POLICY_SPEC.recovery.recovery_slo_minutes,
      generatedBy: 'metrics',
      now: minute,
      revision: view.revision,
    });
    const recorded = new Set(view.snapshot.records.closures.map((closure) => closure.closure_id));
    const pending = view.snapshot.manifests.manifests.closures.filter(
      (closure) => !recorded.has(closureIdOf(closure)),
    ).length;
    return {
      open: report.recovery_open_count,
      breached: report.recovery_slo_breached_count,
      pending,
      emergency: report.emergency_execution_count,
      emergencyUnclosed: report.emergency_unclosed_count,
    };
  });
  const waiting: Record<string, number> = {};
  if (planRetries !== undefined) {
    const second = new Date(Math.floor(now.getTime() / 1000) * 1000);
    // The same memoised plan as `retry-plan` and `suppressions`: one plan per view and second.
    const decisions = await planDecisions(view, planRetries, second);
    for (const decision of decisions) {
      const reason = typeof decision.reason === 'string' ? decision.reason : 'unknown';
      if (decision.execute === true || NOT_WAITING.has(reason)) continue;
      waiting[reason] = (waiting[reason] ?? 0) + 1;
    }
  }
  return { ...counts, waiting };
}

function replace<T extends string>(registry: Registry, gauge: () => Gauge<T>, name: string): Gauge<T> {
  // One registry may back several apps (tests, a restarted server): the newest owns the gauge.
  registry.removeSingleMetric(name);
  return gauge();
}

/** Register the revision gauges on `registry`; they are filled at every scrape. */
export function registerRevisionGauges(registry: Registry, options: RevisionGaugeOptions): void {
  let scrape: Promise<RevisionGaugeValues | null> | null = null;
  // prom-client collects every metric of a scrape concurrently: they share one computation.
  const values = (): Promise<RevisionGaugeValues | null> => {
    scrape ??= (async () => {
      try {
        const view = await options.source.current();
        return await computeRevisionGauges(view, options.clock.now(), options.planRetries);
      } catch {
        // The revision routes report (and log) a repository that cannot be read; a scrape keeps
        // its process metrics and simply has no revision gauges.
        return null;
      } finally {
        queueMicrotask(() => {
          scrape = null;
        });
      }
    })();
    return scrape;
  };

  const simple = (name: string, help: string, pick: (v: RevisionGaugeValues) => number): void => {
    replace(
      registry,
      () =>
        new Gauge({
          name,
          help,
          registers: [registry],
          async collect() {
            const current = await values();
            this.reset();
            if (current !== null) this.set(pick(current));
          },
        }),
      name,
    );
  };
  simple(
    'cavra_recoveries_open',
    'Recovery rows of the served revision that are open (no closing closure), breached ones included.',
    (v) => v.open,
  );
  simple(
    'cavra_recoveries_breached',
    'Open recovery rows of the served revision older than the recovery SLO.',
    (v) => v.breached,
  );
  simple(
    'cavra_recoveries_pending',
    'RecoveryClosure manifests merged at the served revision that the reconciler has not recorded yet.',
    (v) => v.pending,
  );
  simple(
    'cavra_emergency_executions',
    'Break-glass (emergency: true) executions recorded at the served revision.',
    (v) => v.emergency,
  );
  simple(
    'cavra_emergency_executions_unclosed',
    'Break-glass executions no RecoveryClosure cites yet (the report is critical while any is).',
    (v) => v.emergencyUnclosed,
  );
  replace(
    registry,
    () =>
      new Gauge({
        name: 'cavra_retry_keys_waiting',
        help: 'Retry keys of the served revision that are not executed now, by the reason of their decision.',
        labelNames: ['reason'] as const,
        registers: [registry],
        async collect() {
          const current = await values();
          this.reset();
          if (current === null) return;
          for (const [reason, count] of Object.entries(current.waiting)) this.set({ reason }, count);
        },
      }),
    'cavra_retry_keys_waiting',
  );
}
