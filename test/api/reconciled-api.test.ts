/**
 * The API over records written by real reconcile runs (test/helpers/reconciled-ops-repo.ts), on a
 * real socket: `/status` with the reconciler's conditions, skipped manifests, last run and last
 * error (as `serve` and as `start` report them), the retry plan's next steps (pasted back into the
 * ops repository, the next run acts on them), execution trends, and the revision gauges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AUDIT_DELIVERY } from '../../src/api/flow-routes.js';
import { PERSON_PLACEHOLDER, type NextStep } from '../../src/api/next-step.js';
import type { StatusView } from '../../src/api/status-view.js';
import { GitError } from '../../src/errors.js';
import {
  SCENARIO_NOW,
  createReconciledOpsRepo,
  startScenarioServer,
  type ReconciledOpsRepo,
  type ScenarioServer,
} from '../helpers/reconciled-ops-repo.js';

let scenario: ReconciledOpsRepo;
let served: ScenarioServer;
let started: ScenarioServer;

beforeAll(async () => {
  scenario = await createReconciledOpsRepo();
  served = await startScenarioServer(scenario, { observe: false });
  started = await startScenarioServer(scenario, { observe: true });
}, 60_000);

afterAll(async () => {
  await served?.close();
  await started?.close();
  await scenario?.cleanup();
});

async function getJson<T>(server: ScenarioServer, path: string): Promise<{ response: Response; body: T }> {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status).toBe(200);
  return { response, body: (await response.json()) as T };
}

interface PlanDecision {
  key: { delivery_id: string; provider: string };
  reason: string;
  execute: boolean;
  next_step: NextStep;
}

async function planByKey(): Promise<Map<string, PlanDecision>> {
  const { body } = await getJson<{ decisions: PlanDecision[] }>(served, `${AUDIT_DELIVERY}/retry-plan`);
  return new Map(
    body.decisions.map((decision) => [`${decision.key.delivery_id}/${decision.key.provider}`, decision]),
  );
}

async function gauges(): Promise<Record<string, number>> {
  const text = await (await fetch(`${served.url}/metrics`)).text();
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match =
      /^(cavra_recoveries_\w+|cavra_emergency_\w+|cavra_retry_keys_waiting(?:\{[^}]*\})?) (\d+)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = Number(match[2]);
  }
  return values;
}

const COMMITTED_CONDITIONS = [
  { type: 'Ready', status: 'False', reason: 'InvalidManifests' },
  { type: 'Reconciling', status: 'True', reason: 'WaitingForOperators' },
  { type: 'Stalled', status: 'True', reason: 'NeedsOperatorFix' },
];

describe('/status', () => {
  it('as `serve` reports it: committed conditions, skipped manifests, the newest run record', async () => {
    const { body } = await getJson<StatusView>(served, '/status');
    expect(body.conditions).toMatchObject(COMMITTED_CONDITIONS);
    expect(body.conditions[1]?.message).toBe('Keys waiting: request_approval=1, wait_for_retry_ack=1.');
    expect(body.pending_reasons).toEqual({ request_approval: 1, wait_for_retry_ack: 1 });
    expect(body.observed_at).toBe('2026-06-30T09:05:00.000Z');
    expect(body.skipped_manifests).toEqual([
      expect.objectContaining({
        file: 'manifests/providers/pager-bridge.yaml',
        kind: 'Provider',
        name: 'pager-bridge',
        ready: false,
        reason: 'SchemaViolation',
      }),
    ]);
    expect(body.skipped_manifests[0]?.message).toContain('/spec/type');
    expect(body.last_run).toMatchObject({
      source: 'records',
      replica_id: 'console-replica',
      started_at: '2026-06-30T09:05:00.000Z',
      closure_count: 2,
    });
    expect(body.last_error).toBeNull();
    expect(body.process).toEqual({
      ready: true,
      started_at: '2026-06-28T08:00:00.000Z',
      observes_runs: false,
      consecutive_failures: 0,
    });
  });

  it('as `start` reports it: its own last run, then its last error (redacted) until a run succeeds', async () => {
    const before = await getJson<StatusView>(started, '/status');
    expect(before.body.last_run).toMatchObject({
      source: 'process',
      finished_at: '2026-06-30T09:05:00.000Z',
      outcome: 'ok',
      revision: scenario.runs.at(-1)?.revision,
      commit_count: 1,
    });
    expect(before.body).toMatchObject({
      last_error: null,
      process: { observes_runs: true, consecutive_failures: 0 },
    });

    scenario.clock.set('2026-06-30T11:00:00Z');
    scenario.recorder.recordError(
      new GitError(
        'push to https://bot:s3cr3t-t0ken@git.example.test/ops.git?token=abc failed: connection refused',
      ),
    );
    const failed = await getJson<StatusView>(started, '/status');
    expect(failed.response.headers.get('etag')).not.toBe(before.response.headers.get('etag'));
    expect(failed.body.last_error?.at).toBe('2026-06-30T11:00:00.000Z');
    expect(failed.body.last_error?.message).toContain('connection refused');
    expect(JSON.stringify(failed.body)).not.toContain('s3cr3t');
    expect(JSON.stringify(failed.body)).not.toContain('token=abc');
    expect(failed.body.process.consecutive_failures).toBe(1);

    const run = await scenario.reconcile('2026-06-30T11:30:00Z');
    const recovered = await getJson<StatusView>(started, '/status');
    expect(recovered.body.last_run).toMatchObject({
      source: 'process',
      finished_at: '2026-06-30T11:30:00.000Z',
    });
    expect(recovered.body.last_run?.source === 'process' && recovered.body.last_run.message).toBe(
      run.message,
    );
    expect(recovered.body.process.consecutive_failures).toBe(0);
    expect(recovered.body.last_error?.at).toBe('2026-06-30T11:00:00.000Z');
    scenario.clock.set(SCENARIO_NOW);
  });
});

describe('retry plan, trends and gauges of a reconciled repository', () => {
  it('counts executions per day, provider and outcome', async () => {
    const { body } = await getJson<{ items: unknown[]; dates: string[]; providers: string[] }>(
      served,
      `${AUDIT_DELIVERY}/retry-execution-trends`,
    );
    expect(body.items).toEqual([
      { date: '2026-06-28', provider: 'ops-webhook', execution_status: 'failed', count: 1 },
      { date: '2026-06-28', provider: 'siem-hook', execution_status: 'delivered', count: 1 },
      { date: '2026-06-29', provider: 'ops-webhook', execution_status: 'delivered', count: 1 },
    ]);
    expect(body.dates).toEqual(['2026-06-28', '2026-06-29']);
    expect(body.providers).toEqual(['ops-webhook', 'siem-hook']);
  });

  it('offers ready-to-paste manifests that the next run acts on, and the gauges follow', async () => {
    expect(await gauges()).toEqual({
      cavra_recoveries_open: 1,
      cavra_recoveries_breached: 1,
      cavra_recoveries_pending: 0,
      cavra_emergency_executions: 0,
      cavra_emergency_executions_unclosed: 0,
      'cavra_retry_keys_waiting{reason="wait_for_retry_ack"}': 1,
      'cavra_retry_keys_waiting{reason="request_approval"}': 1,
    });

    const plan = await planByKey();
    expect([...plan.keys()].sort()).toEqual([
      'drill-a/archive',
      'drill-a/ops-webhook',
      'drill-a/siem-hook',
      'drill-b/ops-webhook',
      'drill-b/siem-hook',
    ]);
    for (const key of ['drill-a/archive', 'drill-a/ops-webhook', 'drill-a/siem-hook']) {
      expect(plan.get(key)).toMatchObject({
        reason: 'delivered',
        next_step: { action: 'none', manifest: null },
      });
    }
    const ack = plan.get('drill-b/ops-webhook');
    const approval = plan.get('drill-b/siem-hook');
    expect(ack).toMatchObject({
      reason: 'wait_for_retry_ack',
      next_step: {
        action: 'commit',
        kind: 'RetryAcknowledgement',
        path: 'manifests/retries/ack-drill-b-ops-webhook.yaml',
      },
    });
    expect(approval).toMatchObject({
      reason: 'request_approval',
      next_step: {
        action: 'commit',
        kind: 'RetryApproval',
        path: 'manifests/retries/approve-drill-b-siem-hook.yaml',
      },
    });
    expect(parse(ack?.next_step.manifest ?? '')).toEqual({
      apiVersion: 'cavra.dev/v1',
      kind: 'RetryAcknowledgement',
      metadata: { name: 'ack-drill-b-ops-webhook' },
      spec: {
        delivery: 'drill-b',
        provider: 'ops-webhook',
        state: 'accepted',
        acknowledged_by: PERSON_PLACEHOLDER,
      },
    });

    // The operator pastes both (filling in who they are) and a closure that reopens siem-hook.
    const edit = (step: NextStep | undefined): string =>
      (step?.manifest ?? '').replace(PERSON_PLACEHOLDER, 'dana@example.com');
    await scenario.ops.commit(
      {
        [ack?.next_step.path ?? '']: edit(ack?.next_step),
        [approval?.next_step.path ?? '']: edit(approval?.next_step),
        'manifests/closures/reopen-siem-hook.yaml': `apiVersion: cavra.dev/v1
kind: RecoveryClosure
metadata:
  name: reopen-siem-hook
spec:
  playbook_id: ${scenario.playbookId}
  provider: siem-hook
  state: reopened
  closed_by: carol@example.com
`,
      },
      'acknowledge drill-b/ops-webhook, approve drill-b/siem-hook, reopen siem-hook',
      { date: '2026-06-30T12:00:00Z' },
    );
    // Merged but not reconciled yet: the closure is pending, drill-b/siem-hook would execute now.
    expect(await gauges()).toEqual({
      cavra_recoveries_open: 1,
      cavra_recoveries_breached: 1,
      cavra_recoveries_pending: 1,
      cavra_emergency_executions: 0,
      cavra_emergency_executions_unclosed: 0,
      'cavra_retry_keys_waiting{reason="request_approval"}': 1,
    });
    const merged = await planByKey();
    expect(merged.get('drill-b/siem-hook')).toMatchObject({ reason: 'executed', execute: true });
    expect(merged.get('drill-b/ops-webhook')).toMatchObject({
      reason: 'request_approval',
      next_step: { kind: 'RetryApproval', path: 'manifests/retries/approve-drill-b-ops-webhook.yaml' },
    });

    const run = await scenario.reconcile('2026-06-30T12:01:00Z');
    expect(run).toMatchObject({ calls: 1, delivered: 1, failed: 0 });
    scenario.clock.set('2026-06-30T12:02:00Z');
    const after = await planByKey();
    expect(after.get('drill-b/siem-hook')).toMatchObject({ reason: 'delivered' });
    expect((await gauges()).cavra_recoveries_pending).toBe(0);
  });
});
