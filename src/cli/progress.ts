/**
 * Progress bars for long work, on a terminal only. Library code never prints: it takes an optional
 * `onProgress(done, total)` callback in its options, and this port turns those calls into a
 * cli-progress bar on stderr when stderr is a TTY, and into nothing at all otherwise (CI logs and
 * pipes stay clean; stdout never carries progress, so machine formats stay parseable).
 */
import { SingleBar } from 'cli-progress';
import type { CliContext } from './context.js';

/** What library code receives: called with the items done so far and the total. */
export type ProgressCallback = (done: number, total: number) => void;

export interface ProgressReporter {
  /** False for the no-op reporter: callers may skip work done only to report progress. */
  readonly active: boolean;
  /** The callback for one phase of work, shown with `label`; a new phase replaces the bar. */
  phase(label: string): ProgressCallback;
  /** Remove the bar (call once when the command's work is done, also on failure). */
  stop(): void;
}

/** Below this many items a bar would only flicker. */
export const MIN_PROGRESS_TOTAL = 50;

/** The reporter that shows nothing (no terminal, or a caller that wants none). */
export const NO_PROGRESS: ProgressReporter = {
  active: false,
  phase: () => () => undefined,
  stop: () => undefined,
};

/** A reporter drawing on `context.terminal` when stderr is a TTY; a no-op otherwise. */
export function createProgressReporter(context: CliContext): ProgressReporter {
  const stream = context.terminal;
  if (!context.isTTY || stream === undefined) return NO_PROGRESS;
  let bar: SingleBar | null = null;
  let current = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
    current = '';
  };
  return {
    active: true,
    phase(label) {
      return (done, total) => {
        if (total < MIN_PROGRESS_TOTAL) return;
        if (bar === null || current !== label) {
          stop();
          current = label;
          bar = new SingleBar({
            stream,
            format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
            barsize: 30,
            clearOnComplete: true,
            // main.ts owns SIGINT/SIGTERM; a hidden cursor must not outlive a killed process.
            gracefulExit: false,
            hideCursor: false,
          });
          bar.start(total, done);
          return;
        }
        bar.setTotal(total);
        bar.update(done);
      };
    },
    stop,
  };
}
