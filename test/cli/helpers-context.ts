/** An in-memory CliContext for command tests: captured stdout/stderr, fixed clock, own abort controller. */
import type { CliContext } from '../../src/cli/context.js';

export interface CapturedContext {
  context: CliContext;
  stdout: () => string;
  stderr: () => string;
  controller: AbortController;
  /** Resolves when stdout has been written `count` times in total. */
  waitForStdoutWrites: (count: number) => Promise<void>;
  /** Resolves once everything written to stdout so far contains `text`. */
  waitForStdout: (text: string) => Promise<void>;
}

export function createTestContext(cwd: string): CapturedContext {
  const out: string[] = [];
  const err: string[] = [];
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  const controller = new AbortController();
  const waitUntil = (ready: () => boolean): Promise<void> =>
    ready() ? Promise.resolve() : new Promise((resolve) => waiters.push({ ready, resolve }));
  const context: CliContext = {
    stdout: (text) => {
      out.push(text);
      for (const waiter of waiters.filter((w) => w.ready())) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    stderr: (text) => err.push(text),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
    cwd,
    clock: { now: () => new Date('2026-06-28T12:00:00Z') },
    isTTY: false,
    signal: controller.signal,
  };
  return {
    context,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    controller,
    waitForStdoutWrites: (count) => waitUntil(() => out.length >= count),
    waitForStdout: (text) => waitUntil(() => out.join('').includes(text)),
  };
}
