/**
 * `/openapi.json` describes the real API: it passes a standard OpenAPI validator, every route the
 * app registers is in it, and the real responses of every route (success and error, and those of
 * a repository written by real reconcile runs) validate against its JSON Schemas (2020-12).
 */
import { validate as validateOpenApi } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_DELIVERY, FLOW_BASE, createFlowRoutes } from '../../src/api/flow-routes.js';
import { createOpenApiDocument } from '../../src/api/openapi.js';
import { git } from '../helpers/git-fixtures.js';
import {
  createReconciledOpsRepo,
  startScenarioServer,
  type ReconciledOpsRepo,
  type ScenarioServer,
} from '../helpers/reconciled-ops-repo.js';
import {
  createRoutesScenario,
  startRoutesServer,
  type RoutesScenario,
  type RoutesServer,
} from '../helpers/routes-scenario.js';
import { EXECUTIONS, PLAYBOOK_A } from './fixtures.js';
import { startFixtureServer, type FixtureServer } from './fixture-server.js';

type AddFormats = (ajv: Ajv2020, formats: string[]) => Ajv2020;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
}

const document = createOpenApiDocument() as unknown as OpenApiDocument;
const DOC_ID = 'https://cavra.dev/openapi.json';

function createValidator(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv, ['date-time']);
  // Only the components are a schema; $refs point at #/components/schemas/... of this document.
  ajv.addKeyword('components');
  ajv.addSchema({ $id: DOC_ID, components: document.components });
  return ajv;
}

const ajv = createValidator();

function responseSchema(template: string, method: string, status: number): object {
  const operation = document.paths[template]?.[method];
  const response = operation?.responses[String(status)];
  const schema = response?.content?.['application/json']?.schema;
  if (schema === undefined)
    throw new Error(`openapi.json has no JSON schema for ${method} ${template} ${status}`);
  return { $ref: `${DOC_ID}${(schema as { $ref: string }).$ref}` };
}

let server: FixtureServer;
let treeId = '';
beforeAll(async () => {
  server = await startFixtureServer();
  treeId = await git(server.repo.dir, ['rev-parse', `${server.repo.second}^{tree}`]);
});
afterAll(async () => {
  await server.close();
});

const EXECUTION_ID = EXECUTIONS[0]?.execution_id ?? '';
const PLAYBOOK = `${AUDIT_DELIVERY}/connector-recovery-playbooks`;

