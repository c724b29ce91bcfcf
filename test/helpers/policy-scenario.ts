/**
 * An end-to-end scenario for the approval policies of docs/reference.md §4 (quorum, separation of
 * duties, freeze windows, break-glass): an ops repository pushed to a bare remote, a local webhook
 * receiver that fails every call, one replica reconciling in-process with a settable clock, and
 * `plan`/`validate` run through their CLI entry points against the same remote. YAML builders for
 * the policy fields the basic fixtures do not write.
 */
import { runPlan, type PlanView } from '../../src/cli/plan.js';
import { runValidate } from '../../src/cli/validate.js';
import { runVerify } from '../../src/cli/verify.js';
import type { FreezeWindow } from '../../src/domain/types.js';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import type { RunResult } from '../../src/domain/run-result.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import type { HttpReceiver } from './http-receiver.js';
import {
  approvalYaml,
  createCliContext,
  createSettableClock,
  deliveryYaml,
  openFailingHookReplica,
  policyYaml,
  providerYaml,
  readRemoteRecords,
  type ApprovalYamlOptions,
  type OpsRepo,
  type PolicyYamlOptions,
  type SettableClock,
} from './reconciler-fixtures.js';
import { git, type CommitOptions } from './git-fixtures.js';
import type { RecordSet } from '../../src/domain/types.js';

export interface GatePolicyOptions extends PolicyYamlOptions {
  approvalsRequired?: number;
  separateDuties?: boolean;
  freezeWindows?: FreezeWindow[];
  maxEmergencyMinutes?: number;
  requireSignedApprovals?: boolean;
  /** `recovery.min_failure_count` (playbooks need `autoPlaybooks: true`). */
  minFailureCount?: number;
}

/** A ReconcilerPolicy with the §4 gate fields (appended to the basic policy's spec). */
export function gatePolicyYaml(options: GatePolicyOptions = {}): string {
  const lines: string[] = [];
  if (options.approvalsRequired !== undefined)
    lines.push(`  approvals_required: ${options.approvalsRequired}`);
  if (options.separateDuties !== undefined) lines.push(`  separate_duties: ${options.separateDuties}`);
  if (options.maxEmergencyMinutes !== undefined)
    lines.push(`  max_emergency_minutes: ${options.maxEmergencyMinutes}`);
  if (options.requireSignedApprovals !== undefined)
    lines.push(`  require_signed_approvals: ${options.requireSignedApprovals}`);
  if (options.freezeWindows !== undefined) {
    lines.push(options.freezeWindows.length === 0 ? '  freeze_windows: []' : '  freeze_windows:');
    for (const window of options.freezeWindows) {
      if ('cron' in window) {
        lines.push(
          `    - cron: "${window.cron}"`,
          `      duration_minutes: ${window.duration_minutes}`,
          `      reason: "${window.reason}"`,
        );
      } else {
        lines.push(
          `    - from: "${window.from}"`,
          `      to: "${window.to}"`,
          `      reason: "${window.reason}"`,
        );
      }
    }
  }
  let yaml = policyYaml({ maxRetryAttempts: 5, ...options });
  if (options.minFailureCount !== undefined)
    yaml = yaml.replace('  recovery:\n', `  recovery:\n    min_failure_count: ${options.minFailureCount}\n`);
  return yaml + lines.map((line) => `${line}\n`).join('');
}

/** A RetryAcknowledgement acknowledged by `acknowledgedBy`. */
export function ackByYaml(name: string, delivery: string, provider: string, acknowledgedBy: string): string {
  return (
    `apiVersion: cavra.dev/v1\nkind: RetryAcknowledgement\nmetadata:\n  name: ${name}\nspec:\n` +
    `  delivery: ${delivery}\n  provider: ${provider}\n  state: accepted\n  acknowledged_by: ${acknowledgedBy}\n`
  );
}

export interface GateApprovalOptions extends ApprovalYamlOptions {
  emergency?: boolean;
}

/** A RetryApproval (immediate retry), optionally break-glass. */
export function gateApprovalYaml(
  name: string,
  delivery: string,
  provider: string,
  options: GateApprovalOptions = {},
): string {
  const yaml = approvalYaml(name, delivery, provider, options);
  return options.emergency === undefined ? yaml : `${yaml}  emergency: ${options.emergency}\n`;
}

export const PROVIDER = 'ops-webhook';

