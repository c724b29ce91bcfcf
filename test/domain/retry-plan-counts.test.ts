/**
 * A run's reconcile plans without keeping a decision per key (`keepDecisions: false`): the plan
 * must be the same plan minus the decisions, and the counts the status reads must be what the
 * decisions say. Random worlds: providers (some disabled or not ready), deliveries, attempts that
 * failed or succeeded, keys only records know, approvals, live and expired claims, a run limit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClaim } from '../../src/domain/record-builders.js';
import {
  planRetryWork,
  type RetryDecision,
  type RetryDecisionCounts,
  type RetryWorkInput,
} from '../../src/domain/retry-plan.js';
import { emptyRecordSet, type DeliveryRecord } from '../../src/domain/types.js';
import {
  REVISION,
  acknowledgement,
  approval,
  attempt,
  delivery,
  factsFor,
  manifestSet,
  policy,
  provider,
} from './retry-fixtures.js';

const NOW = new Date('2026-06-28T10:00:00.000Z');
const PROVIDERS = ['p-a', 'p-b', 'p-c'];
const at = (minutesBefore: number): string => new Date(NOW.getTime() - minutesBefore * 60_000).toISOString();

const world = fc.record({
  disabled: fc.subarray(PROVIDERS),
  notReady: fc.subarray(PROVIDERS),
  deliveries: fc.uniqueArray(
    fc.record({
      name: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5'),
      providers: fc.oneof(fc.constant<'all'>('all'), fc.subarray(PROVIDERS, { minLength: 1 })),
    }),
    { selector: (d) => d.name, maxLength: 5 },
  ),
  // Attempts per key, oldest first: true = succeeded. 'gone' keys are known only to records.
  attempts: fc.array(
    fc.record({
      delivery: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'gone-1', 'gone-2'),
      provider: fc.constantFrom(...PROVIDERS),
      audit: fc.constantFrom('audit-1', 'audit-1', 'audit-2'),
      outcomes: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      minutesBefore: fc.integer({ min: 0, max: 200 }),
    }),
    { maxLength: 8 },
  ),
  approvals: fc.array(
    fc.record({
      delivery: fc.constantFrom('d1', 'd2', 'd3', 'd4'),
      provider: fc.constantFrom(...PROVIDERS),
      state: fc.constantFrom('approved', 'approved', 'denied'),
      acknowledged: fc.boolean(),
      minutesBefore: fc.integer({ min: 0, max: 100 }),
    }),
    { maxLength: 5 },
  ),
  // Claims on attempt 1 of a delivery's key: live (lease ahead) or expired.
  claims: fc.array(
    fc.record({
      delivery: fc.constantFrom('d1', 'd2', 'd3'),
      provider: fc.constantFrom(...PROVIDERS),
      claimedMinutesBefore: fc.integer({ min: 0, max: 30 }),
    }),
    { maxLength: 3 },
  ),
  runLimit: fc.integer({ min: 0, max: 3 }),
});

function inputOf(w: WorldValue): RetryWorkInput {
  const providers = PROVIDERS.map((name) => provider(name, { enabled: !w.disabled.includes(name) }));
  const manifests = manifestSet({
    providers,
    deliveries: w.deliveries.map((d) => delivery(d.name, d.providers)),
    acknowledgements: w.approvals.flatMap((a, i) =>
      a.acknowledged
        ? [acknowledgement({ name: `ack-${i}`, delivery: a.delivery, provider: a.provider })]
        : [],
    ),
    approvals: w.approvals.map((a, i) =>
      approval({
        name: `ap-${i}`,
        delivery: a.delivery,
        provider: a.provider,
        state: a.state,
        decided_at: at(a.minutesBefore).replace('.000Z', 'Z'),
      }),
    ),
  });
  const records = emptyRecordSet();
  const seen = new Set<string>();
  for (const a of w.attempts) {
    const key = { delivery_id: a.delivery, audit_id: a.audit, provider: a.provider };
    if (seen.has(`${a.delivery}/${a.audit}/${a.provider}`)) continue;
    seen.add(`${a.delivery}/${a.audit}/${a.provider}`);
    a.outcomes.forEach((success, i) => {
      const record: DeliveryRecord = attempt(
        i + 1,
        success,
        at(a.minutesBefore + a.outcomes.length - i),
        key,
      );
      records.deliveries.push(record);
    });
  }
  for (const c of w.claims) {
    const key = { delivery_id: c.delivery, audit_id: 'audit-1', provider: c.provider };
    if (records.claims.some((claim) => claim.delivery_id === c.delivery && claim.provider === c.provider))
      continue;
    const target = providers.find((p) => p.name === c.provider)!;
    const call = {
      claimId: `${c.delivery}.${c.provider}.1`,
      kind: 'delivery' as const,
      key,
      attempt: 1,
      provider: target,
      delivery: delivery(c.delivery, [c.provider]),
      selectedProviders: [c.provider],
      approval: null,
      approvals: [],
      approvalEvidence: [],
      emergency: false,
      approvalDecisionId: '',
      retryPlanId: '',
      approvalPlanId: '',
    };
    records.claims.push(
      buildClaim(call, {
        holder: 'replica-a',
        now: new Date(NOW.getTime() - c.claimedMinutesBefore * 60_000),
        leaseMinutes: 10,
        revision: REVISION,
      }),
    );
  }
  return {
    revision: REVISION,
    manifests,
    policy: policy({ max_retry_deliveries_per_run: w.runLimit }),
    gateFacts: factsFor(manifests),
    records,
    now: NOW,
    leaseMinutes: 10,
    notReady: new Set(w.notReady),
  };
}

type WorldValue = typeof world extends fc.Arbitrary<infer T> ? T : never;

/** The counts as the status used to derive them from the decisions. */
function countsOf(decisions: readonly RetryDecision[]): {
  notExecuted: [string, number][];
  failedKeys: number;
} {
  const notExecuted = new Map<string, number>();
  for (const d of decisions) {
    if (d.execute || d.action === 'none') continue;
    notExecuted.set(d.reason, (notExecuted.get(d.reason) ?? 0) + 1);
  }
  return {
    notExecuted: [...notExecuted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    failedKeys: decisions.filter((d) => d.action !== 'none' && d.attempts > 0).length,
  };
}

function sortedCounts(counts: RetryDecisionCounts): { notExecuted: [string, number][]; failedKeys: number } {
  return {
    notExecuted: [...counts.notExecuted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    failedKeys: counts.failedKeys,
  };
}

describe('planRetryWork without decisions', () => {
  it('is the full plan minus its decisions, and counts what the decisions say', () => {
    fc.assert(
      fc.property(world, (w) => {
        const input = inputOf(w);
        const full = planRetryWork(input);
        const counted = planRetryWork(input, { keepDecisions: false });
        expect('decisions' in counted).toBe(false);
        const { decisions, ...rest } = full;
        expect(JSON.stringify(counted)).toBe(JSON.stringify(rest));
        expect(sortedCounts(counted.counts)).toEqual(countsOf(decisions));
        expect(sortedCounts(full.counts)).toEqual(countsOf(decisions));
      }),
      { numRuns: 300 },
    );
  });

  it('counts keys over the run limit as run_limit_reached, executed ones not at all', () => {
    const manifests = manifestSet({
      providers: [provider('ops-webhook')],
      deliveries: ['d1', 'd2', 'd3'].map((name) => delivery(name)),
      acknowledgements: ['d1', 'd2', 'd3'].map((name) =>
        acknowledgement({ name: `ack-${name}`, delivery: name }),
      ),
      approvals: ['d1', 'd2', 'd3'].map((name, i) =>
        approval({ name: `ap-${name}`, delivery: name, decided_at: `2026-06-28T09:0${i}:00Z` }),
      ),
    });
    const records = emptyRecordSet();
    for (const name of ['d1', 'd2', 'd3', 'gone'])
      records.deliveries.push(
        attempt(1, name === 'gone', '2026-06-28T08:00:00.000Z', {
          delivery_id: name,
          audit_id: 'audit-1',
          provider: 'ops-webhook',
        }),
      );
    const plan = planRetryWork(
      {
        revision: REVISION,
        manifests,
        policy: policy({ max_retry_deliveries_per_run: 1 }),
        gateFacts: factsFor(manifests),
        records,
        now: NOW,
        leaseMinutes: 10,
      },
      { keepDecisions: false },
    );
    expect(plan.executions.map((call) => call.key.delivery_id)).toEqual(['d1']);
    expect(sortedCounts(plan.counts)).toEqual({
      notExecuted: [['run_limit_reached', 2]],
      failedKeys: 3,
    });
  });
});
