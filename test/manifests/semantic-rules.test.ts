import { describe, expect, it } from 'vitest';
import type { ClosureTargets } from '../../src/domain/closures.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { bundledManifests, fileInput } from './helpers.js';

const closure = (spec: string) =>
  fileInput(
    'manifests/closures/c.yaml',
    `apiVersion: cavra.dev/v1\nkind: RecoveryClosure\nmetadata:\n  name: close-webhook\nspec:\n  closed_by: carol@example.com\n${spec}`,
  );

const records: ClosureTargets = {
  playbooks: new Map([['gordackrecovery-00000000000000aa', ['ops-webhook']]]),
  recordIds: new Set(['gordackrecovery-00000000000000aa', 'gordackretryexec-00000000000000bb']),
};

describe('closure references (only with records)', () => {
  it.each([
    ['a known playbook, provider and verification ref', 'gordackrecovery-00000000000000aa', 'ops-webhook', 'gordackretryexec-00000000000000bb', []],
    ['an unknown playbook', 'gordackrecovery-00000000000000ff', 'ops-webhook', 'gordackretryexec-00000000000000bb', [[7, 'ref.playbook']]],
    ['a provider outside the playbook', 'gordackrecovery-00000000000000aa', 'ops-file', 'gordackretryexec-00000000000000bb', [[8, 'ref.playbook-provider']]],
    ['an unknown verification ref', 'gordackrecovery-00000000000000aa', 'ops-webhook', 'gordackretryexec-00000000000000cc', [[10, 'ref.verification']]],
  ])('%s', (_name, playbook, provider, ref, expected) => {
    const file = closure(`  playbook_id: ${playbook}\n  provider: ${provider}\n  verification_refs:\n    - ${ref}\n`);
    const withRecords = validateManifests([...bundledManifests(), file], { records });
    expect(withRecords.findings.map((f) => [f.line, f.rule])).toEqual(expected);
    expect(withRecords.manifests.closures).toHaveLength(expected.length === 0 ? 1 : 0);
    // Without records the same closure is accepted: the playbook checks wait for the records.
    expect(validateManifests([...bundledManifests(), file]).findings).toEqual([]);
  });
});

describe('reference chains', () => {
  it('a reference to a skipped manifest does not resolve', () => {
    const brokenDelivery = fileInput(
      'manifests/audit-delivery.yaml',
      'apiVersion: cavra.dev/v1\nkind: AuditDelivery\nmetadata:\n  name: rollback-drill-2026-06-28\nspec:\n  audit_id: x\n  providers: [ops-file]\n  package: {}\n',
    );
    const files = bundledManifests().filter((f) => f.path !== 'manifests/audit-delivery.yaml');
    const result = validateManifests([...files, brokenDelivery]);
    const rules = result.findings.map((f) => `${f.file}:${f.rule}`);
    expect(rules).toContain('manifests/retry-acknowledgement.yaml:ref.delivery');
    expect(rules).toContain('manifests/retry-approval.yaml:ref.delivery');
    expect(result.conditions.find((c) => c.file === 'manifests/retry-approval.yaml')).toMatchObject({
      ready: false,
      reason: 'UnresolvedReference',
    });
  });

  it('a provider disabled behind `providers: all` is not selected', () => {
    const files = bundledManifests().map((f) =>
      f.path === 'manifests/providers.yaml'
        ? { ...f, content: Buffer.from(f.content.toString().replace('timeout_seconds: 10', 'timeout_seconds: 10\n  enabled: false')) }
        : f.path === 'manifests/audit-delivery.yaml'
          ? { ...f, content: Buffer.from(f.content.toString().replace(/providers:\n {4}- ops-file\n {4}- ops-webhook/, 'providers: all')) }
          : f,
    );
    const result = validateManifests(files);
    expect(result.findings.map((f) => `${f.file}:${f.rule}`)).toEqual([
      'manifests/retry-acknowledgement.yaml:ref.provider-not-selected',
      'manifests/retry-approval.yaml:ref.provider-not-selected',
    ]);
  });

  it('files outside manifests/ or with other extensions are not manifests', () => {
    const result = validateManifests([
      fileInput('docs/example.yaml', 'kind: [broken'),
      fileInput('manifests/readme.md', 'kind: [broken'),
      fileInput('manifestsx/a.yaml', 'kind: [broken'),
    ]);
    expect(result.findings).toEqual([]);
    expect(result.conditions).toEqual([]);
  });
});