/** [path template in openapi.json, concrete request path, method, expected status] */
const CASES: [string, string, string, number][] = [
  [FLOW_BASE, `${FLOW_BASE}?limit=2&metadata_kind=execution`, 'get', 200],
  [FLOW_BASE, FLOW_BASE, 'get', 200],
  [FLOW_BASE, `${FLOW_BASE}?limit=0`, 'get', 400],
  [FLOW_BASE, FLOW_BASE, 'post', 405],
  [`${FLOW_BASE}/dashboard`, `${FLOW_BASE}/dashboard`, 'get', 200],
  [`${AUDIT_DELIVERY}/retry-recovery-report`, `${AUDIT_DELIVERY}/retry-recovery-report`, 'get', 200],
  [
    `${AUDIT_DELIVERY}/retry-recovery-report`,
    `${AUDIT_DELIVERY}/retry-recovery-report?recovery_slo_minutes=1`,
    'get',
    200,
  ],
  [
    `${AUDIT_DELIVERY}/retry-recovery-report`,
    `${AUDIT_DELIVERY}/retry-recovery-report?at=${'f'.repeat(40)}`,
    'get',
    404,
  ],
  [`${AUDIT_DELIVERY}/retry-plan`, `${AUDIT_DELIVERY}/retry-plan`, 'get', 200],
  [`${AUDIT_DELIVERY}/retry-execution-trends`, `${AUDIT_DELIVERY}/retry-execution-trends`, 'get', 200],
  [`${AUDIT_DELIVERY}/retry-execution-trends`, `${AUDIT_DELIVERY}/retry-execution-trends`, 'post', 405],
  [`${AUDIT_DELIVERY}/retry-plan`, `${AUDIT_DELIVERY}/retry-plan`, 'post', 405],
  [
    `${AUDIT_DELIVERY}/retry-executions`,
    `${AUDIT_DELIVERY}/retry-executions?provider=ops-webhook`,
    'get',
    200,
  ],
  [
    `${AUDIT_DELIVERY}/retry-executions/{executionId}`,
    `${AUDIT_DELIVERY}/retry-executions/${EXECUTION_ID}`,
    'get',
    200,
  ],
  [`${AUDIT_DELIVERY}/retry-executions/{executionId}`, `${AUDIT_DELIVERY}/retry-executions/nope`, 'get', 404],
  [PLAYBOOK, PLAYBOOK, 'get', 200],
  [`${PLAYBOOK}/{playbookId}`, `${PLAYBOOK}/${PLAYBOOK_A.playbook_id}`, 'get', 200],
  [`${PLAYBOOK}/{playbookId}/closures`, `${PLAYBOOK}/${PLAYBOOK_A.playbook_id}/closures`, 'get', 200],
  [`${PLAYBOOK}/{playbookId}/closures`, `${PLAYBOOK}/${PLAYBOOK_A.playbook_id}/closures`, 'post', 405],
  [`${AUDIT_DELIVERY}/routes`, `${AUDIT_DELIVERY}/routes`, 'get', 200],
  [`${AUDIT_DELIVERY}/routes`, `${AUDIT_DELIVERY}/routes?owner=nobody&limit=1`, 'get', 200],
  [`${AUDIT_DELIVERY}/routes`, `${AUDIT_DELIVERY}/routes?owner=`, 'get', 400],
  [`${AUDIT_DELIVERY}/routes`, `${AUDIT_DELIVERY}/routes`, 'post', 405],
  [`${AUDIT_DELIVERY}/suppressions`, `${AUDIT_DELIVERY}/suppressions`, 'get', 200],
  [`${AUDIT_DELIVERY}/suppressions`, `${AUDIT_DELIVERY}/suppressions?limit=1`, 'get', 400],
  [`${AUDIT_DELIVERY}/retry-approvals`, `${AUDIT_DELIVERY}/retry-approvals`, 'get', 200],
  [`${AUDIT_DELIVERY}/retry-acknowledgements`, `${AUDIT_DELIVERY}/retry-acknowledgements`, 'get', 200],
  ['/status', '/status', 'get', 200],
  ['/status', `/status?at=${'x'.repeat(7)}`, 'get', 400],
  ['/healthz', '/healthz', 'get', 200],
  ['/readyz', '/readyz', 'get', 200],
];

