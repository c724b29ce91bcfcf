/**
 * `cavra-gitops start [reconcile and serve options]`: the reconcile loop and the API in one
 * process, sharing one clone and one metrics registry. With no repository given it runs the
 * bundled demo (see demo.ts).
 */
import type { Command } from 'commander';
import { EXIT, ExitError } from '../errors.js';
import { runLoop } from '../reconciler/loop.js';
import type { CliContext } from './context.js';
import { demoInstructions, prepareDemo } from './demo.js';
import { createLogLevelOption } from './log-level.js';
import { createReconciler, logRunResult, type ReconcileCommandOptions } from './reconcile.js';
import { parsePort } from './serve.js';

const DEFAULT_PORT = 8080;

export interface StartCommandOptions extends ReconcileCommandOptions {
  host?: string;
  port?: string;
}

export async function runStart(options: StartCommandOptions, context: CliContext): Promise<number> {
  const demo =
    options.repo === undefined && options.remote === undefined
      ? await prepareDemo(context.cwd, context.env)
      : null;
  const effective: StartCommandOptions = demo
    ? {
        ...options,
        remote: demo.layout.remote,
        stateDir: options.stateDir ?? demo.layout.stateDir,
        interval: options.interval ?? '10s',
        replicaId: options.replicaId ?? 'demo',
        fileRoot: options.fileRoot ?? (context.env.CAVRA_GITOPS_FILE_ROOT || demo.layout.fileRoot),
      }
    : options;
  const runContext: CliContext = demo
    ? { ...context, env: { ...demo.layout.env, ...context.env }, cwd: demo.layout.root }
    : context;
  if (demo) {
    runContext.stderr(
      demo.created
        ? `Created the demo ops repository in ${demo.layout.root} from the bundled manifests.\n`
        : `Reusing the demo in ${demo.layout.root}.\n`,
    );
  }

  // Loaded here, not at CLI start-up (see api-server.ts).
  const [{ createMetrics }, { createRunRecorder }, { startApiServer }] = await Promise.all([
    import('../api/metrics.js'),
    import('../api/run-observer.js'),
    import('./api-server.js'),
  ]);
  const metrics = createMetrics();
  // The loop's own runs, so /status shows this process's last run and last error.
  const runs = createRunRecorder(() => runContext.clock.now());
  const reconciler = await createReconciler(effective, runContext, metrics);
  try {
    const { store, loop, logger } = reconciler;
    await store.fetch(loop.branch);
    const serve = (port: number): ReturnType<typeof startApiServer> =>
      startApiServer({
        reader: store,
        tipOf: async (branch) => (await store.readRemoteTip(branch)) ?? (await store.resolve(branch)),
        branch: loop.branch,
        ledgerBranch: loop.ledgerBranch ?? undefined,
        host: options.host ?? '127.0.0.1',
        port,
        metrics,
        runObserver: runs,
        logger,
        context: runContext,
      });
    // The demo prefers the usual port for a stable URL, but must not fail because it is taken.
    const server = await serve(parsePort(options.port, DEFAULT_PORT)).catch((error: unknown) => {
      if (demo && options.port === undefined && error instanceof ExitError) return serve(0);
      throw error;
    });
    let hintedPlaybook: string | null = null;
    if (demo) runContext.stderr(demoInstructions(demo.layout, server.url, null));
    else logger.info({ url: `${server.url}/console/` }, 'serving the API and the Evidence Console');
    try {
      await runLoop({
        ...loop,
        onError: (error) => runs.recordError(error),
        onRun: (result, seconds) => {
          runs.recordRun(result);
          logRunResult(logger, result, seconds);
          if (!demo || hintedPlaybook) return;
          findOpenPlaybook(store, loop.ledgerBranch ?? loop.branch)
            .then((id) => {
              if (id && !hintedPlaybook) {
                hintedPlaybook = id;
                runContext.stderr(demoInstructions(demo.layout, server.url, id));
              }
            })
            // Only a hint: a store closing at shutdown must not become an unhandled rejection.
            .catch(() => undefined);
        },
      });
    } finally {
      await server.close();
    }
    return EXIT.ok;
  } finally {
    await reconciler.close();
  }
}

/** The newest playbook id on the branch, for the demo's ready-to-paste closure. */
async function findOpenPlaybook(
  store: Awaited<ReturnType<typeof createReconciler>>['store'],
  branch: string,
): Promise<string | null> {
  const tip = await store.readRemoteTip(branch);
  if (!tip) return null;
  const entries = await store.listTree(tip, ['records/playbooks/'], { sizes: false });
  const last = entries
    .map((e) => e.path)
    .sort()
    .pop();
  return last ? (last.split('/').pop() ?? '').replace(/\.json$/, '') : null;
}

export function registerStartCommand(program: Command, context: CliContext): void {
  program
    .command('start')
    .description('the reconcile loop and the API together; with no repository, the bundled demo')
    .option('--repo <dir>', 'a local repository')
    .option('--remote <url>', 'any git URL, a bare repository path included')
    .option('--branch <name>', 'the tracked branch', 'main')
    .option('--ledger-branch <name>', 'write records to this branch instead of the tracked one')
    .option('--interval <duration>', 'time between runs (default 30s; 10s for the demo)')
    .option('--replica-id <id>', 'this replica’s name (default: the host name)')
    .option('--state-dir <dir>', 'where this replica keeps its clone')
    .option('--claim-lease <duration>', 'lease of a claim before its outcome counts as unknown', '10m')
    .option(
      '--file-root <dir>',
      'the only directory file providers write under (default: $CAVRA_GITOPS_FILE_ROOT, else files/ in the state dir; the demo: .demo/files)',
    )
    .option('--shard <i/n>', 'only take calls whose claim id hashes to shard i of n')
    .option(
      '--author <identity>',
      'author of the reconciler’s commits, "NAME <EMAIL>" (default: cavra-gitops <replica id>)',
    )
    .addOption(createLogLevelOption())
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on (default 8080; the demo falls back to a free one)')
    .action(async (options: StartCommandOptions) => {
      process.exitCode = await runStart(options, context);
    });
}
