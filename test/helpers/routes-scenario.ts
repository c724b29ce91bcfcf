/**
 * An ops repository for the routes and suppressions views, written by real reconcile runs (claims,
 * connector calls to a local HTTP receiver that fails on cue, outcome commits pushed to a bare
 * remote), with hostile text in the packages' routes and a secret canary in a provider URL that the
 * receiver echoes in its error bodies. Policy: at most 2 attempts per key.
 *
 * - `manifests` (commit 1): providers, policy, deliveries drill-a (ops-webhook, siem-hook, archive)
 *   and drill-b (ops-webhook); nothing delivered yet.
 * - run 1 (`firstRun`): archive delivers, every webhook attempt fails once: no key at its limit.
 * - retries of drill-a and drill-b to ops-webhook acknowledged and approved; drill-a/siem-hook
 *   gets an approval that lowers its limit to 1 (and no acknowledgement, so it is not executed).
 * - run 2 (`secondRun`): both retries fail: drill-a/ops-webhook and drill-b/ops-webhook reach 2 of 2,
 *   drill-a/siem-hook is at 1 of 1: three suppressed keys (ops-webhook 2, siem-hook 1).
 * - drill-c committed afterwards, never reconciled (no delivery records): its routes are not shown.
 */
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { createGitReader, type LocalGitReader } from '../../src/git/reader.js';
import { reconcileOnce, type RunResult } from '../../src/reconciler/run-once.js';
import type { TempDir } from './git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from './http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  openTestReconciler,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
  type SettableClock,
  type TestReconciler,
} from './reconciler-fixtures.js';

export const ROUTES_NOW = '2026-07-01T12:00:00Z';
/** A credential in the ops-webhook URL's query: it must never appear in any answer. */
export const ROUTES_CANARY = 'canary-Zq8rT2vL9xW4';
export const HOSTILE_OWNER = '<img src=x onerror="window.__pwned=1">';
export const HOSTILE_ROUTE = '<script>window.__pwned=2</script>';

interface RouteSpec {
  route_id: string;
  provider: string;
  state: string;
  owner: string;
}

