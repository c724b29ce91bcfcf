/**
 * The policy fields of issue 13 in schemas, normalisation and semantic rules: quorum, separation
 * of duties, freeze windows (fixed and cron), break-glass limits, reconciler signers; and the
 * `approval.emergency-expiry` rule (file:line, rule id).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SPEC } from '../../src/domain/defaults.js';
import type { CommitInfo } from '../../src/domain/types.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { INTRODUCED, fileInput } from './helpers.js';

const PROVIDER = `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: hook
spec:
  type: webhook
  url_env: HOOK_URL
---
apiVersion: cavra.dev/v1
kind: AuditDelivery
metadata:
  name: d1
spec:
  audit_id: a1
  providers: [hook]
  package: {route_count: 0, acknowledgement_count: 0, acknowledged_count: 0, resolved_count: 0, escalated_count: 0, dismissed_count: 0, outstanding_count: 0}
`;

function policyYaml(spec: string): string {
  return `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
${spec}`;
}

function approvalYaml(extra: string): string {
  return `apiVersion: cavra.dev/v1
kind: RetryApproval
metadata:
  name: break-glass
spec:
  delivery: d1
  provider: hook
  decided_by: bob@example.com
${extra}`;
}

function validate(policy: string | null, approval: string | null, introduced: CommitInfo | null = INTRODUCED) {
  const files = [fileInput('manifests/base.yaml', PROVIDER, introduced)];
  if (policy !== null) files.push(fileInput('manifests/policy.yaml', policy, introduced));
  if (approval !== null) files.push(fileInput('manifests/approvals/break-glass.yaml', approval, introduced));
  return validateManifests(files);
}

const findingsOf = (result: ReturnType<typeof validate>) =>
  result.findings.filter((f) => f.severity === 'error').map((f) => ({ file: f.file, line: f.line, rule: f.rule, path: f.path }));

describe('ReconcilerPolicy: the gate fields', () => {
  it('accepts every new field and normalises them', () => {
    const result = validate(
      policyYaml(`  approvals_required: 2
  separate_duties: true
  freeze_windows:
    - {from: 2026-12-24T00:00:00Z, to: 2026-12-27T00:00:00Z, reason: holidays}
    - {cron: "0 18 * * 5", duration_minutes: 3840, reason: weekend}
  max_emergency_minutes: 30
  reconciler_signers: [reconciler@example.com]
  require_signed_records: true
`),
      null,
    );
    expect(findingsOf(result)).toEqual([]);
    expect(result.manifests.policy?.spec).toMatchObject({
      approvals_required: 2,
      separate_duties: true,
      freeze_windows: [
        { from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z', reason: 'holidays' },
        { cron: '0 18 * * 5', duration_minutes: 3840, reason: 'weekend' },
      ],
      max_emergency_minutes: 30,
      reconciler_signers: ['reconciler@example.com'],
      require_signed_records: true,
    });
  });

  it('defaults every new field (docs/manifests.md)', () => {
    const spec = validate(policyYaml('  require_retry_ack: true\n'), null).manifests.policy?.spec;
    expect(spec).toMatchObject({
      approvals_required: 1,
      separate_duties: false,
      freeze_windows: [],
      max_emergency_minutes: 60,
      reconciler_signers: [],
      require_signed_records: false,
    });
    expect(DEFAULT_POLICY_SPEC.approvals_required).toBe(1);
  });

  it.each<[string, string, { line: number; rule: string; path: string }[]]>([
    [
      'a cron that does not parse',
      '  freeze_windows:\n    - cron: "61 * * * *"\n      duration_minutes: 60\n      reason: x\n',
      [{ line: 7, rule: 'policy.freeze-cron', path: '/spec/freeze_windows/0/cron' }],
    ],
    [
      'a cron with 6 fields',
      '  freeze_windows:\n    - cron: "0 0 0 * * *"\n      duration_minutes: 60\n      reason: x\n',
      [{ line: 7, rule: 'policy.freeze-cron', path: '/spec/freeze_windows/0/cron' }],
    ],
    [
      'a fixed window that ends before it starts',
      '  freeze_windows:\n    - from: 2026-12-27T00:00:00Z\n      to: 2026-12-24T00:00:00Z\n      reason: x\n',
      [{ line: 8, rule: 'policy.freeze-window', path: '/spec/freeze_windows/0/to' }],
    ],
    [
      'a window without a reason',
      '  freeze_windows:\n    - {from: 2026-12-24T00:00:00Z, to: 2026-12-27T00:00:00Z}\n',
      [{ line: 7, rule: 'schema.any-of', path: '/spec/freeze_windows/0' }],
    ],
    ['a quorum of 0', '  approvals_required: 0\n', [{ line: 6, rule: 'schema.minimum', path: '/spec/approvals_required' }]],
  ])('%s → a finding', (_name, spec, expected) => {
    const result = validate(policyYaml(spec), null);
    expect(findingsOf(result)).toEqual(expected.map((e) => ({ file: 'manifests/policy.yaml', ...e })));
    expect(result.manifests.policy).toBeNull();
  });
});

describe('RetryApproval: break-glass expiry (approval.emergency-expiry)', () => {
  // The commit of INTRODUCED is at 2026-06-28T10:00:00Z.
  it.each<[string, string | null, string, { line: number; path: string } | null]>([
    ['no expires_at', null, '  emergency: true\n', { line: 9, path: '/spec/emergency' }],
    ['61 minutes after its commit (default limit 60)', null, '  emergency: true\n  expires_at: 2026-06-28T11:01:00Z\n', { line: 10, path: '/spec/expires_at' }],
    ['exactly 60 minutes after its commit', null, '  emergency: true\n  expires_at: 2026-06-28T11:00:00Z\n', null],
    [
      'beyond the policy limit of 30 minutes',
      policyYaml('  max_emergency_minutes: 30\n'),
      '  emergency: true\n  expires_at: 2026-06-28T10:45:00Z\n',
      { line: 10, path: '/spec/expires_at' },
    ],
    ['not an emergency: no limit', null, '  expires_at: 2027-06-28T11:00:00Z\n', null],
  ])('%s', (_name, policy, extra, finding) => {
    const result = validate(policy, approvalYaml(extra));
    const errors = findingsOf(result);
    if (finding === null) {
      expect(errors).toEqual([]);
      expect(result.manifests.approvals.map((a) => a.spec.emergency)).toEqual([extra.includes('emergency: true')]);
    } else {
      expect(errors).toEqual([{ file: 'manifests/approvals/break-glass.yaml', rule: 'approval.emergency-expiry', ...finding }]);
      expect(result.manifests.approvals).toEqual([]);
      const condition = result.conditions.find((c) => c.name === 'break-glass');
      expect(condition).toMatchObject({ ready: false, reason: 'InvalidApproval' });
    }
  });

  it('in the working tree (no commit yet) only the presence of expires_at is checked', () => {
    const far = validate(null, approvalYaml('  emergency: true\n  expires_at: 2030-01-01T00:00:00Z\n'), null);
    expect(findingsOf(far)).toEqual([]);
    const missing = validate(null, approvalYaml('  emergency: true\n'), null);
    expect(findingsOf(missing).map((f) => f.rule)).toEqual(['approval.emergency-expiry']);
  });
});
