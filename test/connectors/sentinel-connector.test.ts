import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE } from '../../src/connectors/audit-event.js';
import {
  DEFAULT_ENTRA_AUTHORITY,
  MONITOR_INGESTION_SCOPE,
  tokenEndpointUrl,
} from '../../src/connectors/entra-token.js';
import { createSentinelConnector, ingestionUrl } from '../../src/connectors/sentinel-connector.js';
import type { Provider } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import {
  reply,
  startHttpReceiver,
  type HttpReceiver,
  type RecordedRequest,
} from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';

const TENANT = 'tenant-0f1e2d3c';
const CLIENT_ID = 'client-9a8b7c6d';
const CLIENT_SECRET = 'client-secret-value-5c1d';
const DCR = 'dcr-00112233445566778899aabbccddeeff';
const STREAM = 'Custom-CavraAuditDelivery_CL';
const TOKEN_PATH = `/${TENANT}/oauth2/v2.0/token`;
const INGEST_PATH = `/dataCollectionRules/${DCR}/streams/${STREAM}`;
const ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-one';
const SECOND_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-two';
const AT = '2026-06-28T10:00:00Z';

/** Generous timeout so a slow CI start is not a timeout; hang tests pass a short one. */
function sentinelProvider(options: Provider['spec']['options'] = {}, timeoutSeconds = 5): Provider {
  return makeProvider(
    'sentinel',
    {
      timeout_seconds: timeoutSeconds,
      url_env: 'SENTINEL_DCE_URL',
      token_env: 'SENTINEL_CLIENT_SECRET',
      options: {
        tenant_id: TENANT,
        client_id: CLIENT_ID,
        dcr_immutable_id: DCR,
        stream_name: STREAM,
        authority_url_env: 'SENTINEL_AUTHORITY',
        ...options,
      },
    },
    'ops-sentinel',
  );
}

/** Answers the token request the way Microsoft Entra ID does: form fields checked, else 400/401. */
function entraAnswer(request: RecordedRequest, accessToken: string): ReturnType<typeof reply.json> {
  const form = new URLSearchParams(request.body);
  if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') {
    return reply.json(400, {
      error: 'invalid_request',
      error_description: 'AADSTS900144: grant_type missing',
    });
  }
  if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== MONITOR_INGESTION_SCOPE) {
    return reply.json(400, { error: 'invalid_request', error_codes: [90014] });
  }
  if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET) {
    return reply.json(401, {
      error: 'invalid_client',
      error_description: 'AADSTS7000215: Invalid client secret provided.',
      error_codes: [7000215],
    });
  }
  return reply.json(200, {
    token_type: 'Bearer',
    expires_in: 3599,
    ext_expires_in: 3599,
    access_token: accessToken,
  });
}

/** Answers ingestion the way the Logs Ingestion API does: bearer token, JSON array, api-version. */
function ingestionAnswer(request: RecordedRequest, validTokens: string[]): ReturnType<typeof reply.status> {
  const query = new URL(request.url, 'http://x').searchParams;
  if (query.get('api-version') !== '2023-01-01')
    return reply.json(400, { error: { code: 'InvalidApiVersion' } });
  const auth = request.headers.authorization ?? '';
  if (!validTokens.some((token) => auth === `Bearer ${token}`)) {
    return reply.json(401, { error: { code: 'InvalidToken', message: 'token invalid' } });
  }
  if (request.headers['content-type'] !== 'application/json') return reply.status(415);
  const body: unknown = JSON.parse(request.body);
  if (!Array.isArray(body))
    return reply.json(400, { error: { code: 'InvalidPayload', message: 'array expected' } });
  return reply.status(204);
}

