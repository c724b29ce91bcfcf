/**
 * `cavra-gitops serve [--repo DIR|--remote URL] [--branch main] [--ledger-branch B] [--host 127.0.0.1] [--port 8080]`:
 * the read-only API and the Evidence Console over the committed tip.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { GitReader } from '../domain/ports.js';
import { EXIT, ExitError } from '../errors.js';
import { createGitReader, openGitStore } from '../git/index.js';
import type { CavraGitStore } from '../git/store.js';
import { createLogger } from '../observability/logger.js';
import type { CliContext } from './context.js';
import { createLogLevelOption } from './log-level.js';
import { assertLocalRepository, parseDuration } from './repository.js';

export interface ServeCommandOptions {
  repo?: string;
  remote?: string;
  branch?: string;
  ledgerBranch?: string;
  host?: string;
  port?: string;
  refresh?: string;
  logLevel?: string;
}

export function parsePort(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ExitError(`--port ${JSON.stringify(raw)} must be an integer from 0 to 65535.`);
  }
  return port;
}

export async function runServe(options: ServeCommandOptions, context: CliContext): Promise<number> {
  if (options.repo !== undefined && options.remote !== undefined) {
    throw new ExitError('Pass either --repo DIR or --remote URL, not both.');
  }
  const logger = await createLogger({
    write: context.stderr,
    isTTY: context.isTTY,
    level: options.logLevel ?? 'info',
  });
  const branch = options.branch ?? 'main';
  const refreshMs = parseDuration(options.refresh ?? '5s', '--refresh');
  let reader: GitReader & { close(): Promise<void> };
  let tipOf: (b: string) => Promise<string>;
  let store: CavraGitStore | null = null;
  let stateDir: string | null = null;
  if (options.remote === undefined) {
    const local = createGitReader(await assertLocalRepository(options.repo, context), { env: context.env });
    reader = local;
    tipOf = (b) => local.resolve(`refs/heads/${b}`);
  } else {
    stateDir = await mkdtemp(join(tmpdir(), 'cavra-gitops-serve-'));
    store = await openGitStore({
      remote: options.remote,
      stateDir,
      branch,
      ...(options.ledgerBranch ? { ledgerBranch: options.ledgerBranch } : {}),
      replicaId: 'serve',
      env: context.env,
      cwd: context.cwd,
    });
    await store.fetch(branch);
    const opened = store;
    reader = opened;
    tipOf = async (b) => {
      const tip = await opened.readRemoteTip(b);
      if (tip === null) throw new ExitError(`branch ${b} does not exist on ${opened.remoteLabel}.`);
      return tip;
    };
  }
  // Loaded here, not at start-up: express, helmet and prom-client are for serving only.
  const { startApiServer } = await import('./api-server.js');
  const server = await startApiServer({
    reader,
    tipOf,
    branch,
    ledgerBranch: options.ledgerBranch,
    host: options.host ?? '127.0.0.1',
    port: parsePort(options.port, 8080),
    logger,
    context,
  });
  logger.info({ url: `${server.url}/console/` }, 'serving the API and the Evidence Console');
  const refresher = store
    ? setInterval(() => void store.fetch(branch).catch(() => undefined), refreshMs)
    : null;
  await new Promise<void>((resolve) => {
    if (context.signal.aborted) resolve();
    else context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (refresher) clearInterval(refresher);
  await server.close();
  await reader.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  return EXIT.ok;
}

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('serve the read-only API and the Evidence Console')
    .option('--repo <dir>', 'a local repository (default: the current directory)')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'the tracked branch', 'main')
    .option('--ledger-branch <name>', 'records live on this branch')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--refresh <duration>', 'how often to fetch with --remote', '5s')
    .addOption(createLogLevelOption())
    .action(async (options: ServeCommandOptions) => {
      process.exitCode = await runServe(options, context);
    });
}
