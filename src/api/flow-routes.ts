/**
 * The revision-bound routes of docs/reference.md §8: each one parses its query (throwing HttpError 400), then
 * computes a JSON value from one RevisionView. The app memoises the serialised result per
 * (view, route, parsed arguments, time bucket), so repeated requests cost a lookup.
 */
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import {
  computeDashboard,
  computeHistory,
  parseHistoryFilters,
  type HistoryFilters,
} from '../domain/history.js';
import { computeRetryRecoveryReport, parseRecoverySloMinutes } from '../domain/report.js';
import { compareStrings } from '../domain/recovery-state.js';
import type {
  ClosureRecord,
  ExecutionRecord,
  ManifestBase,
  ManifestKind,
  PlaybookRecord,
} from '../domain/types.js';
import { EXECUTION_STATUSES } from '../domain/types.js';
import { computeDeliveredRoutes } from './delivered-routes.js';
import { computeExecutionTrends } from './execution-trends.js';
import { HttpError } from './http-error.js';
import {
  decisionKey,
  nextStepAction,
  planNextStep,
  type NextStepAction,
  type NextStepContext,
} from './next-step.js';
import { readEnumParam, readIntegerParam, readTextParam, type QueryParams } from './query.js';
import type { RetryDecisionView, RetryPlanner } from './retry-planner.js';
import type { RunObserver } from './run-observer.js';
import type { RevisionView } from './snapshot-source.js';
import { computeStatusView } from './status-view.js';
import { computeSuppressionSummary } from './suppressions.js';
import { parseEvidenceParam, resolveEvidence } from './resolve-evidence.js';

/** The flow's base path. */
export const FLOW_BASE = '/runtime/go-pilot/rollback-drill-notifications';
/** The audit-delivery sub-tree of the flow. */
export const AUDIT_DELIVERY = `${FLOW_BASE}/acknowledgements/audit-delivery`;

const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 500;
const LIST_SCHEMA_VERSION = 1;

/** Everything a route computes from. */
export interface RouteInput<A> {
  view: RevisionView;
  args: A;
  /** The evaluation time, floored to the route's time resolution (null for time-independent routes). */
  now: Date | null;
}

export interface FlowRoute<A = unknown> {
  /** Stable name: metric label, memo key and OpenAPI operationId. */
  name: string;
  /** Express path (path-to-regexp syntax). */
  path: string;
  /** Query parameters accepted besides `at`. */
  params: readonly string[];
  /**
   * Time resolution in ms for routes that depend on `now` (the request time is floored to it), or
   * 0 for routes that depend on the revision only.
   */
  timeResolutionMs: number;
  /** Validate the path and query parameters into the arguments `compute` needs (JSON-serialisable). */
  parse(query: QueryParams, pathParams: Readonly<Record<string, string>>): A;
  compute(input: RouteInput<A>): unknown;
}

export interface FlowRouteOptions {
  planRetries: RetryPlanner | undefined;
  startedAt: Date;
  isReady: () => boolean;
  /** What this process observed of reconcile runs (`start`); absent for `serve`. */
  runObserver?: RunObserver | undefined;
}

/** Rows of a list answer, CAVRA-style. */
export interface ListPage<T> {
  schema_version: number;
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

interface PageArgs {
  limit: number;
  offset: number;
}

function readPage(query: QueryParams): PageArgs {
  return {
    limit: readIntegerParam(query, 'limit', { min: 1, max: LIST_MAX_LIMIT, fallback: LIST_DEFAULT_LIMIT }),
    offset: readIntegerParam(query, 'offset', { min: 0, max: 999_999_999, fallback: 0 }),
  };
}

function page<T>(items: readonly T[], args: PageArgs): ListPage<T> {
  return {
    schema_version: LIST_SCHEMA_VERSION,
    items: items.slice(args.offset, args.offset + args.limit),
    total: items.length,
    limit: args.limit,
    offset: args.offset,
  };
}

const byNewest = (a: { ms: number; id: string }, b: { ms: number; id: string }): number =>
  b.ms - a.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function sortNewestFirst<T>(items: readonly T[], time: (item: T) => string, id: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, ms: Date.parse(time(item)), id: id(item) }))
    .sort(byNewest)
    .map((entry) => entry.item);
}

