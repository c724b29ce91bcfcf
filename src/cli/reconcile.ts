/**
 * `cavra-gitops reconcile [--repo DIR|--remote URL] [--branch main] [--ledger-branch B] [--once]
 *   [--interval 30s] [--no-push] [--replica-id ID] [--shard i/n] [--state-dir DIR] [--claim-lease 10m]
 *   [--file-root DIR]`
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { Metrics } from '../api/metrics.js';
import { createConnector, createConnectorContext, loadHttpClient } from '../connectors/index.js';
import { CONDITION_REASONS } from '../domain/conditions.js';
import { EXIT, ExitError } from '../errors.js';
import {
  defaultReplicaId,
  gitDirOf,
  isLocalRemote,
  openGitStore,
  readCheckedOutBranch,
  resolveStateDir,
} from '../git/index.js';
import type { CavraGitStore } from '../git/store.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { runLoop, type LoopOptions } from '../reconciler/loop.js';
import { DEFAULT_LEASE_MINUTES } from '../plan/plan-reconcile.js';
import type { ReconcilerMetrics, RunResult, Shard } from '../reconciler/run-once.js';
import type { CliContext } from './context.js';
import { createProgressReporter } from './progress.js';
import { createLogLevelOption } from './log-level.js';
import { assertLocalRepository, parseDuration } from './repository.js';

export interface ReconcileCommandOptions {
  repo?: string;
  remote?: string;
  branch?: string;
  ledgerBranch?: string;
  once?: boolean;
  interval?: string;
  push?: boolean;
  replicaId?: string;
  shard?: string;
  stateDir?: string;
  claimLease?: string;
  /** Where `file` providers write (their `options.directory` is relative to it). */
  fileRoot?: string;
  logLevel?: string;
  /** Commits whose changes to the ledger the operator accepts (repeatable). */
  acceptLedgerChange?: string[] | string;
  /** Tips whose rewritten history the operator accepts (repeatable). */
  acceptHistory?: string[] | string;
  /** An ssh private key file: reconciler commits are ssh-signed with it. */
  signingKey?: string;
  /** `NAME <EMAIL>` of the reconciler's commits (default `cavra-gitops <replica id>`). */
  author?: string;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

/** Parse `--author "NAME <EMAIL>"` (git's identity form); a usage error for anything else. */
export function parseAuthor(raw: string | undefined): CommitAuthor | null {
  if (raw === undefined) return null;
  const match = /^([^<>\n]*[^<>\s])\s*<([^<>\s]+)>$/.exec(raw.trim());
  if (!match) {
    throw new ExitError(
      `--author ${JSON.stringify(raw.slice(0, 80))} is not an identity; use the form "NAME <EMAIL>", e.g. "cavra-gitops <cavra-gitops@example.com>".`,
    );
  }
  return { name: match[1]!, email: match[2]! };
}

export interface Reconciler {
  loop: LoopOptions;
  store: CavraGitStore;
  logger: Logger;
  close(): Promise<void>;
}

/** Env var names whose values are secret by convention: scrubbed from every log line. */
const SECRET_ENV_NAME = /(URL|TOKEN|SECRET|KEY|PASSWORD|CREDENTIALS?)$/i;

export function secretEnvValues(env: CliContext['env']): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_ENV_NAME.test(name) && value !== undefined && value.length >= 8)
    .map(([, value]) => value as string);
}

/**
 * The file root: `--file-root`, else `CAVRA_GITOPS_FILE_ROOT`, else `files/` in the replica's state
 * dir — a directory the reconciler already owns and can write, wherever it was started from (a
 * service's cwd may be `/`, an operator's may be the ops checkout, which must not fill up with
 * audit files). Relative values resolve against the cwd.
 */
function resolveFileRoot(options: {
  explicit: string | undefined;
  env: CliContext['env'];
  stateDir: string;
  cwd: string;
}): string {
  const chosen = options.explicit ?? options.env.CAVRA_GITOPS_FILE_ROOT;
  if (chosen === undefined || chosen.trim() === '') return join(options.stateDir, FILE_ROOT_DIR);
  return resolvePath(options.cwd, chosen);
}

/** The default file root's name inside the state dir. */
const FILE_ROOT_DIR = 'files';

