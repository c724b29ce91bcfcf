import { describe, expect, it } from 'vitest';
import { buildClaim, buildDeliveryRecord } from '../../src/domain/record-builders.js';
import {
  executionIdOf,
  idempotencyKeyOf,
  planRetryWork,
  type RetryWorkInput,
} from '../../src/domain/retry-plan.js';
import { emptyRecordSet } from '../../src/domain/types.js';
import { executionId } from '../../src/domain/ids.js';
import {
  KEY,
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
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

function input(overrides: Partial<RetryWorkInput> = {}): RetryWorkInput {
  const manifests = overrides.manifests ?? manifestSet();
  return {
    revision: REVISION,
    manifests,
    policy: policy(),
    gateFacts: factsFor(manifests),
    records: emptyRecordSet(),
    now: NOW,
    leaseMinutes: 10,
    ...overrides,
  };
}

describe('planRetryWork: initial deliveries', () => {
  it('delivers attempt 1 to each selected provider, with the delivery id as idempotency key', () => {
    const manifests = manifestSet({
      providers: [provider('ops-webhook'), provider('siem', { type: 'splunk', idempotent: false })],
      deliveries: [delivery('audit-2026-06', ['siem', 'ops-webhook'])],
    });
    const plan = planRetryWork(input({ manifests }));
    expect(
      plan.deliveries.map((call) => [
        call.claimId,
        call.kind,
        call.attempt,
        idempotencyKeyOf(call),
        executionIdOf(call),
      ]),
    ).toEqual([
      ['audit-2026-06.ops-webhook.1', 'delivery', 1, 'audit-2026-06', ''],
      ['audit-2026-06.siem.1', 'delivery', 1, 'audit-2026-06', ''],
    ]);
    expect(plan.deliveries[0]?.selectedProviders).toEqual(['ops-webhook', 'siem']);
    expect(plan.decisions.map((d) => d.reason)).toEqual(['pending_delivery', 'pending_delivery']);
  });

  it('`all` selects every enabled provider; an explicitly selected disabled provider gets a reason, no call', () => {
    const manifests = manifestSet({
      providers: [provider('a'), provider('b', { enabled: false }), provider('c')],
      deliveries: [delivery('d-all', 'all'), delivery('d-b', ['b'])],
    });
    const plan = planRetryWork(input({ manifests }));
    expect(plan.deliveries.map((call) => call.claimId)).toEqual(['d-all.a.1', 'd-all.c.1']);
    expect(plan.decisions.find((d) => d.key.delivery_id === 'd-b')?.reason).toBe('provider_disabled');
  });

  it('delivers nothing twice: not after a record, not under a live claim', () => {
    const manifests = manifestSet({
      providers: [provider('a'), provider('b')],
      deliveries: [delivery('d', ['a', 'b'])],
    });
    const first = planRetryWork(input({ manifests }));
    const records = emptyRecordSet();
    const [callA, callB] = first.deliveries;
    if (!callA || !callB) throw new Error('expected two calls');
    records.deliveries.push(
      buildDeliveryRecord(
        callA,
        { success: true, statusCode: 200, error: '' },
        { runId: 'r', attemptedAt: NOW.toISOString(), completedAt: NOW.toISOString(), revision: REVISION },
      ),
    );
    records.claims.push(
      buildClaim(callB, { holder: 'replica-b', now: NOW, leaseMinutes: 10, revision: REVISION }),
    );
    const plan = planRetryWork(input({ manifests, records, now: minutes(1) }));
    expect(plan.deliveries).toEqual([]);
    expect(plan.decisions.map((d) => [d.key.provider, d.reason, d.execution_id])).toEqual([
      ['a', 'delivered', ''],
      ['b', 'claim_in_flight', 'd.b.1'],
    ]);
    expect(plan.nextDueAt).toBe(minutes(10).toISOString());
  });
});

describe('planRetryWork: expired claims', () => {
  function withExpiredRetryClaim(idempotent: boolean) {
    const manifests = manifestSet({ providers: [provider('ops-webhook', { idempotent })] });
    const records = emptyRecordSet();
    records.deliveries.push(attempt(1, false, '2026-06-28T09:00:00.000Z'));
    const call = planRetryWork(input({ manifests, records })).executions[0];
    if (!call) throw new Error('expected an execution');
    records.claims.push(
      buildClaim(call, { holder: 'replica-a', now: NOW, leaseMinutes: 10, revision: REVISION }),
    );
    return { manifests, records, call };
  }

  it.each([
    [true, true],
    [false, false],
  ])('idempotent=%s → resend=%s, and the key is not planned again', (idempotent, resend) => {
    const { manifests, records, call } = withExpiredRetryClaim(idempotent);
    const live = planRetryWork(input({ manifests, records, now: minutes(9) }));
    expect(live.executions).toEqual([]);
    expect(live.expiredClaims).toEqual([]);
    expect(live.decisions[0]?.reason).toBe('claim_in_flight');

    const expired = planRetryWork(input({ manifests, records, now: minutes(10) }));
    expect(expired.executions).toEqual([]);
    expect(expired.decisions[0]?.reason).toBe('claim_expired');
    expect(expired.expiredClaims).toHaveLength(1);
    expect(expired.expiredClaims[0]?.resend).toBe(resend);
    expect(expired.expiredClaims[0]?.call).toEqual(call);
  });

  it('a claim whose approval is gone is orphaned', () => {
    const { manifests, records } = withExpiredRetryClaim(true);
    manifests.approvals = [];
    const plan = planRetryWork(input({ manifests, records, now: minutes(30) }));
    expect(plan.expiredClaims).toEqual([]);
    expect(plan.orphanedClaims).toHaveLength(1);
  });

  it('the execution id is a pure function of (decision, key, attempt)', () => {
    const { call } = withExpiredRetryClaim(true);
    expect(call.claimId).toBe(executionId(call.approvalDecisionId, KEY, 2));
    expect(idempotencyKeyOf(call)).toBe(call.claimId);
    expect(executionIdOf(call)).toBe(call.claimId);
  });
});

describe('planRetryWork: nextDueAt', () => {
  it('is the time a waiting, approved key falls due', () => {
    const records = emptyRecordSet();
    records.deliveries.push(attempt(1, false, NOW.toISOString()));
    const plan = planRetryWork(input({ records, now: minutes(5) }));
    expect(plan.decisions[0]?.reason).toBe('retry_delay_not_elapsed');
    expect(plan.nextDueAt).toBe(minutes(15).toISOString());
  });

  it('is null when a waiting key has no usable approval (time alone changes nothing)', () => {
    const records = emptyRecordSet();
    records.deliveries.push(attempt(1, false, NOW.toISOString()));
    const plan = planRetryWork(
      input({
        records,
        now: minutes(5),
        manifests: manifestSet({ approvals: [approval({ state: 'denied' })] }),
      }),
    );
    expect(plan.nextDueAt).toBeNull();
  });
});

describe('planRetryWork: determinism', () => {
  it('gives the same plan whatever the order of manifests and records', () => {
    const keys = ['d1', 'd2', 'd3', 'd4'];
    const manifests = manifestSet({
      providers: [provider('ops-webhook'), provider('p2')],
      deliveries: keys.map((name) => delivery(name, 'all')),
      acknowledgements: keys.map((name) => acknowledgement({ name: `ack-${name}`, delivery: name })),
      approvals: keys.map((name, i) =>
        approval({ name: `ap-${name}`, delivery: name, decided_at: `2026-06-28T09:0${i}:00Z` }),
      ),
    });
    const records = emptyRecordSet();
    records.deliveries = keys.map((name) =>
      attempt(1, false, '2026-06-28T08:00:00.000Z', { ...KEY, delivery_id: name }),
    );
    const forward = planRetryWork(
      input({ manifests, records, policy: policy({ max_retry_deliveries_per_run: 2 }) }),
    );
    const reversedManifests = {
      ...manifests,
      providers: [...manifests.providers].reverse(),
      deliveries: [...manifests.deliveries].reverse(),
      acknowledgements: [...manifests.acknowledgements].reverse(),
      approvals: [...manifests.approvals].reverse(),
    };
    const reversedRecords = { ...records, deliveries: [...records.deliveries].reverse() };
    const reversed = planRetryWork(
      input({
        manifests: reversedManifests,
        records: reversedRecords,
        policy: policy({ max_retry_deliveries_per_run: 2 }),
      }),
    );
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(forward));
    expect(forward.executions.map((call) => call.key.delivery_id)).toEqual(['d1', 'd2']);
    expect(forward.deliveries.map((call) => call.claimId)).toEqual([
      'd1.p2.1',
      'd2.p2.1',
      'd3.p2.1',
      'd4.p2.1',
    ]);
  });
});
