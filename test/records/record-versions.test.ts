/**
 * Format evolution (docs/records.md): the reader takes v1 records without `schema` and with
 * `schema: …v1`, and v2 records, side by side; a record naming a format it does not know, or
 * violating its version's schema, is a finding naming file, field and rule, and is kept out.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withHash } from '../../src/domain/hash.js';
import type { DeliveryRecord } from '../../src/domain/types.js';
import { serializeRecord } from '../../src/records/layout.js';
import { parseRecordFiles } from '../../src/records/read-records.js';

const V2 = JSON.parse(
  readFileSync(new URL('../fixtures/records/golden/delivery-attempt-1.json', import.meta.url), 'utf8'),
) as DeliveryRecord;
const PREFIX = 'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-';

/** The same attempt under another record id (and file), re-hashed. */
function variant(
  id: string,
  edit: (record: Record<string, unknown>) => void,
): { path: string; content: Buffer } {
  const record: Record<string, unknown> = { ...V2, record_id: id, delivery_id: id.split('.')[0] };
  edit(record);
  delete record.record_hash;
  const hashed = withHash<DeliveryRecord, 'record_hash'>(
    record as Omit<DeliveryRecord, 'record_hash'>,
    'record_hash',
  );
  return { path: `records/deliveries/2026-06/${id}.json`, content: Buffer.from(serializeRecord(hashed)) };
}

const v1 = (record: Record<string, unknown>): void => {
  delete record.schema;
  delete record.product;
  delete record.controls;
};

describe('reading mixed record versions', () => {
  it('reads v1 without schema, v1 with schema v1 and v2 side by side', () => {
    const files = [
      variant('plain-v1.ops-webhook.1', v1),
      variant('named-v1.ops-webhook.1', (record) => {
        v1(record);
        record.schema = `${PREFIX}delivery-record.v1`;
      }),
      variant('current.ops-webhook.1', () => {}),
    ];
    const { records, findings } = parseRecordFiles(files);
    expect(findings).toEqual([]);
    expect(records.deliveries.map((record) => [record.record_id, record.schema ?? '(none)'])).toEqual([
      ['current.ops-webhook.1', `${PREFIX}delivery-record.v2`],
      ['named-v1.ops-webhook.1', `${PREFIX}delivery-record.v1`],
      ['plain-v1.ops-webhook.1', '(none)'],
    ]);
  });

  it('a newer version, or another kind’s schema, is record.unknown-schema on /schema', () => {
    const { records, findings } = parseRecordFiles([
      variant('newer.ops-webhook.1', (record) => {
        record.schema = `${PREFIX}delivery-record.v3`;
      }),
      variant('other.ops-webhook.1', (record) => {
        record.schema = `${PREFIX}retry-worker-run.v2`;
      }),
    ]);
    expect(records.deliveries).toEqual([]);
    expect(findings.map((finding) => [finding.file, finding.rule, finding.path])).toEqual([
      ['records/deliveries/2026-06/newer.ops-webhook.1.json', 'record.unknown-schema', '/schema'],
      ['records/deliveries/2026-06/other.ops-webhook.1.json', 'record.unknown-schema', '/schema'],
    ]);
  });

  it('a v2 record without its controls, or a v1 record with a v2-only shape error, names field and rule', () => {
    const { records, findings } = parseRecordFiles([
      variant('no-controls.ops-webhook.1', (record) => {
        delete record.controls;
      }),
      variant('bad-time.ops-webhook.1', (record) => {
        v1(record);
        record.completed_at = '28 June 2026';
      }),
    ]);
    expect(records.deliveries).toEqual([]);
    expect(findings.map((finding) => [finding.file, finding.rule, finding.path])).toEqual([
      ['records/deliveries/2026-06/bad-time.ops-webhook.1.json', 'record.schema-violation', '/completed_at'],
      ['records/deliveries/2026-06/no-controls.ops-webhook.1.json', 'record.schema-violation', '/controls'],
    ]);
    expect(findings[0]?.message).toMatch(
      /field \/completed_at must match pattern .* \(rule "pattern" of https:\/\/cavra\.dev\/schemas\/records\/delivery-record\.v1\.schema\.json\)/,
    );
    expect(findings[1]?.message).toContain(
      'field /controls is missing (rule "required" of https://cavra.dev/schemas/records/delivery-record.v2.schema.json)',
    );
  });
});
