/**
 * Freeze windows (docs/reference.md §4), pure: whether a window is open at an instant, and when the
 * freeze that holds then is over. Fixed windows are `[from, to)`; a recurring window opens at every
 * instant its 5-field cron expression matches in UTC and stays open `duration_minutes`.
 *
 * Cron expressions are parsed and matched by `croner` (a kept library: ranges, steps, names,
 * `L`/`W`, day-of-month OR day-of-week as in Vixie cron), never by hand.
 */
import { Cron } from 'croner';
import type { FreezeWindow, IsoTime } from './types.js';

const MINUTE_MS = 60_000;
/** How far ahead the end of a chain of overlapping windows is followed (a year and a day). */
const MAX_FREEZE_HORIZON_MS = 366 * 24 * 60 * MINUTE_MS;
/** How many overlapping windows are followed before giving up (the planner looks again then). */
const MAX_CHAIN_STEPS = 1_000;

export type CronParseResult = { ok: true; cron: Cron } | { ok: false; message: string };

/** Parsed expressions, by text: a long-running loop re-plans with the same few policies. */
const parsedCrons = new Map<string, CronParseResult>();
const MAX_PARSED_CRONS = 256;

/**
 * Parse a 5-field cron expression (minute hour day-of-month month day-of-week, or a nickname such
 * as `@weekly`), evaluated in UTC. The message says what is wrong without echoing more than the
 * expression itself.
 */
export function parseCron(expression: string): CronParseResult {
  const known = parsedCrons.get(expression);
  if (known !== undefined) return known;
  let result: CronParseResult;
  try {
    // No callback: the object only computes run times, it never schedules anything.
    result = { ok: true, cron: new Cron(expression, { utcOffset: 0, mode: '5-part' }) };
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '') : String(error);
    result = { ok: false, message: detail };
  }
  if (parsedCrons.size >= MAX_PARSED_CRONS) parsedCrons.clear();
  parsedCrons.set(expression, result);
  return result;
}

/** True for `{cron, duration_minutes}` windows, false for `{from, to}`. */
export function isRecurringWindow(window: FreezeWindow): window is Extract<FreezeWindow, { cron: string }> {
  return 'cron' in window;
}

/**
 * When the occurrence of `window` that is open at `atMs` closes (ms), or null when the window is
 * not open then. A window whose times or cron do not parse is never open (validation reports it).
 */
export function windowOpenUntil(window: FreezeWindow, atMs: number): number | null {
  if (!isRecurringWindow(window)) {
    const from = Date.parse(window.from);
    const to = Date.parse(window.to);
    return Number.isFinite(from) && Number.isFinite(to) && from <= atMs && atMs < to ? to : null;
  }
  const parsed = parseCron(window.cron);
  if (!parsed.ok) return null;
  const start = latestStartAtOrBefore(parsed.cron, atMs);
  if (start === null) return null;
  const end = start + window.duration_minutes * MINUTE_MS;
  return atMs < end ? end : null;
}

/**
 * The latest instant at or before `atMs` the cron matches. croner's `previousRuns` looks strictly
 * before a reference taken to the second, and 5-field expressions match on whole minutes, so the
 * reference is the next whole second after `atMs`.
 */
function latestStartAtOrBefore(cron: Cron, atMs: number): number | null {
  const reference = Math.floor(atMs / 1000) * 1000 + 1000;
  const [previous] = cron.previousRuns(1, new Date(reference));
  if (previous === undefined) return null;
  const time = previous.getTime();
  return time <= atMs ? time : null;
}

/** A freeze in force: the first window open at `now` and when every overlapping window has closed. */
export interface OpenFreeze<T> {
  /** The first entry (in the given order) whose window is open at `now`. */
  entry: T;
  /** When no window of the entries is open any more (windows that overlap or touch are followed). */
  closesAt: IsoTime;
}

/**
 * The freeze in force at `now` over `entries` (any objects carrying a `window`), or null when no
 * window is open. Windows that overlap or follow each other without a gap make one freeze; the
 * chain is followed for at most a year (and a bounded number of steps), after which the freeze is
 * reported to close there and is looked at again then.
 */
export function findOpenFreeze<T extends { window: FreezeWindow }>(
  entries: readonly T[],
  now: Date,
): OpenFreeze<T> | null {
  const nowMs = now.getTime();
  let first: T | null = null;
  let at = nowMs;
  for (let step = 0; step < MAX_CHAIN_STEPS && at - nowMs <= MAX_FREEZE_HORIZON_MS; step += 1) {
    let latestEnd: number | null = null;
    for (const entry of entries) {
      const end = windowOpenUntil(entry.window, at);
      if (end === null) continue;
      first ??= entry;
      if (latestEnd === null || end > latestEnd) latestEnd = end;
    }
    if (latestEnd === null) break;
    at = latestEnd;
  }
  return first === null ? null : { entry: first, closesAt: new Date(at).toISOString() };
}

/** A window in words, for messages: `2026-12-24T00:00:00Z–2026-12-27T00:00:00Z` or `cron "0 18 * * 5" for 3960 min`. */
export function describeWindow(window: FreezeWindow): string {
  return isRecurringWindow(window)
    ? `cron "${window.cron}" (UTC) for ${window.duration_minutes} min`
    : `${window.from} to ${window.to}`;
}