/**
 * A repeatable option's values; from an env var (`CAVRA_GITOPS_ACCEPT_LEDGER_CHANGE`) it is one
 * string, which may hold several commits separated by spaces or commas.
 */
function listOf(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? value.split(/[\s,]+/).filter((item) => item !== '') : value;
}

/** `--signing-key FILE` resolved and readable; a usage error naming it otherwise. */
async function checkSigningKey(file: string, context: CliContext): Promise<string> {
  const path = resolvePath(context.cwd, file);
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new ExitError(
      `--signing-key ${file} cannot be read; pass the path of the ssh private key reconciler commits are signed with.`,
    );
  }
  return path;
}

/** Commander's collector for a repeatable option. */
function collectValues(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseShard(raw: string | undefined): Shard | null {
  if (raw === undefined) return null;
  const match = /^(\d+)\/(\d+)$/.exec(raw);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count) {
    throw new ExitError(`--shard ${JSON.stringify(raw)} must be i/n with 0 <= i < n, e.g. 0/2.`);
  }
  return { index, count };
}

/** Adapt the API's Prometheus handle to what the reconciler observes. */
export function reconcilerMetrics(metrics: Metrics): ReconcilerMetrics {
  return {
    observeRun: (seconds, outcome) => metrics.reconcileDuration.observe({ outcome }, seconds),
    countExecution: (status) => metrics.executions.inc({ status }),
    countPushConflict: () => metrics.pushConflicts.inc(),
  };
}

/** Open the replica's clone and build the loop's options (shared by `reconcile` and `start`). */
export async function createReconciler(
  options: ReconcileCommandOptions,
  context: CliContext,
  metrics?: Metrics,
): Promise<Reconciler> {
  if (options.repo !== undefined && options.remote !== undefined) {
    throw new ExitError('Pass either --repo DIR or --remote URL, not both.');
  }
  const remote = options.remote ?? (await assertLocalRepository(options.repo, context));
  const branch = options.branch ?? 'main';
  const ledgerBranch = options.ledgerBranch ?? null;
  if (options.remote === undefined) await refuseCheckedOutTarget(remote, ledgerBranch ?? branch, context);
  const replicaId = options.replicaId ?? defaultReplicaId();
  const stateDir = resolveStateDir({
    remote,
    replicaId,
    explicit: options.stateDir,
    env: context.env,
    cwd: context.cwd,
  });
  const leaseMs = options.claimLease
    ? parseDuration(options.claimLease, '--claim-lease')
    : DEFAULT_LEASE_MINUTES * 60_000;
  const intervalMs = parseDuration(options.interval ?? '30s', '--interval');
  const shard = parseShard(options.shard);
  const author = parseAuthor(options.author);
  const signingKey =
    options.signingKey === undefined ? undefined : await checkSigningKey(options.signingKey, context);
  const logger = await createLogger({
    write: context.stderr,
    isTTY: context.isTTY,
    level: options.logLevel ?? 'info',
    secrets: secretEnvValues(context.env),
  });
  const store = await openGitStore({
    remote,
    stateDir,
    branch,
    ...(ledgerBranch ? { ledgerBranch } : {}),
    replicaId,
    ...(author ? { authorName: author.name, authorEmail: author.email } : {}),
    ...(signingKey ? { signingKey } : {}),
    env: context.env,
    clock: context.clock,
    cwd: context.cwd,
  });
  const fileRoot = resolveFileRoot({
    explicit: options.fileRoot,
    env: context.env,
    stateDir,
    cwd: context.cwd,
  });
  const connectorContext = createConnectorContext({ env: context.env, fileRoot });
  const loop: LoopOptions = {
    store,
    branch,
    ledgerBranch,
    replicaId,
    clock: context.clock,
    leaseMinutes: leaseMs / 60_000,
    push: options.push !== false,
    shard,
    connectorFor: (provider) => createConnector(provider, connectorContext),
    prepareCalls: loadHttpClient,
    logger,
    ...(metrics ? { metrics: reconcilerMetrics(metrics) } : {}),
    intervalMs,
    signal: context.signal,
    once: options.once === true,
    watchGitDirs: isLocalRemote(remote) ? [gitDirOf(remote)] : [],
    accept: {
      ledgerChanges: listOf(options.acceptLedgerChange),
      history: listOf(options.acceptHistory),
    },
  };
  return { loop, store, logger, close: () => store.close() };
}

