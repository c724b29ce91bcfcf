/**
 * What `/status` knows about reconcile runs beyond the committed files: the port the app takes
 * ({@link RunObserver}) and the recorder `start` feeds from its in-process loop. A `serve` process
 * runs no loop, so it has no observer and `/status` falls back to the newest committed run record.
 */
import type { IsoTime } from '../domain/types.js';
import { messageOf } from '../errors.js';
import type { RunResult } from '../domain/run-result.js';
import { redactText } from '../redact.js';

/** The last run this process made, as `/status` shows it. */
export interface ObservedRun {
  finished_at: IsoTime;
  outcome: RunResult['outcome'];
  /** The tracked branch tip the run read (null when it read none). */
  revision: string | null;
  commit_count: number;
  calls: number;
  delivered: number;
  failed: number;
  unknown: number;
  next_due_at: IsoTime | null;
  message: string;
}

/** The last run that failed in this process (the loop keeps its pending work and retries). */
export interface ObservedError {
  at: IsoTime;
  /** The error's message, with URLs redacted. */
  message: string;
}

export interface RunObservation {
  last_run: ObservedRun | null;
  last_error: ObservedError | null;
  /** Runs that failed since the last one that did not (0 when the last run succeeded). */
  consecutive_failures: number;
}

/** The app's port: read what the process has observed so far. */
export interface RunObserver {
  read(): RunObservation;
}

/** A {@link RunObserver} that the reconcile loop writes into. */
export interface RunRecorder extends RunObserver {
  recordRun(result: RunResult): void;
  recordError(error: unknown): void;
}

/** Longest error message kept (messages name files and commits; anything longer is noise). */
const MAX_ERROR_LENGTH = 500;

/** A recorder stamped by `now` (the loop's clock, so tests and `CAVRA_GITOPS_NOW` agree). */
export function createRunRecorder(now: () => Date): RunRecorder {
  let observation: RunObservation = { last_run: null, last_error: null, consecutive_failures: 0 };
  return {
    read: () => observation,
    recordRun(result) {
      const at = now().toISOString();
      observation = {
        // A run can end `failed` without throwing (e.g. every claim push lost its race).
        last_error:
          result.outcome === 'failed'
            ? { at, message: redactText(result.message).slice(0, MAX_ERROR_LENGTH) }
            : observation.last_error,
        consecutive_failures: result.outcome === 'failed' ? observation.consecutive_failures + 1 : 0,
        last_run: {
          finished_at: at,
          outcome: result.outcome,
          revision: result.revision,
          commit_count: result.commits.length,
          calls: result.calls,
          delivered: result.delivered,
          failed: result.failed,
          unknown: result.unknown,
          next_due_at: result.nextDueAt,
          message: result.message,
        },
      };
    },
    recordError(error) {
      observation = {
        ...observation,
        consecutive_failures: observation.consecutive_failures + 1,
        last_error: {
          at: now().toISOString(),
          message: redactText(messageOf(error)).slice(0, MAX_ERROR_LENGTH),
        },
      };
    },
  };
}
