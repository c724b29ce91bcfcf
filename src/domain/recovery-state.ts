/**
 * Shared recovery rules: which closure states close a recovery row, which closure is the latest
 * for a (playbook, provider) row, and time arithmetic in whole minutes. Used by playbook
 * planning, the report, the dashboard and the loop's wake-up time, so they all agree.
 */
import type { ClosureRecord, IsoTime, PlaybookRecord, ProviderPlaybook } from './types.js';

/** Closure states that close a recovery row; every other state (and no closure) leaves it open. */
const CLOSED_STATES: ReadonlySet<string> = new Set(['resolved', 'mitigated']);

export const MINUTE_MS = 60_000;

/** True for `resolved` and `mitigated`. */
export function isClosedState(state: string): boolean {
  return CLOSED_STATES.has(state);
}

/**
 * Milliseconds since the epoch of an ISO time. Records are validated when read, so an unparsable
 * time is a damaged record: it sorts as the epoch instead of breaking every comparison with NaN.
 */
export function timeOf(iso: IsoTime): number {
  const fast = parseUtcIso(iso);
  if (fast !== null) return fast;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** True for the fixed-width UTC shapes records use (`…SSZ`, `…SS.sssZ`), which order as text. */
function isFixedWidthUtc(text: string): boolean {
  return (text.length === 24 || text.length === 20) && text.charCodeAt(text.length - 1) === 90; /* Z */
}

/**
 * Order of two ISO times: negative when `a` is earlier, 0 for the same instant (tie-break on the
 * text yourself). Two times of the same fixed-width UTC shape compare as text, which orders them
 * like their instants without parsing; anything else is parsed.
 */
export function compareIsoTimes(a: IsoTime, b: IsoTime): number {
  if (a.length === b.length && isFixedWidthUtc(a) && isFixedWidthUtc(b)) return compareStrings(a, b);
  return timeOf(a) - timeOf(b);
}

/**
 * True when time `a` is later than `b`; the same instant written two ways ("…00Z" and
 * "…00.000Z") picks the smaller text, so the choice never depends on record order.
 */
export function isLaterIso(a: IsoTime, b: IsoTime): boolean {
  const order = compareIsoTimes(a, b);
  return order > 0 || (order === 0 && a < b);
}

/** UTC date (`YYYY-MM-DD`) of an ISO time. */
export function utcDateOf(iso: IsoTime): string {
  if (isFixedWidthUtc(iso) && parseUtcIso(iso) !== null) return iso.slice(0, 10);
  return new Date(timeOf(iso)).toISOString().slice(0, 10);
}

/** Value of `length` ASCII digits at `start`, or -1 when one of them is not a digit. */
function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let index = start; index < start + length; index += 1) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Fast path for the two shapes records use (`YYYY-MM-DDTHH:MM:SSZ`, `YYYY-MM-DDTHH:MM:SS.sssZ`):
 * the report reads hundreds of thousands of times and `Date.parse` dominated its profile.
 * Anything else returns null and goes through `Date.parse`.
 */
function parseUtcIso(text: string): number | null {
  const length = text.length;
  if ((length !== 20 && length !== 24) || text.charCodeAt(length - 1) !== 90 /* Z */) return null;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':')
    return null;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  let millisecond = 0;
  if (length === 24) {
    if (text[19] !== '.') return null;
    millisecond = digitsAt(text, 20, 3);
  }
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23) return null;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || millisecond < 0) return null;
  // Like V8's Date.parse, Date.UTC rolls a day past the month's end (02-31) into the next month.
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
}

/** Whole minutes from `from` to `to`, by floor (CAVRA's rule; negative when `to` is earlier). */
export function minutesBetween(fromMs: number, toMs: number): number {
  return Math.floor((toMs - fromMs) / MINUTE_MS);
}

/** Plain compare for a total order on strings (code unit order, locale independent). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * True when closure `a` is later than `b`: larger `closed_at`, then (same instant) the larger
 * `closure_id`, so the choice never depends on the order records were read in.
 */
function isLaterClosure(a: ClosureRecord, b: ClosureRecord): boolean {
  const order = compareIsoTimes(a.closed_at, b.closed_at);
  if (order !== 0) return order > 0;
  return a.closure_id > b.closure_id;
}

/**
 * The latest closure of every recovery row: playbook id → provider → closure. Nested maps rather
 * than one map on a joined key: joining strings for every record dominated the report's profile.
 */
function latestClosuresByRow(closures: readonly ClosureRecord[]): Map<string, Map<string, ClosureRecord>> {
  const latest = new Map<string, Map<string, ClosureRecord>>();
  for (const closure of closures) {
    let byProvider = latest.get(closure.playbook_id);
    if (byProvider === undefined) {
      byProvider = new Map();
      latest.set(closure.playbook_id, byProvider);
    }
    const current = byProvider.get(closure.provider);
    if (current === undefined || isLaterClosure(closure, current)) byProvider.set(closure.provider, closure);
  }
  return latest;
}

/** One recovery row before SLO evaluation: the playbook, its provider entry and its latest closure. */
export interface RecoveryRowState {
  playbook: PlaybookRecord;
  providerPlaybook: ProviderPlaybook;
  latestClosure: ClosureRecord | null;
  closed: boolean;
}

/** Every recovery row (playbook × provider playbook) with its latest closure. */
export function listRecoveryRows(
  playbooks: readonly PlaybookRecord[],
  closures: readonly ClosureRecord[],
): RecoveryRowState[] {
  const latest = latestClosuresByRow(closures);
  const rows: RecoveryRowState[] = [];
  for (const playbook of playbooks) {
    const byProvider = latest.get(playbook.playbook_id);
    for (const providerPlaybook of playbook.provider_playbooks) {
      const latestClosure = byProvider?.get(providerPlaybook.provider) ?? null;
      rows.push({
        playbook,
        providerPlaybook,
        latestClosure,
        closed: latestClosure !== null && isClosedState(latestClosure.closure_state),
      });
    }
  }
  return rows;
}
