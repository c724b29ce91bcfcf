/** Property tests of the retry recovery report's invariants over random record sets. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  breachedRowKeys,
  computeRetryRecoveryReport,
  nextBreachAt,
  parseRecoverySloMinutes,
  type ReportOptions,
} from '../../src/domain/report.js';
import type { RecordSet } from '../../src/domain/types.js';
import {
  fixtureId,
  makeClosure,
  makeExecution,
  makePlaybook,
  recordSet,
} from '../fixtures/report/factories.js';

const NOW = new Date('2026-06-28T12:00:00.000Z');
const BASE = NOW.getTime() - 3 * 24 * 3_600_000;
const PROVIDERS = ['alpha', 'beta', 'gamma', 'delta'];
const STATUSES = ['delivered', 'failed', 'skipped', 'unknown', 'cancelled'];
const STATES = ['resolved', 'mitigated', 'deferred', 'escalated', 'reopened', 'archived'];

/**
 * Times in a 4-day window ending a day after now, at whole seconds (so ties happen), written in
 * both shapes records use (`…00Z` and `…00.000Z`), so equal instants with different text occur.
 */
const timeArb = fc.tuple(fc.integer({ min: 0, max: 4 * 24 * 3600 }), fc.boolean()).map(([s, short]) => {
  const iso = new Date(BASE + s * 1000).toISOString();
  return short ? iso.replace('.000Z', 'Z') : iso;
});

const recordsArb: fc.Arbitrary<RecordSet> = fc
  .record({
    executions: fc.array(
      fc.record({
        provider: fc.constantFrom(...PROVIDERS),
        status: fc.constantFrom(...STATUSES),
        at: timeArb,
      }),
      { maxLength: 40 },
    ),
    playbooks: fc.array(
      fc.record({
        at: timeArb,
        providers: fc.uniqueArray(fc.constantFrom(...PROVIDERS), { minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 8 },
    ),
    closures: fc.array(
      fc.record({
        playbook: fc.nat(),
        provider: fc.constantFrom(...PROVIDERS),
        state: fc.constantFrom(...STATES),
        at: timeArb,
      }),
      { maxLength: 20 },
    ),
  })
  .map(({ executions, playbooks, closures }) => {
    const playbookRecords = playbooks.map((p, index) =>
      makePlaybook({
        id: fixtureId('gordackrecovery-', index + 1),
        generatedAt: p.at,
        providers: p.providers.map((provider) => ({ provider })),
      }),
    );
    return recordSet({
      executions: executions.map((e, index) =>
        makeExecution({
          id: fixtureId('gordackretryexec-', index + 1),
          provider: e.provider,
          status: e.status,
          executedAt: e.at,
        }),
      ),
      playbooks: playbookRecords,
      closures: closures.map((c, index) => {
        // Mostly closures of existing rows, sometimes of a provider not in the playbook.
        const playbook =
          playbookRecords.length > 0 ? playbookRecords[c.playbook % playbookRecords.length] : undefined;
        const provider =
          playbook !== undefined && c.playbook % 4 !== 0
            ? (playbook.provider_playbooks[c.playbook % playbook.provider_playbooks.length]?.provider ??
              c.provider)
            : c.provider;
        return makeClosure({
          id: fixtureId('gordackrecoveryclosure-', index + 1),
          playbookId: playbook?.playbook_id ?? fixtureId('gordackrecovery-', 99),
          provider,
          state: c.state,
          closedAt: c.at,
        });
      }),
    });
  });

const sloArb = fc.integer({ min: 1, max: 6000 });

function options(sloMinutes: number): ReportOptions {
  return { sloMinutes, generatedBy: 'console', now: NOW, revision: 'b'.repeat(40) };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed || 1;
  for (let i = copy.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('retry recovery report properties', () => {
  it('closed + open = rows, and breached rows are open rows', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, (records, slo) => {
        const { report } = computeRetryRecoveryReport(records, options(slo));
        expect(report.recovery_closed_count + report.recovery_open_count).toBe(
          report.recovery_playbook_provider_count,
        );
        expect(report.recovery_rows).toHaveLength(report.recovery_playbook_provider_count);
        for (const row of report.recovery_rows) {
          if (row.slo_breached) {
            expect(row.slo_status).toBe('breached');
            expect(['resolved', 'mitigated']).not.toContain(row.closure_state);
            expect(row.age_minutes).toBeGreaterThan(slo);
          }
        }
        expect(report.recovery_slo_breached_count).toBeLessThanOrEqual(report.recovery_open_count);
      }),
    );
  });

  it('age_minutes is never negative, also for a playbook generated after now (a floored now)', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, fc.integer({ min: 1, max: 59_999 }), (records, slo, earlierMs) => {
        const earlier = { ...options(slo), now: new Date(NOW.getTime() - earlierMs) };
        for (const row of computeRetryRecoveryReport(records, earlier).report.recovery_rows) {
          expect(row.age_minutes).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('provider_summary sums equal the report totals', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, (records, slo) => {
        const { report } = computeRetryRecoveryReport(records, options(slo));
        const sum = (pick: (p: (typeof report.provider_summary)[number]) => number) =>
          report.provider_summary.reduce((total, p) => total + pick(p), 0);
        expect(sum((p) => p.execution_count)).toBe(report.execution_count);
        expect(sum((p) => p.execution_delivered_count)).toBe(report.execution_success_count);
        expect(sum((p) => p.execution_failed_count)).toBe(report.execution_failed_count);
        expect(sum((p) => p.recovery_playbook_count)).toBe(report.recovery_playbook_provider_count);
        expect(sum((p) => p.open_recovery_count)).toBe(report.recovery_open_count);
        expect(sum((p) => p.slo_breached_count)).toBe(report.recovery_slo_breached_count);
        expect(sum((p) => p.recovery_closure_count)).toBe(records.closures.length);
        expect(Object.values(report.closure_state_counts).reduce((a, b) => a + b, 0)).toBe(
          records.closures.length,
        );
        expect(report.closure_trends.reduce((a, t) => a + t.closure_count, 0)).toBe(records.closures.length);
        expect(Object.values(report.execution_status_counts).reduce((a, b) => a + b, 0)).toBe(
          report.execution_count,
        );
      }),
    );
  });

  it('never depends on record order (byte-identical after shuffling every list)', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, fc.integer({ min: 1, max: 1_000_000 }), (records, slo, seed) => {
        const shuffledRecords: RecordSet = {
          ...records,
          executions: shuffled(records.executions, seed),
          playbooks: shuffled(records.playbooks, seed + 1),
          closures: shuffled(records.closures, seed + 2),
        };
        const a = JSON.stringify(computeRetryRecoveryReport(records, options(slo)), null, 2);
        const b = JSON.stringify(computeRetryRecoveryReport(shuffledRecords, options(slo)), null, 2);
        expect(b).toBe(a);
      }),
    );
  });

  it('the same records at the same now give a byte-identical report (and report_id)', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, (records, slo) => {
        const copy = JSON.parse(JSON.stringify(records)) as RecordSet;
        const a = computeRetryRecoveryReport(records, options(slo));
        const b = computeRetryRecoveryReport(copy, options(slo));
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        expect(a.metadata.session_id).toBe(a.report.report_id);
      }),
    );
  });

  it('nextBreachAt is the first instant a still-open row breaches', () => {
    fc.assert(
      fc.property(recordsArb, sloArb, (records, slo) => {
        const next = nextBreachAt(records, slo, NOW);
        const before = breachedRowKeys(computeRetryRecoveryReport(records, options(slo)).report);
        if (next === null) return;
        const at = new Date(next);
        expect(at.getTime()).toBeGreaterThan(NOW.getTime());
        const justBefore = computeRetryRecoveryReport(records, {
          ...options(slo),
          now: new Date(at.getTime() - 1),
        });
        const atBreach = computeRetryRecoveryReport(records, { ...options(slo), now: at });
        expect(breachedRowKeys(justBefore.report)).toEqual(before);
        expect(breachedRowKeys(atBreach.report).length).toBeGreaterThan(before.length);
      }),
    );
  });
});

