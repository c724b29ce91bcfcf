import { describe, expect, it } from 'vitest';
import { closureIdOf, planClosures } from '../../src/domain/closures.js';
import {
  API_VERSION,
  type RecordSet,
  type RecoveryClosure,
  type RecoveryClosureSpec,
} from '../../src/domain/types.js';
import { hasValidHash } from '../../src/domain/hash.js';
import {
  fixtureId,
  makeDelivery,
  makeExecution,
  makePlaybook,
  recordSet,
} from '../fixtures/report/factories.js';

const NOW = new Date('2026-06-28T12:00:00.000Z');
const PLAYBOOK = makePlaybook({
  id: fixtureId('gordackrecovery-', 1),
  generatedAt: '2026-06-28T08:00:00.000Z',
  providers: [{ provider: 'ops-webhook' }, { provider: 'splunk-main', category: 'siem' }],
});
const EXECUTION = makeExecution({
  id: fixtureId('gordackretryexec-', 1),
  provider: 'ops-webhook',
  status: 'delivered',
  executedAt: '2026-06-28T09:00:00.000Z',
});
const DELIVERY = makeDelivery({
  provider: 'ops-webhook',
  attempt: 1,
  success: false,
  at: '2026-06-28T07:00:00.000Z',
});
const RECORDS: RecordSet = recordSet({
  playbooks: [PLAYBOOK],
  executions: [EXECUTION],
  deliveries: [DELIVERY],
});

function closure(
  name: string,
  spec: Partial<RecoveryClosureSpec> = {},
  commit = 'c'.repeat(40),
): RecoveryClosure {
  return {
    apiVersion: API_VERSION,
    kind: 'RecoveryClosure',
    name,
    labels: {},
    spec: {
      playbook_id: PLAYBOOK.playbook_id,
      provider: 'ops-webhook',
      state: 'resolved',
      closed_by: 'ops@example.test',
      closed_at: '2026-06-28T10:00:00Z',
      external_ref: 'OPS-42',
      notes: 'Receiver certificate renewed.',
      verification_refs: [EXECUTION.execution_id],
      ...spec,
    },
    source: {
      path: `manifests/closures/${name}.yaml`,
      document: 0,
      line: 3,
      column: 1,
      blob: 'b'.repeat(40),
      introduced: {
        commit,
        time: '2026-06-28T10:00:00Z',
        author: 'Ops Person <ops@example.test>',
        signature: { status: 'none', principal: '' },
      },
    },
  };
}

function run(closures: RecoveryClosure[], records: RecordSet = RECORDS) {
  return planClosures({ closures, records, now: NOW, revision: 'a'.repeat(40) });
}

describe('planClosures', () => {
  it('records a valid closure with every field, its source and a valid hash', () => {
    const manifest = closure('close-ops-webhook');
    const { closures, findings } = run([manifest]);
    expect(findings).toEqual([]);
    expect(closures).toEqual([
      {
        schema:
          'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-connector-recovery-closure.v2',
        product: 'cavra-gitops',
        closure_id: closureIdOf(manifest),
        playbook_id: PLAYBOOK.playbook_id,
        provider: 'ops-webhook',
        closure_state: 'resolved',
        closed_by: 'ops@example.test',
        closed_at: '2026-06-28T10:00:00Z',
        external_ref: 'OPS-42',
        notes: 'Receiver certificate renewed.',
        verification_refs: [EXECUTION.execution_id],
        source: {
          name: 'close-ops-webhook',
          manifest: 'manifests/closures/close-ops-webhook.yaml',
          blob: 'b'.repeat(40),
          commit: 'c'.repeat(40),
          author: 'Ops Person <ops@example.test>',
        },
        recorded_at: NOW.toISOString(),
        source_revision: 'a'.repeat(40),
        controls: [
          {
            id: 'secret-scan',
            passed: true,
            detail: expect.stringMatching(
              /^the closure records public-safe operator evidence: \d+ string values scanned/,
            ) as unknown,
          },
          {
            id: 'hash-coverage',
            passed: true,
            detail: expect.stringMatching(
              /^the hash covers playbook, provider, state and verification refs: closure_hash = SHA-256 of the RFC 8785 JSON of every field but itself \(closed_at, closed_by, closure_id, closure_state, controls, external_ref, notes, playbook_id, product, provider, recorded_at, schema, source, source_revision, verification_refs\)$/,
            ) as unknown,
          },
        ],
        closure_hash: closures[0]?.closure_hash ?? 'missing', // checked by hasValidHash below
      },
    ]);
    expect(closures[0]?.closure_id).toMatch(/^gordackrecoveryclosure-[0-9a-f]{16}$/);
    expect(closures[0] && hasValidHash(closures[0], 'closure_hash')).toBe(true);
  });

  it('records a manifest once: an existing closure id is skipped on later runs', () => {
    const manifest = closure('close-ops-webhook');
    const first = run([manifest]).closures;
    const later = planClosures({
      closures: [manifest],
      records: { ...RECORDS, closures: first },
      now: new Date(NOW.getTime() + 3_600_000),
      revision: 'd'.repeat(40),
    });
    expect(later).toEqual({ closures: [], findings: [] });
  });

  it('gives an edited or re-committed manifest a new closure id', () => {
    const base = closureIdOf(closure('close'));
    expect(closureIdOf(closure('close', { state: 'mitigated' }))).not.toBe(base);
    expect(closureIdOf(closure('close', {}, 'e'.repeat(40)))).not.toBe(base);
    expect(closureIdOf(closure('other'))).not.toBe(base);
    expect(closureIdOf(closure('close'))).toBe(base);
  });

  it.each<[string, Partial<RecoveryClosureSpec>, string]>([
    ['ref.playbook', { playbook_id: fixtureId('gordackrecovery-', 9) }, '/spec/playbook_id'],
    ['ref.playbook-provider', { provider: 'jira-ops' }, '/spec/provider'],
    [
      'ref.verification',
      { verification_refs: [EXECUTION.execution_id, 'gordackretryexec-ffffffffffffffff'] },
      '/spec/verification_refs/1',
    ],
  ])('reports %s and writes no record', (rule, spec, path) => {
    const { closures, findings } = run([closure('bad-closure', spec)]);
    expect(closures).toEqual([]);
    expect(findings).toEqual([
      expect.objectContaining({
        rule,
        path,
        file: 'manifests/closures/bad-closure.yaml',
        line: 3,
        column: 1,
        kind: 'RecoveryClosure',
        name: 'bad-closure',
        severity: 'error',
      }),
    ]);
    expect(findings[0]?.message).toMatch(/; (copy|use) /);
  });

  it('reports every broken reference at once, as manifest validation does', () => {
    const { closures, findings } = run([
      closure('bad-closure', {
        playbook_id: fixtureId('gordackrecovery-', 9),
        verification_refs: ['gordackretryexec-ffffffffffffffff'],
      }),
    ]);
    expect(closures).toEqual([]);
    expect(findings.map((f) => [f.rule, f.path])).toEqual([
      ['ref.playbook', '/spec/playbook_id'],
      ['ref.verification', '/spec/verification_refs/0'],
    ]);
  });

  it('accepts verification refs naming any record kind', () => {
    const refs = [EXECUTION.execution_id, DELIVERY.record_id, PLAYBOOK.playbook_id];
    const { closures, findings } = run([closure('refs', { verification_refs: refs })]);
    expect(findings).toEqual([]);
    expect(closures[0]?.verification_refs).toEqual(refs);
  });

  it('keeps valid closures when another is invalid, and orders output by id', () => {
    const { closures, findings } = run([
      closure('c-bad', { provider: 'nope' }),
      closure('b-ok', { provider: 'splunk-main' }),
      closure('a-ok'),
    ]);
    expect(findings).toHaveLength(1);
    expect(closures).toHaveLength(2);
    const ids = closures.map((c) => c.closure_id);
    expect(ids).toEqual([...ids].sort());
  });
});