/** Executions newest first, sorted once per view. */
function sortedExecutions(view: RevisionView): ExecutionRecord[] {
  return view.memo('sorted:executions', () =>
    sortNewestFirst(
      view.snapshot.records.executions,
      (r) => r.executed_at,
      (r) => r.execution_id,
    ),
  );
}

function sortedPlaybooks(view: RevisionView): PlaybookRecord[] {
  return view.memo('sorted:playbooks', () =>
    sortNewestFirst(
      view.snapshot.records.playbooks,
      (r) => r.generated_at,
      (r) => r.playbook_id,
    ),
  );
}

function closuresByPlaybook(view: RevisionView): Map<string, ClosureRecord[]> {
  return view.memo('index:closures-by-playbook', () => {
    const index = new Map<string, ClosureRecord[]>();
    const sorted = sortNewestFirst(
      view.snapshot.records.closures,
      (r) => r.closed_at,
      (r) => r.closure_id,
    );
    for (const closure of sorted) {
      const list = index.get(closure.playbook_id) ?? [];
      list.push(closure);
      index.set(closure.playbook_id, list);
    }
    return index;
  });
}

function findById<T>(
  view: RevisionView,
  kind: string,
  records: readonly T[],
  id: (record: T) => string,
): Map<string, T> {
  return view.memo(`index:${kind}`, () => new Map(records.map((record) => [id(record), record])));
}

function notFound(what: string, id: string, view: RevisionView, listPath: string): HttpError {
  return new HttpError(
    404,
    'not_found',
    `No ${what} "${id.slice(0, 100)}" at revision ${view.ledgerRevision.slice(0, 12)}; list them at ${listPath}.`,
  );
}

function pathParam(pathParams: Readonly<Record<string, string>>, name: string): string {
  const value = pathParams[name];
  if (value === undefined || value === '')
    throw new HttpError(400, 'invalid_parameter', `Path parameter ${name} is missing.`);
  return value;
}

/** Manifests as the API shows them: name, labels, normalised spec and where they came from. */
function manifestItems<K extends ManifestKind, S>(manifests: readonly ManifestBase<K, S>[]): object[] {
  return manifests.map((manifest) => ({
    kind: manifest.kind,
    name: manifest.name,
    labels: manifest.labels,
    spec: manifest.spec,
    source: manifest.source,
  }));
}

function policySloMinutes(view: RevisionView): number {
  const policy = view.snapshot.manifests.manifests.policy;
  return policy?.spec.recovery.recovery_slo_minutes ?? DEFAULT_POLICY_SPEC.recovery.recovery_slo_minutes;
}

