import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE, buildAuditEvent, summarizeAuditEvent } from '../../src/connectors/audit-event.js';
import { makeRequest } from './connector-fixtures.js';

describe('buildAuditEvent', () => {
  it('carries the audit event fields of docs/connectors.md in a stable order, execution_id only for retries', () => {
    const retry = makeRequest();
    expect(Object.keys(buildAuditEvent(retry))).toEqual([
      'event_type',
      'delivery_id',
      'audit_id',
      'provider',
      'attempt',
      'execution_id',
      'idempotency_key',
      'timestamp',
      'package',
    ]);
    expect(buildAuditEvent(retry)).toMatchObject({ event_type: AUDIT_EVENT_TYPE, timestamp: retry.at });
    expect(buildAuditEvent(makeRequest({ attempt: 1, executionId: '' }))).not.toHaveProperty('execution_id');
  });

  it('is a pure function: the same request gives the same bytes', () => {
    expect(JSON.stringify(buildAuditEvent(makeRequest()))).toBe(
      JSON.stringify(buildAuditEvent(makeRequest())),
    );
  });

  it('summarises the delivery in one line', () => {
    const line = summarizeAuditEvent(makeRequest());
    expect(line).not.toContain('\n');
    expect(line).toContain('3/5 acknowledged');
    expect(line).toContain('2 outstanding');
    expect(line).toContain('(execution gordackretryexec-0123456789abcdef)');
  });
});

describe('unixSeconds', () => {
  it('floors to seconds and refuses a time that is not ISO-8601', async () => {
    const { unixSeconds } = await import('../../src/connectors/audit-event.js');
    expect(unixSeconds('2026-06-28T10:00:00.999Z')).toBe(Date.parse('2026-06-28T10:00:00Z') / 1000);
    expect(() => unixSeconds('yesterday')).toThrow(/not an ISO-8601 time/);
  });
});
