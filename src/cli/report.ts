/**
 * `cavra-gitops report [--repo DIR|--remote URL] [--ref REV] [--slo-minutes N] [--format json|markdown|table]`:
 * the retry recovery report of any committed revision, at `now` (`CAVRA_GITOPS_NOW` honoured
 * through the context clock). `json` prints `{report, metadata}` and nothing else.
 */
import type { Command } from 'commander';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { GitReader } from '../domain/ports.js';
import {
  computeRetryRecoveryReport,
  parseRecoverySloMinutes,
  type ReportEnvelope,
} from '../domain/report.js';
import { EXIT, ExitError } from '../errors.js';
import { renderReportMarkdown, renderReportTable } from '../reports/render-report.js';
import type { CliContext } from './context.js';
import { createProgressReporter, NO_PROGRESS, type ProgressReporter } from './progress.js';
import { readSnapshot } from '../read-model/read-snapshot.js';
import { openRepository, parseFormat, resolveRevisions, type RepositoryOptions } from './repository.js';

const REPORT_FORMATS = ['json', 'markdown', 'table'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** `generated_by` of reports printed by the CLI (the API's default is `console`). */
const CLI_GENERATED_BY = 'cli';

export interface ReportCommandOptions extends RepositoryOptions {
  /** Revision to report on (default `HEAD`, or the branch tip with --remote). */
  ref?: string;
  /** Branch to read with --remote (default `main`). */
  branch?: string;
  /** Raw `--slo-minutes` value; default the policy's `recovery.recovery_slo_minutes`. */
  sloMinutes?: string;
  /** Raw `--format` value (default `json`). */
  format?: string;
  /** `generated_by` of the report (default `cli`). */
  generatedBy?: string;
  /** Read records from this revision instead of `ref` (records on a ledger branch). */
  ledgerRef?: string;
}

/** Render an envelope in a format: json is `{report, metadata}` pretty-printed with a trailing newline. */
export function renderReport(envelope: ReportEnvelope, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify({ report: envelope.report, metadata: envelope.metadata }, null, 2)}\n`;
    case 'markdown':
      return renderReportMarkdown(envelope);
    case 'table':
      return renderReportTable(envelope);
  }
}

/**
 * Parse `--slo-minutes` (undefined: none given). Throws ExitError (exit 2) naming the flag and range.
 */
function parseSloFlag(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseRecoverySloMinutes(raw);
  if (!parsed.ok) throw new ExitError(`--slo-minutes: ${parsed.message}`);
  return parsed.value;
}

/**
 * The report of one revision: records (from `ledgerRevision` when given) and the policy's SLO
 * unless `sloMinutes` overrides it. Exported for other read-only callers.
 */
async function computeReportAt(
  reader: GitReader,
  options: { revision: string; ledgerRevision?: string; sloMinutes?: number; generatedBy: string; now: Date },
  progress: ProgressReporter = NO_PROGRESS,
): Promise<ReportEnvelope> {
  const snapshot = await readSnapshot(reader, options.revision, {
    ...(options.ledgerRevision === undefined ? {} : { ledgerRevision: options.ledgerRevision }),
    onProgress: progress.phase('reading records'),
  });
  const policy = snapshot.manifests.manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;
  return computeRetryRecoveryReport(snapshot.records, {
    sloMinutes: options.sloMinutes ?? policy.recovery.recovery_slo_minutes,
    generatedBy: options.generatedBy,
    now: options.now,
    revision: options.revision,
  });
}

/** Run `report`; returns the exit code (0; failures are typed errors main.ts maps to exit codes). */
export async function runReport(options: ReportCommandOptions, context: CliContext): Promise<number> {
  // Bad flags fail before any git work.
  const format = parseFormat(options.format, REPORT_FORMATS, 'json');
  const sloMinutes = parseSloFlag(options.sloMinutes);
  const repository = await openRepository(options, context, options.branch ?? 'main');
  const progress = createProgressReporter(context);
  try {
    const envelope = await computeReportAt(
      repository.reader,
      {
        ...(await resolveRevisions(repository, options)),
        ...(sloMinutes === undefined ? {} : { sloMinutes }),
        generatedBy: options.generatedBy ?? CLI_GENERATED_BY,
        now: context.clock.now(),
      },
      progress,
    );
    progress.stop();
    context.stdout(renderReport(envelope, format));
    return EXIT.ok;
  } finally {
    progress.stop();
    await repository.close();
  }
}

/** Register `report` on the program. */
export function registerReportCommand(program: Command, context: CliContext): void {
  program
    .command('report')
    .description('print the retry recovery report (SLOs, recovery rows, executions) of a committed revision')
    .option('--repo <dir>', 'local ops repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'branch to read with --remote', 'main')
    .option('--ref <rev>', 'revision to report on (default: HEAD, or the branch tip with --remote)')
    .option(
      '--ledger-branch <name>',
      'records live on this branch (as reconcile --ledger-branch writes them)',
    )
    .option('--ledger-ref <rev>', 'read records from this revision (records on a ledger branch)')
    .option(
      '--slo-minutes <n>',
      "recovery SLO in minutes, 1..525600 (default: the policy's recovery_slo_minutes)",
    )
    .option('--format <format>', `output format: ${REPORT_FORMATS.join(', ')}`, 'json')
    .option('--generated-by <name>', 'generated_by of the report', CLI_GENERATED_BY)
    .action(async (options: ReportCommandOptions) => {
      process.exitCode = await runReport(options, context);
    });
}