describe('openapi.json', () => {
  it('passes a standard OpenAPI 3.1 validator (@readme/openapi-parser)', async () => {
    const result = await validateOpenApi(structuredClone(document) as never);
    expect(result).toEqual({ valid: true, warnings: [], specification: 'OpenAPI' });
  });

  it('fails that validator when an operation misses its path parameter (the check can fail)', async () => {
    const broken = structuredClone(document) as unknown as { paths: Record<string, Record<string, unknown>> };
    const path = broken.paths[`${PLAYBOOK}/{playbookId}`] ?? {};
    delete path.parameters;
    const result = await validateOpenApi(broken as never);
    expect(result.valid).toBe(false);
    expect(JSON.stringify(result)).toContain('missing path parameter');
  });

  it('is OpenAPI 3.1 with JSON Schema 2020-12 and every schema compiles in strict mode', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const name of Object.keys(document.components.schemas)) {
      expect(() => ajv.getSchema(`${DOC_ID}#/components/schemas/${name}`)).not.toThrow();
    }
  });

  it('describes every route the app registers', () => {
    const routes = createFlowRoutes({ planRetries: undefined, startedAt: new Date(0), isReady: () => true });
    for (const route of routes) {
      const template = route.path.replace(/:(\w+)/g, '{$1}');
      expect(Object.keys(document.paths)).toContain(template);
    }
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/console/']) {
      expect(Object.keys(document.paths)).toContain(path);
    }
  });

  it('documents the 400 for an `at` that names a tree', async () => {
    const response = await fetch(`${server.url}/status?at=${treeId}`);
    expect(response.status).toBe(400);
    const validate = ajv.compile(responseSchema('/status', 'get', 400));
    expect(validate(await response.json())).toBe(true);
  });

  it.each(CASES)('%s: the real answer to %s %s (%i) validates', async (template, path, method, status) => {
    const response = await fetch(`${server.url}${path}`, { method: method.toUpperCase() });
    expect(response.status).toBe(status);
    const body: unknown = await response.json();
    const validate = ajv.compile(responseSchema(template, method, status));
    const valid = validate(body);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects a body that breaks the schema (the check can fail)', async () => {
    const response = await fetch(`${server.url}${AUDIT_DELIVERY}/retry-recovery-report`);
    const body = (await response.json()) as { report: Record<string, unknown> };
    const validate = ajv.compile(responseSchema(`${AUDIT_DELIVERY}/retry-recovery-report`, 'get', 200));
    expect(validate({ ...body, report: { ...body.report, alert_level: 'fine' } })).toBe(false);
    const { execution_count: _dropped, ...missing } = body.report;
    expect(validate({ ...body, report: missing })).toBe(false);
  });
});

describe('responses over a repository written by real reconcile runs', () => {
  let scenario: ReconciledOpsRepo;
  let servers: ScenarioServer[] = [];
  beforeAll(async () => {
    scenario = await createReconciledOpsRepo();
    servers = [
      await startScenarioServer(scenario, { observe: false }),
      await startScenarioServer(scenario, { observe: true }),
    ];
    scenario.recorder.recordError(new Error('the remote could not be reached'));
  }, 60_000);
  afterAll(async () => {
    for (const running of servers) await running.close();
    await scenario?.cleanup();
  });

  it.each([
    ['/status', '/status'],
    [`${AUDIT_DELIVERY}/retry-plan`, `${AUDIT_DELIVERY}/retry-plan`],
    [`${AUDIT_DELIVERY}/retry-execution-trends`, `${AUDIT_DELIVERY}/retry-execution-trends`],
    [`${AUDIT_DELIVERY}/retry-recovery-report`, `${AUDIT_DELIVERY}/retry-recovery-report`],
    [FLOW_BASE, `${FLOW_BASE}?limit=5&offset=5`],
    [`${AUDIT_DELIVERY}/routes`, `${AUDIT_DELIVERY}/routes`],
    [`${AUDIT_DELIVERY}/suppressions`, `${AUDIT_DELIVERY}/suppressions`],
  ])('%s validates as served by `serve` and by `start`', async (template, path) => {
    for (const running of servers) {
      const response = await fetch(`${running.url}${path}`);
      expect(response.status).toBe(200);
      const validate = ajv.compile(responseSchema(template, 'get', 200));
      const valid = validate(await response.json());
      expect(validate.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    }
  });
});

describe('routes and suppressions over a repository with suppressed keys and hostile route text', () => {
  let scenario: RoutesScenario;
  let running: RoutesServer;
  beforeAll(async () => {
    scenario = await createRoutesScenario();
    running = await startRoutesServer(scenario, scenario.tip);
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await scenario?.cleanup();
  });

  it.each([
    [`${AUDIT_DELIVERY}/routes`, 6],
    [`${AUDIT_DELIVERY}/suppressions`, 3],
  ])('%s validates (%i items)', async (path, items) => {
    const response = await fetch(`${running.url}${path}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: unknown[] };
    expect(body.items).toHaveLength(items);
    const validate = ajv.compile(responseSchema(path, 'get', 200));
    const valid = validate(body);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });
});
