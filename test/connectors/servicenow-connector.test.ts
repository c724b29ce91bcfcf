import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServicenowConnector } from '../../src/connectors/servicenow-connector.js';
import type { Provider } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import {
  reply,
  startHttpReceiver,
  type HttpReceiver,
  type RecordedRequest,
} from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';

const USERNAME = 'cavra.integration';
const PASSWORD = 'sn-password-value-2481';
const INCIDENT_PATH = '/api/now/table/incident';

/** Generous timeout so a slow CI start is not a timeout; hang tests pass a short one. */
function servicenowProvider(options: Provider['spec']['options'] = {}, timeoutSeconds = 5): Provider {
  return makeProvider(
    'servicenow',
    {
      timeout_seconds: timeoutSeconds,
      url_env: 'SN_INSTANCE_URL',
      token_env: 'SN_PASSWORD',
      options: { username: USERNAME, ...options },
    },
    'ops-servicenow',
  );
}

/** Answers like the Table API: credentials, JSON in and out, else ServiceNow's error envelope. */
function tableAnswer(request: RecordedRequest, expectedAuth: string): ReturnType<typeof reply.json> {
  if (request.headers.authorization !== expectedAuth) {
    return reply.json(401, {
      error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' },
      status: 'failure',
    });
  }
  if (
    request.headers['content-type'] !== 'application/json' ||
    request.headers.accept !== 'application/json'
  ) {
    return reply.json(415, { error: { message: 'Unsupported media type' }, status: 'failure' });
  }
  const record = JSON.parse(request.body) as Record<string, string>;
  return reply.json(201, {
    result: { sys_id: '46d44a23a9fe19810012d100cca80666', number: 'INC0010001', ...record },
  });
}

describe('servicenow connector (Table API)', () => {
  let receiver: HttpReceiver;
  const basic = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    receiver.reset();
    receiver.handle((request) =>
      request.path.startsWith('/api/now/table/') ? tableAnswer(request, basic) : reply.status(404),
    );
  });

  const env = (): Record<string, string> => ({ SN_INSTANCE_URL: receiver.origin, SN_PASSWORD: PASSWORD });

  it('creates an incident with basic auth, correlation id = idempotency key and preset fields (201)', async () => {
    const { context } = makeContext(env());
    const provider = servicenowProvider({ category: 'software', urgency: 2, impact: '3' });
    const connector = createServicenowConnector(provider, context);
    const request = makeRequest({ provider: 'ops-servicenow' });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: 201, error: '', retryable: false, attempts: 1 });
    expect(connector.idempotent).toBe(false);
    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe(INCIDENT_PATH);
    expect(received?.headers.authorization).toBe(basic);
    const record = JSON.parse(received!.body) as Record<string, string>;
    expect(record).toMatchObject({
      short_description: `CAVRA audit delivery ${request.deliveryId} → ops-servicenow (attempt 2)`,
      correlation_id: request.idempotencyKey,
      correlation_display: 'cavra-gitops',
      category: 'software',
      urgency: '2',
      impact: '3',
    });
    expect(record.description).toContain(`Idempotency key: ${request.idempotencyKey}`);
    expect(record.description).toContain('route-a: acknowledged');
  });

  it('uses an OAuth bearer token and another table when configured', async () => {
    receiver.handle((request) => tableAnswer(request, `Bearer ${PASSWORD}`));
    const { context } = makeContext(env());
    const provider = servicenowProvider({ auth: 'bearer', username: '', table: 'sn_si_incident' });

    const outcome = await createServicenowConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: true, statusCode: 201 });
    expect(receiver.requests[0]?.path).toBe('/api/now/table/sn_si_incident');
  });

  it.each([
    {
      name: '429 + Retry-After, then 201',
      replies: [reply.tooManyRequests(12)],
      expected: { success: true, statusCode: 201, retryable: false, attempts: 2, error: '' },
      sleeps: [12_000],
    },
    {
      name: '503 on every attempt',
      replies: [reply.status(503), reply.status(503), reply.status(503)],
      expected: { success: false, statusCode: 503, retryable: true, attempts: 3 },
      sleeps: [1000, 2000],
    },
    {
      name: '400 (invalid field)',
      replies: [
        reply.json(400, { error: { message: 'Invalid value for field urgency' }, status: 'failure' }),
      ],
      expected: { success: false, statusCode: 400, retryable: false, attempts: 1 },
      sleeps: [],
      error: 'Invalid value for field urgency',
    },
    {
      name: '401 (bad password)',
      replies: [reply.json(401, { error: { message: 'User Not Authenticated' }, status: 'failure' })],
      expected: { success: false, statusCode: 401, retryable: false, attempts: 1 },
      sleeps: [],
      error: 'SN_PASSWORD',
    },
    {
      name: '403 (ACL)',
      replies: [reply.json(403, { error: { message: 'Operation Failed' }, status: 'failure' })],
      expected: { success: false, statusCode: 403, retryable: false, attempts: 1 },
      sleeps: [],
      error: 'create incident records',
    },
  ])('maps $name', async ({ replies, expected, sleeps: expectedSleeps, error }) => {
    receiver.enqueue(INCIDENT_PATH, ...replies);
    const { context, sleeps } = makeContext(env());

    const outcome = await createServicenowConnector(servicenowProvider(), context).deliver(makeRequest());

    expect(outcome).toMatchObject(expected);
    expect(sleeps).toEqual(expectedSleeps);
    if (error) expect(outcome.error).toContain(error);
    expect(outcome.error).not.toContain(PASSWORD);
  });

  it('does not re-send within the call after a timeout (the Table API does not deduplicate)', async () => {
    receiver.enqueue(INCIDENT_PATH, reply.hang());
    const { context, sleeps } = makeContext(env());

    const outcome = await createServicenowConnector(servicenowProvider({}, 0.3), context).deliver(
      makeRequest(),
    );

    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 1 });
    expect(outcome.error).toContain('timeout');
    expect(receiver.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([
    ['the instance URL env var is unset', servicenowProvider(), { SN_PASSWORD: PASSWORD }, 'SN_INSTANCE_URL'],
    [
      'the password env var is unset',
      servicenowProvider(),
      { SN_INSTANCE_URL: 'https://x.service-now.com' },
      'SN_PASSWORD',
    ],
    [
      'basic auth has no username',
      servicenowProvider({ username: '' }),
      { SN_INSTANCE_URL: 'https://x.test', SN_PASSWORD: PASSWORD },
      'options.username',
    ],
    [
      'the table is not a table name',
      servicenowProvider({ table: '../sys_user' }),
      { SN_INSTANCE_URL: 'https://x.test', SN_PASSWORD: PASSWORD },
      'options.table',
    ],
  ])('refuses to build when %s', (_name, provider, values, expected) => {
    const { context } = makeContext(values);
    let thrown: unknown;
    try {
      createServicenowConnector(provider, context);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as Error).message).toContain(expected);
    expect((thrown as Error).message).not.toContain(PASSWORD);
  });
});
