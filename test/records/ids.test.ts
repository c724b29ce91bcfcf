import { describe, expect, it } from 'vitest';
import { hashOf } from '../../src/domain/hash.js';
import {
  ID_PREFIXES,
  acknowledgementId,
  approvalDecisionId,
  approvalPlanId,
  deliveryRecordId,
  executionId,
  retryPlanId,
  runId,
} from '../../src/domain/ids.js';
import { KEY, acknowledgement, approval } from '../domain/retry-fixtures.js';

describe('ID_PREFIXES', () => {
  it('holds the id prefixes of docs/reference.md §4', () => {
    expect(ID_PREFIXES).toMatchObject({
      execution: 'gordackretryexec-',
      approvalDecision: 'gordackretryapprovaldecision-',
      acknowledgement: 'gordackretryack-',
      playbook: 'gordackrecovery-',
      closure: 'gordackrecoveryclosure-',
      run: 'gordackworker-',
      report: 'gordackretryreport-',
    });
  });
});

describe('deterministic ids', () => {
  it.each([
    ['approvalDecisionId', () => approvalDecisionId(approval()), ID_PREFIXES.approvalDecision],
    ['acknowledgementId', () => acknowledgementId(acknowledgement()), ID_PREFIXES.acknowledgement],
    ['executionId', () => executionId('d', KEY, 2), ID_PREFIXES.execution],
    ['retryPlanId', () => retryPlanId(KEY, 2), ID_PREFIXES.retryPlan],
    ['approvalPlanId', () => approvalPlanId(KEY), ID_PREFIXES.approvalPlan],
    ['runId', () => runId('abc', '2026-06-28T10:00:00Z', 'replica-a'), ID_PREFIXES.run],
  ])('%s is its prefix plus 16 hex chars, the same on every call', (_name, make, prefix) => {
    const id = make();
    expect(id.startsWith(prefix)).toBe(true);
    expect(id.slice(prefix.length)).toMatch(/^[0-9a-f]{16}$/);
    expect(make()).toBe(id);
  });

  it('executionId hashes exactly {approval_decision_id, delivery_id, audit_id, provider, attempt}', () => {
    const expected = hashOf({ approval_decision_id: 'd', ...KEY, attempt: 2 }).slice(0, 16);
    expect(executionId('d', KEY, 2)).toBe(`gordackretryexec-${expected}`);
  });

  it('executionId changes with the decision, the key and the attempt', () => {
    const base = executionId('d', KEY, 2);
    expect(executionId('e', KEY, 2)).not.toBe(base);
    expect(executionId('d', { ...KEY, provider: 'other' }, 2)).not.toBe(base);
    expect(executionId('d', { ...KEY, audit_id: 'audit-2' }, 2)).not.toBe(base);
    expect(executionId('d', KEY, 3)).not.toBe(base);
  });

  it('an edited or re-committed approval is a new decision; the file path is not part of it', () => {
    const original = approvalDecisionId(approval());
    expect(approvalDecisionId(approval({ notes: 'edited' }))).not.toBe(original);
    expect(approvalDecisionId(approval({ commit: '9'.repeat(40) }))).not.toBe(original);
    expect(approvalDecisionId(approval({ name: 'approve-2' }))).not.toBe(original);
    const moved = approval();
    moved.source.path = 'manifests/elsewhere.yaml';
    expect(approvalDecisionId(moved)).toBe(original);
  });

  it('deliveryRecordId is <delivery_id>.<provider>.<attempt>', () => {
    expect(deliveryRecordId(KEY, 1)).toBe('audit-2026-06.ops-webhook.1');
  });
});
