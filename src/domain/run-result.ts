/** What one reconcile run did, as the reconciler returns it and `/status` shows it. */
import { CONDITION_REASONS } from './conditions.js';
import type { IsoTime } from './types.js';

/**
 * How a run ended: `ok` (it called or recorded something), `noop` (nothing to do), `waiting`
 * (nothing to do until `nextDueAt`), `stalled` (input needs a human, see the reason), `failed`
 * (it could not finish: retried with backoff).
 */
export type RunOutcome = 'ok' | 'noop' | 'waiting' | 'stalled' | 'failed';

export interface RunResult {
  outcome: RunOutcome;
  /** PascalCase reason (src/domain/conditions.ts), e.g. `DeliveryFailed`, `NeedsOperatorFix`. */
  reason: string;
  /** True once the run committed records without a call (unknown outcomes, closures, reports). */
  recorded: boolean;
  /** The tracked branch tip that was read. */
  revision: string | null;
  /** Commits this run pushed (or made locally with --no-push). */
  commits: string[];
  calls: number;
  delivered: number;
  failed: number;
  resent: number;
  unknown: number;
  /** Claims released uncalled: half their lease had passed before their turn came (re-planned). */
  released: number;
  /** When time alone will change the plan; the loop wakes then at the latest. */
  nextDueAt: IsoTime | null;
  message: string;
}

/** The result of a run that did nothing (yet). */
export function emptyRunResult(): RunResult {
  return {
    outcome: 'noop',
    reason: CONDITION_REASONS.Idle,
    recorded: false,
    revision: null,
    commits: [],
    calls: 0,
    delivered: 0,
    failed: 0,
    resent: 0,
    unknown: 0,
    released: 0,
    nextDueAt: null,
    message: 'nothing to do',
  };
}
