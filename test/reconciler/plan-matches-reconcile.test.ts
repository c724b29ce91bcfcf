/**
 * `plan --format json` and `reconcile` compute with the same code, so they cannot disagree: over
 * random histories (providers that fail or answer, deliveries, acks, approvals, closures, time
 * passing), at every step the `would_record` of `plan` equals what the following reconcile commits
 * — the claim and execution ids of its calls, the closure ids, the playbook ids and whether the
 * report changed. Playbooks are the one part that depends on call outcomes: a playbook is generated
 * from the failures recorded with it, so when a call of the step fails the reconcile's playbook
 * counts that failure too (another id than planned) or is new; every playbook that differs from
 * the plan names a provider that failed in that step.
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { runCli } from '../../src/cli/main.js';
import { createGitReader } from '../../src/git/index.js';
import { readSnapshot } from '../../src/read-model/read-snapshot.js';
import type { RecordSet } from '../../src/domain/types.js';
import type { WouldRecord } from '../../src/plan/plan-reconcile.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { reply, startHttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  providerYaml,
  readRemoteRecords,
  reconcilerEnv,
} from '../helpers/reconciler-fixtures.js';

const PROVIDERS = ['p0', 'p1', 'p2'] as const;

interface Step {
  /** Per provider: does its receiver answer 200 in this step? */
  answers: boolean[];
  /** Add a delivery to these providers (indexes), or none. */
  delivery: number[] | null;
  /** Ack and approve the failed keys of these providers (indexes). */
  approve: number[];
  /** Close the newest open playbook. */
  close: boolean;
  /** Minutes the clock moves before the step's plan and reconcile. */
  minutes: number;
}

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  answers: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  delivery: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }), {
    nil: null,
  }),
  approve: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
  close: fc.boolean(),
  minutes: fc.integer({ min: 0, max: 90 }),
});

function policy(requireAck: boolean): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: ReconcilerPolicy',
    'metadata:',
    '  name: default',
    'spec:',
    '  retry_defaults: {max_retry_attempts: 3, retry_delay_minutes: 15, backoff_multiplier: 2.0}',
    `  require_retry_ack: ${requireAck}`,
    '  recovery: {auto_playbooks: true, min_failure_count: 2, lookback_hours: 24}',
    '',
  ].join('\n');
}

function closureYaml(name: string, playbookId: string, provider: string): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: RecoveryClosure',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  playbook_id: ${playbookId}`,
    `  provider: ${provider}`,
    '  state: resolved',
    '  closed_by: carol@example.com',
    '',
  ].join('\n');
}

