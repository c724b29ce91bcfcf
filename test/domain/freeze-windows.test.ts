/**
 * Freeze windows (`freeze_windows`, docs/reference.md §4, issue 13): fixed `[from, to)` and
 * recurring cron windows in UTC; nothing is retried while one is open (`change_freeze`, due again
 * when it closes). The window arithmetic is checked across a UTC midnight, a month end and a
 * recurring weekend, and against a brute-force minute-by-minute reading of croner's own matcher.
 */
import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findOpenFreeze, parseCron, windowOpenUntil } from '../../src/domain/freeze-windows.js';
import { emptyRecordSet, type FreezeWindow } from '../../src/domain/types.js';
import {
  REVISION,
  approval,
  attempt,
  decisionOf,
  manifestSet,
  planScenario,
  policy,
  type Scenario,
} from './retry-fixtures.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Saturday 00:00 UTC for 48 hours. */
const WEEKEND: FreezeWindow = { cron: '0 0 * * 6', duration_minutes: 2880, reason: 'weekend' };
/** Every night 22:00–02:00 UTC. */
const NIGHTLY: FreezeWindow = { cron: '0 22 * * *', duration_minutes: 240, reason: 'nightly batch' };
/** The last day of every month from 20:00 for 8 hours. */
const MONTH_END: FreezeWindow = { cron: '0 20 L * *', duration_minutes: 480, reason: 'month-end close' };
const FIXED: FreezeWindow = { from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z', reason: 'holidays' };

describe('windowOpenUntil', () => {
  it.each<[string, FreezeWindow, string, string | null]>([
    ['fixed: before', FIXED, '2026-12-23T23:59:59.999Z', null],
    ['fixed: from is included', FIXED, '2026-12-24T00:00:00.000Z', '2026-12-27T00:00:00.000Z'],
    ['fixed: inside', FIXED, '2026-12-26T12:00:00.000Z', '2026-12-27T00:00:00.000Z'],
    ['fixed: to is excluded', FIXED, '2026-12-27T00:00:00.000Z', null],
    ['weekend: Friday 23:59:59', WEEKEND, '2026-10-30T23:59:59.000Z', null],
    [
      'weekend: opens Saturday 00:00 (Oct 31, the month end)',
      WEEKEND,
      '2026-10-31T00:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
    ],
    [
      'weekend: across the UTC midnight into November',
      WEEKEND,
      '2026-11-01T00:00:30.000Z',
      '2026-11-02T00:00:00.000Z',
    ],
    ['weekend: Sunday 23:59:59.999', WEEKEND, '2026-11-01T23:59:59.999Z', '2026-11-02T00:00:00.000Z'],
    ['weekend: closed Monday 00:00', WEEKEND, '2026-11-02T00:00:00.000Z', null],
    ['weekend: across a year end', WEEKEND, '2027-01-03T10:00:00.000Z', '2027-01-04T00:00:00.000Z'],
    ['nightly: 21:59', NIGHTLY, '2026-02-28T21:59:00.000Z', null],
    ['nightly: 23:30 on Feb 28', NIGHTLY, '2026-02-28T23:30:00.000Z', '2026-03-01T02:00:00.000Z'],
    [
      'nightly: 01:59 on Mar 1 (after the month end and midnight)',
      NIGHTLY,
      '2026-03-01T01:59:59.000Z',
      '2026-03-01T02:00:00.000Z',
    ],
    ['nightly: 02:00 closed', NIGHTLY, '2026-03-01T02:00:00.000Z', null],
    [
      'month end: Feb 28 2026 (not a leap year) 21:00',
      MONTH_END,
      '2026-02-28T21:00:00.000Z',
      '2026-03-01T04:00:00.000Z',
    ],
    ['month end: Feb 28 2028 is not the last day', MONTH_END, '2028-02-28T21:00:00.000Z', null],
    ['month end: Feb 29 2028 is', MONTH_END, '2028-02-29T21:00:00.000Z', '2028-03-01T04:00:00.000Z'],
    ['month end: Mar 1 03:59 still open', MONTH_END, '2026-03-01T03:59:00.000Z', '2026-03-01T04:00:00.000Z'],
  ])('%s', (_name, window, now, until) => {
    expect(iso(windowOpenUntil(window, at(now)))).toBe(until);
  });

  it('agrees with a minute-by-minute reading of the cron matcher (any instant of 2026–2027)', () => {
    const patterns = [
      '0 0 * * 6',
      '0 22 * * *',
      '0 20 L * *',
      '*/30 9-17 * * 1-5',
      '15 3 1 * *',
      '0 0 29 2 *',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2027-12-31T00:00:00Z') }),
        (cron, duration, t) => {
          const window: FreezeWindow = { cron, duration_minutes: duration, reason: 'r' };
          const matcher = new Cron(cron, { utcOffset: 0, mode: '5-part' });
          // The latest match at or before t within the duration, scanning whole minutes back.
          let expected: number | null = null;
          const minute = Math.floor(t / 60_000) * 60_000;
          for (let start = minute; start > t - duration * 60_000; start -= 60_000) {
            if (matcher.match(new Date(start))) {
              expected = start + duration * 60_000;
              break;
            }
          }
          expect(iso(windowOpenUntil(window, t))).toBe(iso(expected));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a cron that does not parse is never open, and says why', () => {
    expect(windowOpenUntil({ cron: '61 * * * *', duration_minutes: 60, reason: 'x' }, Date.now())).toBeNull();
    const parsed = parseCron('* * * * * *');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain('5');
  });
});

describe('findOpenFreeze', () => {
  const entries = (windows: FreezeWindow[]) => windows.map((window) => ({ window }));

  it('follows windows that overlap or touch to the end of the freeze', () => {
    const touching: FreezeWindow = {
      from: '2026-11-02T00:00:00Z',
      to: '2026-11-02T06:00:00Z',
      reason: 'after',
    };
    const freeze = findOpenFreeze(entries([WEEKEND, touching]), new Date('2026-11-01T12:00:00Z'));
    expect(freeze).toMatchObject({ entry: { window: WEEKEND }, closesAt: '2026-11-02T06:00:00.000Z' });
  });

  it('is null when nothing is open, and reports the first open window in order', () => {
    expect(findOpenFreeze(entries([FIXED, WEEKEND]), new Date('2026-11-04T12:00:00Z'))).toBeNull();
    const both = findOpenFreeze(entries([FIXED, WEEKEND]), new Date('2026-12-26T12:00:00Z'));
    expect(both?.entry.window).toBe(FIXED);
    expect(both?.closesAt).toBe('2026-12-28T00:00:00.000Z');
  });

  it('a window that never closes is followed at most a year ahead', () => {
    const always: FreezeWindow = { cron: '* * * * *', duration_minutes: 1440, reason: 'forever' };
    const now = new Date('2026-06-28T10:00:00Z');
    const freeze = findOpenFreeze(entries([always]), now);
    expect(freeze).not.toBeNull();
    expect(Date.parse(freeze!.closesAt)).toBeGreaterThan(now.getTime());
    expect(Date.parse(freeze!.closesAt) - now.getTime()).toBeLessThanOrEqual(367 * 24 * 3_600_000);
  });
});

describe('freeze windows in the planner', () => {
  function scenario(now: string, windows: FreezeWindow[]): Scenario {
    const records = emptyRecordSet();
    records.deliveries.push(attempt(1, false, '2026-12-23T10:00:00.000Z'));
    return {
      revision: REVISION,
      manifests: manifestSet({ approvals: [approval({ decided_at: '2026-12-23T11:00:00Z' })] }),
      policy: policy({ freeze_windows: windows }),
      facts: {},
      records,
      now: new Date(now),
      leaseMinutes: 10,
    };
  }

  it('an open fixed window blocks with change_freeze and its end as nextDueAt; after it closes the retry runs', () => {
    const frozen = planScenario(scenario('2026-12-25T10:00:00Z', [FIXED]));
    const decision = decisionOf(frozen);
    expect(decision).toMatchObject({
      reason: 'change_freeze',
      execute: false,
      policy: 'current',
      policy_commit: REVISION,
    });
    expect(decision?.message).toContain('"holidays"');
    expect(decision?.message).toContain('until 2026-12-27T00:00:00.000Z');
    expect(frozen.executions).toEqual([]);
    expect(frozen.nextDueAt).toBe('2026-12-27T00:00:00.000Z');

    const after = planScenario(scenario('2026-12-27T00:00:00Z', [FIXED]));
    expect(decisionOf(after)?.reason).toBe('executed');
    expect(after.executions).toHaveLength(1);
  });

  it('a recurring weekend window holds from Saturday to Monday across the month end', () => {
    const cases: [string, string][] = [
      ['2026-10-30T23:59:00Z', 'executed'],
      ['2026-10-31T00:00:00Z', 'change_freeze'],
      ['2026-11-01T23:59:00Z', 'change_freeze'],
      ['2026-11-02T00:00:00Z', 'executed'],
    ];
    for (const [now, reason] of cases) {
      const input = scenario(now, [WEEKEND]);
      input.records.deliveries = [attempt(1, false, '2026-10-30T08:00:00.000Z')];
      input.manifests.approvals = [approval({ decided_at: '2026-10-30T09:00:00Z' })];
      const plan = planScenario(input);
      expect([now, decisionOf(plan)?.reason]).toEqual([now, reason]);
      if (reason === 'change_freeze') expect(plan.nextDueAt).toBe('2026-11-02T00:00:00.000Z');
    }
  });

  it('a change that removes the freeze together with its approval is still frozen by its base', () => {
    const input = scenario('2026-12-25T10:00:00Z', []);
    input.facts.basePolicies = new Map([['approve-1', policy({ freeze_windows: [FIXED] })]]);
    const decision = decisionOf(planScenario(input));
    expect(decision).toMatchObject({ reason: 'change_freeze', policy: 'base' });
  });

  it('a freeze does not hide a missing approval (the approval reason comes first)', () => {
    const input = scenario('2026-12-25T10:00:00Z', [FIXED]);
    input.manifests.approvals = [];
    expect(decisionOf(planScenario(input))?.reason).toBe('request_approval');
  });
});
