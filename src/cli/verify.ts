/**
 * `cavra-gitops verify [--repo DIR|--remote URL] [--ref REV] [--ledger-branch B | --ledger-ref REV]
 *   [--since COMMIT] [--format text|json]`: the audit of docs/reference.md §6a from a clone alone
 * (src/audit/audit-ledger.ts). One line per finding with its rule id, the file and the commit;
 * exit 1 on any finding.
 */
import type { Command } from 'commander';
import { auditLedger, type AuditProgress, type AuditResult } from '../audit/audit-ledger.js';
import { EXIT } from '../errors.js';
import type { CliContext } from './context.js';
import { createProgressReporter } from './progress.js';
import { openRepository, parseFormat, resolveRevisions, type RepositoryOptions } from './repository.js';

const VERIFY_FORMATS = ['text', 'json'] as const;

export interface VerifyCommandOptions extends RepositoryOptions {
  ref?: string;
  ledgerRef?: string;
  branch?: string;
  since?: string;
  format?: string;
}

export async function runVerify(options: VerifyCommandOptions, context: CliContext): Promise<number> {
  const format = parseFormat(options.format, VERIFY_FORMATS, 'text');
  const repository = await openRepository(options, context, options.branch ?? 'main');
  const progress = createProgress(context);
  try {
    const { revision, ledgerRevision } = await resolveRevisions(repository, options);
    const since = options.since === undefined ? null : await repository.resolve(options.since);
    const result = await auditLedger(repository.reader, {
      revision,
      ledgerRevision: ledgerRevision ?? revision,
      since,
      onProgress: progress.report,
    });
    progress.stop();
    context.stdout(format === 'json' ? renderJson(result, since) : renderText(result, since));
    return result.findings.length === 0 ? EXIT.ok : EXIT.findings;
  } finally {
    progress.stop();
    await repository.close();
  }
}

function renderJson(result: AuditResult, since: string | null): string {
  return `${JSON.stringify(
    {
      revision: result.revision,
      ledger_revision: result.ledgerRevision,
      since,
      commits: result.commits,
      records: result.records,
      findings: result.findings,
      accepted: result.accepted,
    },
    null,
    2,
  )}\n`;
}

function renderText(result: AuditResult, since: string | null): string {
  const lines = result.findings.map(
    (finding) =>
      `${finding.file}${finding.commit ? ` @${finding.commit.slice(0, 12)}` : ''} ${finding.rule}: ${finding.message}`,
  );
  for (const change of result.accepted) {
    lines.push(
      `accepted ${change.commit.slice(0, 12)}: an operator accepted its change to ${change.files.join(', ')} (--accept-ledger-change)`,
    );
  }
  const scope = `${result.commits} commit(s)${since ? ` since ${since.slice(0, 12)}` : ''}`;
  lines.push(
    result.findings.length === 0
      ? `verified ${result.records} record(s) and ${scope} at ${result.revision.slice(0, 12)}: append-only, every hash, id, approval and report recomputes`
      : `${result.findings.length} finding(s) in ${result.records} record(s) and ${scope} at ${result.revision.slice(0, 12)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Progress on a TTY only, one bar per phase of the audit (the shared reporter). */
function createProgress(context: CliContext): { report: AuditProgress; stop(): void } {
  const reporter = createProgressReporter(context);
  const phases = new Map<string, (done: number, total: number) => void>();
  return {
    report: (phase, done, total) => {
      let bar = phases.get(phase);
      if (bar === undefined) {
        bar = reporter.phase(phase);
        phases.set(phase, bar);
      }
      bar(done, total);
    },
    stop: () => reporter.stop(),
  };
}

export function registerVerifyCommand(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description(
      'audit the ledger from git alone: append-only history, hashes, ids, approvals, playbooks and the report',
    )
    .option('--repo <dir>', 'a local repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'the tracked branch to read with --remote', 'main')
    .option('--ref <rev>', 'revision to verify (default: HEAD, or the branch tip with --remote)')
    .option(
      '--ledger-branch <name>',
      'records live on this branch (as reconcile --ledger-branch writes them)',
    )
    .option('--ledger-ref <rev>', 'read records from this revision')
    .option('--since <commit>', 'audit only what the ledger commits after this one did')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: VerifyCommandOptions) => {
      process.exitCode = await runVerify(options, context);
    });
}
