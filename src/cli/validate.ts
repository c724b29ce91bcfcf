/**
 * `cavra-gitops validate [--repo DIR] [--ref REV | --worktree] [--remote PATH] [--ledger-ref REV]
 *   [--format text|json|github] [--watch]`:
 * schema + semantic validation of the manifests of a committed revision (default `HEAD`), or of the
 * files on disk with `--worktree`. Closure references (playbook, the provider inside it,
 * verification refs) are checked against the records of the revision (of the committed tip with
 * `--worktree`; of `--ledger-ref` when records live on a ledger branch), as the reconciler checks
 * them, so a PR check rejects what a reconcile would skip. Exit 0 when valid, 1 when any finding
 * is an error, 2 on usage.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { GitReader } from '../domain/ports.js';
import { EXIT, ExitError, GitError, messageOf } from '../errors.js';
import {
  VALIDATE_FORMATS,
  countErrors,
  formatFindings,
  type ValidateFormat,
} from '../manifests/format-findings.js';
import { createHistoryCache, prefetchBranch } from '../read-model/history-cache.js';
import { readManifests, readWorktreeManifests } from '../read-model/read-manifests.js';
import type { ClosureTargets } from '../domain/closures.js';
import type { ManifestLoadResult } from '../manifests/validate-manifests.js';
import { indexRecords, readRecords, type RecordCache } from '../records/read-records.js';
import type { CliContext } from './context.js';
import { createProgressReporter } from './progress.js';
import { assertLocalDirectory, openRepository, parseFormat, resolveRevisions } from './repository.js';

export interface ValidateCommandOptions {
  /** Local repository (default: the current directory). */
  repo?: string;
  /** Any git URL, a bare repository path included (read through a throw-away clone). */
  remote?: string;
  /** Branch to read with --remote (default main). */
  branch?: string;
  /** Revision to validate (default `HEAD`). */
  ref?: string;
  /** Read records from this revision (records on a ledger branch); default: the revision validated. */
  ledgerRef?: string;
  /** Validate the files on disk instead of a commit. */
  worktree?: boolean;
  /** Raw `--format` value (default `text`). */
  format?: string;
  /** Re-validate the working tree on every save until the context signal aborts (implies --worktree). */
  watch?: boolean;
  /** Quiet period after a change before re-validating, in ms (default 100; tests use 0). */
  debounceMs?: number;
}

function exitCodeOf(result: ManifestLoadResult): number {
  return countErrors(result.findings) > 0 ? EXIT.findings : EXIT.ok;
}

/** The local directory for --worktree / --watch; those read files on disk, never a remote. */
async function worktreeDir(options: ValidateCommandOptions, context: CliContext): Promise<string> {
  if (options.remote !== undefined) {
    throw new ExitError('--worktree and --watch read files on disk; use --repo DIR with them, not --remote.');
  }
  return assertLocalDirectory(options.repo, context);
}

/** Validate the committed revision `ref` (default: HEAD, or the branch tip with --remote). */
async function validateRevision(
  options: ValidateCommandOptions,
  context: CliContext,
): Promise<{ revision: string; result: ManifestLoadResult }> {
  const repository = await openRepository(options, context, options.branch ?? 'main');
  const progress = createProgressReporter(context);
  try {
    const { revision, ledgerRevision } = await resolveRevisions(repository, options);
    const history = createHistoryCache();
    // git walks the history (for provenance) while the records are read and checked.
    prefetchBranch(repository.reader, history, 'tracked', revision);
    const records = await readRecordTargets(repository.reader, ledgerRevision ?? revision);
    const onProgress = progress.phase('validating manifests');
    return {
      revision,
      result: await readManifests(repository.reader, revision, { records, onProgress, history }),
    };
  } finally {
    progress.stop();
    await repository.close();
  }
}

/** The closure targets of the records at `commit` (one ls-tree, one blob batch). */
async function readRecordTargets(
  reader: GitReader,
  commit: string,
  cache?: RecordCache,
): Promise<ClosureTargets> {
  const { records } = await readRecords(reader, commit, cache ? { cache } : {});
  return indexRecords(records);
}

/**
 * For --worktree and --watch: the records of the committed tip of the repository holding `dir`
 * (`HEAD`, or `--ledger-ref`), so closures on disk are checked against what is recorded. Without
 * a commit (a new repository, or a directory outside git) there are no records to check against,
 * and closure references are left to the reconciler; an explicit `--ledger-ref` must resolve.
 */