describe('sentinel connector (Azure Monitor Logs Ingestion API)', () => {
  let receiver: HttpReceiver;
  let validTokens: string[];
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    receiver.reset();
    validTokens = [ACCESS_TOKEN];
    receiver.handle((request) => {
      if (request.path === TOKEN_PATH) return entraAnswer(request, ACCESS_TOKEN);
      if (request.path === INGEST_PATH) return ingestionAnswer(request, validTokens);
      return reply.status(404);
    });
  });

  const env = (): Record<string, string> => ({
    SENTINEL_DCE_URL: `${receiver.origin}/`,
    SENTINEL_CLIENT_SECRET: CLIENT_SECRET,
    SENTINEL_AUTHORITY: receiver.origin,
  });

  it('gets a client-credentials token, then POSTs a JSON array of stream records (204)', async () => {
    const { context } = makeContext(env());
    const connector = createSentinelConnector(sentinelProvider(), context);
    const request = makeRequest({ provider: 'ops-sentinel', at: AT });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: 204, error: '', retryable: false, attempts: 2 });
    expect(connector.type).toBe('sentinel');
    expect(connector.idempotent).toBe(false);
    expect(receiver.requests.map((r) => r.path)).toEqual([TOKEN_PATH, INGEST_PATH]);

    const tokenRequest = receiver.requests[0]!;
    expect(tokenRequest.method).toBe('POST');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest.body))).toEqual({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scope: 'https://monitor.azure.com//.default',
      grant_type: 'client_credentials',
    });

    const ingest = receiver.requests[1]!;
    expect(ingest.method).toBe('POST');
    expect(ingest.url).toBe(`${INGEST_PATH}?api-version=2023-01-01`);
    expect(ingest.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(ingest.headers['content-type']).toBe('application/json');
    expect(ingest.headers['x-ms-client-request-id']).toBe(request.idempotencyKey);
    expect(JSON.parse(ingest.body)).toEqual([
      {
        TimeGenerated: AT,
        EventType: AUDIT_EVENT_TYPE,
        DeliveryId: request.deliveryId,
        AuditId: request.auditId,
        Provider: 'ops-sentinel',
        Attempt: 2,
        ExecutionId: request.executionId,
        IdempotencyKey: request.idempotencyKey,
        RouteCount: 2,
        AcknowledgementCount: 5,
        AcknowledgedCount: 3,
        ResolvedCount: 1,
        EscalatedCount: 1,
        DismissedCount: 0,
        OutstandingCount: 2,
        Routes: request.package.routes,
      },
    ]);
  });

  it('reuses the token until five minutes before expires_in, then asks for a new one', async () => {
    const { context } = makeContext(env());
    const connector = createSentinelConnector(sentinelProvider(), context);
    const at = (seconds: number): string => new Date(Date.parse(AT) + seconds * 1000).toISOString();

    await connector.deliver(makeRequest({ at: AT }));
    const cached = await connector.deliver(makeRequest({ at: at(3599 - 301) }));
    expect(cached).toMatchObject({ success: true, attempts: 1 });
    expect(receiver.requestsTo(TOKEN_PATH)).toHaveLength(1);

    await connector.deliver(makeRequest({ at: at(3599 - 299) }));
    expect(receiver.requestsTo(TOKEN_PATH)).toHaveLength(2);
    expect(receiver.requestsTo(INGEST_PATH)).toHaveLength(3);
  });

  it('fetches a fresh token once when the API refuses a cached one (401)', async () => {
    const { context } = makeContext(env());
    const connector = createSentinelConnector(sentinelProvider(), context);
    await connector.deliver(makeRequest({ at: AT }));
    // The cached token is revoked; the token endpoint now issues another one.
    validTokens = [SECOND_TOKEN];
    receiver.handle((request) => {
      if (request.path === TOKEN_PATH) return entraAnswer(request, SECOND_TOKEN);
      return ingestionAnswer(request, validTokens);
    });

    const outcome = await connector.deliver(makeRequest({ at: AT }));

    expect(outcome).toEqual({ success: true, statusCode: 204, error: '', retryable: false, attempts: 3 });
    expect(receiver.requestsTo(INGEST_PATH).at(-1)?.headers.authorization).toBe(`Bearer ${SECOND_TOKEN}`);
  });

  it('reports a refused client secret as permanent, naming the env var and never the secret', async () => {
    const { context } = makeContext({ ...env(), SENTINEL_CLIENT_SECRET: 'wrong-secret-value-77' });

    const outcome = await createSentinelConnector(sentinelProvider(), context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: 401, retryable: false, attempts: 1 });
    expect(outcome.error).toContain('invalid_client');
    expect(outcome.error).toContain('AADSTS7000215');
    expect(outcome.error).toContain('SENTINEL_CLIENT_SECRET');
    expect(outcome.error).not.toContain('wrong-secret-value-77');
    expect(receiver.requestsTo(INGEST_PATH)).toHaveLength(0);
  });

  it('retries a throttled token request after Retry-After', async () => {
    receiver.enqueue(TOKEN_PATH, reply.tooManyRequests(4));
    const { context, sleeps } = makeContext(env());

    const outcome = await createSentinelConnector(sentinelProvider(), context).deliver(makeRequest());

    expect(outcome).toEqual({ success: true, statusCode: 204, error: '', retryable: false, attempts: 3 });
    expect(sleeps).toEqual([4000]);
  });

  it.each([
    {
      name: '429 + Retry-After, then 204',
      replies: [reply.tooManyRequests(7)],
      expected: { success: true, statusCode: 204, retryable: false, attempts: 3 },
      sleeps: [7000],
      error: '',
    },
    {
      name: '503 on every attempt',
      replies: [reply.status(503), reply.status(503), reply.status(503)],
      expected: { success: false, statusCode: 503, retryable: true, attempts: 4 },
      sleeps: [1000, 2000],
      error: 'HTTP 503',
    },
    {
      name: '403 (role missing)',
      replies: [reply.json(403, { error: { code: 'OperationFailed', message: 'forbidden' } })],
      expected: { success: false, statusCode: 403, retryable: false, attempts: 2 },
      sleeps: [],
      error: 'Monitoring Metrics Publisher',
    },
    {
      name: '404 (unknown rule or stream)',
      replies: [reply.json(404, { error: { code: 'NotFound' } })],
      expected: { success: false, statusCode: 404, retryable: false, attempts: 2 },
      sleeps: [],
      error: 'options.dcr_immutable_id',
    },
    {
      name: '400 (records do not match the stream)',
      replies: [reply.json(400, { error: { code: 'InvalidStream', message: 'bad column' } })],
      expected: { success: false, statusCode: 400, retryable: false, attempts: 2 },
      sleeps: [],
      error: 'InvalidStream',
    },
  ])('maps an ingestion answer: $name', async ({ replies, expected, sleeps: expectedSleeps, error }) => {
    receiver.enqueue(INGEST_PATH, ...replies);
    const { context, sleeps } = makeContext(env());

    const outcome = await createSentinelConnector(sentinelProvider(), context).deliver(makeRequest());

    expect(outcome).toMatchObject(expected);
    expect(sleeps).toEqual(expectedSleeps);
    if (error) expect(outcome.error).toContain(error);
    else expect(outcome.error).toBe('');
    expect(outcome.error).not.toContain(ACCESS_TOKEN);
  });

  it('does not re-send within the call after a timeout (the API does not deduplicate)', async () => {
    receiver.enqueue(INGEST_PATH, reply.hang());
    const { context, sleeps } = makeContext(env());

    const outcome = await createSentinelConnector(sentinelProvider({}, 0.3), context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 2 });
    expect(outcome.error).toContain('timeout');
    expect(receiver.requestsTo(INGEST_PATH)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('asks Microsoft public cloud for the token when authority_url_env is unset', async () => {
    const asked: string[] = [];
    const { context } = makeContext(env(), {
      // Record the URL and fail like an unreachable network: no call leaves the machine.
      fetch: async (input) => {
        asked.push(input instanceof Request ? input.url : input.toString());
        throw new TypeError('fetch failed');
      },
    });
    const provider = sentinelProvider({ authority_url_env: '' });

    const outcome = await createSentinelConnector(provider, context).deliver(makeRequest());

    expect(asked[0]).toBe(`https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`);
    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true });
    expect(tokenEndpointUrl(DEFAULT_ENTRA_AUTHORITY, 'contoso.onmicrosoft.com')).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
  });

  it('builds the ingestion URL under a DCE with or without a trailing slash', () => {
    const expected = `https://dce.westeurope-1.ingest.monitor.azure.com${INGEST_PATH}?api-version=2023-01-01`;
    expect(ingestionUrl('https://dce.westeurope-1.ingest.monitor.azure.com', DCR, STREAM)).toBe(expected);
    expect(ingestionUrl('https://dce.westeurope-1.ingest.monitor.azure.com/', DCR, STREAM)).toBe(expected);
  });

  it.each([
    [
      'the DCE env var is unset',
      sentinelProvider(),
      { SENTINEL_CLIENT_SECRET: CLIENT_SECRET },
      'SENTINEL_DCE_URL',
    ],
    [
      'the secret env var is unset',
      sentinelProvider(),
      { SENTINEL_DCE_URL: 'https://dce.example.test' },
      'SENTINEL_CLIENT_SECRET',
    ],
    [
      'the authority env var is named but unset',
      sentinelProvider(),
      { SENTINEL_DCE_URL: 'https://dce.example.test', SENTINEL_CLIENT_SECRET: CLIENT_SECRET },
      'SENTINEL_AUTHORITY',
    ],
    [
      'tenant_id is missing',
      sentinelProvider({ tenant_id: '' }),
      {
        SENTINEL_DCE_URL: 'https://dce.example.test',
        SENTINEL_CLIENT_SECRET: CLIENT_SECRET,
        SENTINEL_AUTHORITY: 'https://login.example.test',
      },
      'options.tenant_id',
    ],
    [
      'stream_name is missing',
      sentinelProvider({ stream_name: '' }),
      {
        SENTINEL_DCE_URL: 'https://dce.example.test',
        SENTINEL_CLIENT_SECRET: CLIENT_SECRET,
        SENTINEL_AUTHORITY: 'https://login.example.test',
      },
      'options.stream_name',
    ],
  ])('refuses to build when %s', (_name, provider, values, expected) => {
    const { context } = makeContext(values);
    let thrown: unknown;
    try {
      createSentinelConnector(provider, context);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as Error).message).toContain(expected);
    expect((thrown as Error).message).not.toContain(CLIENT_SECRET);
  });
});
