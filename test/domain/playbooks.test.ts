import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SPEC, defaultCategory, defaultIdempotent } from '../../src/domain/defaults.js';
import { planPlaybooks, type PlanPlaybooksInput } from '../../src/domain/playbooks.js';
import { recoveryStepsFor } from '../../src/domain/recovery-steps.js';
import {
  API_VERSION,
  type Provider,
  type ProviderType,
  type RecordSet,
  type ReconcilerPolicySpec,
} from '../../src/domain/types.js';
import { hasValidHash } from '../../src/domain/hash.js';
import {
  fixtureId,
  makeClosure,
  makeDelivery,
  makeExecution,
  makePlaybook,
  recordSet,
} from '../fixtures/report/factories.js';

const NOW = new Date('2026-06-28T12:00:00.000Z');

function provider(name: string, type: ProviderType = 'webhook'): Provider {
  return {
    apiVersion: API_VERSION,
    kind: 'Provider',
    name,
    labels: {},
    spec: {
      type,
      url_env: type === 'file' ? null : 'OPS_URL',
      token_env: null,
      signing_secret_env: null,
      enabled: true,
      timeout_seconds: 10,
      category: defaultCategory(type),
      idempotent: defaultIdempotent(type),
      options: {},
    },
    source: { path: 'manifests/providers.yaml', document: 0, line: 1, column: 1, blob: '', introduced: null },
  };
}

function ago(minutes: number): string {
  return new Date(NOW.getTime() - minutes * 60_000).toISOString();
}

function policy(recovery: Partial<ReconcilerPolicySpec['recovery']> = {}): ReconcilerPolicySpec {
  return { ...DEFAULT_POLICY_SPEC, recovery: { ...DEFAULT_POLICY_SPEC.recovery, ...recovery } };
}

function plan(records: RecordSet, overrides: Partial<PlanPlaybooksInput> = {}) {
  return planPlaybooks({
    providers: [provider('ops-webhook'), provider('splunk-main', 'splunk'), provider('drop-box', 'file')],
    policy: policy(),
    records,
    now: NOW,
    revision: 'a'.repeat(40),
    generatedBy: 'replica-a',
    ...overrides,
  });
}

const failed = (
  minutesAgo: number,
  attempt = 1,
  extra: { provider?: string; statusCode?: number | null; executionId?: string } = {},
) =>
  makeDelivery({
    deliveryId: `audit-${attempt}-${minutesAgo}`,
    provider: extra.provider ?? 'ops-webhook',
    attempt,
    success: false,
    at: ago(minutesAgo),
    ...(extra.statusCode === undefined ? {} : { statusCode: extra.statusCode }),
    ...(extra.executionId === undefined ? {} : { executionId: extra.executionId }),
  });

