/**
 * `cavra-gitops verify [--repo DIR|--remote URL] [--ref REV] [--format text|json]`: recompute every
 * hash, id, reference and approval link of the records at a revision. Exit 1 on any finding.
 */
import type { Command } from 'commander';
import type { GitReader } from '../domain/ports.js';
import type { ExecutionRecord, Finding } from '../domain/types.js';
import { EXIT, GitError } from '../errors.js';
import { readManifests } from '../read-model/read-manifests.js';
import { approvalDecisionId } from '../domain/ids.js';
import { createSnapshotCache, readSnapshot } from '../read-model/read-snapshot.js';
import type { HistoryCache } from '../read-model/history-cache.js';
import { verifyRecords } from '../records/verify-records.js';
import type { CliContext } from './context.js';
import { createProgressReporter } from './progress.js';
import { openRepository, parseFormat, resolveRevisions, type RepositoryOptions } from './repository.js';

const VERIFY_FORMATS = ['text', 'json'] as const;

export interface VerifyCommandOptions extends RepositoryOptions {
  ref?: string;
  ledgerRef?: string;
  branch?: string;
  format?: string;
}

export async function runVerify(options: VerifyCommandOptions, context: CliContext): Promise<number> {
  const format = parseFormat(options.format, VERIFY_FORMATS, 'text');
  const repository = await openRepository(options, context, options.branch ?? 'main');
  const progress = createProgressReporter(context);
  try {
    const { revision, ledgerRevision } = await resolveRevisions(repository, options);
    // One history walk for the revision; the historic reads below are of its ancestors and are
    // answered from the same walk.
    const cache = createSnapshotCache();
    const snapshot = await readSnapshot(repository.reader, revision, {
      ledgerRevision,
      cache,
      onProgress: progress.phase('reading records'),
    });
    const findings: Finding[] = [
      ...snapshot.recordFindings,
      ...verifyRecords(snapshot.records, snapshot.manifests.manifests, {
        knownApprovalDecisionIds: await readHistoricApprovalDecisions(
          repository.reader,
          snapshot.records.executions,
          cache.history,
        ),
      }),
    ];
    const { records } = snapshot;
    const counted =
      records.deliveries.length +
      records.executions.length +
      records.playbooks.length +
      records.closures.length +
      records.runs.length;
    if (format === 'json') {
      context.stdout(`${JSON.stringify({ revision, records: counted, findings }, null, 2)}\n`);
    } else {
      for (const f of findings) context.stdout(`${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}\n`);
      context.stdout(
        findings.length === 0
          ? `verified ${counted} record(s) at ${revision.slice(0, 12)}: every hash, id and reference holds\n`
          : `${findings.length} finding(s) in ${counted} record(s) at ${revision.slice(0, 12)}\n`,
      );
    }
    return findings.length === 0 ? EXIT.ok : EXIT.findings;
  } finally {
    progress.stop();
    await repository.close();
  }
}

/**
 * Decision ids of the approvals as they stood at each execution's approval evidence commit, so an
 * approval the operator removed or edited after its execution still verifies against history.
 * A commit the repository does not have proves nothing and is skipped (the finding remains).
 */
async function readHistoricApprovalDecisions(
  reader: GitReader,
  executions: ExecutionRecord[],
  history: HistoryCache,
): Promise<Set<string>> {
  const decisions = new Set<string>();
  const commits = new Set(
    executions.map((e) => e.approval.commit).filter((commit) => /^[0-9a-f]{40,64}$/.test(commit)),
  );
  for (const commit of commits) {
    try {
      const { manifests } = await readManifests(reader, commit, { history });
      for (const approval of manifests.approvals) decisions.add(approvalDecisionId(approval));
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
    }
  }
  return decisions;
}

export function registerVerifyCommand(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description('Recompute every hash, id, reference and approval of the records at a revision.')
    .option('--repo <dir>', 'a local repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'branch to read with --remote', 'main')
    .option('--ref <rev>', 'revision to verify (default: HEAD, or the branch tip with --remote)')
    .option('--ledger-ref <rev>', 'read records from this revision (records on a ledger branch)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (options: VerifyCommandOptions) => {
      process.exitCode = await runVerify(options, context);
    });
}
