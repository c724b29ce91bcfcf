/**
 * `plan` on a real ops repository: every gate case of issue 3 (no ack, denied, expired, approver
 * not allowed, policy loosened in the approval's own commit, delay not elapsed, max attempts
 * reached) is not executed and says why; `--detailed-exitcode` and the markdown table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';

const BOB = 'bob@example.com';
const PROVIDER = 'ops-webhook';
const CASES = ['noack', 'denied', 'expired', 'notallowed', 'loosened', 'delay', 'maxed', 'ready'] as const;
const PLAN_AT = '2026-06-28T10:05:00Z';

interface PlanJson {
  revision: string;
  executions: { delivery_id: string; claim_id: string }[];
  deliveries: unknown[];
  decisions: RetryDecision[];
}

describe('plan: gate cases on a real repository', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  let failedRecordsTip: string;
  const env = reconcilerEnv();

  beforeAll(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    receiver.respond('/hook', reply.status(500));
    Object.assign(env, { HOOK_URL: `${receiver.origin}/hook` });
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ approvers: [BOB], retryDelayMinutes: 15 }),
        'manifests/provider.yaml': providerYaml(PROVIDER),
        ...Object.fromEntries(
          CASES.map((c) => [`manifests/deliveries/${c}.yaml`, deliveryYaml(`d-${c}`, [PROVIDER])]),
        ),
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
    // Attempt 1 of every key fails at 10:00.
    const state = await createStateDir();
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'r',
      clock,
      env,
    });
    try {
      const result = await reconcileOnce(reconciler.options);
      expect(result.failed).toBe(CASES.length);
    } finally {
      await reconciler.close();
      await state.cleanup();
    }
    failedRecordsTip = (await ops.tip())!;

    const approve = (
      c: string,
      options: Parameters<typeof approvalYaml>[3] = {},
    ): Record<string, string> => ({
      [`manifests/approvals/${c}.yaml`]: approvalYaml(`approve-${c}`, `d-${c}`, PROVIDER, options),
    });
    const ack = (c: string): Record<string, string> => ({
      [`manifests/acks/${c}.yaml`]: ackYaml(`ack-${c}`, `d-${c}`, PROVIDER),
    });
    await ops.commit(
      {
        ...approve('noack'),
        ...ack('denied'),
        ...approve('denied', { state: 'denied' }),
        ...ack('expired'),
        ...approve('expired', { expiresAt: '2026-06-28T10:04:00Z' }),
        ...ack('notallowed'),
        ...approve('notallowed', { decidedBy: 'carol@example.com' }),
        ...ack('delay'),
        ...approve('delay', { allowImmediateRetry: false }),
        ...ack('maxed'),
        ...approve('maxed', { maxRetryAttempts: 1 }),
        ...ack('ready'),
        ...approve('ready'),
      },
      'acks and approvals',
      { date: '2026-06-28T10:02:00Z' },
    );
    // Mallory adds herself to the approvers in the same commit as her approval: still not allowed.
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({
          approvers: [BOB, 'mallory@example.com'],
          retryDelayMinutes: 15,
        }),
        ...ack('loosened'),
        ...approve('loosened', { decidedBy: 'mallory@example.com' }),
      },
      'loosen the policy and approve',
      { date: '2026-06-28T10:03:00Z', author: 'Mallory <mallory@example.com>' },
    );
  });
  afterAll(async () => {
    await receiver.close();
    await ops.cleanup();
  });

  /** One JSON plan shared by the table of gate cases (each plan costs a clone). */
  let jsonPlan: ReturnType<typeof plan> | undefined;

  async function plan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const cli = createCliContext(ops.work, env, createSettableClock(PLAN_AT));
    const code = await runCli(['plan', '--remote', ops.remote, ...args], cli.context);
    return { code, stdout: cli.stdout(), stderr: cli.stderr() };
  }

  it.each([
    ['noack', 'wait_for_retry_ack'],
    ['denied', 'approval_denied'],
    ['expired', 'approval_expired'],
    ['notallowed', 'approver_not_allowed'],
    ['loosened', 'approver_not_allowed'],
    ['delay', 'retry_delay_not_elapsed'],
    ['maxed', 'max_attempts_reached'],
    ['ready', 'executed'],
  ])('d-%s: reason %s', async (name, reason) => {
    jsonPlan ??= plan(['--format', 'json']);
    const { code, stdout } = await jsonPlan;
    expect(code).toBe(0);
    const view = JSON.parse(stdout) as PlanJson;
    const decision = view.decisions.find((d) => d.key.delivery_id === `d-${name}`);
    expect(decision?.reason).toBe(reason);
    expect(decision?.execute).toBe(reason === 'executed');
    const executes = view.executions.some((e) => e.delivery_id === `d-${name}`);
    expect(executes).toBe(reason === 'executed');
  });

  it('plans exactly one execution, and the decision names it', async () => {
    const view = JSON.parse((await plan(['--format', 'json'])).stdout) as PlanJson;
    expect(view.executions.map((e) => e.delivery_id)).toEqual(['d-ready']);
    expect(view.deliveries).toEqual([]);
    const ready = view.decisions.find((d) => d.key.delivery_id === 'd-ready');
    expect(ready?.execution_id).toBe(view.executions[0]?.claim_id);
    expect(ready?.approval).toMatchObject({ name: 'approve-ready', state: 'approved', decided_by: BOB });
  });

  it('each reason says why in words, naming the manifest, the commit and the policy that decided', async () => {
    jsonPlan ??= plan(['--format', 'json']);
    const view = JSON.parse((await jsonPlan).stdout) as PlanJson;
    const loosened = view.decisions.find((d) => d.key.delivery_id === 'd-loosened');
    expect(loosened).toMatchObject({ reason: 'approver_not_allowed', policy: 'base' });
    expect(loosened?.policy_commit).toMatch(/^[0-9a-f]{40}$/);
    expect(loosened?.message).toContain('manifests/approvals/loosened.yaml');
    expect(loosened?.message).toContain(`the base policy (at ${loosened?.policy_commit})`);
    const notAllowed = view.decisions.find((d) => d.key.delivery_id === 'd-notallowed');
    expect(notAllowed).toMatchObject({ reason: 'approver_not_allowed', policy: 'current' });
    expect(notAllowed?.message).toContain('carol@example.com');
    for (const decision of view.decisions) expect(decision.message).toMatch(/commit [0-9a-f]{40}/);
  });

  it('--detailed-exitcode: 2 with actions pending, 0 without', async () => {
    expect((await plan(['--format', 'json', '--detailed-exitcode'])).code).toBe(2);
    // At the reconciler's own commit (failed attempts, no approvals yet) nothing is pending.
    const quiet = await plan(['--format', 'json', '--detailed-exitcode', '--ref', failedRecordsTip]);
    expect(quiet.code).toBe(0);
    expect((JSON.parse(quiet.stdout) as PlanJson).executions).toEqual([]);
  });

  it('renders a markdown table for pull request comments', async () => {
    const { code, stdout } = await plan(['--format', 'markdown']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      '| delivery | provider | attempts | action | executes | reason | approval | why |',
    );
    expect(stdout).toMatch(
      /\| d-denied \| ops-webhook \| 1 \| retry \| no \| `approval_denied` \| approve-denied \(denied, bob@example.com\) \|/,
    );
    expect(stdout).toMatch(/\| d-ready \| ops-webhook \| 1 \| retry \| yes \| `executed` \|/);
    expect(stdout).toContain('**1** retry executions');
  });

  it('text format lists the execution and every reason; nothing is written or called', async () => {
    const tip = await ops.tip();
    const requests = receiver.requests.length;
    const { code, stdout } = await plan([]);
    expect(code).toBe(0);
    expect(stdout).toContain('Execute approved retries:');
    for (const reason of ['wait_for_retry_ack', 'approval_expired', 'max_attempts_reached'])
      expect(stdout).toContain(reason);
    expect(stdout).toContain('RetryApproval approve-denied (manifests/approvals/denied.yaml, commit ');
    expect(await ops.tip()).toBe(tip);
    expect(receiver.requests.length).toBe(requests);
  });

  it('rejects an unknown format with exit 2', async () => {
    const { code, stderr } = await plan(['--format', 'yaml']);
    expect(code).toBe(2);
    expect(stderr).toContain('--format "yaml" is not supported');
  });
});
