/**
 * Issue 15 acceptance on records written by real reconcile runs (test/helpers/reconciled-ops-repo.ts):
 * - every record file in the history (claims included) and the committed report validate against
 *   the published schemas, with ajv loading ONLY schemas/records/*.json, as an auditor would;
 * - each URI in public_evidence_refs resolves through the API to the record it names;
 * - the ledger verifies clean, and a hand-edited record (hash recomputed, forged trailer) that
 *   violates its schema or claims a control that does not hold makes verify exit 1 naming the
 *   file, the field and the rule.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_BASE } from '../../src/api/flow-routes.js';
import { runCli } from '../../src/cli/main.js';
import { hashOf } from '../../src/domain/hash.js';

import { recordPath, serializeRecord } from '../../src/records/layout.js';
import { git } from '../helpers/git-fixtures.js';
import {
  createReconciledOpsRepo,
  startScenarioServer,
  type ReconciledOpsRepo,
  type ScenarioServer,
} from '../helpers/reconciled-ops-repo.js';
import { createCliContext, readRemoteRecords, reconcilerEnv } from '../helpers/reconciler-fixtures.js';

const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/records/', import.meta.url));
const TRAILER = '\n\nCavra-Gitops-Replica: forger';

/** The auditor's validator: a stock ajv, the published files, nothing from src/. */
function auditorValidator(): (value: Record<string, unknown>, fallbackSchema: string) => string[] {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const byRecordSchema = new Map<string, string>();
  for (const name of readdirSync(SCHEMA_DIR).filter((file) => file.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(`${SCHEMA_DIR}${name}`, 'utf8')) as {
      $id: string;
      properties?: {
        schema?: { const?: string };
        metadata?: { properties?: { schema?: { const?: string } } };
      };
    };
    ajv.addSchema(schema);
    const recordSchema =
      schema.properties?.schema?.const ?? schema.properties?.metadata?.properties?.schema?.const;
    if (recordSchema !== undefined) byRecordSchema.set(recordSchema, schema.$id);
  }
  return (value, fallbackSchema) => {
    const named =
      (value.schema as string | undefined) ??
      (value.metadata as { schema?: string } | undefined)?.schema ??
      fallbackSchema;
    const id = byRecordSchema.get(named);
    if (id === undefined) return [`no published schema for ${named}`];
    const validate = ajv.getSchema(id)!;
    return validate(value)
      ? []
      : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
  };
}

const PREFIX = 'cavra.go-backend-pilot.rollback-drill-acknowledgement-audit-delivery-';
const SUBJECT_OF_DIR: Record<string, string> = {
  deliveries: 'delivery-record',
  executions: 'retry-execution-record',
  playbooks: 'connector-recovery-playbook',
  closures: 'connector-recovery-closure',
  runs: 'retry-worker-run',
  claims: 'retry-execution-claim',
};

let scenario: ReconciledOpsRepo;
let server: ScenarioServer;

beforeAll(async () => {
  scenario = await createReconciledOpsRepo();
  server = await startScenarioServer(scenario, { observe: false });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await scenario?.cleanup();
});

