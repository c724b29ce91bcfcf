/**
 * An ops repository whose records all come from the real reconciler: manifests committed as an
 * operator would, real reconcile runs (claims, connector calls to a local HTTP receiver that fails
 * on cue, outcome commits pushed to a bare remote) at injected times over three days. What it ends
 * with, at {@link SCENARIO_NOW}:
 *
 * - deliveries drill-a (ops-webhook, siem-hook, archive) and drill-b (ops-webhook, siem-hook);
 *   every first attempt to the two webhooks fails, archive (a file provider) succeeds;
 * - drill-a's retries approved: ops-webhook fails again, then succeeds with a second approval the
 *   next day; siem-hook succeeds;
 * - a playbook for ops-webhook and siem-hook; ops-webhook mitigated, then resolved; siem-hook
 *   escalated (still open, past the 240-minute SLO: breached);
 * - drill-b waits: ops-webhook for an acknowledgement, siem-hook (acknowledged) for an approval;
 * - one invalid manifest (a Provider of an unknown type), skipped with a Stalled condition.
 */
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { createRunRecorder, type RunRecorder } from '../../src/api/run-observer.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { createGitReader, type LocalGitReader } from '../../src/git/reader.js';
import type { RunResult } from '../../src/reconciler/run-once.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { startHttpReceiver, reply, type HttpReceiver } from './http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
  type OpsRepo,
  type SettableClock,
  type TestReconciler,
} from './reconciler-fixtures.js';
import type { TempDir } from './git-fixtures.js';

export const SCENARIO_NOW = '2026-06-30T12:00:00Z';

const POLICY = `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  require_retry_ack: true
  recovery:
    min_failure_count: 2
    lookback_hours: 24
    recovery_slo_minutes: 240
    auto_playbooks: true
`;

/** A Provider of a type that does not exist: schema-invalid, so the reconciler skips it. */
const BROKEN_PROVIDER = `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: pager-bridge
spec:
  type: carrier-pigeon
`;

function closureYaml(name: string, playbookId: string, provider: string, state: string): string {
  return `apiVersion: cavra.dev/v1
kind: RecoveryClosure
metadata:
  name: ${name}
spec:
  playbook_id: ${playbookId}
  provider: ${provider}
  state: ${state}
  closed_by: carol@example.com
  external_ref: INC-4711
`;
}

export interface ReconciledOpsRepo {
  ops: OpsRepo;
  receiver: HttpReceiver;
  clock: SettableClock;
  /** A reader of the bare remote, for the API. */
  reader: LocalGitReader;
  playbookId: string;
  /** Every run so far, oldest first. */
  runs: RunResult[];
  /** Fed with every run, as `start` feeds its loop's runs (for `/status`). */
  recorder: RunRecorder;
  /** Run the reconciler once at `at` (it also sets the clock). */
  reconcile(at: string): Promise<RunResult>;
  cleanup(): Promise<void>;
}

