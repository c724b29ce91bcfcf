/**
 * The retry plan's next steps: every reason gets one, the keys waiting on a person get a manifest,
 * and each offered manifest passes the real validator (schema and semantic rules) beside the
 * bundled example manifests, with a name no manifest of its kind has yet.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GATE_REASONS } from '../../src/domain/approval-gate.js';
import { chooseFreeName, PERSON_PLACEHOLDER, planNextStep } from '../../src/api/next-step.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { bundledManifests, fileInput } from '../manifests/helpers.js';

const bundled = validateManifests(bundledManifests());
const context = { manifests: bundled.manifests };
const KEY = {
  delivery_id: 'rollback-drill-2026-06-28',
  audit_id: 'audit-rollback-drill-2026-06-28',
  provider: 'ops-webhook',
};

function decision(reason: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: KEY,
    attempts: 2,
    retry_count: 2,
    next_retry_at: '2026-06-28T12:30:00.000Z',
    action: 'retry',
    execute: reason === 'executed',
    reason,
    approval: null,
    acknowledgement: null,
    execution_id: '',
    ...extra,
  };
}

/** [reason, extra decision fields, expected action, kind of the manifest or null, text in the summary] */
const CASES: [string, Record<string, unknown>, string, string | null, string][] = [
  ['executed', {}, 'wait', null, 'executes this retry on its next run'],
  ['delivered', {}, 'none', null, 'Delivered'],
  ['pending_delivery', {}, 'wait', null, 'first delivery'],
  ['provider_disabled', {}, 'fix', null, 'spec.enabled to true'],
  ['provider_missing', {}, 'fix', null, 'No valid Provider manifest is named ops-webhook'],
  ['delivery_removed', {}, 'none', null, 'was removed'],
  ['retry_delay_not_elapsed', {}, 'wait', null, 'ends at 2026-06-28T12:30:00.000Z'],
  ['max_attempts_reached', {}, 'commit', 'RetryApproval', 'retry_policy.max_retry_attempts 3'],
  ['wait_for_retry_ack', {}, 'commit', 'RetryAcknowledgement', 'requires an acknowledgement'],
  [
    'wait_for_retry_ack',
    { acknowledgement: { name: 'ack-old', state: 'deferred' } },
    'commit',
    'RetryAcknowledgement',
    'ack-old is deferred',
  ],
  ['request_approval', {}, 'commit', 'RetryApproval', 'Nothing approves a retry yet'],
  [
    'request_approval',
    {
      approval: { name: 'approve-ops-webhook-2026-06-28', state: 'approved', decided_by: 'bob@example.com' },
    },
    'commit',
    'RetryApproval',
    'was used by an execution',
  ],
  [
    'approval_denied',
    { approval: { name: 'approve-x', state: 'denied', decided_by: 'bob' } },
    'commit',
    'RetryApproval',
    'approve-x is denied',
  ],
  [
    'approval_deferred',
    { approval: { name: 'a', state: 'deferred', decided_by: 'b' } },
    'commit',
    'RetryApproval',
    'is deferred',
  ],
  [
    'approval_expired',
    { approval: { name: 'a', state: 'approved', decided_by: 'b' } },
    'commit',
    'RetryApproval',
    'is expired',
  ],
  [
    'approver_not_allowed',
    { approval: { name: 'a', state: 'approved', decided_by: 'mallory' } },
    'commit',
    'RetryApproval',
    'mallory is not among',
  ],
  ['signature_required', {}, 'commit', 'RetryApproval', 'git commit -S'],
  ['claim_in_flight', {}, 'wait', null, 'calling the provider now'],
  ['claim_expired', {}, 'wait', null, 'lease expired'],
  ['run_limit_reached', {}, 'wait', null, 'max_retry_deliveries_per_run'],
  ['quorum_not_met', {}, 'commit', 'RetryApproval', 'More approvals are required'],
  ['separation_of_duties', {}, 'commit', 'RetryApproval', 'must not be who acknowledged'],
  ['change_freeze', {}, 'wait', null, 'freeze window'],
  ['some_future_reason', {}, 'none', null, 'Reason some_future_reason'],
];

