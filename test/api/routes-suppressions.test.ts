/**
 * `…/audit-delivery/routes` and `…/audit-delivery/suppressions` over a repository written by real
 * reconcile runs (test/helpers/routes-scenario.ts): the routes of the delivered packages only, by
 * owner, state, provider and route id, with counts per owner × state; the keys at their attempt
 * limit counted by provider, with attempts and the limit that applied (the policy's, or an
 * approval's); both as of an older commit with `?at=`, filtered, paged, and never leaking the
 * credential the receiver echoed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_DELIVERY } from '../../src/api/flow-routes.js';
import { createApp } from '../../src/api/app.js';
import type { DeliveredRoute, OwnerStateCount } from '../../src/api/delivered-routes.js';
import { createMetrics } from '../../src/api/metrics.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import type { SuppressedKey } from '../../src/api/suppressions.js';
import {
  HOSTILE_OWNER,
  HOSTILE_ROUTE,
  ROUTES_CANARY,
  createRoutesScenario,
  startRoutesServer,
  type RoutesScenario,
  type RoutesServer,
} from '../helpers/routes-scenario.js';

interface RoutesBody {
  schema_version: number;
  revision: string;
  delivery_count: number;
  missing_deliveries: string[];
  owners: string[];
  states: string[];
  providers: string[];
  owner_state_counts: OwnerStateCount[];
  items: DeliveredRoute[];
  total: number;
  limit: number;
  offset: number;
}

interface SuppressionsBody {
  revision: string;
  evaluated_at: string;
  suppressed_count: number;
  provider_counts: { provider: string; suppressed_count: number }[];
  items: SuppressedKey[];
}

const ROUTES = `${AUDIT_DELIVERY}/routes`;
const SUPPRESSIONS = `${AUDIT_DELIVERY}/suppressions`;

let scenario: RoutesScenario;
let server: RoutesServer;

beforeAll(async () => {
  scenario = await createRoutesScenario();
  server = await startRoutesServer(scenario, scenario.tip);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await scenario?.cleanup();
});

async function getText(path: string, status = 200): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${server.url}${path}`);
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return { response, text };
}

async function getJson<T>(path: string): Promise<T> {
  return JSON.parse((await getText(path)).text) as T;
}

describe('routes of the delivered audit packages', () => {
  it('lists the routes of delivered packages only, sorted, with counts per owner and state', async () => {
    const { response, text } = await getText(ROUTES);
    const body = JSON.parse(text) as RoutesBody;
    expect(response.headers.get('x-cavra-revision')).toBe(scenario.tip);
    expect(body.revision).toBe(scenario.tip);
    // drill-c is at the tip but has no delivery record: its routes are not among them.
    expect(body.delivery_count).toBe(2);
    expect(body.missing_deliveries).toEqual([]);
    expect(body.items.map((r) => [r.owner, r.state, r.provider, r.route_id, r.delivery_id])).toEqual([
      [HOSTILE_OWNER, 'outstanding', 'siem-hook', HOSTILE_ROUTE, 'drill-a'],
      ['identity-oncall', 'resolved', 'ops-webhook', 'route-identity', 'drill-b'],
      ['payments-sre', 'acknowledged', 'ops-webhook', 'route-cards', 'drill-a'],
      ['payments-sre', 'acknowledged', 'ops-webhook', 'route-payments', 'drill-a'],
      ['payments-sre', 'escalated', 'ops-webhook', 'route-payments', 'drill-b'],
      ['payments-sre', 'escalated', 'siem-hook', 'route-ledger', 'drill-a'],
    ]);
    expect(body.items[0]?.audit_id).toBe('audit-drill-a');
    expect(body.owner_state_counts).toEqual([
      { owner: HOSTILE_OWNER, state: 'outstanding', count: 1 },
      { owner: 'identity-oncall', state: 'resolved', count: 1 },
      { owner: 'payments-sre', state: 'acknowledged', count: 2 },
      { owner: 'payments-sre', state: 'escalated', count: 2 },
    ]);
    expect(body.owners).toEqual([HOSTILE_OWNER, 'identity-oncall', 'payments-sre']);
    expect(body.states).toEqual(['acknowledged', 'escalated', 'outstanding', 'resolved']);
    expect(body.providers).toEqual(['ops-webhook', 'siem-hook']);
    expect({ total: body.total, limit: body.limit, offset: body.offset }).toEqual({
      total: 6,
      limit: 50,
      offset: 0,
    });
    expect(text).not.toContain('late-team');
  });

  it('filters by owner, state and provider, pages, and keeps the counts over every page', async () => {
    const escalated = await getJson<RoutesBody>(`${ROUTES}?owner=payments-sre&state=escalated`);
    expect(escalated.items.map((r) => `${r.delivery_id}/${r.route_id}`)).toEqual([
      'drill-b/route-payments',
      'drill-a/route-ledger',
    ]);
    expect(escalated.owner_state_counts).toEqual([{ owner: 'payments-sre', state: 'escalated', count: 2 }]);
    const siem = await getJson<RoutesBody>(`${ROUTES}?provider=siem-hook`);
    expect(siem.items.map((r) => r.route_id)).toEqual([HOSTILE_ROUTE, 'route-ledger']);
    const hostile = await getJson<RoutesBody>(`${ROUTES}?owner=${encodeURIComponent(HOSTILE_OWNER)}`);
    expect(hostile.total).toBe(1);

    const second = await getJson<RoutesBody>(`${ROUTES}?limit=2&offset=2`);
    expect(second.items.map((r) => r.route_id)).toEqual(['route-cards', 'route-payments']);
    expect(second.total).toBe(6);
    expect(second.owner_state_counts.reduce((sum, c) => sum + c.count, 0)).toBe(6);
  });

  it('answers as of an older commit with ?at=: nothing delivered at the first commit', async () => {
    const before = await getJson<RoutesBody>(`${ROUTES}?at=${scenario.manifests}`);
    expect(before.revision).toBe(scenario.manifests);
    expect(before).toMatchObject({ delivery_count: 0, total: 0, items: [], owner_state_counts: [] });
    const first = await getJson<RoutesBody>(`${ROUTES}?at=${scenario.firstRun}`);
    expect(first.total).toBe(6);
  });

  it('names deliveries whose records remain but whose manifest is gone', async () => {
    const removed = await scenario.ops.commit(
      { 'manifests/deliveries/drill-b.yaml': null },
      'drill-b retired',
      { date: '2026-07-01T11:30:00Z' },
    );
    server.setTip(removed);
    try {
      const body = await getJson<RoutesBody>(ROUTES);
      expect(body.revision).toBe(removed);
      expect(body.delivery_count).toBe(1);
      expect(body.missing_deliveries).toEqual(['drill-b']);
      expect(body.items.every((route) => route.delivery_id === 'drill-a')).toBe(true);
    } finally {
      server.setTip(scenario.tip);
    }
  });

  it.each([
    ['an unknown parameter', `${ROUTES}?ownr=x`, 'unknown_parameter'],
    ['an empty owner', `${ROUTES}?owner=`, 'invalid_parameter'],
    ['a limit out of range', `${ROUTES}?limit=501`, 'invalid_parameter'],
    ['a malformed at', `${ROUTES}?at=main`, 'invalid_revision'],
  ])('rejects %s with a clear 400', async (_name, path, code) => {
    const { text } = await getText(path, 400);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(/\.$/);
  });
});

describe('suppression summary', () => {
  it('lists the keys at their attempt limit by provider, with attempts and the limit that applied', async () => {
    const { response, text } = await getText(SUPPRESSIONS);
    const body = JSON.parse(text) as SuppressionsBody;
    expect(response.headers.get('x-cavra-revision')).toBe(scenario.tip);
    expect(body.evaluated_at).toBe('2026-07-01T12:00:00.000Z');
    expect(body.suppressed_count).toBe(3);
    expect(body.provider_counts).toEqual([
      { provider: 'ops-webhook', suppressed_count: 2 },
      { provider: 'siem-hook', suppressed_count: 1 },
    ]);
    expect(
      body.items.map((item) => [
        item.provider,
        item.delivery_id,
        item.audit_id,
        item.attempts,
        item.retry_count,
        item.max_retry_attempts,
        item.latest_status_code,
      ]),
    ).toEqual([
      // The policy's limit (2), reached by the initial attempt and one failed retry.
      ['ops-webhook', 'drill-a', 'audit-drill-a', 2, 2, 2, 503],
      ['ops-webhook', 'drill-b', 'audit-drill-b', 2, 2, 2, 503],
      // The approval's retry_policy lowered the limit to 1: the first failure reached it.
      ['siem-hook', 'drill-a', 'audit-drill-a', 1, 1, 1, 502],
    ]);
    expect(body.items[0]?.latest_failure_at).toBe('2026-07-01T10:05:00.000Z');
    expect(body.items[2]?.latest_failure_at).toBe('2026-07-01T09:05:00.000Z');
    expect(body.items[0]?.message).toContain('reached the attempt limit');
    // The plan agrees: the same keys are `suppress` there.
    const plan = await getJson<{
      decisions: { action: string; key: { delivery_id: string; provider: string } }[];
    }>(`${AUDIT_DELIVERY}/retry-plan`);
    expect(
      plan.decisions
        .filter((d) => d.action === 'suppress')
        .map((d) => `${d.key.provider}/${d.key.delivery_id}`),
    ).toEqual(['ops-webhook/drill-a', 'siem-hook/drill-a', 'ops-webhook/drill-b']);
  });

  it('never serves the credential the receiver echoed in its error', async () => {
    // The receiver did echo it: the recorded error shows where it was redacted.
    const body = await getJson<SuppressionsBody>(SUPPRESSIONS);
    expect(body.items[0]?.latest_error).toContain('HTTP 503: rejected [redacted]');
    for (const path of [SUPPRESSIONS, ROUTES, `${AUDIT_DELIVERY}/retry-plan`]) {
      expect((await getText(path)).text).not.toContain(ROUTES_CANARY);
    }
  });

  it('filters by provider', async () => {
    const body = await getJson<SuppressionsBody>(`${SUPPRESSIONS}?provider=siem-hook`);
    expect(body.items.map((item) => item.delivery_id)).toEqual(['drill-a']);
    expect(body.provider_counts).toEqual([{ provider: 'siem-hook', suppressed_count: 1 }]);
  });

  it('is empty before any key reached its limit (?at= the first run)', async () => {
    const body = await getJson<SuppressionsBody>(`${SUPPRESSIONS}?at=${scenario.firstRun}`);
    expect(body.revision).toBe(scenario.firstRun);
    expect(body).toMatchObject({ suppressed_count: 0, provider_counts: [], items: [] });
  });

  it('answers 503 not_configured without a planner, like the retry plan', async () => {
    const source = createSnapshotSource(scenario.reader, { tip: async () => scenario.tip, tipCacheMs: 0 });
    const app = createApp({
      source,
      clock: scenario.clock,
      metrics: createMetrics({ processMetrics: false }),
    });
    const running = await startServer(app, { port: 0 });
    try {
      const response = await fetch(`${running.url}${SUPPRESSIONS}`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_configured');
      expect((await fetch(`${running.url}${ROUTES}`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