export interface PolicyScenario {
  ops: OpsRepo;
  clock: SettableClock;
  receiver: HttpReceiver;
  /** Commit and push to the ops remote (dates default to the fixture date). */
  commit(files: Record<string, string | null>, message: string, options?: CommitOptions): Promise<string>;
  /** One in-process reconcile at the clock's time; returns the result and the calls it made. */
  reconcile(): Promise<{ calls: number; result: RunResult }>;
  /** `plan --remote <ops> --format json` at the clock's time. */
  plan(): Promise<{ view: PlanView; exitCode: number }>;
  /** `plan` in text form. */
  planText(): Promise<string>;
  /** The plan's decision for a delivery (to the one provider). */
  decisionOf(delivery: string): Promise<RetryDecision>;
  /** `validate --remote <ops> --format json`. */
  validate(): Promise<{ stdout: string; exitCode: number }>;
  /** `verify --remote <ops> --format json`: the ledger audit, which recomputes the gate. */
  verify(): Promise<{ stdout: string; exitCode: number }>;
  records(): Promise<RecordSet>;
  /** The report inside `reports/retry-recovery-report.json` at the remote's tip. */
  report(): Promise<Record<string, unknown>>;
  /** Every file under records/ and reports/ at the remote's tip, path → content. */
  ledgerFiles(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/**
 * Open a scenario at `startAt`, and commit the provider, the given policy, deliveries (`d1`
 * unless named) and any extra files. Nothing is reconciled yet.
 */
export async function openPolicyScenario(
  startAt: string,
  policy: string,
  deliveries: string[] = ['d1'],
  extraFiles: Record<string, string> = {},
): Promise<PolicyScenario> {
  const clock = createSettableClock(startAt);
  const fixture = await openFailingHookReplica(clock);
  const { ops, receiver, env, replica } = fixture;
  await ops.commit(
    {
      'manifests/policy.yaml': policy,
      'manifests/providers.yaml': providerYaml(PROVIDER),
      'manifests/deliveries.yaml': deliveries.map((d) => deliveryYaml(d, [PROVIDER])).join('---\n'),
      ...extraFiles,
    },
    'provider, policy, deliveries',
  );

  async function plan(format: 'json' | 'text'): Promise<{ stdout: string; exitCode: number }> {
    const cli = createCliContext(ops.work, env, clock);
    const exitCode = await runPlan({ remote: ops.remote, format }, cli.context);
    return { stdout: cli.stdout(), exitCode };
  }

  const scenario: PolicyScenario = {
    ops,
    clock,
    receiver,
    commit: (files, message, options) => ops.commit(files, message, options),
    async reconcile() {
      const before = receiver.requests.length;
      const result = await reconcileOnce(replica.options);
      return { calls: receiver.requests.length - before, result };
    },
    async plan() {
      const { stdout, exitCode } = await plan('json');
      return { view: JSON.parse(stdout) as PlanView, exitCode };
    },
    async planText() {
      return (await plan('text')).stdout;
    },
    async decisionOf(delivery) {
      const { view } = await scenario.plan();
      const decision = view.decisions.find(
        (d) => d.key.delivery_id === delivery && d.key.provider === PROVIDER,
      );
      if (decision === undefined) throw new Error(`no decision for ${delivery}`);
      return decision;
    },
    async validate() {
      const cli = createCliContext(ops.work, env, clock);
      const exitCode = await runValidate({ remote: ops.remote, format: 'json' }, cli.context);
      return { stdout: cli.stdout(), exitCode };
    },
    async verify() {
      const cli = createCliContext(ops.work, env, clock);
      const exitCode = await runVerify({ remote: ops.remote, format: 'json' }, cli.context);
      return { stdout: cli.stdout(), exitCode };
    },
    records: () => readRemoteRecords(ops.remote),
    async report() {
      const text = await git(ops.remote, ['show', 'refs/heads/main:reports/retry-recovery-report.json']);
      return (JSON.parse(text) as { report: Record<string, unknown> }).report;
    },
    async ledgerFiles() {
      const listing = await git(ops.remote, [
        'ls-tree',
        '-r',
        '--name-only',
        'refs/heads/main',
        '--',
        'records',
        'reports',
      ]);
      const files = new Map<string, string>();
      for (const path of listing === '' ? [] : listing.split('\n'))
        files.set(path, await git(ops.remote, ['show', `refs/heads/main:${path}`]));
      return files;
    },
    close: () => fixture.close(),
  };
  return scenario;
}
