import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { sealRecord } from '../../src/domain/record-format.js';
import { InternalError } from '../../src/errors.js';
import {
  claimPath,
  deliveryOrExecutionIdOf,
  parseRecordPath,
  recordFileKind,
  recordPath,
  serializeRecord,
} from '../../src/records/layout.js';

describe('recordPath and claimPath', () => {
  it.each([
    ['2026-06-28T10:00:00Z', 'records/executions/2026-06/x.json'],
    ['2026-06-30T23:59:59.999Z', 'records/executions/2026-06/x.json'],
    ['2026-07-01T00:00:00Z', 'records/executions/2026-07/x.json'],
    // A local offset is converted to UTC first: 00:30+01:00 on July 1st is June 30th in UTC.
    ['2026-07-01T00:30:00+01:00', 'records/executions/2026-06/x.json'],
    ['2026-12-31T23:00:00Z', 'records/executions/2026-12/x.json'],
  ])('files a record at %s under its UTC month', (at, path) => {
    expect(recordPath('executions', 'x', at)).toBe(path);
  });

  it('puts claims in records/claims/<id>.json', () => {
    expect(claimPath('gordackretryexec-0123456789abcdef')).toBe(
      'records/claims/gordackretryexec-0123456789abcdef.json',
    );
  });

  it.each(['../x', 'a/b', '', 'A', 'x..y', '.x'])('refuses the unsafe id %j', (id) => {
    expect(() => recordPath('runs', id, '2026-06-28T10:00:00Z')).toThrow(InternalError);
    expect(() => claimPath(id)).toThrow(InternalError);
  });

  it('refuses a time that is not a time', () => {
    expect(() => recordPath('runs', 'x', 'yesterday')).toThrow(InternalError);
  });
});

describe('parseRecordPath', () => {
  it.each([
    ['records/deliveries/2026-06/a.p.1.json', { kind: 'deliveries', month: '2026-06', id: 'a.p.1' }],
    ['records/claims/c1.json', { kind: 'claims', month: null, id: 'c1' }],
    ['records/unknown/2026-06/a.json', null],
    ['records/runs/2026-13/a.json', null],
    ['records/runs/a.json', null],
    ['records/runs/2026-06/a.txt', null],
    ['records/README.md', null],
  ])('%s', (path, expected) => {
    expect(parseRecordPath(path)).toEqual(expected);
  });

  it('inverts recordPath', () => {
    expect(
      parseRecordPath(recordPath('closures', 'gordackrecoveryclosure-00ff', '2026-01-05T00:00:00Z')),
    ).toEqual({
      kind: 'closures',
      month: '2026-01',
      id: 'gordackrecoveryclosure-00ff',
    });
  });
});

