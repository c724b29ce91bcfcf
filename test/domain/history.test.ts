import { describe, expect, it } from 'vitest';
import {
  computeDashboard,
  computeHistory,
  HISTORY_METADATA_KINDS,
  parseHistoryFilters,
  type HistoryFilters,
} from '../../src/domain/history.js';
import {
  fixtureId,
  makeClosure,
  makeDelivery,
  makeExecution,
  makePlaybook,
  recordSet,
} from '../fixtures/report/factories.js';

const PLAYBOOK = makePlaybook({
  id: fixtureId('gordackrecovery-', 1),
  generatedAt: '2026-06-28T09:00:00.000Z',
  providers: [{ provider: 'ops-webhook' }, { provider: 'splunk-main', category: 'siem' }],
});
const RECORDS = recordSet({
  deliveries: [
    makeDelivery({ provider: 'ops-webhook', attempt: 1, success: false, at: '2026-06-28T07:00:00.000Z' }),
    makeDelivery({
      provider: 'ops-webhook',
      attempt: 2,
      success: true,
      at: '2026-06-28T10:00:00.000Z',
      executionId: fixtureId('gordackretryexec-', 1),
    }),
    makeDelivery({ provider: 'splunk-main', attempt: 1, success: false, at: '2026-06-28T07:00:00.000Z' }),
    makeDelivery({
      deliveryId: 'other-audit',
      provider: 'splunk-main',
      attempt: 1,
      success: true,
      at: '2026-06-28T06:00:00.000Z',
    }),
  ],
  executions: [
    makeExecution({
      id: fixtureId('gordackretryexec-', 1),
      provider: 'ops-webhook',
      status: 'delivered',
      executedAt: '2026-06-28T10:00:00.000Z',
    }),
    makeExecution({
      id: fixtureId('gordackretryexec-', 2),
      provider: 'splunk-main',
      status: 'skipped',
      executedAt: '2026-06-28T08:00:00.000Z',
    }),
  ],
  playbooks: [PLAYBOOK],
  closures: [
    makeClosure({
      id: fixtureId('gordackrecoveryclosure-', 1),
      playbookId: PLAYBOOK.playbook_id,
      provider: 'ops-webhook',
      state: 'resolved',
      closedAt: '2026-06-28T11:00:00.000Z',
    }),
  ],
});

function filters(extra: Partial<HistoryFilters> = {}): HistoryFilters {
  return { limit: 50, offset: 0, ...extra };
}

describe('computeHistory', () => {
  it('lists every delivery, execution, playbook and closure, newest first, with its metadata kind', () => {
    const page = computeHistory(RECORDS, filters());
    expect(page.schema_version).toBe(1);
    expect(page.total).toBe(8);
    expect(
      page.items.map((item) => [
        item.created_at.slice(11, 16),
        item.metadata_kind.split('-').slice(-2).join('-'),
      ]),
    ).toEqual([
      ['11:00', 'recovery-closure'],
      ['10:00', 'connector-delivery'],
      ['10:00', 'execution-record'],
      ['09:00', 'recovery-playbook'],
      ['08:00', 'execution-record'],
      ['07:00', 'connector-delivery'],
      ['07:00', 'connector-delivery'],
      ['06:00', 'connector-delivery'],
    ]);
    expect(page.items[0]).toMatchObject({
      metadata_id: fixtureId('gordackrecoveryclosure-', 1),
      closure_state: 'resolved',
    });
  });

  it.each([
    [{ provider: 'splunk-main' }, 4],
    [{ provider: 'ops-webhook' }, 5],
    [{ metadata_kind: HISTORY_METADATA_KINDS.execution }, 2],
    [{ delivery_success: false }, 3],
    [{ delivery_success: true }, 3],
    [{ audit_id: 'audit-2026-06' }, 6],
    [{ delivery_id: 'other-audit' }, 1],
    [{ provider: 'splunk-main', delivery_success: false }, 2],
  ] as const)('filters %j to %i items', (extra, total) => {
    expect(computeHistory(RECORDS, filters(extra)).total).toBe(total);
  });

  it('pages with limit and offset, total counting every match', () => {
    const all = computeHistory(RECORDS, filters()).items.map((item) => item.metadata_id);
    const page = computeHistory(RECORDS, filters({ limit: 3, offset: 2 }));
    expect(page).toMatchObject({ total: 8, limit: 3, offset: 2 });
    expect(page.items.map((item) => item.metadata_id)).toEqual(all.slice(2, 5));
    expect(computeHistory(RECORDS, filters({ offset: 100 })).items).toEqual([]);
  });
});

