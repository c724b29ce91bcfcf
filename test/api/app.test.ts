/**
 * Contract tests of the read-only API against a real listening server over a real git repository
 * with known records (see fixtures.ts): every route, every error code, ETag/304, `?at=`, 405.
 */
import { withIndefiniteArticle } from '../../src/domain/indefinite-article.js';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportEnvelope } from '../../src/domain/report.js';
import { AUDIT_DELIVERY, FLOW_BASE } from '../../src/api/flow-routes.js';
import { FIXTURE_NOW, COMMITTED_STATUS, EXECUTIONS, PLAYBOOK_A, PLAYBOOK_B } from './fixtures.js';
import { FIXED_DECISIONS, startFixtureServer, type FixtureServer } from './fixture-server.js';
import { git } from '../helpers/git-fixtures.js';

const REPORT = `${AUDIT_DELIVERY}/retry-recovery-report`;
let server: FixtureServer;

beforeAll(async () => {
  server = await startFixtureServer();
});
afterAll(async () => {
  await server.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers });
}

async function getJson<T = Record<string, unknown>>(path: string): Promise<{ response: Response; body: T }> {
  const response = await get(path);
  return { response, body: (await response.json()) as T };
}

const EXECUTION_ID = EXECUTIONS[0]?.execution_id ?? '';

/** Every GET route that answers from a revision, with a check of its body. */
const REVISION_ROUTES: [string, (body: Record<string, unknown>) => void][] = [
  [FLOW_BASE, (body) => expect(body).toMatchObject({ schema_version: 1, total: 8, limit: 50, offset: 0 })],
  [`${FLOW_BASE}/dashboard`, (body) => expect(body.acknowledgement_audit_delivery_count).toBe(3)],
  [REPORT, (body) => expect((body as unknown as ReportEnvelope).report.recovery_rows).toHaveLength(3)],
  [
    `${AUDIT_DELIVERY}/retry-plan`,
    (body) => expect(body).toMatchObject({ decision_count: 2, execute_count: 1, decisions: FIXED_DECISIONS }),
  ],
  [`${AUDIT_DELIVERY}/retry-executions`, (body) => expect(body).toMatchObject({ total: 2 })],
  [
    `${AUDIT_DELIVERY}/retry-executions/${EXECUTION_ID}`,
    (body) => expect(body.execution_id).toBe(EXECUTION_ID),
  ],
  [`${AUDIT_DELIVERY}/connector-recovery-playbooks`, (body) => expect(body).toMatchObject({ total: 2 })],
  [
    `${AUDIT_DELIVERY}/connector-recovery-playbooks/${PLAYBOOK_A.playbook_id}`,
    (body) => expect(body.provider_count).toBe(2),
  ],
  [
    `${AUDIT_DELIVERY}/connector-recovery-playbooks/${PLAYBOOK_A.playbook_id}/closures`,
    (body) => expect(body).toMatchObject({ total: 1 }),
  ],
  [`${AUDIT_DELIVERY}/retry-approvals`, (body) => expect(body).toMatchObject({ total: 1 })],
  [`${AUDIT_DELIVERY}/retry-acknowledgements`, (body) => expect(body).toMatchObject({ total: 1 })],
  ['/status', (body) => expect(body.committed).toEqual(COMMITTED_STATUS)],
];

