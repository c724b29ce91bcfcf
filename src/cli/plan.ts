/**
 * `cavra-gitops plan [--repo DIR|--remote URL] [--ref REV] [--format text|json|markdown] [--detailed-exitcode]`:
 * the dry run. What a reconcile would do now and why, per key; nothing is written or called.
 */
import type { Command } from 'commander';
import type { PlannedCall, RetryDecision } from '../domain/retry-plan.js';
import type { Finding } from '../domain/types.js';
import { EXIT } from '../errors.js';
import { checkProviderReady } from '../connectors/registry.js';
import type { ProviderCondition } from '../domain/conditions.js';
import { compareStrings } from '../domain/recovery-state.js';
import {
  DEFAULT_LEASE_MINUTES,
  planReconcile,
  type ReconcilePlan,
  type WouldRecord,
} from '../plan/plan-reconcile.js';
import { readPlanFacts } from '../read-model/read-plan-facts.js';
import { readSnapshot } from '../read-model/read-snapshot.js';
import type { CliContext } from './context.js';
import { openRepository, parseFormat, resolveRevisions, type RepositoryOptions } from './repository.js';

const PLAN_FORMATS = ['text', 'json', 'markdown'] as const;

export interface PlanCommandOptions extends RepositoryOptions {
  ref?: string;
  ledgerRef?: string;
  branch?: string;
  format?: string;
  detailedExitcode?: boolean;
}

/** The plan as printed: JSON-friendly, deterministic. */
export interface PlanView {
  revision: string;
  now: string;
  deliveries: CallView[];
  executions: CallView[];
  resends: CallView[];
  unknown_outcomes: string[];
  closures: string[];
  decisions: RetryDecision[];
  /** Enabled providers whose connector cannot be built now (nothing is called for them). */
  providers_not_ready: ProviderCondition[];
  findings: Finding[];
  /** Everything the reconcile would commit now (docs/reference.md §5): the same plan `reconcile` applies. */
  would_record: WouldRecord;
}

interface CallView {
  claim_id: string;
  delivery_id: string;
  provider: string;
  attempt: number;
}

function callView(call: PlannedCall): CallView {
  return {
    claim_id: call.claimId,
    delivery_id: call.key.delivery_id,
    provider: call.key.provider,
    attempt: call.attempt,
  };
}

function toPlanView(plan: ReconcilePlan, findings: Finding[]): PlanView {
  return {
    revision: plan.revision,
    now: plan.now,
    deliveries: plan.retry.deliveries.map(callView),
    executions: plan.retry.executions.map(callView),
    resends: plan.retry.expiredClaims.filter((e) => e.resend).map((e) => callView(e.call)),
    unknown_outcomes: [
      ...plan.retry.expiredClaims.filter((e) => !e.resend).map((e) => e.claim.claim_id),
      ...plan.retry.orphanedClaims.map((c) => c.claim_id),
    ],
    closures: plan.closures.map((c) => c.closure_id),
    decisions: plan.retry.decisions,
    providers_not_ready: plan.notReady,
    findings: [...findings, ...plan.closureFindings],
    would_record: plan.wouldRecord,
  };
}

/** True when applying the plan would call a connector or write a record. */
function hasPendingActions(view: PlanView): boolean {
  const would = view.would_record;
  return (
    would.calls.length + would.playbooks.length + would.closures.length + view.unknown_outcomes.length > 0 ||
    would.report_changes
  );
}

const keyOf = (d: RetryDecision): string => `${d.key.delivery_id} → ${d.key.provider}`;