describe('record format v2 on a real run', () => {
  it('every record ever committed, claims included, and the report validate with ajv and only schemas/records/*.json', async () => {
    const validate = auditorValidator();
    const remote = scenario.ops.remote;
    // Every blob any commit added under records/ (claims are removed later: take them from history).
    const log = await git(remote, [
      'log',
      '--format=%H',
      '--diff-filter=A',
      '--name-only',
      'main',
      '--',
      'records',
    ]);
    let commit = '';
    const seen = new Set<string>();
    const counts: Record<string, number> = {};
    for (const line of log.split('\n')) {
      if (/^[0-9a-f]{40}$/.test(line)) commit = line;
      else if (line.startsWith('records/') && !seen.has(line)) {
        seen.add(line);
        const dir = line.split('/')[1]!;
        const value = JSON.parse(await git(remote, ['show', `${commit}:${line}`])) as Record<string, unknown>;
        expect(value.schema).toBe(`${PREFIX}${SUBJECT_OF_DIR[dir]}.v2`);
        expect(value.product).toBe('cavra-gitops');
        expect(validate(value, ''), line).toEqual([]);
        counts[dir] = (counts[dir] ?? 0) + 1;
      }
    }
    expect(counts).toEqual({ deliveries: 8, executions: 3, playbooks: 1, closures: 3, runs: 5, claims: 8 });
    const report = JSON.parse(
      await git(remote, ['show', 'main:reports/retry-recovery-report.json']),
    ) as Record<string, unknown>;
    expect(validate(report, '')).toEqual([]);
  });

  it('executions carry CAVRA fields, playbooks alert_level and the boundary note, every record its controls', async () => {
    const records = await readRemoteRecords(scenario.ops.remote);
    for (const execution of records.executions) {
      expect(execution.delivery_plan_id).toMatch(/^gordackauditdeliveryplan-[0-9a-f]{16}$/);
      expect(execution.delivery_metadata_id).toBe(
        `${execution.delivery_id}.${execution.provider}.${execution.attempt}`,
      );
      expect(execution.controls?.map((control) => [control.id, control.passed])).toEqual([
        ['secret-scan', true],
        ['redaction-applied', true],
        ['idempotency-key', true],
        ['hash-coverage', true],
      ]);
    }
    expect(records.playbooks[0]).toMatchObject({ alert_level: 'critical' });
    expect(records.playbooks[0]?.private_connector_boundary).toMatch(/never written into playbooks/);
    // The hash-coverage control lists exactly the fields the hash covers.
    for (const record of [...records.deliveries, ...records.closures, ...records.runs]) {
      const coverage = record.controls?.find((control) => control.id === 'hash-coverage')?.detail ?? '';
      const hashField = Object.keys(record).find((key) => key.endsWith('_hash'))!;
      const listed = /\(([^)]*)\)$/.exec(coverage)?.[1]?.split(', ');
      expect(listed).toEqual(
        Object.keys(record)
          .filter((key) => key !== hashField)
          .sort(),
      );
    }
  });

  it('each URI in public_evidence_refs resolves through the API to the record it names', async () => {
    const records = await readRemoteRecords(scenario.ops.remote);
    let resolved = 0;
    for (const execution of records.executions) {
      expect(execution.public_evidence_refs).toHaveLength(4);
      for (const uri of execution.public_evidence_refs) {
        const response = await fetch(`${server.url}${FLOW_BASE}/evidence?uri=${encodeURIComponent(uri)}`);
        expect(response.status, uri).toBe(200);
        const body = (await response.json()) as { kind: string; records: Record<string, unknown>[] };
        const [scheme, id] = uri.split('://') as [string, string];
        if (scheme === 'connector-delivery') {
          expect(body.kind).toBe('delivery');
          expect(body.records).toEqual([records.deliveries.find((r) => r.record_id === id)]);
          expect(body.records[0]).toMatchObject({ execution_id: execution.execution_id });
        } else if (scheme === 'go-rollback-drill-audit-delivery') {
          expect(body.kind).toBe('delivery-plan');
          expect(body.records.map((r) => r.attempt)).toEqual(
            records.deliveries
              .filter((r) => r.delivery_id === execution.delivery_id && r.provider === execution.provider)
              .map((r) => r.attempt)
              .sort(),
          );
        } else if (scheme === 'go-rollback-drill-retry-approval') {
          expect(body.kind).toBe('approval-decision');
          expect(body.records).toEqual([execution]);
        } else {
          expect(scheme).toBe('go-rollback-drill-retry-worker');
          expect(body.kind).toBe('run');
          expect(body.records).toEqual([records.runs.find((r) => r.run_id === execution.run_id)]);
          expect(body.records[0]).toMatchObject({ run_id: id });
        }
        resolved++;
      }
    }
    expect(resolved).toBe(12);
    const unknown = await fetch(`${server.url}${FLOW_BASE}/evidence?uri=connector-delivery://drill-z.none.1`);
    expect(unknown.status).toBe(404);
    const bad = await fetch(
      `${server.url}${FLOW_BASE}/evidence?uri=${encodeURIComponent('https://example.com/x')}`,
    );
    expect(bad.status).toBe(400);
  });

  it('verifies clean as written', async () => {
    const cli = createCliContext(scenario.ops.work, reconcilerEnv(), scenario.clock);
    expect(await runCli(['verify', '--remote', scenario.ops.remote], cli.context)).toBe(0);
  });
});

