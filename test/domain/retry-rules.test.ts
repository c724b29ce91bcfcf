import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeRetryState,
  effectiveRetryPolicy,
  retryDelayMinutes,
  selectApproval,
  type EffectiveRetryPolicy,
} from '../../src/domain/retry-rules.js';
import { KEY, approval, attempt } from './retry-fixtures.js';

const DEFAULTS = { max_retry_attempts: 3, retry_delay_minutes: 15, backoff_multiplier: 2 };
const POLICY: EffectiveRetryPolicy = { ...DEFAULTS, allow_immediate_retry: false };
const T0 = '2026-06-28T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000);

describe('effectiveRetryPolicy', () => {
  it('falls back field by field to the policy defaults', () => {
    expect(
      effectiveRetryPolicy(DEFAULTS, {
        max_retry_attempts: 5,
        retry_delay_minutes: null,
        backoff_multiplier: null,
        allow_immediate_retry: false,
      }),
    ).toEqual({
      max_retry_attempts: 5,
      retry_delay_minutes: 15,
      backoff_multiplier: 2,
      allow_immediate_retry: false,
    });
    expect(effectiveRetryPolicy(DEFAULTS, null)).toEqual(POLICY);
  });

  it('with allow_immediate_retry an unset delay is 0, a set one is kept', () => {
    const immediate = {
      max_retry_attempts: null,
      retry_delay_minutes: null,
      backoff_multiplier: null,
      allow_immediate_retry: true,
    };
    expect(effectiveRetryPolicy(DEFAULTS, immediate).retry_delay_minutes).toBe(0);
    expect(effectiveRetryPolicy(DEFAULTS, { ...immediate, retry_delay_minutes: 7 }).retry_delay_minutes).toBe(
      7,
    );
  });
});

describe('retryDelayMinutes', () => {
  it.each([
    [1, 15],
    [2, 30],
    [3, 60],
  ])('after %i failures the delay is %i minutes (15 × 2^(n−1))', (failures, minutes) => {
    expect(retryDelayMinutes(POLICY, failures)).toBe(minutes);
  });

  it('has a floor of 1 minute unless immediate retry is allowed', () => {
    expect(retryDelayMinutes({ ...POLICY, retry_delay_minutes: 0 }, 1)).toBe(1);
    expect(retryDelayMinutes({ ...POLICY, retry_delay_minutes: 0.1, backoff_multiplier: 1 }, 2)).toBe(1);
    expect(retryDelayMinutes({ ...POLICY, retry_delay_minutes: 0, allow_immediate_retry: true }, 1)).toBe(0);
  });
});

describe('computeRetryState', () => {
  it('needs nothing when the latest attempt succeeded, whatever came before', () => {
    const state = computeRetryState(KEY, [attempt(1, false, T0), attempt(2, true, T0)], POLICY, at(100));
    expect(state).toMatchObject({
      action: 'none',
      delivered: true,
      attempts: 2,
      retry_count: 1,
      next_retry_at: null,
    });
  });

  it('has nothing to do with no attempt at all', () => {
    expect(computeRetryState(KEY, [], POLICY, at(0))).toMatchObject({
      action: 'none',
      delivered: false,
      next_attempt: 1,
    });
  });

  it('waits until latest_failure_at + delay, then retries', () => {
    const attempts = [attempt(1, false, T0)];
    expect(computeRetryState(KEY, attempts, POLICY, at(14.99))).toMatchObject({
      action: 'wait',
      retry_count: 1,
      latest_failure_at: T0,
      next_retry_at: at(15).toISOString(),
      next_attempt: 2,
    });
    expect(computeRetryState(KEY, attempts, POLICY, at(15)).action).toBe('retry');
  });

  it('counts retries in the same group, so the attempt limit holds across retries', () => {
    const attempts = [
      attempt(1, false, T0),
      attempt(2, false, at(20).toISOString()),
      attempt(3, false, at(60).toISOString()),
    ];
    expect(computeRetryState(KEY, attempts, POLICY, at(10_000))).toMatchObject({
      action: 'suppress',
      retry_count: 3,
      next_retry_at: null,
    });
  });

  it('backs off from the latest failure, in any input order', () => {
    const attempts = [attempt(2, false, at(20).toISOString()), attempt(1, false, T0)];
    const state = computeRetryState(KEY, attempts, POLICY, at(49));
    expect(state).toMatchObject({ action: 'wait', next_retry_at: at(50).toISOString(), delay_minutes: 30 });
  });
});

describe('retry decision properties', () => {
  const policyArb = fc.record({
    max_retry_attempts: fc.integer({ min: 1, max: 6 }),
    retry_delay_minutes: fc.double({ min: 0, max: 120, noNaN: true }),
    backoff_multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
    allow_immediate_retry: fc.boolean(),
  });
  const historyArb = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 600 })), {
    minLength: 1,
    maxLength: 6,
  });

  function build(history: [boolean, number][]) {
    let minute = 0;
    return history.map(([success, gap], index) => {
      minute += gap;
      return attempt(index + 1, success, at(minute).toISOString());
    });
  }

  it('once `retry`, stays `retry` as time grows (until a new attempt)', () => {
    fc.assert(
      fc.property(
        policyArb,
        historyArb,
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (policy, history, t1, extra) => {
          const attempts = build(history);
          const first = computeRetryState(KEY, attempts, policy, at(t1));
          const later = computeRetryState(KEY, attempts, policy, at(t1 + extra));
          if (first.action === 'retry') expect(later.action).toBe('retry');
          if (first.action === 'suppress' || first.action === 'none') expect(later.action).toBe(first.action);
          if (later.action === 'wait') expect(first.action).toBe('wait');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('suppress iff the latest attempt failed and retry_count >= max_retry_attempts', () => {
    fc.assert(
      fc.property(policyArb, historyArb, fc.integer({ min: 0, max: 10_000 }), (policy, history, t) => {
        const attempts = build(history);
        const state = computeRetryState(KEY, attempts, policy, at(t));
        const failures = history.filter(([success]) => !success).length;
        const latestFailed = !(history.at(-1)?.[0] ?? false);
        expect(state.retry_count).toBe(failures);
        expect(state.action === 'suppress').toBe(latestFailed && failures >= policy.max_retry_attempts);
      }),
      { numRuns: 500 },
    );
  });

  it('the delay is at least 1 minute unless immediate retry is allowed', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 10 }), (policy, failures) => {
        const delay = retryDelayMinutes(policy, failures);
        if (!policy.allow_immediate_retry) expect(delay).toBeGreaterThanOrEqual(1);
        else expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeGreaterThanOrEqual(
          policy.retry_delay_minutes * policy.backoff_multiplier ** (failures - 1) - 1e-9,
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('selectApproval', () => {
  it('takes the newest decided_at, then the larger name', () => {
    const old = approval({ name: 'z-old', decided_at: '2026-06-28T08:00:00Z' });
    const a = approval({ name: 'a', decided_at: '2026-06-28T09:00:00Z' });
    const b = approval({ name: 'b', decided_at: '2026-06-28T09:00:00Z' });
    expect(selectApproval([old, b, a])?.name).toBe('b');
    expect(selectApproval([a, old])?.name).toBe('a');
    expect(selectApproval([])).toBeNull();
  });
});
