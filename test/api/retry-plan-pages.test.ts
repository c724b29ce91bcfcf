/**
 * The retry plan is paged in the order an operator works through it: at 100,000 records the plan
 * has ~97,000 keys, and the endpoint answered every one at once (an 81 MB body, drafted manifests
 * for every key waiting on a person) to a console that showed them all in one table. Now a page
 * holds `limit` keys (default 50, at most 500), waiting for a person first, then executing on the
 * next run, then the rest, each group by delivery id and provider; the counts cover every key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_DELIVERY } from '../../src/api/flow-routes.js';
import type { RetryDecisionView } from '../../src/api/retry-planner.js';
import { startFixtureServer, type FixtureServer } from './fixture-server.js';

const PLAN = `${AUDIT_DELIVERY}/retry-plan`;

const decision = (
  delivery: string,
  provider: string,
  reason: string,
  execute = false,
): RetryDecisionView => ({
  key: { delivery_id: delivery, audit_id: `audit-${delivery}`, provider },
  action: execute ? 'retry' : reason === 'delivered' ? 'none' : 'wait',
  reason,
  execute,
  retry_count: 1,
  next_retry_at: null,
  approval: null,
  acknowledgement: null,
});

// In the planner's order (by manifest), not the operator's: the page must reorder them.
const DECISIONS: RetryDecisionView[] = [];
for (let i = 0; i < 120; i++) {
  const delivery = `delivery-${String(i).padStart(3, '0')}`;
  DECISIONS.push(decision(delivery, 'hook-b', 'delivered'));
  DECISIONS.push(
    decision(
      delivery,
      'hook-a',
      i % 3 === 0 ? 'request_approval' : i % 3 === 1 ? 'executed' : 'delivered',
      i % 3 === 1,
    ),
  );
}
DECISIONS.reverse();

interface PlanPage {
  decision_count: number;
  execute_count: number;
  waiting_count: number;
  reason_counts: Record<string, number>;
  total: number;
  limit: number;
  offset: number;
  decisions: {
    key: { delivery_id: string; provider: string };
    reason: string;
    next_step: { action: string; manifest: string | null };
  }[];
}

describe('retry-plan pages', () => {
  let server: FixtureServer;
  beforeAll(async () => {
    server = await startFixtureServer({ planner: async () => ({ decisions: DECISIONS }) });
  });
  afterAll(async () => {
    await server.close();
  });
  const page = async (query: string): Promise<PlanPage> => {
    const response = await fetch(`${server.url}${PLAN}${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as PlanPage;
  };
  const label = (d: PlanPage['decisions'][number]): string => `${d.key.delivery_id}/${d.key.provider}`;

  it('counts every key and pages 50 by default, keys waiting for a person first', async () => {
    const first = await page('');
    expect(first).toMatchObject({
      decision_count: 240,
      total: 240,
      limit: 50,
      offset: 0,
      execute_count: 40,
      waiting_count: 40,
    });
    expect(first.reason_counts).toEqual({ delivered: 160, executed: 40, request_approval: 40 });
    expect(first.decisions).toHaveLength(50);
    expect(first.decisions.slice(0, 40).every((d) => d.reason === 'request_approval')).toBe(true);
    expect(first.decisions.slice(0, 3).map(label)).toEqual([
      'delivery-000/hook-a',
      'delivery-003/hook-a',
      'delivery-006/hook-a',
    ]);
    expect(first.decisions.slice(40).every((d) => d.reason === 'executed')).toBe(true);
    expect(first.decisions[0]!.next_step.action).toBe('commit');
    expect(first.decisions[0]!.next_step.manifest).toContain('kind: RetryApproval');
  });

  it('walks the whole plan page by page, each key once, in the operator order', async () => {
    const seen: string[] = [];
    const reasons: string[] = [];
    for (let offset = 0; offset < 240; offset += 70) {
      const next = await page(`?limit=70&offset=${offset}`);
      expect(next).toMatchObject({ limit: 70, offset, total: 240 });
      seen.push(...next.decisions.map(label));
      reasons.push(...next.decisions.map((d) => d.reason));
    }
    expect(seen).toHaveLength(240);
    expect(new Set(seen).size).toBe(240);
    const rank = (reason: string): number =>
      reason === 'request_approval' ? 0 : reason === 'executed' ? 1 : 2;
    expect(reasons.map(rank)).toEqual([...reasons.map(rank)].sort((a, b) => a - b));
    const delivered = seen.slice(80);
    expect(delivered).toEqual([...delivered].sort());
    expect((await page('?offset=240')).decisions).toEqual([]);
  });

  it('refuses a page larger than 500 or a negative offset', async () => {
    for (const query of ['?limit=501', '?limit=0', '?offset=-1', '?limit=ten']) {
      const response = await fetch(`${server.url}${PLAN}${query}`);
      expect(response.status, query).toBe(400);
    }
    expect((await page('?limit=500')).decisions).toHaveLength(240);
  });
});