function countBy(items: readonly Readonly<Record<string, unknown>>[], field: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const value = item[field];
    if (typeof value !== 'string') continue;
    counts[value] = (counts[value] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The plan's decisions in the order an operator works through them: keys waiting for a person (a
 * manifest to commit) first, then those the next run executes, then the rest; by delivery id and
 * provider within each (code-unit order).
 */
function forOperators(
  decisions: readonly RetryDecisionView[],
  context: NextStepContext,
): { decision: RetryDecisionView; action: NextStepAction }[] {
  const rankOf = (action: NextStepAction, decision: RetryDecisionView): number =>
    action === 'commit' ? 0 : decision.execute === true ? 1 : 2;
  const keyText = (decision: RetryDecisionView): string => {
    const { deliveryId, provider } = decisionKey(decision);
    return `${deliveryId}\u0000${provider}`;
  };
  return decisions
    .map((decision) => {
      const action = nextStepAction(decision, context);
      return { decision, action, rank: rankOf(action, decision), key: keyText(decision) };
    })
    .sort((a, b) => a.rank - b.rank || compareStrings(a.key, b.key))
    .map(({ decision, action }) => ({ decision, action }));
}

/**
 * The planner's decisions for a view at `now`, shared by `retry-plan` and `suppressions` (one plan
 * per view and second however many routes read it). A failed plan is not kept: it is retried.
 */
function plannedDecisions(
  view: RevisionView,
  planRetries: RetryPlanner | undefined,
  now: Date,
): Promise<readonly RetryDecisionView[]> {
  if (planRetries === undefined) {
    throw new HttpError(
      503,
      'not_configured',
      'This server was started without a retry planner; use `cavra-gitops plan` instead.',
    );
  }
  return planDecisions(view, planRetries, now);
}

/**
 * The planner's decisions for a view at `now` (a second), memoised per view for the newest second
 * only: shared by `retry-plan`, `suppressions` and the `/metrics` gauges. A failed plan is not
 * kept: it is retried.
 */
export function planDecisions(
  view: RevisionView,
  planRetries: RetryPlanner,
  now: Date,
): Promise<readonly RetryDecisionView[]> {
  const key = 'planned';
  return view.memoAt(key, { at: now.getTime(), until: now.getTime() + 1_000 }, () => {
    const planned = planRetries(view.snapshot, now).then((plan) => plan.decisions);
    planned.catch(() => view.forget(key));
    return planned;
  });
}

/** The revision-bound routes, in the order they are registered. */
export function createFlowRoutes(options: FlowRouteOptions): FlowRoute[] {
  const routes: FlowRoute<never>[] = [
    route({
      name: 'history',
      path: FLOW_BASE,
      params: ['provider', 'metadata_kind', 'delivery_success', 'audit_id', 'delivery_id', 'limit', 'offset'],
      timeResolutionMs: 0,
      parse(query): HistoryFilters {
        const result = parseHistoryFilters(query);
        if (!result.ok) throw new HttpError(400, result.error.code, result.error.message);
        return result.filters;
      },
      compute: ({ view, args }) => computeHistory(view.snapshot.records, args),
    }),
    route({
      name: 'dashboard',
      path: `${FLOW_BASE}/dashboard`,
      params: [],
      timeResolutionMs: 0,
      parse: () => ({}),
      compute: ({ view }) => computeDashboard(view.snapshot.records, view.snapshot.manifests.manifests),
    }),
    route({
      name: 'retry-recovery-report',
      path: `${AUDIT_DELIVERY}/retry-recovery-report`,
      params: ['recovery_slo_minutes', 'generated_by'],
      // Every quantity of the report is in whole minutes (ages, closure minutes, breaches), so it
      // is evaluated at `now` floored to the minute: within one minute the body, its report_id and
      // its ETag are identical for one (revision, parameters), which makes the report cacheable
      // per (revision, minute, parameters) and lets pollers get cheap 304s.
      timeResolutionMs: 60_000,
      parse(query) {
        let sloMinutes: number | null = null;
        if (query.recovery_slo_minutes !== undefined) {
          const parsed = parseRecoverySloMinutes(query.recovery_slo_minutes);
          if (!parsed.ok) throw new HttpError(400, 'invalid_parameter', parsed.message);
          sloMinutes = parsed.value;
        }
        return { sloMinutes, generatedBy: readTextParam(query, 'generated_by') ?? 'console' };
      },
      compute: ({ view, args, now }) =>
        computeRetryRecoveryReport(view.snapshot.records, {
          sloMinutes: args.sloMinutes ?? policySloMinutes(view),
          generatedBy: args.generatedBy,
          now: now ?? new Date(0),
          revision: view.revision,
        }),
    }),
    route({
      name: 'retry-plan',
      path: `${AUDIT_DELIVERY}/retry-plan`,
      params: ['limit', 'offset'],
      // Retry delays end at second precision, so the plan is evaluated per second.
      timeResolutionMs: 1_000,
      parse: (query) => readPage(query),
      async compute({ view, args, now }) {
        const evaluatedAt = now ?? new Date(0);
        const planned = await plannedDecisions(view, options.planRetries, evaluatedAt);
        const context = { manifests: view.snapshot.manifests.manifests };
        const ordered = forOperators(planned, context);
        // Only the page's next steps are drafted (a manifest each, for keys waiting on a person).
        const decisions: RetryDecisionView[] = ordered
          .slice(args.offset, args.offset + args.limit)
          .map(({ decision }) => ({ ...decision, next_step: planNextStep(decision, context) }));
        return {
          schema_version: LIST_SCHEMA_VERSION,
          revision: view.revision,
          evaluated_at: evaluatedAt.toISOString(),
          decision_count: planned.length,
          execute_count: planned.filter((decision) => decision.execute === true).length,
          waiting_count: ordered.filter((entry) => entry.action === 'commit').length,
          action_counts: countBy(planned, 'action'),
          reason_counts: countBy(planned, 'reason'),
          decisions,
          total: planned.length,
          limit: args.limit,
          offset: args.offset,
        };
      },
    }),
    route({
      name: 'retry-execution-trends',
      path: `${AUDIT_DELIVERY}/retry-execution-trends`,
      params: [],
      timeResolutionMs: 0,
      parse: () => ({}),
      compute: ({ view }) => ({
        revision: view.ledgerRevision,
        ...computeExecutionTrends(view.snapshot.records.executions),
      }),
    }),
    route({
      name: 'audit-package-routes',
      path: `${AUDIT_DELIVERY}/routes`,
      params: ['owner', 'state', 'provider', 'delivery_id', 'limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query) => ({
        ...readPage(query),
        owner: readTextParam(query, 'owner') ?? null,
        state: readTextParam(query, 'state') ?? null,
        provider: readTextParam(query, 'provider') ?? null,
        deliveryId: readTextParam(query, 'delivery_id') ?? null,
      }),
      compute({ view, args }) {
        const { routes, ...summary } = computeDeliveredRoutes(
          view.snapshot.manifests.manifests.deliveries,
          view.snapshot.records.deliveries,
          args,
        );
        return {
          revision: view.revision,
          ledger_revision: view.ledgerRevision,
          ...summary,
          ...page(routes, args),
        };
      },
    }),
    route({
      name: 'retry-suppressions',
      path: `${AUDIT_DELIVERY}/suppressions`,
      params: ['provider'],
      // Evaluated as the retry plan is (the attempt limit comes from the approval in force).
      timeResolutionMs: 1_000,
      parse: (query) => ({ provider: readTextParam(query, 'provider') ?? null }),
      async compute({ view, args, now }) {
        const evaluatedAt = now ?? new Date(0);
        const decisions = await plannedDecisions(view, options.planRetries, evaluatedAt);
        return {
          schema_version: LIST_SCHEMA_VERSION,
          revision: view.revision,
          ledger_revision: view.ledgerRevision,
          evaluated_at: evaluatedAt.toISOString(),
          ...computeSuppressionSummary(decisions, view.snapshot.records.deliveries, args),
        };
      },
    }),
    route({
      name: 'retry-executions',
      path: `${AUDIT_DELIVERY}/retry-executions`,
      params: ['provider', 'execution_status', 'delivery_id', 'limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query) => ({
        ...readPage(query),
        provider: readTextParam(query, 'provider') ?? null,
        status: readEnumParam(query, 'execution_status', EXECUTION_STATUSES) ?? null,
        deliveryId: readTextParam(query, 'delivery_id') ?? null,
      }),
      compute({ view, args }) {
        const items = sortedExecutions(view).filter(
          (record) =>
            (args.provider === null || record.provider === args.provider) &&
            (args.status === null || record.execution_status === args.status) &&
            (args.deliveryId === null || record.delivery_id === args.deliveryId),
        );
        return page(items, args);
      },
    }),
    route({
      name: 'retry-execution',
      path: `${AUDIT_DELIVERY}/retry-executions/:executionId`,
      params: [],
      timeResolutionMs: 0,
      parse: (_query, pathParams) => ({ id: pathParam(pathParams, 'executionId') }),
      compute({ view, args }) {
        const record = findById(
          view,
          'executions',
          view.snapshot.records.executions,
          (r) => r.execution_id,
        ).get(args.id);
        if (record === undefined)
          throw notFound('execution record', args.id, view, `${AUDIT_DELIVERY}/retry-executions`);
        return record;
      },
    }),
    route({
      name: 'connector-recovery-playbooks',
      path: `${AUDIT_DELIVERY}/connector-recovery-playbooks`,
      params: ['provider', 'limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query) => ({ ...readPage(query), provider: readTextParam(query, 'provider') ?? null }),
      compute({ view, args }) {
        const items = sortedPlaybooks(view).filter(
          (record) =>
            args.provider === null ||
            record.provider_playbooks.some((entry) => entry.provider === args.provider),
        );
        return page(items, args);
      },
    }),
    route({
      name: 'connector-recovery-playbook',
      path: `${AUDIT_DELIVERY}/connector-recovery-playbooks/:playbookId`,
      params: [],
      timeResolutionMs: 0,
      parse: (_query, pathParams) => ({ id: pathParam(pathParams, 'playbookId') }),
      compute({ view, args }) {
        const record = findById(view, 'playbooks', view.snapshot.records.playbooks, (r) => r.playbook_id).get(
          args.id,
        );
        if (record === undefined)
          throw notFound('playbook', args.id, view, `${AUDIT_DELIVERY}/connector-recovery-playbooks`);
        return record;
      },
    }),
    route({
      name: 'connector-recovery-playbook-closures',
      path: `${AUDIT_DELIVERY}/connector-recovery-playbooks/:playbookId/closures`,
      params: ['limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query, pathParams) => ({ ...readPage(query), id: pathParam(pathParams, 'playbookId') }),
      compute({ view, args }) {
        const playbooks = findById(view, 'playbooks', view.snapshot.records.playbooks, (r) => r.playbook_id);
        if (!playbooks.has(args.id))
          throw notFound('playbook', args.id, view, `${AUDIT_DELIVERY}/connector-recovery-playbooks`);
        return { playbook_id: args.id, ...page(closuresByPlaybook(view).get(args.id) ?? [], args) };
      },
    }),
    route({
      name: 'evidence',
      path: `${FLOW_BASE}/evidence`,
      params: ['uri'],
      timeResolutionMs: 0,
      parse: (query) => parseEvidenceParam(readTextParam(query, 'uri')),
      compute: ({ view, args }) => resolveEvidence(view, args),
    }),
    route({
      name: 'retry-approvals',
      path: `${AUDIT_DELIVERY}/retry-approvals`,
      params: ['limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query) => readPage(query),
      compute: ({ view, args }) => page(manifestItems(view.snapshot.manifests.manifests.approvals), args),
    }),
    route({
      name: 'retry-acknowledgements',
      path: `${AUDIT_DELIVERY}/retry-acknowledgements`,
      params: ['limit', 'offset'],
      timeResolutionMs: 0,
      parse: (query) => readPage(query),
      compute: ({ view, args }) =>
        page(manifestItems(view.snapshot.manifests.manifests.acknowledgements), args),
    }),
    route({
      name: 'status',
      path: '/status',
      params: [],
      timeResolutionMs: 0,
      // The observation is part of the arguments, so the memoised body (and its ETag) changes
      // whenever the process sees another run, and stays cached while it sees none.
      parse: () => ({ observation: options.runObserver?.read() ?? null }),
      compute: ({ view, args }) =>
        computeStatusView({
          view,
          observation: args.observation,
          ready: options.isReady(),
          startedAt: options.startedAt,
        }),
    }),
  ];
  return routes;
}

/** Identity helper that lets each route infer its own argument type. */
function route<A>(definition: FlowRoute<A>): FlowRoute<never> {
  return definition as unknown as FlowRoute<never>;
}