describe('recordFileKind and deliveryOrExecutionIdOf, the capture-free tests of the ledger check', () => {
  // Paths from the pieces each pattern turns on: a kind directory (or not), a month (or a
  // near miss), a file name with dots or slashes, and the extension.
  const segment = fc.constantFrom(
    'deliveries',
    'executions',
    'playbooks',
    'closures',
    'runs',
    'claims',
    'unknown',
    'Deliveries',
    '',
  );
  const month = fc.constantFrom('2026-06', '2026-12', '2026-13', '2026-00', '2026-6', '12026-06', '');
  const name = fc.stringMatching(/^[a-z0-9./-]{0,12}$/);
  const extension = fc.constantFrom('.json', '.JSON', '.txt', '');
  const path = fc.oneof(
    fc
      .tuple(segment, month, name, extension)
      .map(([kind, m, file, ext]) => `records/${kind}/${m}/${file}${ext}`),
    fc.tuple(segment, name, extension).map(([kind, file, ext]) => `records/${kind}/${file}${ext}`),
    fc.tuple(name, extension).map(([file, ext]) => `records/claims/${file}${ext}`),
  );

  it('say what parseRecordPath says, for any path', () => {
    fc.assert(
      fc.property(path, (candidate) => {
        const parsed = parseRecordPath(candidate);
        const kind = parsed === null ? null : parsed.kind === 'claims' ? 'claim' : 'record';
        expect(recordFileKind(candidate)).toBe(kind);
        const id = parsed?.kind === 'deliveries' || parsed?.kind === 'executions' ? parsed.id : null;
        expect(deliveryOrExecutionIdOf(candidate)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['records/deliveries/2026-06/a.p.1.json', 'record', 'a.p.1'],
    ['records/executions/2026-06/x.json', 'record', 'x'],
    ['records/runs/2026-06/r.json', 'record', null],
    ['records/claims/c1.json', 'claim', null],
    ['records/claims/2026-06/c1.json', null, null],
    ['records/deliveries/2026-13/a.json', null, null],
  ] as const)('%s', (candidate, kind, id) => {
    expect(recordFileKind(candidate)).toBe(kind);
    expect(deliveryOrExecutionIdOf(candidate)).toBe(id);
  });
});

describe('serializeRecord', () => {
  it('writes a run record in declared field order, 2 spaces, trailing newline', () => {
    const text = serializeRecord({
      closure_count: 0,
      run_hash: 'h',
      started_at: '2026-06-28T10:00:00Z',
      run_id: 'gordackworker-1',
      playbook_count: 0,
      replica_id: 'r',
      source_revision: 's',
      delivery_count: 1,
      execution_count: 2,
    });
    expect(text).toBe(
      [
        '{',
        '  "run_id": "gordackworker-1",',
        '  "run_hash": "h",',
        '  "replica_id": "r",',
        '  "started_at": "2026-06-28T10:00:00Z",',
        '  "source_revision": "s",',
        '  "delivery_count": 1,',
        '  "execution_count": 2,',
        '  "playbook_count": 0,',
        '  "closure_count": 0',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('orders nested evidence as declared and unknown keys alphabetically after known ones', () => {
    const text = serializeRecord({
      zeta: 1,
      execution_hash: 'h',
      execution_id: 'e',
      approval: {
        signature: { principal: 'alice', status: 'good' },
        author: 'A',
        manifest: 'm',
        commit: 'c',
        blob: 'b',
      },
      alpha: [],
      extra: { b: 1, a: {} },
    });
    expect(text).toBe(
      [
        '{',
        '  "execution_id": "e",',
        '  "execution_hash": "h",',
        '  "approval": {',
        '    "manifest": "m",',
        '    "blob": "b",',
        '    "commit": "c",',
        '    "author": "A",',
        '    "signature": {',
        '      "status": "good",',
        '      "principal": "alice"',
        '    }',
        '  },',
        '  "alpha": [],',
        '  "extra": {',
        '    "a": {},',
        '    "b": 1',
        '  },',
        '  "zeta": 1',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('keeps integer-like keys in code-unit order (JSON.stringify would not)', () => {
    expect(serializeRecord({ b: 1, '10': 2, '9': 3 })).toBe('{\n  "10": 2,\n  "9": 3,\n  "b": 1\n}\n');
  });

  it('is a pure function of the content: insertion order does not matter, and it parses back', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        const text = serializeRecord(record);
        expect(serializeRecord(reversed)).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(record)));
        expect(text.endsWith('}\n')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what canonical JSON refuses', () => {
    expect(() => serializeRecord({ a: Number.NaN })).toThrow(InternalError);
    expect(() => serializeRecord({ a: '\ud800' })).toThrow(InternalError);
  });
});

describe('serializeRecord: member names that exist on Object.prototype', () => {
  it.each(['valueOf', 'constructor', 'toString', '__proto__', 'hasOwnProperty'])('handles %s', (key) => {
    const record = JSON.parse(`{"${key}": {"b": 1, "a": 2}}`) as object;
    expect(serializeRecord(record)).toBe(`{\n  "${key}": {\n    "a": 2,\n    "b": 1\n  }\n}\n`);
  });
});

describe('serializeRecord checks what it writes, in the same pass', () => {
  // Strings with what JSON escapes and lone surrogates; keys that have a declared order or hold
  // objects that have one; values of every type, JSON or not.
  const text = fc.string({
    unit: fc.constantFrom('a', 'Z', '0', 'é', '"', '\\', '\n', '\u0000', '\ud83d\ude00', '\ud800', '\udc00'),
    maxLength: 6,
  });
  const key = fc.oneof(
    text,
    fc.constantFrom(
      'execution_hash',
      'record_hash',
      'claim_id',
      'approval',
      'signature',
      'controls',
      'status',
    ),
  );
  const leaf = fc.oneof(
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.constant(() => 1),
    fc.constant(Symbol('s')),
    fc.constant(new Map([['a', 1]])),
    fc.date(),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  }));

  it('refuses exactly what canonical JSON refuses, and writes the same content otherwise (property)', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (record) => {
        let canonical: string | null = null;
        try {
          canonical = canonicalJson(record);
        } catch (error) {
          expect(error).toBeInstanceOf(InternalError);
        }
        if (canonical === null) {
          refused += 1;
          expect(() => serializeRecord(record)).toThrow(InternalError);
        } else {
          expect(canonicalJson(JSON.parse(serializeRecord(record)))).toBe(canonical);
        }
      }),
      { numRuns: 1000 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it('refuses a cycle, naming where, as canonical JSON does', () => {
    const cyclic: Record<string, unknown> = { run_hash: 'h', accepted_history: [{}] };
    (cyclic.accepted_history as Record<string, unknown>[])[0]!.back = cyclic;
    expect(() => serializeRecord(cyclic)).toThrow(/cyclic at \/accepted_history\/0\/back/);
  });

  it('refuses a sealed record changed afterwards: nothing is taken as checked before', () => {
    const fresh = () =>
      sealRecord<Record<string, unknown>>(
        'deliveries',
        { record_id: 'audit-1.ops.1', status_code: 503, error: 'HTTP 503' },
        'record_hash',
      );
    expect(serializeRecord(fresh())).toContain('"status_code": 503');
    const notANumber = fresh();
    notANumber.status_code = Number.NaN;
    expect(() => serializeRecord(notANumber)).toThrow(InternalError);
    const loneSurrogate = fresh();
    loneSurrogate.error = 'HTTP \ud800';
    expect(() => serializeRecord(loneSurrogate)).toThrow(InternalError);
    const nested = fresh();
    (nested.controls as Record<string, unknown>[])[0]!.passed = () => true;
    expect(() => serializeRecord(nested)).toThrow(/at \/controls\/0\/passed/);
  });
});