/**
 * Pushing records to the branch a non-bare repository has checked out would be refused by git
 * (or, with updateInstead, rewrite the operator's working tree): say what to do instead.
 */
async function refuseCheckedOutTarget(repo: string, target: string, context: CliContext): Promise<void> {
  if ((await readCheckedOutBranch(repo, { env: context.env })) === target) {
    throw new ExitError(
      `${repo} has ${target} checked out, so records cannot be pushed there without touching your working tree; ` +
        `reconcile against the bare remote (--remote URL) or write records to another branch (--ledger-branch cavra-ledger).`,
    );
  }
}

/** One line per run: info when it did something, debug for the quiet no-op runs of a loop. */
export function logRunResult(logger: Logger, result: RunResult, seconds: number): void {
  const fields = {
    outcome: result.outcome,
    revision: result.revision,
    commits: result.commits.length,
    nextDueAt: result.nextDueAt,
    durationMs: Math.round(seconds * 1000),
  };
  if (result.outcome === 'noop') logger.debug(fields, result.message);
  else logger.info(fields, result.message);
}

export async function runReconcile(options: ReconcileCommandOptions, context: CliContext): Promise<number> {
  const reconciler = await createReconciler(options, context);
  // A bar per pass of calls, on a terminal only (the reporter draws nothing elsewhere).
  const progress = createProgressReporter(context);
  try {
    reconciler.logger.info(
      {
        remote: reconciler.store.remoteLabel,
        branch: reconciler.loop.branch,
        replica: reconciler.loop.replicaId,
        stateDir: reconciler.store.stateDir,
      },
      options.once ? 'reconciling once' : 'reconcile loop started',
    );
    const last = await runLoop({
      ...reconciler.loop,
      onProgress: progress.phase('calling connectors'),
      onRun: (result, seconds) => logRunResult(reconciler.logger, result, seconds),
    });
    if (last?.outcome === 'failed') return EXIT.infrastructure;
    // A ledger or history that cannot be trusted is a failed verification (docs/reference.md §5, §6a).
    const distrusted: readonly string[] = [
      CONDITION_REASONS.LedgerTampered,
      CONDITION_REASONS.HistoryRewritten,
    ];
    return last?.outcome === 'stalled' && distrusted.includes(last.reason) ? EXIT.findings : EXIT.ok;
  } finally {
    progress.stop();
    await reconciler.close();
  }
}

export function registerReconcileCommand(program: Command, context: CliContext): void {
  program
    .command('reconcile')
    .description('deliver, execute approved retries exactly once, and commit hashed records back')
    .option('--repo <dir>', 'a local repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'the tracked branch', 'main')
    .option('--ledger-branch <name>', 'write records to this branch instead of the tracked one')
    .option('--once', 'run once and exit')
    .option('--interval <duration>', 'time between runs, e.g. 30s', '30s')
    .option('--no-push', 'commit locally only; make no connector call')
    .option('--replica-id <id>', 'this replica’s name (default: the host name)')
    .option('--shard <i/n>', 'only take calls whose claim id hashes to shard i of n')
    .option(
      '--state-dir <dir>',
      'where this replica keeps its clone (default: derived from remote and replica id)',
    )
    .option('--claim-lease <duration>', 'lease of a claim before its outcome counts as unknown', '10m')
    .option(
      '--file-root <dir>',
      'the only directory file providers write under (default: $CAVRA_GITOPS_FILE_ROOT, else files/ in the state dir)',
    )
    .option(
      '--author <identity>',
      'author of the reconciler’s commits, "NAME <EMAIL>" (default: cavra-gitops <replica id>)',
    )
    .addOption(createLogLevelOption())
    .option(
      '--signing-key <file>',
      'ssh private key: reconciler commits are ssh-signed with it (policy reconciler_signers, require_signed_records)',
    )
    .option(
      '--accept-ledger-change <commit>',
      'accept the changes this commit made to records/ or reports/ (after a LedgerTampered stall); repeatable',
      collectValues,
      [],
    )
    .option(
      '--accept-history <tip>',
      'accept a rewritten history whose tip is this commit (after a HistoryRewritten stall); repeatable',
      collectValues,
      [],
    )
    .action(async (options: ReconcileCommandOptions) => {
      process.exitCode = await runReconcile(options, context);
    });
}