describe('planNextStep', () => {
  it.each(CASES)('%s %j: %s', (reason, extra, action, kind, summary) => {
    const step = planNextStep(decision(reason, extra), context);
    expect(step.action).toBe(action);
    expect(step.kind).toBe(kind);
    expect(step.summary).toContain(summary);
    expect(step.summary).toMatch(/[.)]$/);
    if (kind === null) {
      expect(step.manifest).toBeNull();
      expect(step.path).toBeNull();
    }
  });

  it('has a step for every reason the gate gives', () => {
    for (const reason of GATE_REASONS) {
      expect(planNextStep(decision(reason), context).summary).not.toContain('see `cavra-gitops plan`');
    }
  });

  const offered = CASES.filter(([, , , kind]) => kind !== null);
  it.each(offered)(
    '%s %j: the manifest validates beside the bundled ones',
    (reason, extra, _action, kind) => {
      const step = planNextStep(decision(reason, extra), context);
      expect(step.manifest).not.toBeNull();
      const manifest = step.manifest ?? '';
      const written = parse(manifest) as {
        kind: string;
        metadata: { name: string };
        spec: Record<string, unknown>;
      };
      expect(written.kind).toBe(kind);
      expect(written.spec).toMatchObject({ delivery: KEY.delivery_id, provider: KEY.provider });
      const person = kind === 'RetryAcknowledgement' ? 'acknowledged_by' : 'decided_by';
      expect(written.spec[person]).toBe(PERSON_PLACEHOLDER);
      expect(manifest).toContain(`Replace ${person}`);
      expect(step.path).toBe(`manifests/retries/${written.metadata.name}.yaml`);

      const result = validateManifests([...bundledManifests(), fileInput(step.path ?? '', manifest)]);
      expect(result.findings).toEqual([]);
      // (The condition's name is not compared: the validator blanks long names as possibly secret.)
      const added = result.conditions.find((condition) => condition.file === step.path);
      expect(added).toMatchObject({ kind, ready: true, reason: 'Valid' });
      const names = kind === 'RetryApproval' ? result.manifests.approvals : result.manifests.acknowledgements;
      expect(names.map((manifest) => manifest.name)).toContain(written.metadata.name);
    },
  );

  it('names a manifest so that it does not collide with one of its kind', () => {
    const step = planNextStep(decision('request_approval'), context);
    const base = 'approve-rollback-drill-2026-06-28-ops-webhook';
    expect(step.path).toBe(`manifests/retries/${base}.yaml`);
    // Once that approval is merged (and consumed), the next one offered takes the next name.
    const merged = validateManifests([
      ...bundledManifests(),
      fileInput(step.path ?? '', step.manifest ?? ''),
    ]);
    const again = planNextStep(decision('request_approval'), { manifests: merged.manifests });
    expect(again.path).toBe(`manifests/retries/${base}-2.yaml`);
    expect(chooseFreeName(base, new Set([base]))).toBe(`${base}-2`);
    expect(chooseFreeName(base, new Set([base, `${base}-2`]))).toBe(`${base}-3`);
  });

  it('keeps names DNS-1123 labels of at most 63 characters', () => {
    const long = `approve-${'d'.repeat(60)}-${'p'.repeat(60)}`;
    const first = chooseFreeName(long, new Set());
    expect(first).toHaveLength(63);
    const second = chooseFreeName(long, new Set([first]));
    expect(second).toHaveLength(63);
    expect(second.endsWith('-2')).toBe(true);
    expect(chooseFreeName('ack--Weird_Name-', new Set())).toBe('ack--weird-name');
    for (const name of [first, second]) expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('allows one more attempt than used, up to the schema bound', () => {
    const step = planNextStep(decision('max_attempts_reached', { retry_count: 4 }), context);
    expect((parse(step.manifest ?? '') as { spec: { retry_policy: unknown } }).spec.retry_policy).toEqual({
      max_retry_attempts: 5,
    });
    expect(planNextStep(decision('max_attempts_reached', { retry_count: 100 }), context).action).toBe('none');
  });

  it('tolerates a decision without a key', () => {
    expect(planNextStep({ reason: 'request_approval' }, context)).toMatchObject({
      action: 'none',
      manifest: null,
    });
  });
});