/** Build the scenario (five real reconcile runs); the clock ends at {@link SCENARIO_NOW}. */
export async function createReconciledOpsRepo(): Promise<ReconciledOpsRepo> {
  const ops = await createOpsRepo();
  const receiver = await startHttpReceiver();
  const clock = createSettableClock('2026-06-28T09:00:00Z');
  let state: TempDir | null = null;
  let reconciler: TestReconciler | null = null;
  let reader: LocalGitReader | null = null;
  const runs: RunResult[] = [];
  const recorder = createRunRecorder(() => clock.now());
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
      URL_OPS_WEBHOOK: `${receiver.origin}/ops-webhook`,
      URL_SIEM_HOOK: `${receiver.origin}/siem-hook`,
    });
    const opened = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'console-replica',
      clock,
      env,
    });
    reconciler = opened;
    const reconcile = async (at: string): Promise<RunResult> => {
      clock.set(at);
      const result = await reconcileOnce(opened.options);
      runs.push(result);
      recorder.recordRun(result);
      return result;
    };

    receiver.respond('/ops-webhook', reply.status(503, 'receiver down'));
    receiver.respond('/siem-hook', reply.status(503, 'receiver down'));
    await ops.commit(
      {
        'manifests/policy.yaml': POLICY,
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
        'manifests/providers/pager-bridge.yaml': BROKEN_PROVIDER,
        'manifests/deliveries/drill-a.yaml': deliveryYaml('drill-a', ['ops-webhook', 'siem-hook', 'archive']),
        'manifests/deliveries/drill-b.yaml': deliveryYaml('drill-b', ['ops-webhook', 'siem-hook']),
      },
      'providers, policy and two audit deliveries',
      { date: '2026-06-28T09:00:00Z' },
    );
    await expectRun(reconcile('2026-06-28T09:05:00Z'), { delivered: 1, failed: 4 });

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
        'manifests/retries/ack-drill-a-siem-hook.yaml': ackYaml(
          'ack-drill-a-siem-hook',
          'drill-a',
          'siem-hook',
        ),
        'manifests/retries/approve-drill-a-siem-hook.yaml': approvalYaml(
          'approve-drill-a-siem-hook',
          'drill-a',
          'siem-hook',
        ),
        'manifests/retries/ack-drill-b-siem-hook.yaml': ackYaml(
          'ack-drill-b-siem-hook',
          'drill-b',
          'siem-hook',
        ),
      },
      'acknowledge drill-a and drill-b/siem-hook; approve drill-a retries',
      { date: '2026-06-28T09:10:00Z' },
    );
    receiver.respond('/siem-hook', reply.ok());
    await expectRun(reconcile('2026-06-28T09:20:00Z'), { delivered: 1, failed: 1 });

    receiver.respond('/ops-webhook', reply.ok());
    await ops.commit(
      {
        'manifests/retries/approve-drill-a-ops-webhook-2.yaml': approvalYaml(
          'approve-drill-a-ops-webhook-2',
          'drill-a',
          'ops-webhook',
        ),
      },
      'approve another retry of drill-a to ops-webhook',
      { date: '2026-06-29T08:00:00Z' },
    );
    await expectRun(reconcile('2026-06-29T08:10:00Z'), { delivered: 1, failed: 0 });

    const records = await readRemoteRecords(ops.remote);
    const playbookId = records.playbooks[0]?.playbook_id;
    if (records.playbooks.length !== 1 || playbookId === undefined)
      throw new Error(`expected one playbook, got ${records.playbooks.length}`);

    await ops.commit(
      {
        'manifests/closures/mitigate-ops-webhook.yaml': closureYaml(
          'mitigate-ops-webhook',
          playbookId,
          'ops-webhook',
          'mitigated',
        ),
      },
      'ops-webhook mitigated',
      { date: '2026-06-29T10:00:00Z' },
    );
    await reconcile('2026-06-29T10:05:00Z');
    await ops.commit(
      {
        'manifests/closures/resolve-ops-webhook.yaml': closureYaml(
          'resolve-ops-webhook',
          playbookId,
          'ops-webhook',
          'resolved',
        ),
        'manifests/closures/escalate-siem-hook.yaml': closureYaml(
          'escalate-siem-hook',
          playbookId,
          'siem-hook',
          'escalated',
        ),
      },
      'ops-webhook resolved; siem-hook escalated',
      { date: '2026-06-30T09:00:00Z' },
    );
    await reconcile('2026-06-30T09:05:00Z');
    const closures = (await readRemoteRecords(ops.remote)).closures.length;
    if (closures !== 3) throw new Error(`expected three closure records, got ${closures}`);
    clock.set(SCENARIO_NOW);
    reader = createGitReader(ops.remote, { gitDir: true });
    return { ops, receiver, clock, reader, playbookId, runs, recorder, reconcile, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A run's connector outcomes are what the scenario expects (it fails loudly when they drift). */
async function expectRun(
  run: Promise<RunResult>,
  expected: { delivered: number; failed: number },
): Promise<void> {
  const result = await run;
  if (result.delivered !== expected.delivered || result.failed !== expected.failed) {
    throw new Error(
      `expected ${expected.delivered} delivered and ${expected.failed} failed, got ${result.delivered} and ${result.failed}: ${result.message}`,
    );
  }
}

export interface ScenarioServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The API over the scenario's remote on 127.0.0.1:0, as `start` serves it (`observe`: with the
 * loop's run recorder) or as `serve` does (without one). The real retry planner; the scenario's clock.
 */
export async function startScenarioServer(
  scenario: ReconciledOpsRepo,
  options: { observe: boolean },
): Promise<ScenarioServer> {
  const source = createSnapshotSource(scenario.reader, {
    tip: () => scenario.reader.resolve('refs/heads/main'),
    tipCacheMs: 0,
  });
  const app = createApp({
    source,
    clock: scenario.clock,
    metrics: createMetrics({ processMetrics: false }),
    planRetries: createRetryPlanner(scenario.reader),
    startedAt: new Date('2026-06-28T08:00:00Z'),
    ...(options.observe ? { runObserver: scenario.recorder } : {}),
  });
  const running = await startServer(app, { port: 0 });
  return { url: running.url, close: () => running.close() };
}