describe('parseHistoryFilters', () => {
  it('applies defaults and parses every filter', () => {
    expect(parseHistoryFilters({})).toEqual({ ok: true, filters: { limit: 50, offset: 0 } });
    expect(
      parseHistoryFilters({
        provider: 'ops-webhook',
        metadata_kind: 'playbook',
        delivery_success: 'false',
        audit_id: 'a',
        delivery_id: 'd',
        limit: '500',
        offset: '10',
        unrelated: 'ignored',
      }),
    ).toEqual({
      ok: true,
      filters: {
        provider: 'ops-webhook',
        metadata_kind: HISTORY_METADATA_KINDS.playbook,
        delivery_success: false,
        audit_id: 'a',
        delivery_id: 'd',
        limit: 500,
        offset: 10,
      },
    });
    expect(parseHistoryFilters({ metadata_kind: HISTORY_METADATA_KINDS.closure })).toMatchObject({
      ok: true,
      filters: { metadata_kind: HISTORY_METADATA_KINDS.closure },
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ offset: '-1' }, 'offset'],
    [{ delivery_success: 'yes' }, 'delivery_success'],
    [{ metadata_kind: 'toString' }, 'metadata_kind'],
    [{ metadata_kind: 'runs' }, 'metadata_kind'],
    [{ provider: '' }, 'provider'],
    [{ provider: ['a', 'b'] }, 'provider'],
  ])('rejects %j with a 400-style error naming the parameter', (query, name) => {
    const result = parseHistoryFilters(query);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('invalid_parameter');
      expect(result.error.message).toContain(name);
    }
  });
});

describe('computeDashboard', () => {
  it('counts deliveries, retries, executions and recovery for this flow', () => {
    expect(computeDashboard(RECORDS)).toEqual({
      acknowledgement_audit_delivery_plan_count: 2,
      acknowledgement_audit_delivery_count: 4,
      acknowledgement_audit_delivery_success_count: 2,
      failed_acknowledgement_audit_delivery_count: 2,
      acknowledgement_audit_delivery_success_rate: 0.5,
      acknowledgement_audit_delivery_providers: ['ops-webhook', 'splunk-main'],
      acknowledgement_audit_delivery_provider_count: 2,
      acknowledgement_audit_delivery_retry_count: 1,
      acknowledgement_audit_delivery_outstanding_failure_count: 1,
      acknowledgement_audit_delivery_retry_execution_count: 2,
      acknowledgement_audit_delivery_retry_execution_success_count: 1,
      acknowledgement_audit_delivery_retry_execution_failed_count: 1,
      acknowledgement_audit_delivery_retry_emergency_execution_count: 0,
      acknowledgement_audit_delivery_retry_emergency_unclosed_count: 0,
      acknowledgement_audit_delivery_recovery_playbook_count: 1,
      acknowledgement_audit_delivery_recovery_row_count: 2,
      acknowledgement_audit_delivery_recovery_closure_count: 1,
      acknowledgement_audit_delivery_recovery_closed_count: 1,
      acknowledgement_audit_delivery_recovery_open_count: 1,
      acknowledgement_audit_delivery_health: 'critical',
    });
  });

  it('is healthy with nothing failed or open, warning with an open row, and counts plans from manifests', () => {
    const empty = computeDashboard(recordSet({}), { deliveries: [] });
    expect(empty).toMatchObject({
      acknowledgement_audit_delivery_plan_count: 0,
      acknowledgement_audit_delivery_success_rate: null,
      acknowledgement_audit_delivery_health: 'healthy',
    });
    const openOnly = computeDashboard(recordSet({ playbooks: [PLAYBOOK] }));
    expect(openOnly.acknowledgement_audit_delivery_health).toBe('warning');
  });
});