/** An AuditDelivery whose package lists `routes`; every string is written as a JSON (YAML) scalar. */
export function packageDeliveryYaml(name: string, providers: string[], routes: RouteSpec[]): string {
  const lines = [
    'apiVersion: cavra.dev/v1',
    'kind: AuditDelivery',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  audit_id: audit-${name}`,
    `  providers: [${providers.join(', ')}]`,
    '  package:',
    `    route_count: ${routes.length}`,
    '    acknowledgement_count: 0',
    '    acknowledged_count: 0',
    '    resolved_count: 0',
    '    escalated_count: 0',
    '    dismissed_count: 0',
    '    outstanding_count: 0',
    '    routes:',
    ...routes.flatMap((route) => [
      `      - route_id: ${JSON.stringify(route.route_id)}`,
      `        provider: ${JSON.stringify(route.provider)}`,
      `        state: ${JSON.stringify(route.state)}`,
      `        owner: ${JSON.stringify(route.owner)}`,
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

export const DRILL_A_ROUTES: RouteSpec[] = [
  { route_id: 'route-payments', provider: 'ops-webhook', state: 'acknowledged', owner: 'payments-sre' },
  { route_id: 'route-ledger', provider: 'siem-hook', state: 'escalated', owner: 'payments-sre' },
  { route_id: 'route-cards', provider: 'ops-webhook', state: 'acknowledged', owner: 'payments-sre' },
  { route_id: HOSTILE_ROUTE, provider: 'siem-hook', state: 'outstanding', owner: HOSTILE_OWNER },
];
export const DRILL_B_ROUTES: RouteSpec[] = [
  { route_id: 'route-identity', provider: 'ops-webhook', state: 'resolved', owner: 'identity-oncall' },
  { route_id: 'route-payments', provider: 'ops-webhook', state: 'escalated', owner: 'payments-sre' },
];
export const DRILL_C_ROUTES: RouteSpec[] = [
  { route_id: 'route-late', provider: 'ops-webhook', state: 'outstanding', owner: 'late-team' },
];

export interface RoutesScenario {
  ops: OpsRepo;
  receiver: HttpReceiver;
  clock: SettableClock;
  reader: LocalGitReader;
  /** Commit 1: manifests only, no records. */
  manifests: string;
  /** The remote's tip after run 1 (no suppressed key yet). */
  firstRun: string;
  /** The remote's tip after run 2 (three suppressed keys). */
  secondRun: string;
  /** The tip: drill-c added, never reconciled. */
  tip: string;
  cleanup(): Promise<void>;
}

async function tipOf(ops: OpsRepo): Promise<string> {
  const tip = await ops.tip();
  if (tip === null) throw new Error('the remote has no main branch');
  return tip;
}

function expectRun(result: RunResult, delivered: number, failed: number): void {
  if (result.delivered !== delivered || result.failed !== failed) {
    throw new Error(
      `expected ${delivered} delivered and ${failed} failed, got ${result.delivered} and ${result.failed}: ${result.message}`,
    );
  }
}

/** Build the scenario (two real reconcile runs); the clock ends at {@link ROUTES_NOW}. */
export async function createRoutesScenario(): Promise<RoutesScenario> {
  const ops = await createOpsRepo();
  const receiver = await startHttpReceiver();
  const clock = createSettableClock('2026-07-01T09:00:00Z');
  let state: TempDir | null = null;
  let reconciler: TestReconciler | null = null;
  let reader: LocalGitReader | null = null;
  const cleanup = async (): Promise<void> => {
    await reader?.close();
    await reconciler?.close();
    await state?.cleanup();
    await receiver.close();
    await ops.cleanup();
  };
  try {
    state = await createStateDir();
    const env = reconcilerEnv({
      URL_OPS_WEBHOOK: `${receiver.origin}/ops-webhook?token=${ROUTES_CANARY}`,
      URL_SIEM_HOOK: `${receiver.origin}/siem-hook`,
    });
    reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'routes-replica',
      clock,
      env,
    });
    const options = reconciler.options;
    const reconcile = async (at: string): Promise<RunResult> => {
      clock.set(at);
      return reconcileOnce(options);
    };
    // A receiver that echoes the credential it was called with, as some do in their errors.
    receiver.respond('/ops-webhook', reply.status(503, `rejected token=${ROUTES_CANARY}`));
    receiver.respond('/siem-hook', reply.status(502, 'bad gateway'));

    const manifests = await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ maxRetryAttempts: 2 }),
        'manifests/providers/ops-webhook.yaml': providerYaml('ops-webhook', {
          urlEnv: 'URL_OPS_WEBHOOK',
          signingSecretEnv: 'HOOK_SECRET',
        }),
        'manifests/providers/siem-hook.yaml': providerYaml('siem-hook', {
          urlEnv: 'URL_SIEM_HOOK',
          signingSecretEnv: 'HOOK_SECRET',
        }),
        'manifests/providers/archive.yaml': providerYaml('archive', {
          type: 'file',
          options: { directory: 'audit-archive' },
        }),
        'manifests/deliveries/drill-a.yaml': packageDeliveryYaml(
          'drill-a',
          ['ops-webhook', 'siem-hook', 'archive'],
          DRILL_A_ROUTES,
        ),
        'manifests/deliveries/drill-b.yaml': packageDeliveryYaml('drill-b', ['ops-webhook'], DRILL_B_ROUTES),
      },
      'providers, policy and two audit deliveries',
      { date: '2026-07-01T09:00:00Z' },
    );
    expectRun(await reconcile('2026-07-01T09:05:00Z'), 1, 3);
    const firstRun = await tipOf(ops);

    await ops.commit(
      {
        'manifests/retries/ack-drill-a-ops-webhook.yaml': ackYaml(
          'ack-drill-a-ops-webhook',
          'drill-a',
          'ops-webhook',
        ),
        'manifests/retries/approve-drill-a-ops-webhook.yaml': approvalYaml(
          'approve-drill-a-ops-webhook',
          'drill-a',
          'ops-webhook',
        ),
        'manifests/retries/ack-drill-b-ops-webhook.yaml': ackYaml(
          'ack-drill-b-ops-webhook',
          'drill-b',
          'ops-webhook',
        ),
        'manifests/retries/approve-drill-b-ops-webhook.yaml': approvalYaml(
          'approve-drill-b-ops-webhook',
          'drill-b',
          'ops-webhook',
        ),
        'manifests/retries/approve-drill-a-siem-hook.yaml': approvalYaml(
          'approve-drill-a-siem-hook',
          'drill-a',
          'siem-hook',
          { maxRetryAttempts: 1 },
        ),
      },
      'approve retries; drill-a/siem-hook gets one attempt only',
      { date: '2026-07-01T10:00:00Z' },
    );
    expectRun(await reconcile('2026-07-01T10:05:00Z'), 0, 2);
    const secondRun = await tipOf(ops);

    await ops.commit(
      {
        'manifests/deliveries/drill-c.yaml': packageDeliveryYaml('drill-c', ['ops-webhook'], DRILL_C_ROUTES),
      },
      'a third delivery, not reconciled yet',
      { date: '2026-07-01T11:00:00Z' },
    );
    const tip = await tipOf(ops);
    clock.set(ROUTES_NOW);
    reader = createGitReader(ops.remote, { gitDir: true });
    return { ops, receiver, clock, reader, manifests, firstRun, secondRun, tip, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export interface RoutesServer {
  url: string;
  /** Point the tracked tip the API serves at `commit` (the console follows it). */
  setTip(commit: string): void;
  close(): Promise<void>;
}

/** The API over the scenario's remote on 127.0.0.1:0 with the real planner and a settable tip. */
export async function startRoutesServer(scenario: RoutesScenario, tip: string): Promise<RoutesServer> {
  let current = tip;
  const source = createSnapshotSource(scenario.reader, { tip: async () => current, tipCacheMs: 0 });
  const app = createApp({
    source,
    clock: scenario.clock,
    metrics: createMetrics({ processMetrics: false }),
    planRetries: createRetryPlanner(scenario.reader),
  });
  const running = await startServer(app, { port: 0 });
  return {
    url: running.url,
    setTip: (commit) => {
      current = commit;
    },
    close: () => running.close(),
  };
}