describe('tampering with a v2 record (hash recomputed, forged trailer)', () => {
  async function forge(
    edit: (record: Record<string, unknown>) => void,
  ): Promise<{ file: string; out: string; code: number }> {
    const records = await readRemoteRecords(scenario.ops.remote);
    const original = records.deliveries.find(
      (r) => r.delivery_id === 'drill-b' && r.provider === 'ops-webhook',
    )!;
    // A new attempt of a waiting key, so the file is new (not record-modified) and only its content is wrong.
    const forged: Record<string, unknown> = { ...original, attempt: 2, record_id: 'drill-b.ops-webhook.2' };
    edit(forged);
    delete forged.record_hash;
    forged.record_hash = hashOf(forged);
    const file = recordPath('deliveries', 'drill-b.ops-webhook.2', original.attempted_at);
    const before = (await scenario.ops.tip())!;
    await scenario.ops.commit(
      { [file]: serializeRecord(forged) },
      `cavra-gitops: record 1 deliveries${TRAILER}`,
    );
    const cli = createCliContext(scenario.ops.work, reconcilerEnv(), scenario.clock);
    const code = await runCli(['verify', '--remote', scenario.ops.remote], cli.context);
    // Undo for the next case: the remote as it was (verify reads a fresh clone of it).
    await git(scenario.ops.remote, ['update-ref', 'refs/heads/main', before]);
    return { file, out: cli.stdout(), code };
  }

  it('a field the schema does not have: exit 1 naming file, field and rule', async () => {
    const { file, out, code } = await forge((record) => {
      record.approved_by_hand = 'mallory';
    });
    expect(code).toBe(1);
    const line = out.split('\n').find((text) => text.includes('record.schema-violation'));
    expect(line).toContain(file);
    expect(line).toContain('field /approved_by_hand');
    expect(line).toContain(
      'rule "additionalProperties" of https://cavra.dev/schemas/records/delivery-record.v2.schema.json',
    );
  });

  it('a wrong type: exit 1 naming file, field and rule', async () => {
    const { file, out, code } = await forge((record) => {
      record.product = 'not-cavra';
    });
    expect(code).toBe(1);
    const line = out.split('\n').find((text) => text.includes('record.schema-violation'));
    expect(line).toContain(file);
    expect(line).toContain('field /product must be "cavra-gitops"');
    expect(line).toContain('rule "const"');
  });

  it('a control claimed that does not hold: exit 1 naming file, field and rule', async () => {
    const { file, out, code } = await forge((record) => {
      // An unredacted endpoint with a token in the error, while the controls still claim redaction.
      record.error = 'HTTP 503 from https://hooks.example.test/x?token=abc123';
    });
    expect(code).toBe(1);
    const lines = out.split('\n').filter((text) => text.includes('verify.control-mismatch'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toContain(file);
    expect(lines.join('\n')).toContain(
      'field /controls: control "secret-scan" claims passed=true but recomputes to passed=false',
    );
    expect(lines.join('\n')).toContain(
      'control "redaction-applied" claims passed=true but recomputes to passed=false',
    );
  });

  it('without the forgeries the ledger verifies clean again', async () => {
    const cli = createCliContext(scenario.ops.work, reconcilerEnv(), scenario.clock);
    expect(await runCli(['verify', '--remote', scenario.ops.remote], cli.context)).toBe(0);
  });
});