describe('report_id', () => {
  const records = recordSet({
    playbooks: [
      makePlaybook({
        id: fixtureId('gordackrecovery-', 1),
        generatedAt: '2026-06-28T10:00:00.000Z',
        providers: [{ provider: 'a' }],
      }),
    ],
  });
  it.each([
    ['slo', { sloMinutes: 30 }],
    ['generated_by', { generatedBy: 'cli' }],
    ['revision', { revision: 'c'.repeat(40) }],
    ['now', { now: new Date('2026-06-28T12:00:01.000Z') }],
  ])('changes with %s', (_name, change) => {
    const base = computeRetryRecoveryReport(records, options(240)).report.report_id;
    expect(computeRetryRecoveryReport(records, { ...options(240), ...change }).report.report_id).not.toBe(
      base,
    );
    expect(base).toMatch(/^gordackretryreport-[0-9a-f]{16}$/);
  });
});

describe('parseRecoverySloMinutes', () => {
  it.each([
    ['1', 1],
    ['240', 240],
    ['525600', 525_600],
    [60, 60],
  ])('accepts %j', (raw, value) => {
    expect(parseRecoverySloMinutes(raw)).toEqual({ ok: true, value });
  });
  it.each(['0', '525601', '-5', '1.5', 'abc', '', ' ', '1e3', 0, 2.5, Number.NaN, null, undefined])(
    'rejects %j',
    (raw) => {
      const result = parseRecoverySloMinutes(raw);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain('1 to 525600');
    },
  );
});
