/**
 * What every command gets injected: output streams, env, cwd and the clock. Commands never touch
 * `process` directly, so tests run them in-process and read what they printed and returned.
 */
import type { Clock, Env } from '../domain/ports.js';
import { ExitError } from '../errors.js';

export interface CliContext {
  /** Machine-readable output only (json, markdown, text results). */
  stdout: (text: string) => void;
  /** Logs, progress and human messages. */
  stderr: (text: string) => void;
  env: Env;
  cwd: string;
  clock: Clock;
  /** True when stderr is a terminal (progress output, human log format). */
  isTTY: boolean;
  /** The terminal behind stderr, for progress bars (absent in tests and when not a TTY). */
  terminal?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT/SIGTERM: long-running commands finish the in-flight step and return. */
  signal: AbortSignal;
}

/**
 * The clock every command uses: `CAVRA_GITOPS_NOW` (ISO-8601 UTC) when set, else the wall clock.
 * A malformed value is a configuration error, not a silent fallback.
 */
export function createClock(env: Env): Clock {
  const fixed = env.CAVRA_GITOPS_NOW;
  if (fixed === undefined || fixed === '') return { now: () => new Date() };
  const time = Date.parse(fixed);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(fixed) || Number.isNaN(time)) {
    throw new ExitError(
      `CAVRA_GITOPS_NOW="${fixed}" is not a UTC ISO-8601 time; use a value like 2026-06-28T10:00:00Z.`,
    );
  }
  return { now: () => new Date(time) };
}

/** The real process context, built once in main.ts. */
export function createProcessContext(signal: AbortSignal): CliContext {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    clock: createClock(process.env),
    isTTY: Boolean(process.stderr.isTTY),
    ...(process.stderr.isTTY ? { terminal: process.stderr } : {}),
    signal,
  };
}
