/**
 * Golden files for the retry recovery report: each `test/fixtures/report/<case>.input.json`
 * (records + options) must give exactly `<case>.expected.json`, byte for byte. Every case also
 * asserts the rule it exists for, so a golden file cannot silently bless a wrong answer.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/domain/report-golden.test.ts` and review.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeRetryRecoveryReport, type ReportEnvelope } from '../../src/domain/report.js';
import type { GoldenInput } from '../fixtures/report/build-inputs.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/report');
const CASE_NAMES = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.input.json'))
  .map((name) => name.slice(0, -'.input.json'.length))
  .sort();

function loadInput(name: string): GoldenInput {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.input.json`), 'utf8')) as GoldenInput;
}

function run(name: string): ReportEnvelope {
  const input = loadInput(name);
  return computeRetryRecoveryReport(input.records, { ...input.options, now: new Date(input.options.now) });
}

function rowOf(envelope: ReportEnvelope, provider: string, playbookSuffix?: string) {
  const row = envelope.report.recovery_rows.find(
    (candidate) =>
      candidate.provider === provider &&
      (playbookSuffix === undefined || candidate.playbook_id.endsWith(playbookSuffix)),
  );
  if (row === undefined) throw new Error(`no row for ${provider}`);
  return row;
}

describe('retry recovery report golden files', () => {
  it('has a fixture for every rule of the issue', () => {
    expect(CASE_NAMES).toEqual([
      'age-equal-to-slo',
      'deferred-escalated-breaching',
      'floor-of-minutes',
      'more-than-20-executions',
      'no-executions',
      'reopened-after-resolved',
      'row-and-provider-ordering',
      'several-playbooks-one-provider',
      'skipped-counted-as-failed',
      'trends-across-utc-midnight',
      'unknown-closure-state',
      'unknown-status',
    ]);
  });

  it.each(CASE_NAMES)('%s matches its expected output byte for byte', (name) => {
    const actual = `${JSON.stringify(run(name), null, 2)}\n`;
    const expectedPath = join(FIXTURES, `${name}.expected.json`);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(expectedPath)) {
      if (process.env.UPDATE_GOLDEN !== '1')
        throw new Error(`missing ${expectedPath}; run with UPDATE_GOLDEN=1`);
      writeFileSync(expectedPath, actual);
    }
    expect(actual).toBe(readFileSync(expectedPath, 'utf8'));
  });
});

describe('retry recovery report rules', () => {
  it('no executions: rate null, zero counts, healthy', () => {
    const { report, metadata } = run('no-executions');
    expect(report.execution_count).toBe(0);
    expect(report.execution_success_rate).toBeNull();
    expect(report.execution_status_counts).toEqual({});
    expect(report.alert_level).toBe('healthy');
    expect(report.provider_summary).toEqual([]);
    expect(metadata).toMatchObject({ decision_count: 0, blocked_count: 0, approval_required_count: 0 });
  });

  it('skipped executions count as failed', () => {
    const { report, metadata } = run('skipped-counted-as-failed');
    expect(report.execution_success_count).toBe(1);
    expect(report.execution_failed_count).toBe(2);
    expect(report.execution_success_rate).toBe(0.3333);
    expect(report.alert_level).toBe('critical');
    expect(report.provider_summary[0]).toMatchObject({
      execution_failed_count: 2,
      execution_skipped_count: 1,
    });
    expect(metadata.blocked_count).toBe(2);
  });

  it('an unknown status appears only in the status counts', () => {
    const { report } = run('unknown-status');
    expect(report.execution_status_counts).toEqual({ cancelled: 1, delivered: 1, unknown: 1 });
    expect(report.execution_count).toBe(3);
    expect(report.execution_success_count).toBe(1);
    expect(report.execution_failed_count).toBe(0);
    expect(report.execution_success_rate).toBe(0.3333);
    expect(report.alert_level).toBe('healthy');
  });

  it('reopened after resolved is open', () => {
    const { report } = run('reopened-after-resolved');
    const row = rowOf(run('reopened-after-resolved'), 'ops-webhook');
    expect(row).toMatchObject({
      closure_state: 'reopened',
      slo_status: 'open',
      slo_breached: false,
      closure_minutes: 90,
    });
    expect(report.recovery_open_count).toBe(1);
    expect(report.closure_state_counts).toEqual({ reopened: 1, resolved: 1 });
    expect(report.alert_level).toBe('warning');
  });

  it('deferred and escalated rows breach', () => {
    const envelope = run('deferred-escalated-breaching');
    expect(rowOf(envelope, 'jira-ops')).toMatchObject({
      closure_state: 'deferred',
      slo_status: 'breached',
      age_minutes: 300,
    });
    expect(rowOf(envelope, 'slack-ops')).toMatchObject({
      closure_state: 'escalated',
      slo_status: 'breached',
    });
    expect(envelope.report.recovery_slo_breached_count).toBe(2);
    expect(envelope.report.alert_level).toBe('critical');
  });

  it('age exactly equal to the SLO does not breach; one more minute does', () => {
    const envelope = run('age-equal-to-slo');
    expect(rowOf(envelope, 'exact')).toMatchObject({
      age_minutes: 240,
      slo_breached: false,
      slo_status: 'open',
    });
    expect(rowOf(envelope, 'almost')).toMatchObject({ age_minutes: 240, slo_breached: false });
    expect(rowOf(envelope, 'over')).toMatchObject({ age_minutes: 241, slo_breached: true });
  });

  it('minutes are whole, by floor', () => {
    const envelope = run('floor-of-minutes');
    expect(rowOf(envelope, 'ops-webhook')).toMatchObject({
      age_minutes: 1,
      closure_minutes: null,
      closed_at: '',
    });
    expect(rowOf(envelope, 'splunk-main')).toMatchObject({
      age_minutes: 10,
      closure_minutes: 1,
      slo_status: 'closed',
    });
  });

  it('trends group by UTC date across midnight, newest first', () => {
    const { report } = run('trends-across-utc-midnight');
    expect(report.closure_trends).toEqual([
      {
        date: '2026-06-29',
        closure_count: 2,
        resolved_count: 1,
        mitigated_count: 1,
        deferred_count: 0,
        escalated_count: 0,
        reopened_count: 0,
        provider_counts: { 'ops-webhook': 1, 'splunk-main': 1 },
      },
      {
        date: '2026-06-28',
        closure_count: 1,
        resolved_count: 0,
        mitigated_count: 0,
        deferred_count: 1,
        escalated_count: 0,
        reopened_count: 0,
        provider_counts: { 'ops-webhook': 1 },
      },
    ]);
    expect(report.recovery_closed_count).toBe(2);
  });

  it('an unknown closure state keeps the row open and counts only in totals', () => {
    const { report } = run('unknown-closure-state');
    expect(report.recovery_rows[0]).toMatchObject({ closure_state: 'archived', slo_status: 'open' });
    expect(report.closure_state_counts).toEqual({ archived: 1 });
    expect(report.closure_trends[0]).toMatchObject({
      closure_count: 1,
      resolved_count: 0,
      reopened_count: 0,
    });
  });

  it('orders rows breached first, then newest generated_at, then playbook and provider; providers by name', () => {
    const { report } = run('row-and-provider-ordering');
    expect(
      report.recovery_rows.map((row) => `${row.slo_status}:${row.playbook_id.slice(-1)}:${row.provider}`),
    ).toEqual([
      'breached:1:alpha-hook',
      'breached:1:zeta-hook',
      'open:4:alpha-hook',
      'open:5:gamma-hook',
      'open:3:beta-hook',
      'closed:2:mid-hook',
    ]);
    expect(report.provider_summary.map((p) => p.provider)).toEqual([
      'alpha-hook',
      'beta-hook',
      'gamma-hook',
      'mid-hook',
      'zeta-hook',
    ]);
    expect(report.provider_summary[0]).toMatchObject({
      recovery_playbook_count: 2,
      open_recovery_count: 2,
      slo_breached_count: 1,
    });
  });

  it('lists only the 20 newest executions, ties broken by id', () => {
    const { report } = run('more-than-20-executions');
    expect(report.execution_count).toBe(25);
    expect(report.latest_executions).toHaveLength(20);
    const times = report.latest_executions.map((e) => Date.parse(e.executed_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(report.latest_executions[0]?.execution_id).toBe('gordackretryexec-0000000000000018');
    expect(report.latest_executions[1]?.execution_id).toBe('gordackretryexec-0000000000000063');
    expect(report.latest_executions.map((e) => e.execution_id)).not.toContain(
      'gordackretryexec-0000000000000001',
    );
  });

  it('counts several playbooks of one provider as separate rows', () => {
    const { report } = run('several-playbooks-one-provider');
    expect(report.recovery_playbook_provider_count).toBe(3);
    expect(report.provider_summary).toEqual([
      expect.objectContaining({
        provider: 'ops-webhook',
        recovery_playbook_count: 3,
        recovery_closure_count: 2,
        open_recovery_count: 2,
        slo_breached_count: 1,
        latest_closure_at: '2026-06-28T04:30:00.000Z',
        execution_failed_count: 1,
      }),
    ]);
    expect(report.recovery_rows.map((row) => row.slo_status)).toEqual(['breached', 'open', 'closed']);
  });
});