export function renderPlanText(view: PlanView): string {
  const lines = [`Plan for ${view.revision.slice(0, 12)} at ${view.now}`];
  const section = (title: string, items: string[]): void => {
    if (items.length > 0) lines.push('', `${title}:`, ...items.map((item) => `  ${item}`));
  };
  section(
    'Deliver (attempt 1)',
    view.deliveries.map((c) => `${c.delivery_id} → ${c.provider}`),
  );
  section(
    'Execute approved retries',
    view.executions.map((c) => `${c.delivery_id} → ${c.provider} attempt ${c.attempt} (${c.claim_id})`),
  );
  section(
    'Re-send unknown outcomes (idempotent providers)',
    view.resends.map((c) => `${c.claim_id}`),
  );
  section('Record unknown outcomes', view.unknown_outcomes);
  section('Record closures', view.would_record.closures);
  section('Generate recovery playbooks', view.would_record.playbooks);
  if (view.would_record.report_changes)
    section('Update reports', ['reports/retry-recovery-report.json, .md']);
  section(
    'Providers not ready (nothing is called for them)',
    view.providers_not_ready.map((p) => `${p.provider}: ${p.message}`),
  );
  section(
    'Retry decisions',
    view.decisions.map(
      (d) =>
        `${keyOf(d)}: ${d.action}${d.execute ? ' (execute now)' : ''} — ${d.reason}${d.approval ? ` [approval ${d.approval.name}: ${d.approval.state}]` : ''}${d.message ? `\n      ${d.message}` : ''}`,
    ),
  );
  section(
    'Findings',
    view.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`),
  );
  if (!hasPendingActions(view)) lines.push('', 'No changes: nothing to deliver, execute or record.');
  return `${lines.join('\n')}\n`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * Rows of decisions a pull-request comment shows at most. Forges cap a comment (GitHub at 65,536
 * characters) and a long table buries the keys a change is about; every key is in `--format json`.
 */
export const MARKDOWN_MAX_ROWS = 100;

/**
 * The pull-request comment. Its table leads with what the merge executes, then the keys that are
 * held (by the gate, a delay or the attempt limit), in the planner's order; keys with nothing to
 * retry (delivered, or whose first delivery is still to come) are only counted, by reason.
 */
export function renderPlanMarkdown(view: PlanView): string {
  const lines = [`### cavra-gitops plan for \`${view.revision.slice(0, 12)}\``, ''];
  const would = view.would_record;
  const counts = `**${view.deliveries.length}** deliveries, **${view.executions.length}** retry executions, **${view.resends.length}** re-sends, **${would.closures.length}** closures, **${would.playbooks.length}** playbooks${would.report_changes ? ', report update' : ''}`;
  lines.push(hasPendingActions(view) ? `On merge: ${counts}.` : 'No changes.', '');
  const rows = [
    ...view.decisions.filter((d) => d.execute),
    ...view.decisions.filter((d) => !d.execute && d.action !== 'none'),
  ];
  if (rows.length > 0) {
    lines.push(
      '| delivery | provider | attempts | action | executes | reason | approval | why |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const d of rows.slice(0, MARKDOWN_MAX_ROWS)) {
      const approval = d.approval
        ? `${d.approval.name} (${d.approval.state}, ${d.approval.decided_by})`
        : '—';
      lines.push(
        `| ${cell(d.key.delivery_id)} | ${cell(d.key.provider)} | ${d.attempts} | ${d.action} | ${d.execute ? 'yes' : 'no'} | \`${d.reason}\` | ${cell(approval)} | ${cell(d.message)} |`,
      );
    }
    lines.push('');
    if (rows.length > MARKDOWN_MAX_ROWS)
      lines.push(
        `… and ${rows.length - MARKDOWN_MAX_ROWS} more held keys (\`plan --format json\` lists every key).`,
        '',
      );
  }
  const idle = view.decisions.filter((d) => d.action === 'none');
  if (idle.length > 0) {
    const byReason = new Map<string, number>();
    for (const d of idle) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
    const reasons = [...byReason]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([reason, count]) => `\`${reason}\` ${count}`);
    lines.push(`${idle.length} more key(s) with nothing to retry: ${reasons.join(', ')}.`, '');
  }
  if (view.providers_not_ready.length > 0) {
    lines.push('**Providers not ready** (nothing is called for them):', '');
    for (const p of view.providers_not_ready) lines.push(`- \`${cell(p.provider)}\`: ${cell(p.message)}`);
    lines.push('');
  }
  if (view.findings.length > 0) {
    lines.push('<details><summary>Findings</summary>', '');
    for (const f of view.findings)
      lines.push(`- \`${cell(f.file)}:${f.line}\` **${f.rule}**: ${cell(f.message)}`);
    lines.push('', '</details>', '');
  }
  return `${lines.join('\n')}`;
}

export async function runPlan(options: PlanCommandOptions, context: CliContext): Promise<number> {
  const format = parseFormat(options.format, PLAN_FORMATS, 'text');
  const repository = await openRepository(options, context, options.branch ?? 'main');
  try {
    const { revision, ledgerRevision } = await resolveRevisions(repository, options);
    const snapshot = await readSnapshot(repository.reader, revision, { ledgerRevision });
    const facts = await readPlanFacts(repository.reader, snapshot, {
      checkProvider: (provider) => {
        const readiness = checkProviderReady(provider, context.env);
        return readiness.ready ? null : { reason: readiness.reason, message: readiness.message };
      },
    });
    const plan = planReconcile(facts, context.clock.now(), {
      leaseMinutes: DEFAULT_LEASE_MINUTES,
      replicaId: context.env.CAVRA_GITOPS_REPLICA_ID ?? 'plan',
      shard: null,
      push: true,
    });
    const view = toPlanView(plan, [...snapshot.manifests.findings, ...snapshot.recordFindings]);
    if (format === 'json') context.stdout(`${JSON.stringify(view, null, 2)}\n`);
    else if (format === 'markdown') context.stdout(renderPlanMarkdown(view));
    else context.stdout(renderPlanText(view));
    if (view.findings.some((f) => f.severity === 'error')) return EXIT.findings;
    return options.detailedExitcode && hasPendingActions(view) ? EXIT.pending : EXIT.ok;
  } finally {
    await repository.close();
  }
}

export function registerPlanCommand(program: Command, context: CliContext): void {
  program
    .command('plan')
    .description('dry run: what a reconcile would do now and why, per key')
    .option('--repo <dir>', 'a local repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'branch to read with --remote', 'main')
    .option('--ref <rev>', 'revision to plan (default: HEAD, or the branch tip with --remote)')
    .option(
      '--ledger-branch <name>',
      'records live on this branch (as reconcile --ledger-branch writes them)',
    )
    .option('--ledger-ref <rev>', 'read records from this revision (records on a ledger branch)')
    .option('--format <format>', `output format: ${PLAN_FORMATS.join(', ')}`, 'text')
    .option('--detailed-exitcode', 'exit 2 when actions are pending')
    .action(async (options: PlanCommandOptions) => {
      process.exitCode = await runPlan(options, context);
    });
}
