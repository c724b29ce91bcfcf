/**
 * The API server over a reader, shared by `serve` and `start`. Imported by them when they run
 * (not at CLI start-up), so the commands that do not serve do not load express, helmet and
 * prom-client.
 */
import { createApp } from '../api/app.js';
import type { Metrics } from '../api/metrics.js';
import { createRetryPlanner } from '../api/retry-planner.js';
import type { RunObserver } from '../api/run-observer.js';
import { startServer, type RunningServer } from '../api/server.js';
import { createSnapshotSource } from '../api/snapshot-source.js';
import type { GitReader } from '../domain/ports.js';
import { ExitError, GitError, messageOf } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { CliContext } from './context.js';

export interface ApiServerOptions {
  reader: GitReader;
  /** Tip of a branch as this process knows it (a local ref, or the store's last fetched tip). */
  tipOf: (branch: string) => Promise<string>;
  branch: string;
  ledgerBranch?: string | undefined;
  host: string;
  port: number;
  metrics?: Metrics;
  /** The loop's runs, for `/status` (`start`); `serve` has none. */
  runObserver?: RunObserver;
  logger: Logger;
  context: CliContext;
}

/** Build the app over a reader and listen (shared by `serve` and `start`). */
export async function startApiServer(options: ApiServerOptions): Promise<RunningServer> {
  const source = createSnapshotSource(options.reader, {
    tip: () => options.tipOf(options.branch),
    ...(options.ledgerBranch
      ? {
          // Until a reconciler creates the ledger branch (seeding it from the tracked branch's
          // records, docs/reference.md §6a) the records are the tracked branch's.
          ledgerTip: () =>
            options.tipOf(options.ledgerBranch!).catch((error: unknown) => {
              if (!(error instanceof ExitError) && !(error instanceof GitError)) throw error;
              return options.tipOf(options.branch);
            }),
        }
      : {}),
  });
  const app = createApp({
    source,
    clock: options.context.clock,
    planRetries: createRetryPlanner(options.reader),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.runObserver ? { runObserver: options.runObserver } : {}),
    onError: (error, request) =>
      options.logger.error({ err: messageOf(error), ...request }, 'API request failed'),
  });
  try {
    return await startServer(app, { host: options.host, port: options.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new ExitError(
        `port ${options.port} on ${options.host} is already in use; pass --port with a free port.`,
      );
    }
    throw error;
  }
}