async function readCommittedClosureTargets(
  dir: string,
  options: ValidateCommandOptions,
  context: CliContext,
  cache?: RecordCache,
): Promise<ClosureTargets | undefined> {
  const repository = await openRepository({ repo: dir }, context);
  try {
    let commit: string;
    try {
      commit = await repository.resolve(options.ledgerRef ?? 'HEAD');
    } catch (error) {
      if (options.ledgerRef === undefined && error instanceof GitError) return undefined;
      throw error;
    }
    return await readRecordTargets(repository.reader, commit, cache);
  } finally {
    await repository.close();
  }
}

/** Run `validate`; returns the exit code. Usage errors are thrown as ExitError, git failures as GitError. */
export async function runValidate(options: ValidateCommandOptions, context: CliContext): Promise<number> {
  const format = parseFormat(options.format, VALIDATE_FORMATS, 'text');
  if (options.worktree === true && options.ref !== undefined) {
    throw new ExitError('--ref and --worktree exclude each other: validate a commit or the files on disk.');
  }
  if (options.watch === true && options.ref !== undefined) {
    throw new ExitError(
      '--watch re-validates files on disk as they are saved; drop --ref (it implies --worktree).',
    );
  }
  if (options.watch === true) {
    return watchWorktree(await worktreeDir(options, context), options, format, context);
  }
  if (options.worktree === true) {
    const dir = await worktreeDir(options, context);
    const records = await readCommittedClosureTargets(dir, options, context);
    const progress = createProgressReporter(context);
    const result = await readWorktreeManifests(dir, {
      ...(records ? { records } : {}),
      onProgress: progress.phase('validating manifests'),
    }).finally(() => progress.stop());
    context.stdout(formatFindings(format, { revision: 'worktree', ...result }));
    return exitCodeOf(result);
  }
  const { revision, result } = await validateRevision(options, context);
  context.stdout(formatFindings(format, { revision, ...result }));
  return exitCodeOf(result);
}

/**
 * Validate the working tree now and after every change under manifests/ (debounced), until
 * `context.signal` aborts. Returns the exit code of the last validation.
 */
async function watchWorktree(
  repoDir: string,
  options: ValidateCommandOptions,
  format: ValidateFormat,
  context: CliContext,
): Promise<number> {
  const debounceMs = options.debounceMs ?? 100;
  // Records are re-read each time (a commit may land while watching), parsed only when new.
  const recordCache: RecordCache = new Map();
  const dir = join(repoDir, 'manifests');
  if (!existsSync(dir)) {
    throw new ExitError(
      `There is no manifests/ directory in ${repoDir} to watch; create it or pass --repo DIR.`,
    );
  }
  let lastExit: number = EXIT.ok;
  const validateOnce = async (): Promise<void> => {
    const records = await readCommittedClosureTargets(repoDir, options, context, recordCache);
    const result = await readWorktreeManifests(repoDir, records ? { records } : {});
    lastExit = exitCodeOf(result);
    context.stdout(formatFindings(format, { revision: 'worktree', ...result }));
  };
  // Watch first, validate second: a save right after the first output must not be missed.
  const { watch } = await import('chokidar'); // only for --watch (docs/decisions.md, "Start-up …")
  const watcher = watch(dir, { ignoreInitial: true, persistent: true });
  await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // Serialise runs so outputs never interleave.
      running = running.then(validateOnce).catch((error: unknown) => {
        context.stderr(`validate --watch: ${messageOf(error)}\n`);
      });
    }, debounceMs);
  };
  watcher.on('all', schedule);
  running = validateOnce();
  await running;
  context.stderr(`Watching ${dir} for changes; press Ctrl-C to stop.\n`);
  await new Promise<void>((resolveStop) => {
    if (context.signal.aborted) resolveStop();
    else context.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  if (timer !== undefined) clearTimeout(timer);
  await watcher.close();
  await running;
  return lastExit;
}

/** Register `validate` on the program. Sets `process.exitCode` to 1 when there are error findings. */
export function registerValidateCommand(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description(
      'validate the manifests of a committed revision (or of the working tree) against the schemas and semantic rules',
    )
    .option('--repo <dir>', 'local ops repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'branch to read with --remote', 'main')
    .option('--ref <rev>', 'revision to validate (default: HEAD, or the branch tip with --remote)')
    .option(
      '--ledger-ref <rev>',
      'check closure references against the records of this revision (records on a ledger branch)',
    )
    .option('--worktree', 'validate the files on disk instead of a commit (editors, pre-commit)')
    .option('--format <format>', `output format: ${VALIDATE_FORMATS.join(', ')}`, 'text')
    .option('--watch', 're-validate the working tree whenever a manifest is saved (implies --worktree)')
    .action(async (options: ValidateCommandOptions) => {
      const code = await runValidate(options, context);
      if (code !== EXIT.ok) process.exitCode = code;
    });
}