describe('planPlaybooks', () => {
  it.each([
    [1, 0],
    [2, 1],
    [3, 1],
  ])('with %i failures (min 2) generates %i playbooks', (failures, expected) => {
    const deliveries = Array.from({ length: failures }, (_, index) => failed(10 + index));
    expect(plan(recordSet({ deliveries }))).toHaveLength(expected);
  });

  it('writes a complete, hashed playbook with distinct sorted status codes and the latest failure', () => {
    const records = recordSet({
      deliveries: [
        failed(30, 1, { statusCode: 503 }),
        failed(20, 2, { statusCode: 429 }),
        failed(10, 3, { statusCode: 503 }),
        failed(5, 1, { statusCode: null }),
        makeDelivery({ provider: 'ops-webhook', attempt: 4, success: true, at: ago(1) }),
      ],
    });
    const [playbook] = plan(records);
    expect(playbook).toMatchObject({
      generated_at: NOW.toISOString(),
      generated_by: 'replica-a',
      lookback_hours: 24,
      min_failure_count: 2,
      provider_count: 1,
      failure_count: 4,
      source_revision: 'a'.repeat(40),
      provider_playbooks: [
        {
          provider: 'ops-webhook',
          category: 'webhook',
          failure_count: 4,
          latest_failure_at: ago(5),
          status_codes: [429, 503],
          recovery_steps: recoveryStepsFor('webhook', 'webhook'),
        },
      ],
    });
    expect(playbook?.playbook_id).toMatch(/^gordackrecovery-[0-9a-f]{16}$/);
    expect(playbook && hasValidHash(playbook, 'playbook_hash')).toBe(true);
    expect(plan(records)).toEqual([playbook]);
  });

  it('counts a retry once: its delivery record, not also its execution record', () => {
    const executionId = fixtureId('gordackretryexec-', 7);
    const records = recordSet({
      deliveries: [failed(20, 2, { executionId })],
      executions: [
        makeExecution({ id: executionId, provider: 'ops-webhook', status: 'failed', executedAt: ago(20) }),
      ],
    });
    expect(plan(records)).toEqual([]);
    // An execution without a delivery record (skipped, unknown outcome) is a failure of its own.
    const withSkipped = recordSet({
      ...records,
      executions: [
        ...records.executions,
        makeExecution({
          id: fixtureId('gordackretryexec-', 8),
          provider: 'ops-webhook',
          status: 'unknown',
          executedAt: ago(15),
        }),
      ],
    });
    expect(plan(withSkipped)[0]?.failure_count).toBe(2);
  });

  it('counts only failures within lookback_hours before now', () => {
    const boundary = 24 * 60;
    expect(plan(recordSet({ deliveries: [failed(boundary + 1), failed(10)] }))).toEqual([]);
    expect(plan(recordSet({ deliveries: [failed(boundary), failed(10)] }))).toHaveLength(1);
    expect(plan(recordSet({ deliveries: [failed(-5), failed(10)] }))).toEqual([]);
    expect(
      plan(recordSet({ deliveries: [failed(100), failed(10)] }), { policy: policy({ lookback_hours: 1 }) }),
    ).toEqual([]);
  });

  it('counts only failures after the provider’s latest closing closure', () => {
    const old = makePlaybook({
      id: fixtureId('gordackrecovery-', 1),
      generatedAt: ago(120),
      providers: [{ provider: 'ops-webhook' }],
    });
    const resolvedAt = (minutes: number, state = 'resolved') =>
      makeClosure({
        id: fixtureId('gordackrecoveryclosure-', minutes),
        playbookId: old.playbook_id,
        provider: 'ops-webhook',
        state,
        closedAt: ago(minutes),
      });
    const deliveries = [failed(100), failed(90), failed(30)];
    expect(plan(recordSet({ playbooks: [old], deliveries, closures: [resolvedAt(60)] }))).toEqual([]);
    const [playbook] = plan(
      recordSet({ playbooks: [old], deliveries: [...deliveries, failed(20)], closures: [resolvedAt(60)] }),
    );
    expect(playbook?.provider_playbooks[0]?.failure_count).toBe(2);
    // A mitigated closure closes too; the latest of several closing closures counts.
    expect(
      plan(
        recordSet({
          playbooks: [old],
          deliveries: [...deliveries, failed(20)],
          closures: [resolvedAt(110), resolvedAt(25, 'mitigated')],
        }),
      ),
    ).toEqual([]);
  });

  it('generates no second playbook while a row of the provider is open', () => {
    const open = makePlaybook({
      id: fixtureId('gordackrecovery-', 1),
      generatedAt: ago(60),
      providers: [{ provider: 'ops-webhook' }],
    });
    const deliveries = [failed(30), failed(20)];
    expect(plan(recordSet({ playbooks: [open], deliveries }))).toEqual([]);
    const deferred = makeClosure({
      id: fixtureId('gordackrecoveryclosure-', 1),
      playbookId: open.playbook_id,
      provider: 'ops-webhook',
      state: 'deferred',
      closedAt: ago(40),
    });
    expect(plan(recordSet({ playbooks: [open], deliveries, closures: [deferred] }))).toEqual([]);
    // Another provider with failures is still covered.
    const other = [failed(30, 1, { provider: 'splunk-main' }), failed(20, 2, { provider: 'splunk-main' })];
    expect(
      plan(
        recordSet({ playbooks: [open], deliveries: [...deliveries, ...other] }),
      )[0]?.provider_playbooks.map((p) => p.provider),
    ).toEqual(['splunk-main']);
  });

  it('covers every due provider in one playbook, sorted by name', () => {
    const deliveries = [
      failed(30, 1, { provider: 'splunk-main' }),
      failed(20, 2, { provider: 'splunk-main' }),
      failed(30, 1, { provider: 'drop-box', statusCode: null }),
      failed(25, 2, { provider: 'drop-box', statusCode: null }),
      failed(10, 1, { provider: 'drop-box', statusCode: null }),
    ];
    const [playbook] = plan(recordSet({ deliveries }));
    expect(playbook?.provider_count).toBe(2);
    expect(playbook?.failure_count).toBe(5);
    expect(playbook?.provider_playbooks.map((p) => [p.provider, p.category, p.status_codes])).toEqual([
      ['drop-box', 'webhook', []],
      ['splunk-main', 'siem', [503]],
    ]);
    expect(playbook?.provider_playbooks[0]?.recovery_steps).toEqual(recoveryStepsFor('webhook', 'file'));
  });

  it('ignores failures of providers not declared in the manifests, and does nothing without auto_playbooks', () => {
    const ghost = [failed(20, 1, { provider: 'ghost' }), failed(10, 2, { provider: 'ghost' })];
    expect(plan(recordSet({ deliveries: ghost }))).toEqual([]);
    const deliveries = [failed(20), failed(10)];
    expect(plan(recordSet({ deliveries }), { policy: policy({ auto_playbooks: false }) })).toEqual([]);
  });

  it('gives a different id to the same failures at another time or revision', () => {
    const records = recordSet({ deliveries: [failed(20), failed(10)] });
    const base = plan(records)[0]?.playbook_id;
    expect(plan(records, { now: new Date(NOW.getTime() + 1000) })[0]?.playbook_id).not.toBe(base);
    expect(plan(records, { revision: 'b'.repeat(40) })[0]?.playbook_id).not.toBe(base);
  });
});

