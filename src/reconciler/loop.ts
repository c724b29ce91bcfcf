/**
 * The reconcile loop: run, then sleep until the interval (with jitter) ends, something is due
 * (`nextDueAt`), a watched ref changes (chokidar: a local commit wakes it at once) or shutdown is
 * asked. A run whose tips did not move and that has nothing due is skipped without reading the
 * revision. An unreachable remote does not stop the loop: it backs off and tries again, and the
 * journal keeps every outcome until it lands. SIGTERM (the signal) lets the in-flight run finish.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { IsoTime } from '../domain/types.js';
import { isCavraError, messageOf } from '../errors.js';
import { readJournal } from './journal.js';
import { createSnapshotCache } from '../read-model/read-snapshot.js';
import { createLedgerCheckCache } from './ledger-check.js';
import { emptyRunResult, reconcileOnce, type ReconcilerOptions, type RunResult } from './run-once.js';

export interface LoopOptions extends ReconcilerOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** Git directories whose refs wake the loop when they change (a local ops repo or bare remote). */
  watchGitDirs?: string[];
  /** Stop after the first run (`--once`). */
  once?: boolean;
  /** After each pass, with how long it took (the skipped no-op passes too). */
  onRun?: (result: RunResult, seconds: number) => void;
  /** A run that failed with a CavraError (the loop logs it, backs off and tries again). */
  onError?: (error: Error) => void;
}

/** What the previous run saw, persisted in the state dir so even `--once` can skip a no-op. */
interface LastRun {
  revision: string | null;
  ledger: string | null;
  nextDueAt: IsoTime | null;
  /** Set when the run stalled on the ledger check: unchanged tips stall again, unless something is accepted. */
  stalled?: { reason: string; message: string };
}

const LAST_RUN_FILE = 'last-run.json';
const MAX_ERROR_BACKOFF_MS = 5 * 60_000;

/** Run until the signal aborts (or once). Returns the last run's result. */
export async function runLoop(input: LoopOptions): Promise<RunResult | null> {
  const options: LoopOptions = {
    ...input,
    cache: input.cache ?? createSnapshotCache(),
    checkCache: input.checkCache ?? createLedgerCheckCache(),
  };
  // A single run waits for nothing: no watcher, and no chokidar to load.
  const watcher = options.once ? null : await createRefWatcher(options.watchGitDirs ?? []);
  let last: RunResult | null = null;
  let failures = 0;
  try {
    while (!options.signal.aborted) {
      let waitMs = jittered(options.intervalMs, options.random ?? Math.random);
      const started = process.hrtime.bigint();
      try {
        const result = (await skipIfUnchanged(options)) ?? (await runAndRemember(options));
        const seconds = secondsSince(started);
        // Every pass is observed, the skipped ones too: an idle replica still reports its polls.
        options.metrics?.observeRun(seconds, result.outcome);
        last = result;
        failures = 0;
        options.onRun?.(result, seconds);
        if (result.nextDueAt) {
          waitMs = Math.min(
            waitMs,
            Math.max(0, Date.parse(result.nextDueAt) - options.clock.now().getTime()),
          );
        }
      } catch (error) {
        options.metrics?.observeRun(secondsSince(started), 'failed');
        if (!isCavraError(error)) throw error;
        failures++;
        options.onError?.(error);
        waitMs = Math.min(MAX_ERROR_BACKOFF_MS, options.intervalMs * 2 ** Math.min(failures - 1, 8));
        options.logger.warn(
          { err: error.message, retryInMs: Math.round(waitMs) },
          'reconcile failed; keeping pending work and retrying',
        );
        if (options.once) throw error;
      }
      if (options.once) break;
      await waitForWake(waitMs, options.signal, watcher);
    }
  } finally {
    await watcher?.close();
  }
  return last;
}

