/**
 * computeDeliveredRoutes and computeSuppressionSummary as pure functions: the order is code-unit
 * order in every locale (upper case before lower, accents after ASCII), counts are per owner ×
 * state over every filtered route, URLs in route text are redacted, and only `suppress` decisions
 * are listed. The end-to-end behaviour over real runs is in routes-suppressions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { computeDeliveredRoutes } from '../../src/api/delivered-routes.js';
import { computeSuppressionSummary } from '../../src/api/suppressions.js';
import type { AuditDelivery, AuditRoute, DeliveryRecord } from '../../src/domain/types.js';

/** The fields of a normalised AuditDelivery these functions read. */
function delivery(name: string, routes: AuditRoute[]): AuditDelivery {
  return {
    kind: 'AuditDelivery',
    name,
    spec: { audit_id: `audit-${name}`, package: { routes } },
  } as unknown as AuditDelivery;
}

function record(deliveryId: string, provider: string, attempt: number, success: boolean): DeliveryRecord {
  return {
    delivery_id: deliveryId,
    audit_id: `audit-${deliveryId}`,
    provider,
    record_id: `${deliveryId}.${provider}.${attempt}`,
    attempt,
    delivery_success: success,
    status_code: success ? 200 : 500,
    error: success ? '' : `HTTP 500 attempt ${attempt}`,
    attempted_at: `2026-07-01T09:0${attempt}:00.000Z`,
    completed_at: `2026-07-01T09:0${attempt}:30.000Z`,
  } as unknown as DeliveryRecord;
}

const NO_FILTERS = { owner: null, state: null, provider: null, deliveryId: null };
const route = (route_id: string, owner: string, state = 'open', provider = 'hook'): AuditRoute => ({
  route_id,
  owner,
  state,
  provider,
});

describe('computeDeliveredRoutes', () => {
  it('orders by code units, not by locale: upper case first, accented after ASCII', () => {
    const result = computeDeliveredRoutes(
      [delivery('d1', [route('r1', 'émile'), route('r2', 'zed'), route('r3', 'Zoe'), route('r4', 'alice')])],
      [record('d1', 'hook', 1, true)],
      NO_FILTERS,
    );
    expect(result.routes.map((r) => r.owner)).toEqual(['Zoe', 'alice', 'zed', 'émile']);
    expect(result.owners).toEqual(['Zoe', 'alice', 'zed', 'émile']);
  });

  it('keeps only delivered packages and counts per owner × state after the filters', () => {
    const deliveries = [
      delivery('d1', [route('a', 'ops', 'open'), route('b', 'ops', 'open'), route('c', 'ops', 'closed')]),
      delivery('d2', [route('d', 'sec', 'open')]),
      delivery('never', [route('e', 'ops', 'open')]),
    ];
    const records = [
      record('d1', 'hook', 1, false),
      record('d2', 'hook', 1, true),
      record('gone', 'hook', 1, true),
    ];
    const all = computeDeliveredRoutes(deliveries, records, NO_FILTERS);
    expect(all.delivery_count).toBe(2);
    expect(all.missing_deliveries).toEqual(['gone']);
    expect(all.owner_state_counts).toEqual([
      { owner: 'ops', state: 'closed', count: 1 },
      { owner: 'ops', state: 'open', count: 2 },
      { owner: 'sec', state: 'open', count: 1 },
    ]);
    const open = computeDeliveredRoutes(deliveries, records, { ...NO_FILTERS, state: 'open' });
    expect(open.routes.map((r) => r.route_id)).toEqual(['a', 'b', 'd']);
    expect(open.states).toEqual(['open']);
  });

  it('redacts URLs in route text before it is served', () => {
    const result = computeDeliveredRoutes(
      [delivery('d1', [route('r1', 'see https://user:pw@example.com/x?token=s3cr3t')])],
      [record('d1', 'hook', 1, true)],
      NO_FILTERS,
    );
    expect(result.routes[0]?.owner).toBe('see https://[redacted]@example.com/x?[redacted]');
  });
});

describe('computeSuppressionSummary', () => {
  it('lists suppress decisions only, by provider, with the latest attempt of each key', () => {
    const key = (delivery_id: string, provider: string) => ({
      delivery_id,
      audit_id: `audit-${delivery_id}`,
      provider,
    });
    const decisions = [
      { key: key('d2', 'b-hook'), action: 'suppress', attempts: 1, retry_count: 1, max_retry_attempts: 1 },
      { key: key('d1', 'b-hook'), action: 'suppress', attempts: 2, retry_count: 2, max_retry_attempts: 2 },
      { key: key('d1', 'a-hook'), action: 'suppress', attempts: 3, retry_count: 3 },
      { key: key('d3', 'a-hook'), action: 'wait', attempts: 1, retry_count: 1, max_retry_attempts: 3 },
    ];
    const records = [record('d1', 'b-hook', 2, false), record('d1', 'b-hook', 1, false)];
    const summary = computeSuppressionSummary(decisions, records, { provider: null });
    expect(summary.provider_counts).toEqual([
      { provider: 'a-hook', suppressed_count: 1 },
      { provider: 'b-hook', suppressed_count: 2 },
    ]);
    expect(
      summary.items.map((i) => [i.provider, i.delivery_id, i.max_retry_attempts, i.latest_error]),
    ).toEqual([
      ['a-hook', 'd1', null, ''],
      ['b-hook', 'd1', 2, 'HTTP 500 attempt 2'],
      ['b-hook', 'd2', 1, ''],
    ]);
    expect(computeSuppressionSummary(decisions, records, { provider: 'a-hook' }).suppressed_count).toBe(1);
    expect(computeSuppressionSummary([], records, { provider: null })).toEqual({
      suppressed_count: 0,
      provider_counts: [],
      items: [],
    });
  });
});
