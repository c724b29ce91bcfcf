import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SPEC, defaultCategory, defaultIdempotent } from '../../src/domain/defaults.js';
import { PROVIDER_TYPES } from '../../src/domain/types.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { fileInput } from './helpers.js';

const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: cavra.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe('normalisation fills every default docs/reference.md §3 and docs/manifests.md list', () => {
  it.each(PROVIDER_TYPES.map((t) => [t]))('Provider of type %s', (type) => {
    // jira and servicenow default to basic auth, which needs an account: bearer needs none.
    const bearer = type === 'jira' || type === 'servicenow';
    const spec =
      type === 'file'
        ? '  type: file\n'
        : `  type: ${type}\n  url_env: ENDPOINT_URL\n${bearer ? '  options:\n    auth: bearer\n' : ''}`;
    const result = validateManifests([fileInput('manifests/p.yaml', doc('Provider', 'p', spec))]);
    expect(result.findings).toEqual([]);
    expect(result.manifests.providers[0]!.spec).toEqual({
      type,
      url_env: type === 'file' ? null : 'ENDPOINT_URL',
      token_env: null,
      signing_secret_env: null,
      enabled: true,
      timeout_seconds: 10,
      category: defaultCategory(type),
      idempotent: defaultIdempotent(type),
      options: bearer ? { auth: 'bearer' } : {},
    });
  });

  it.each([
    ['splunk', 'siem', false],
    ['sentinel', 'siem', false],
    ['datadog', 'siem', false],
    ['jira', 'itsm', false],
    ['servicenow', 'itsm', false],
    ['slack', 'chatops', false],
    ['teams', 'chatops', false],
    ['webhook', 'webhook', true],
    ['file', 'webhook', true],
  ] as const)('%s → category %s, idempotent %s', (type, category, idempotent) => {
    expect(defaultCategory(type)).toBe(category);
    expect(defaultIdempotent(type)).toBe(idempotent);
  });

  it('an empty policy spec gets every default; partial nested objects keep the rest', () => {
    const empty = validateManifests([fileInput('manifests/p.yaml', doc('ReconcilerPolicy', 'default', '  {}\n'))]);
    expect(empty.manifests.policy!.spec).toEqual(DEFAULT_POLICY_SPEC);
    const partial = validateManifests([
      fileInput('manifests/p.yaml', doc('ReconcilerPolicy', 'default', '  retry_defaults:\n    max_retry_attempts: 7\n  recovery:\n    auto_playbooks: false\n')),
    ]);
    expect(partial.manifests.policy!.spec).toEqual({
      ...DEFAULT_POLICY_SPEC,
      retry_defaults: { ...DEFAULT_POLICY_SPEC.retry_defaults, max_retry_attempts: 7 },
      recovery: { ...DEFAULT_POLICY_SPEC.recovery, auto_playbooks: false },
    });
  });

  it('acknowledgements, approvals and closures default state, text fields and commit times', () => {
    const files = [
      fileInput('manifests/p.yaml', doc('Provider', 'hook', '  type: webhook\n  url_env: HOOK_URL\n')),
      fileInput(
        'manifests/d.yaml',
        doc('AuditDelivery', 'd1', '  audit_id: a1\n  providers: all\n  package: {route_count: 0, acknowledgement_count: 0, acknowledged_count: 0, resolved_count: 0, escalated_count: 0, dismissed_count: 0, outstanding_count: 0}\n'),
      ),
      fileInput('manifests/a.yaml', doc('RetryAcknowledgement', 'a', '  delivery: d1\n  provider: hook\n  acknowledged_by: x\n')),
      fileInput('manifests/b.yaml', doc('RetryApproval', 'b', '  delivery: d1\n  provider: hook\n  decided_by: y\n')),
      fileInput('manifests/c.yaml', doc('RecoveryClosure', 'c', '  playbook_id: gordackrecovery-1\n  provider: hook\n  closed_by: z\n')),
    ];
    const result = validateManifests(files);
    expect(result.findings).toEqual([]);
    expect(result.manifests.deliveries[0]!.spec).toMatchObject({ cadence: 'on_demand', providers: 'all', package: { routes: [] } });
    expect(result.manifests.acknowledgements[0]!.spec).toEqual({
      delivery: 'd1',
      provider: 'hook',
      state: 'accepted',
      acknowledged_by: 'x',
      acknowledged_at: '2026-06-28T10:00:00Z',
      external_ref: '',
      notes: '',
    });
    expect(result.manifests.approvals[0]!.spec).toEqual({
      delivery: 'd1',
      provider: 'hook',
      state: 'approved',
      decided_by: 'y',
      decided_at: '2026-06-28T10:00:00Z',
      expires_at: null,
      external_ref: '',
      notes: '',
      retry_policy: { max_retry_attempts: null, retry_delay_minutes: null, backoff_multiplier: null, allow_immediate_retry: false },
      emergency: false,
    });
    expect(result.manifests.closures[0]!.spec).toMatchObject({ state: 'resolved', closed_at: '2026-06-28T10:00:00Z', verification_refs: [] });
  });
});