function reportBlob(remote: string): string {
  try {
    return execFileSync(
      'git',
      ['--git-dir', remote, 'rev-parse', 'refs/heads/main:reports/retry-recovery-report.json'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
  } catch {
    return '';
  }
}

function added<T>(before: T[], after: T[], id: (item: T) => string): T[] {
  const known = new Set(before.map(id));
  return after.filter((item) => !known.has(id(item)));
}

/** What a reconcile committed, in `would_record`'s terms. */
function committed(before: RecordSet, after: RecordSet, reportChanged: boolean) {
  const deliveries = added(before.deliveries, after.deliveries, (r) => r.record_id);
  return {
    calls: deliveries
      .map((r) => ({
        claim_id: r.execution_id || r.record_id,
        execution_id: r.execution_id || null,
        delivery_id: r.delivery_id,
        provider: r.provider,
        attempt: r.attempt,
      }))
      .sort((a, b) => (a.claim_id < b.claim_id ? -1 : 1)),
    closures: added(before.closures, after.closures, (r) => r.closure_id)
      .map((r) => r.closure_id)
      .sort(),
    playbooks: added(before.playbooks, after.playbooks, (r) => r.playbook_id),
    failedProviders: new Set(deliveries.filter((r) => !r.delivery_success).map((r) => r.provider)),
    report_changes: reportChanged,
  };
}

async function checkHistory(requireAck: boolean, steps: Step[]): Promise<void> {
  const ops = await createOpsRepo();
  const state = await createStateDir();
  const planState = await createStateDir();
  const receiver = await startHttpReceiver();
  const answers = [true, true, true];
  receiver.handle((request) => {
    const index = PROVIDERS.findIndex((p) => request.path === `/${p}`);
    return index >= 0 && !answers[index] ? reply.status(503, 'down') : undefined;
  });
  const urls = Object.fromEntries(
    PROVIDERS.map((p) => [`${p.toUpperCase()}_URL`, `${receiver.origin}/${p}`]),
  );
  const env = reconcilerEnv(urls);
  const clock = createSettableClock('2026-06-28T10:00:00Z');
  let minute = 0;
  try {
    await ops.commit(
      {
        'manifests/policy.yaml': policy(requireAck),
        'manifests/providers.yaml': PROVIDERS.map((p) =>
          providerYaml(p, { urlEnv: `${p.toUpperCase()}_URL` }),
        ).join('---\n'),
      },
      'providers and policy',
    );
    const replica = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'r',
      clock,
      env,
    });
    try {
      for (const [index, step] of steps.entries()) {
        step.answers.forEach((answer, i) => (answers[i] = answer));
        const records = await readRemoteRecords(ops.remote);
        const files: Record<string, string> = {};
        if (step.delivery) {
          files[`manifests/delivery-${index}.yaml`] = deliveryYaml(
            `drill-${index}`,
            step.delivery.map((i) => PROVIDERS[i]!),
          );
        }
        for (const i of step.approve) {
          const failed = records.deliveries.filter((r) => r.provider === PROVIDERS[i] && !r.delivery_success);
          for (const record of failed.slice(-1)) {
            const name = `${record.delivery_id}-${record.provider}-${index}`;
            files[`manifests/approvals/${name}.yaml`] =
              ackYaml(`ack-${name}`, record.delivery_id, record.provider) +
              '---\n' +
              approvalYaml(`approve-${name}`, record.delivery_id, record.provider);
          }
        }
        const closedPlaybooks = new Set(records.closures.map((c) => c.playbook_id));
        const open = records.playbooks.filter((p) => !closedPlaybooks.has(p.playbook_id)).at(-1);
        if (step.close && open) {
          files[`manifests/closures/close-${index}.yaml`] = closureYaml(
            `close-${index}`,
            open.playbook_id,
            open.provider_playbooks[0]!.provider,
          );
        }
        if (Object.keys(files).length > 0) await ops.commit(files, `step ${index}`);
        minute += step.minutes;
        clock.set(new Date(Date.parse('2026-06-28T10:00:00Z') + minute * 60_000).toISOString());

        const cli = createCliContext(planState.dir, { ...env, CAVRA_GITOPS_STATE_DIR: planState.dir }, clock);
        const code = await runCli(['plan', '--remote', ops.remote, '--format', 'json'], cli.context);
        expect(code, cli.stderr()).toBe(0);
        const printed = JSON.parse(cli.stdout()) as {
          would_record: WouldRecord;
          revision: string;
          decisions: unknown[];
        };
        const would = printed.would_record;
        // The API's retry plan decides the same keys the same way as `plan` (it plans the retry work alone).
        const reader = createGitReader(ops.remote);
        try {
          const snapshot = await readSnapshot(reader, printed.revision);
          const { decisions } = await createRetryPlanner(reader)(snapshot, clock.now());
          expect(JSON.parse(JSON.stringify(decisions)), `step ${index}`).toEqual(printed.decisions);
        } finally {
          await reader.close();
        }

        const before = await readRemoteRecords(ops.remote);
        const reportBefore = reportBlob(ops.remote);
        await reconcileOnce(replica.options);
        const after = await readRemoteRecords(ops.remote);
        const done = committed(before, after, reportBlob(ops.remote) !== reportBefore);

        const context = `step ${index} of ${JSON.stringify(steps)}`;
        expect(
          [...would.calls].sort((a, b) => (a.claim_id < b.claim_id ? -1 : 1)),
          context,
        ).toEqual(done.calls);
        expect([...would.closures].sort(), context).toEqual(done.closures);
        expect(would.report_changes, context).toBe(done.report_changes);
        const committedPlaybooks = done.playbooks.map((p) => p.playbook_id);
        if (done.failedProviders.size === 0) expect(committedPlaybooks, context).toEqual(would.playbooks);
        for (const playbook of done.playbooks.filter((p) => !would.playbooks.includes(p.playbook_id))) {
          // Only a failure of this very step can make a playbook the plan could not know of.
          expect(
            playbook.provider_playbooks.some((p) => done.failedProviders.has(p.provider)),
            context,
          ).toBe(true);
        }
      }
      // No false positives (issue 12): failures, retries, playbooks and closures verify clean.
      const cli = createCliContext(planState.dir, env, clock);
      const code = await runCli(['verify', '--remote', ops.remote, '--format', 'json'], cli.context);
      expect(code, `${JSON.stringify(steps)}\n${cli.stdout()}${cli.stderr()}`).toBe(0);
    } finally {
      await replica.close();
    }
  } finally {
    await receiver.close();
    await planState.cleanup();
    await state.cleanup();
    await ops.cleanup();
  }
}

describe('plan and reconcile agree', () => {
  it('the full flow: failure, approval, retry, playbook, closure', async () => {
    await checkHistory(true, [
      { answers: [false, true, true], delivery: [0, 1], approve: [], close: false, minutes: 0 },
      { answers: [false, true, true], delivery: null, approve: [0], close: false, minutes: 20 },
      { answers: [true, true, true], delivery: null, approve: [], close: true, minutes: 5 },
      { answers: [true, true, true], delivery: null, approve: [], close: false, minutes: 300 },
    ]);
  });

  it('over random histories, would_record equals what the reconcile commits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(stepArbitrary, { minLength: 2, maxLength: 4 }), checkHistory),
      { numRuns: 5 },
    );
  }, 300_000);
});