describe('revision-bound routes', () => {
  it.each(REVISION_ROUTES)('GET %s answers from the tip with revision headers', async (path, check) => {
    const { response, body } = await getJson(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-cavra-revision')).toBe(server.repo.second);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    check(body);
  });

  it.each(REVISION_ROUTES)('HEAD %s sends the headers without a body', async (path) => {
    const response = await fetch(`${server.url}${path}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"/);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await response.text()).toBe('');
  });

  it.each(REVISION_ROUTES)('GET %s answers 304 to a matching If-None-Match', async (path) => {
    const first = await get(path);
    const etag = first.headers.get('etag') ?? '';
    await first.arrayBuffer();
    for (const tag of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await get(path, { 'If-None-Match': tag });
      expect(again.status).toBe(304);
      expect(again.headers.get('x-cavra-revision')).toBe(server.repo.second);
      expect(await again.text()).toBe('');
    }
    const changed = await get(path, { 'If-None-Match': '"something-else"' });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
  });
});

describe('the retry recovery report', () => {
  it('follows the report rules of docs/reference.md §4 on the fixture (policy SLO 240, evaluated at now floored to the minute)', async () => {
    const { body } = await getJson<ReportEnvelope>(REPORT);
    const { report, metadata } = body;
    expect(report).toMatchObject({
      generated_at: '2026-06-28T12:00:00.000Z',
      generated_by: 'console',
      revision: server.repo.second,
      recovery_slo_minutes: 240,
      alert_level: 'critical',
      execution_count: 2,
      execution_success_count: 1,
      execution_failed_count: 1,
      execution_success_rate: 0.5,
      recovery_playbook_provider_count: 3,
      recovery_closed_count: 1,
      recovery_open_count: 2,
      recovery_slo_breached_count: 1,
    });
    expect(report.recovery_rows.map((row) => [row.provider, row.slo_status, row.age_minutes])).toEqual([
      ['ops-webhook', 'breached', 300],
      ['archive', 'open', 30],
      ['siem-splunk', 'closed', 300],
    ]);
    expect(metadata).toMatchObject({
      decision_count: 3,
      blocked_count: 2,
      approval_required_count: 2,
      session_id: report.report_id,
    });
  });

  it('takes recovery_slo_minutes and generated_by from the query', async () => {
    const { body } = await getJson<ReportEnvelope>(`${REPORT}?recovery_slo_minutes=400&generated_by=auditor`);
    expect(body.report).toMatchObject({
      recovery_slo_minutes: 400,
      recovery_slo_breached_count: 0,
      generated_by: 'auditor',
    });
    expect(body.metadata.signer).toBe('auditor');
  });

  it('keeps the same body and ETag within a minute and changes them in the next', async () => {
    const tag = async (): Promise<string | null> => (await get(REPORT)).headers.get('etag');
    try {
      server.setNow(new Date('2026-06-28T12:00:00Z'));
      const atStart = await tag();
      server.setNow(new Date('2026-06-28T12:00:59.999Z'));
      expect(await tag()).toBe(atStart);
      server.setNow(new Date('2026-06-28T12:01:00Z'));
      expect(await tag()).not.toBe(atStart);
    } finally {
      server.setNow(FIXTURE_NOW);
    }
  });
});

describe('?at=<commit>', () => {
  it('answers as of an older revision', async () => {
    const { response, body } = await getJson<ReportEnvelope>(`${REPORT}?at=${server.repo.first}`);
    expect(response.headers.get('x-cavra-revision')).toBe(server.repo.first);
    expect(body.report.revision).toBe(server.repo.first);
    expect(body.report.recovery_rows).toHaveLength(2);
    const tip = await getJson<ReportEnvelope>(REPORT);
    expect(tip.body.report.recovery_rows).toHaveLength(3);
    expect(response.headers.get('etag')).not.toBe(tip.response.headers.get('etag'));
  });

  it('accepts an abbreviated commit id', async () => {
    const { response, body } = await getJson(`/status?at=${server.repo.first.slice(0, 10)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-cavra-revision')).toBe(server.repo.first);
    expect(body.committed).toBeNull();
  });

  it.each([
    ['tree', (commit: string) => `${commit}^{tree}`],
    ['blob', (commit: string) => `${commit}:manifests/policy.yaml`],
  ])('answers 400 not_a_commit for the id of a %s (not 503)', async (type, spec) => {
    const id = await git(server.repo.dir, ['rev-parse', spec(server.repo.first)]);
    for (const at of [id, id.slice(0, 12)]) {
      const { response, body } = await getJson<{ error: { code: string; message: string } }>(
        `${REPORT}?at=${at}`,
      );
      expect(response.status).toBe(400);
      expect(body.error.code).toBe('not_a_commit');
      expect(body.error.message).toContain(`names a ${type}, not a commit`);
      expect(body.error.message).not.toContain(server.repo.dir);
    }
  });

  it('follows the tip when it moves', async () => {
    try {
      server.setTip(server.repo.first);
      const { body } = await getJson(`${AUDIT_DELIVERY}/connector-recovery-playbooks`);
      expect(body.total).toBe(1);
    } finally {
      server.setTip(server.repo.second);
    }
    const { body } = await getJson(`${AUDIT_DELIVERY}/connector-recovery-playbooks`);
    expect(body.total).toBe(2);
  });
});

describe('errors', () => {
  const BAD_REQUESTS: [string, string][] = [
    [`${REPORT}?recovery_slo_minutes=0`, 'invalid_parameter'],
    [`${REPORT}?recovery_slo_minutes=525601`, 'invalid_parameter'],
    [`${REPORT}?recovery_slo_minutes=1.5`, 'invalid_parameter'],
    [`${REPORT}?recovery_slo_minute=30`, 'unknown_parameter'],
    [`${REPORT}?generated_by=`, 'invalid_parameter'],
    [`${REPORT}?recovery_slo_minutes=30&recovery_slo_minutes=40`, 'repeated_parameter'],
    [`${FLOW_BASE}?limit=0`, 'invalid_parameter'],
    [`${FLOW_BASE}?limit=501`, 'invalid_parameter'],
    [`${FLOW_BASE}?offset=-1`, 'invalid_parameter'],
    [`${FLOW_BASE}?metadata_kind=bogus`, 'invalid_parameter'],
    [`${FLOW_BASE}?delivery_success=yes`, 'invalid_parameter'],
    [`${FLOW_BASE}?provider=`, 'invalid_parameter'],
    [`${FLOW_BASE}/dashboard?x=1`, 'unknown_parameter'],
    [`${AUDIT_DELIVERY}/retry-executions?execution_status=lost`, 'invalid_parameter'],
    [`${AUDIT_DELIVERY}/retry-executions?limit=abc`, 'invalid_parameter'],
    [`/status?at=main`, 'invalid_revision'],
    [`${REPORT}?at=HEAD~1`, 'invalid_revision'],
    [`${REPORT}?${'a=1&'.repeat(20)}`, 'too_many_parameters'],
    [`${REPORT}?generated_by=${'x'.repeat(3000)}`, 'query_too_long'],
  ];
  it.each(BAD_REQUESTS)('GET %s is 400 %s', async (path, code) => {
    const { response, body } = await getJson<{ error: { code: string; message: string } }>(path);
    expect(response.status).toBe(400);
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  const NOT_FOUND: [string, string][] = [
    [`${AUDIT_DELIVERY}/retry-executions/gordackretryexec-0000000000000000`, 'not_found'],
    [`${AUDIT_DELIVERY}/connector-recovery-playbooks/gordackrecovery-0000000000000000`, 'not_found'],
    [`${AUDIT_DELIVERY}/connector-recovery-playbooks/gordackrecovery-0000000000000000/closures`, 'not_found'],
    [`${REPORT}?at=${'0'.repeat(40)}`, 'unknown_revision'],
    [`${REPORT}?at=deadbeef1`, 'unknown_revision'],
    ['/nowhere', 'not_found'],
    [`${FLOW_BASE}/acknowledgements`, 'not_found'],
    ['/console/missing.js', 'not_found'],
  ];
  it.each(NOT_FOUND)('GET %s is 404 %s', async (path, code) => {
    const { response, body } = await getJson<{ error: { code: string } }>(path);
    expect(response.status).toBe(404);
    expect(body.error.code).toBe(code);
  });

  it('serves the real planner: one decision per key, with its reason', async () => {
    const real = await startFixtureServer({ planner: 'real' });
    try {
      const response = await fetch(`${real.url}${AUDIT_DELIVERY}/retry-plan`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        evaluated_at: string;
        decisions: { key: { provider: string }; reason: string }[];
      };
      expect(body.evaluated_at).toBe('2026-06-28T12:00:30.000Z');
      expect(body.decisions.map((decision) => decision.key.provider).sort()).toEqual([
        'archive',
        'ops-webhook',
      ]);
      for (const decision of body.decisions) {
        expect(decision.reason).toMatch(/^[a-z_]+$/);
        // Each reason says why in words (manifest, commit, policy): the planner's message.
        expect((decision as { message?: unknown }).message).toMatch(/manifests\/.+commit [0-9a-f]{40}/);
      }
    } finally {
      await real.close();
    }
  });

  it('answers 503 not_configured for the retry plan without a planner', async () => {
    const bare = await startFixtureServer({ planner: 'none' });
    try {
      const response = await fetch(`${bare.url}${AUDIT_DELIVERY}/retry-plan`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_configured');
    } finally {
      await bare.close();
    }
  });
});

describe('405 on every route for every method but GET and HEAD', () => {
  const PATHS = [
    ...REVISION_ROUTES.map(([path]) => path),
    '/healthz',
    '/readyz',
    '/metrics',
    '/openapi.json',
    '/console/',
  ];
  const cases = PATHS.flatMap((path) =>
    ['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => [method, path] as const),
  );
  it.each(cases)('%s %s', async (method, path) => {
    const response = await fetch(`${server.url}${path}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('method_not_allowed');
  });

  const HINTS: [string, string][] = [
    [FLOW_BASE, 'AuditDelivery'],
    [`${AUDIT_DELIVERY}/retry-approvals`, 'RetryApproval'],
    [`${AUDIT_DELIVERY}/retry-acknowledgements`, 'RetryAcknowledgement'],
    [`${AUDIT_DELIVERY}/retry-executions`, 'RetryApproval'],
    [`${AUDIT_DELIVERY}/retry-plan`, 'RetryApproval'],
    [`${AUDIT_DELIVERY}/connector-recovery-playbooks`, 'ReconcilerPolicy'],
    [`${AUDIT_DELIVERY}/connector-recovery-playbooks/${PLAYBOOK_B.playbook_id}/closures`, 'RecoveryClosure'],
  ];
  it.each(HINTS)('POST %s names the %s manifest to commit instead', async (path, kind) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      body: '{"approve":true}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(405);
    const body = (await response.json()) as { error: { message: string; manifest_kind: string } };
    expect(body.error.manifest_kind).toBe(kind);
    expect(body.error.message).toContain(
      `commit ${withIndefiniteArticle(kind)} manifest under manifests/ through a pull request`,
    );
    expect(body.error.message).not.toMatch(/\ba [AEIOU]/); // "an AuditDelivery", never "a AuditDelivery"
  });

  // An unknown path too: the API is read-only everywhere, and a 404 would let Node drain the body.
  it.each([`${AUDIT_DELIVERY}/retry-approvals`, '/nowhere', `${FLOW_BASE}/acknowledgements`])(
    'answers a POST to %s with a huge body at once, without waiting for (or reading) the body',
    async (path) => {
      const url = new URL(path, server.url);
      const started = Date.now();
      const result = await new Promise<{
        status: number;
        allow: string | undefined;
        connection: string | undefined;
      }>((resolve, reject) => {
        const req = httpRequest(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(200 * 1024 * 1024),
          },
        });
        req.on('response', (res) => {
          resolve({
            status: res.statusCode ?? 0,
            allow: res.headers.allow,
            connection: res.headers.connection,
          });
          res.resume();
          req.destroy();
        });
        req.on('error', (error) => {
          if (!(error as NodeJS.ErrnoException).code?.startsWith('ECONNRESET')) reject(error);
        });
        // Only 64 KiB of the announced 200 MiB: a server that waited for the body would never answer.
        req.write(Buffer.alloc(64 * 1024, 0x61));
      });
      expect(result).toEqual({ status: 405, allow: 'GET, HEAD', connection: 'close' });
      expect(Date.now() - started).toBeLessThan(5_000);
    },
  );
});

/** Send raw bytes on a fresh socket and collect everything the server answers until it closes. */
function rawExchange(request: string): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

function parseRaw(answer: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [
      line.slice(0, line.indexOf(':')).toLowerCase(),
      line.slice(line.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: body === '' ? null : JSON.parse(body) };
}

describe('methods express never sees', () => {
  it('answers CONNECT with 405 and Allow: GET, HEAD, then closes the connection', async () => {
    const answer = parseRaw(
      await rawExchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    );
    expect(answer.status).toBe(405);
    expect(answer.headers).toMatchObject({
      allow: 'GET, HEAD',
      connection: 'close',
      'cache-control': 'no-store',
    });
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body).toEqual({
      error: {
        code: 'method_not_allowed',
        message:
          'CONNECT is not allowed: this API is read-only (GET, HEAD). Change the ops repository through a pull request instead.',
      },
    });
  });

  it.each(['FOO', 'BREW', 'get', 'X-CAVRA'])('answers the unknown method %s with 405', async (method) => {
    const answer = parseRaw(await rawExchange(`${method} /status HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    const { error } = answer.body as { error: { code: string; message: string } };
    expect(error.code).toBe('method_not_allowed');
    expect(error.message.startsWith(`${method} is not allowed`)).toBe(true);
  });

  it.each(['OPTIONS', 'TRACE', 'PROPFIND', 'QUERY', 'M-SEARCH', 'PURGE'])(
    'answers %s (which Node parses) with 405 through the app',
    async (method) => {
      const answer = parseRaw(
        await rawExchange(`${method} ${REPORT} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
    },
  );

  it('still answers other unparsable requests 400, and oversized headers 431', async () => {
    const garbled = parseRaw(await rawExchange('GET /status HTTP/1.1\r\nHost x\r\n\r\n'));
    expect(garbled.status).toBe(400);
    expect((garbled.body as { error: { code: string } }).error.code).toBe('bad_request');
    const huge = parseRaw(
      await rawExchange(`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expect(huge.status).toBe(431);
  });

  it('keeps serving after refusing CONNECT', async () => {
    await rawExchange('CONNECT example.com:443 HTTP/1.1\r\n\r\n');
    expect((await get('/healthz')).status).toBe(200);
  });
});

describe('process routes', () => {
  it('GET /healthz is ok', async () => {
    const { response, body } = await getJson('/healthz');
    expect(response.status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('GET /readyz is ready once a revision was read', async () => {
    const { response, body } = await getJson('/readyz');
    expect(response.status).toBe(200);
    expect(body).toEqual({ status: 'ready' });
  });

  it('GET /metrics exposes the reconciler and API metrics in Prometheus format', async () => {
    server.metrics.executions.inc({ status: 'delivered' });
    await get(REPORT);
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('cavra_executions_total{status="delivered"} 1');
    expect(text).toContain('# TYPE cavra_reconcile_duration_seconds histogram');
    expect(text).toContain('# TYPE cavra_push_conflicts_total counter');
    expect(text).toMatch(
      /cavra_api_request_duration_seconds_count\{route="retry-recovery-report",method="GET",status="200"\} \d+/,
    );
    expect(text).toContain('cavra_process_cpu_user_seconds_total');
  });

  it('GET /metrics has gauges of the served revision: recoveries and keys waiting per reason', async () => {
    const real = await startFixtureServer({ planner: 'real' });
    try {
      const text = await (await fetch(`${real.url}/metrics`)).text();
      // The report at FIXTURE_NOW: A/ops-webhook breached, B/archive open; the closure manifest of
      // A/siem-splunk was committed without its record being the one the reconciler would write.
      expect(text).toContain('# TYPE cavra_recoveries_open gauge');
      expect(text).toMatch(/^cavra_recoveries_open 2$/m);
      expect(text).toMatch(/^cavra_recoveries_breached 1$/m);
      expect(text).toMatch(/^cavra_recoveries_pending 1$/m);
      // Both keys of the fixture are delivered or executing now: no key waits (the reconciled
      // repository's test counts waiting reasons).
      expect(text).toContain('# TYPE cavra_retry_keys_waiting gauge');
      expect(text).not.toMatch(/^cavra_retry_keys_waiting\{/m);

      // The gauges follow the served revision: at the first commit playbook B does not exist.
      real.setTip(real.repo.first);
      const older = await (await fetch(`${real.url}/metrics`)).text();
      expect(older).toMatch(/^cavra_recoveries_open 1$/m);
    } finally {
      await real.close();
    }
  });

  it('plans once per view and second for retry-plan, suppressions and /metrics, and keeps only the newest second', async () => {
    const planned: string[] = [];
    const counting = await startFixtureServer({
      planner: async (_snapshot, now) => {
        planned.push(now.toISOString());
        return { decisions: FIXED_DECISIONS };
      },
    });
    const at = (iso: string): Promise<unknown> =>
      (async () => {
        counting.setNow(new Date(iso));
        for (const path of [`${AUDIT_DELIVERY}/retry-plan`, `${AUDIT_DELIVERY}/suppressions`, '/metrics'])
          expect((await fetch(`${counting.url}${path}`)).status).toBe(200);
      })();
    try {
      await at('2026-07-01T12:00:00.250Z');
      await at('2026-07-01T12:00:00.750Z');
      await at('2026-07-01T12:00:01.100Z');
      // A late request for the older second is planned again, by each route that asks: only the
      // newest second is kept.
      await at('2026-07-01T12:00:00.900Z');
      expect(planned).toEqual([
        '2026-07-01T12:00:00.000Z',
        '2026-07-01T12:00:01.000Z',
        '2026-07-01T12:00:00.000Z',
        '2026-07-01T12:00:00.000Z',
        '2026-07-01T12:00:00.000Z',
      ]);
    } finally {
      await counting.close();
    }
  });

  it('GET /openapi.json is an OpenAPI 3.1 document', async () => {
    const { response, body } = await getJson('/openapi.json');
    expect(response.status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths as object)).toContain(REPORT);
  });

  it('GET /console/ serves the Evidence Console; / and /console redirect to it', async () => {
    const page = await get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Evidence Console');
    for (const path of ['/', '/console']) {
      const redirect = await fetch(`${server.url}${path}`, { redirect: 'manual' });
      expect([301, 302]).toContain(redirect.status);
      expect(redirect.headers.get('location')).toBe('/console/');
    }
  });
});

describe('the console vendor files', () => {
  it('serves Chart.js from the installed package, and nothing else from there', async () => {
    const script = await get('/console/vendor/chart.umd.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await script.text()).toContain('Chart.js v4');
    expect((await get('/console/vendor/chart.js')).status).toBe(404);
    const post = await fetch(`${server.url}/console/vendor/chart.umd.js`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('security headers', () => {
  it.each([REPORT, '/console/', '/nowhere'])('GET %s carries them', async (path) => {
    const response = await get(path);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});

describe('when the repository cannot be read', () => {
  it('answers /readyz 503, revision routes 503 repository_unavailable, and reports the error to onError', async () => {
    const { createApp } = await import('../../src/api/app.js');
    const { startServer } = await import('../../src/api/server.js');
    const { GitError } = await import('../../src/errors.js');
    const seen: string[] = [];
    const failing = {
      current: async () => {
        throw new GitError('git ls-tree failed in /repo: fatal: not a tree object');
      },
      at: async () => {
        throw new GitError('unreachable');
      },
      isReady: () => false,
    };
    const app = createApp({
      source: failing,
      clock: { now: () => FIXTURE_NOW },
      onError: (error) => seen.push((error as Error).name),
    });
    const running = await startServer(app, { port: 0 });
    try {
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('not_ready');
      const report = await fetch(`${running.url}${REPORT}`);
      expect(report.status).toBe(503);
      const body = (await report.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('repository_unavailable');
      expect(body.error.message).not.toContain('/repo');
      expect(seen).toEqual(['GitError', 'GitError']);
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