async function runAndRemember(options: LoopOptions): Promise<RunResult> {
  const result = await reconcileOnce(options);
  const tips = {
    revision: await options.store.readRemoteTip(options.branch),
    ledger: options.ledgerBranch ? await options.store.readRemoteTip(options.ledgerBranch) : null,
  };
  // With --no-push the remote never moves, so remembering would hide the next run's work.
  if (options.push && result.outcome !== 'failed') {
    const stalled =
      result.outcome === 'stalled' ? { stalled: { reason: result.reason, message: result.message } } : {};
    await writeLastRun(options.store.stateDir, { ...tips, nextDueAt: result.nextDueAt, ...stalled });
  }
  if (result.commits.length > 0) {
    // Between runs, where the pause costs nothing; a failed repack only leaves more packs.
    await options.store.maintain().catch((error: unknown) => {
      options.logger.warn({ err: messageOf(error) }, 'repack failed');
    });
  }
  return result;
}

/**
 * A no-op run: one `git ls-remote`, and stop when neither tip moved since the last run, nothing
 * journaled waits to be pushed, and nothing falls due before now. Anything else runs in full.
 */
async function skipIfUnchanged(options: LoopOptions): Promise<RunResult | null> {
  const last = await readLastRun(options.store.stateDir);
  if (!last) return null;
  // An operator restarted a stalled replica to accept something: run in full.
  const accepting = (options.accept?.ledgerChanges.length ?? 0) + (options.accept?.history.length ?? 0) > 0;
  if (last.stalled && accepting) return null;
  const due = last.nextDueAt !== null && Date.parse(last.nextDueAt) <= options.clock.now().getTime();
  if (due) return null;
  const branches = options.ledgerBranch ? [options.branch, options.ledgerBranch] : [options.branch];
  const tips = await options.store.peekRemoteTips(branches);
  const ledger = options.ledgerBranch ? (tips.get(options.ledgerBranch) ?? null) : null;
  const revision = tips.get(options.branch) ?? null;
  if (revision !== last.revision || ledger !== last.ledger) return null;
  if (await readJournal(options.store.stateDir)) return null;
  if (last.stalled) {
    return { ...emptyRunResult(), outcome: 'stalled', revision, ...last.stalled, nextDueAt: null };
  }
  return {
    ...emptyRunResult(),
    revision,
    nextDueAt: last.nextDueAt,
    message: 'tips unchanged and nothing due',
  };
}

async function readLastRun(stateDir: string): Promise<LastRun | null> {
  try {
    return JSON.parse(await readFile(join(stateDir, LAST_RUN_FILE), 'utf8')) as LastRun;
  } catch {
    return null;
  }
}

async function writeLastRun(stateDir: string, last: LastRun): Promise<void> {
  await writeFile(join(stateDir, LAST_RUN_FILE), JSON.stringify(last));
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function jittered(ms: number, random: () => number): number {
  // ±10 % so replicas started together do not fetch in lockstep.
  return ms * (0.9 + 0.2 * random());
}

interface RefWatcher {
  wake: Promise<void>;
  rearm(): void;
  close(): Promise<void>;
}

async function createRefWatcher(gitDirs: string[]): Promise<RefWatcher | null> {
  const paths = gitDirs
    .flatMap((dir) => [join(dir, 'refs', 'heads'), join(dir, 'packed-refs')])
    .filter((p) => existsSync(p));
  if (paths.length === 0) return null;
  // Loaded only when refs are watched (docs/decisions.md, "Start-up loads what a command uses").
  const { watch } = await import('chokidar');
  let resolveWake: () => void = () => {};
  const state: RefWatcher = {
    wake: Promise.resolve(),
    rearm() {
      state.wake = new Promise<void>((resolve) => (resolveWake = resolve));
    },
    close: () => watcher.close(),
  };
  state.rearm();
  const watcher: FSWatcher = watch(paths, { ignoreInitial: true, depth: 8 });
  watcher.on('all', () => resolveWake());
  return state;
}

async function waitForWake(ms: number, signal: AbortSignal, watcher: RefWatcher | null): Promise<void> {
  if (signal.aborted) return;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<void>[] = [
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  ];
  if (watcher) waits.push(watcher.wake);
  await Promise.race(waits);
  clearTimeout(timer);
  if (onAbort) signal.removeEventListener('abort', onAbort);
  watcher?.rearm();
}