describe('planClosures: a closure (kind + name) is recorded at most once', () => {
  const recordedOnce = () => run([closure('close-a')]).closures;

  it.each<
    [
      string,
      () => { manifest: RecoveryClosure; records: RecordSet; consumed?: Map<string, string[]> },
      string[],
    ]
  >([
    [
      'edited after it was recorded (tip record) → finding, no second record',
      () => ({
        manifest: closure('close-a', { notes: 'changed later' }, 'd'.repeat(40)),
        records: { ...RECORDS, closures: recordedOnce() },
      }),
      ['closure.already-recorded'],
    ],
    [
      'edited, and its record is known only from the ledger history (deleted at the tip) → finding',
      () => ({
        manifest: closure('close-a', { state: 'mitigated' }, 'd'.repeat(40)),
        records: RECORDS,
        consumed: new Map([['close-a', [closureIdOf(closure('close-a'))]]]),
      }),
      ['closure.already-recorded'],
    ],
    [
      'the same version whose record was deleted from the tip → nothing (history remembers it)',
      () => ({
        manifest: closure('close-a'),
        records: RECORDS,
        consumed: new Map([['close-a', [closureIdOf(closure('close-a'))]]]),
      }),
      [],
    ],
    [
      'same content under another commit (file moved, another document appended) → nothing',
      () => ({
        manifest: closure('close-a', {}, 'd'.repeat(40)),
        records: { ...RECORDS, closures: recordedOnce() },
      }),
      [],
    ],
  ])('%s', (_name, build, rules) => {
    const { manifest, records, consumed } = build();
    const result = planClosures({
      closures: [manifest],
      records,
      now: NOW,
      revision: 'a'.repeat(40),
      ...(consumed ? { consumed } : {}),
    });
    expect(result.closures).toEqual([]);
    expect(result.findings.map((f) => f.rule)).toEqual(rules);
    if (rules.length > 0) {
      expect(result.findings[0]).toMatchObject({
        file: 'manifests/closures/close-a.yaml',
        line: 3,
        kind: 'RecoveryClosure',
        name: 'close-a',
      });
      expect(result.findings[0]?.message).toContain('new name');
    }
  });

  it('two closures appended to one file in two commits: two closure records, each once', () => {
    const first = closure('close-a');
    const afterFirst = run([first]).closures;
    // The second commit appends close-b; close-a is unchanged (with provenance by file, its commit moved).
    const second = run(
      [
        closure('close-a', {}, 'd'.repeat(40)),
        closure('close-b', { provider: 'splunk-main' }, 'd'.repeat(40)),
      ],
      {
        ...RECORDS,
        closures: afterFirst,
      },
    ).closures;
    expect(afterFirst.map((c) => c.source.name)).toEqual(['close-a']);
    expect(second.map((c) => c.source.name)).toEqual(['close-b']);
    const third = run(
      [
        closure('close-a', {}, 'd'.repeat(40)),
        closure('close-b', { provider: 'splunk-main' }, 'd'.repeat(40)),
      ],
      {
        ...RECORDS,
        closures: [...afterFirst, ...second],
      },
    );
    expect(third).toEqual({ closures: [], findings: [] });
  });
});