describe('recoveryStepsFor', () => {
  it.each(['siem', 'itsm', 'chatops', 'webhook'] as const)(
    'gives %s its own concrete steps ending with the closure step',
    (category) => {
      const steps = recoveryStepsFor(category);
      expect(steps.length).toBeGreaterThanOrEqual(4);
      expect(steps.at(-1)).toContain('RecoveryClosure');
      const others = (['siem', 'itsm', 'chatops', 'webhook'] as const).filter((c) => c !== category);
      for (const other of others) expect(recoveryStepsFor(other)[0]).not.toBe(steps[0]);
    },
  );
});

describe('planPlaybooks reads failures within its lookback window only', () => {
  // verify's playbook recompute (audit/recompute-records.ts) gives it only the deliveries and
  // executions whose failure time is within [now - lookback, now], the deliveries that carry
  // those executions' ids, and every playbook and closure: it must decide the same from them.
  it('decides the same from those records as from every record', () => {
    const minutes = fc.integer({ min: -120, max: 72 * 60 });
    const providerName = fc.constantFrom('ops-webhook', 'splunk-main', 'drop-box');
    const delivery = fc.record({
      provider: providerName,
      minutesAgo: minutes,
      success: fc.boolean(),
      execution: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    });
    const execution = fc.record({
      id: fc.integer({ min: 0, max: 5 }),
      provider: providerName,
      minutesAgo: minutes,
      status: fc.constantFrom('delivered', 'failed', 'skipped', 'unknown'),
    });
    const closure = fc.record({
      provider: providerName,
      minutesAgo: minutes,
      state: fc.constantFrom('resolved', 'acknowledged'),
    });
    fc.assert(
      fc.property(
        fc.array(delivery, { maxLength: 12 }),
        fc.array(execution, { maxLength: 6 }),
        fc.array(closure, { maxLength: 2 }),
        fc.integer({ min: 1, max: 48 }),
        fc.integer({ min: 1, max: 3 }),
        (deliveryCases, executionCases, closureCases, lookbackHours, minFailures) => {
          const executionId = (n: number) => `gordackretryexec-${String(n).padStart(16, '0')}`;
          const executions = [...new Map(executionCases.map((c) => [c.id, c])).values()].map((c) =>
            makeExecution({
              id: executionId(c.id),
              provider: c.provider,
              status: c.status,
              executedAt: ago(c.minutesAgo),
            }),
          );
          const deliveries = deliveryCases.map((c, index) =>
            makeDelivery({
              deliveryId: `audit-${index}`,
              provider: c.provider,
              attempt: 1,
              success: c.success,
              at: ago(c.minutesAgo),
              ...(c.execution === undefined ? {} : { executionId: executionId(c.execution) }),
            }),
          );
          const playbook = makePlaybook({
            id: fixtureId('gordackrecovery-', 1),
            generatedAt: ago(600),
            providers: [{ provider: 'splunk-main' }],
          });
          const closures = closureCases.map((c, index) =>
            makeClosure({
              id: fixtureId('gordackrecoveryclosure-', index),
              playbookId: playbook.playbook_id,
              provider: c.provider,
              state: c.state,
              closedAt: ago(c.minutesAgo),
            }),
          );
          const all = recordSet({ deliveries, executions, playbooks: [playbook], closures });
          const from = NOW.getTime() - lookbackHours * 3_600_000;
          const within = (at: string) => Date.parse(at) >= from && Date.parse(at) <= NOW.getTime();
          const inWindow = executions.filter((e) => within(e.executed_at));
          const ids = new Set(inWindow.map((e) => e.execution_id));
          const windowed = recordSet({
            deliveries: deliveries.filter(
              (d) => within(d.completed_at || d.attempted_at) || ids.has(d.execution_id),
            ),
            executions: inWindow,
            playbooks: [playbook],
            closures,
          });
          const options = {
            policy: policy({ lookback_hours: lookbackHours, min_failure_count: minFailures }),
          };
          expect(plan(windowed, options)).toEqual(plan(all, options));
        },
      ),
      { seed: 1616, numRuns: 300 },
    );
  });
});
