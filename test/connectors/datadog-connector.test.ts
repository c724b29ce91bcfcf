import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatadogConnector } from '../../src/connectors/datadog-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';
import { describeHttpConnectorContract } from './http-connector-contract.js';

const provider = makeProvider(
  'datadog',
  {
    url_env: 'DD_SITE_URL',
    token_env: 'DD_API_KEY',
    options: { tags: 'team:sre, env:prod', source_type_name: 'cavra' },
  },
  'ops-datadog',
);
const ACCEPTED = reply.json(202, { status: 'ok', event: { id: 1 } });

describeHttpConnectorContract('datadog', {
  create: createDatadogConnector,
  provider,
  env: (base, token) => ({ DD_SITE_URL: base, DD_API_KEY: token }),
  path: '/api/v1/events',
  success: ACCEPTED,
  permanent: {
    reply: reply.json(403, { errors: ['Forbidden'] }),
    reason: 'Datadog rejected the API key in DD_API_KEY',
  },
  idempotent: false,
});

describe('datadog connector request and answers', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const connect = (which = provider, base?: string) =>
    createDatadogConnector(
      which,
      makeContext({ DD_SITE_URL: base ?? receiver.origin, DD_API_KEY: 'dd-key-1234' }).context,
    );

  it('POSTs an Events API v1 event with DD-API-KEY and 202 Accepted is success', async () => {
    receiver.respond('*', ACCEPTED);
    const request = makeRequest();

    expect(await connect().deliver(request)).toMatchObject({ success: true, statusCode: 202 });

    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.path).toBe('/api/v1/events');
    expect(received?.headers['dd-api-key']).toBe('dd-key-1234');
    expect(received?.headers['content-type']).toBe('application/json');
    const body = JSON.parse(received!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      alert_type: 'info',
      priority: 'normal',
      aggregation_key: request.idempotencyKey,
      source_type_name: 'cavra',
      date_happened: Date.parse(request.at) / 1000,
    });
    expect((body.title as string).length).toBeLessThanOrEqual(100);
    expect(body.text).toContain('Outstanding: 2');
    expect(body.tags).toEqual(
      expect.arrayContaining([
        `cavra_delivery:${request.deliveryId}`,
        `cavra_audit:${request.auditId}`,
        'team:sre',
        'env:prod',
      ]),
    );
  });

  it('keeps a path prefix of the base URL (proxies) and does not double the API path', async () => {
    receiver.respond('*', ACCEPTED);
    await connect(provider, `${receiver.origin}/dd-proxy/`).deliver(makeRequest());
    await connect(provider, `${receiver.origin}/api/v1/events`).deliver(makeRequest());
    expect(receiver.requests.map((request) => request.path)).toEqual([
      '/dd-proxy/api/v1/events',
      '/api/v1/events',
    ]);
  });

  it('waits X-RateLimit-Reset seconds on 429 without Retry-After', async () => {
    receiver.enqueue(
      '/api/v1/events',
      reply.status(429, '{"errors":["Rate limit"]}', { 'x-ratelimit-reset': '9' }),
    );
    receiver.respond('*', ACCEPTED);
    const made = makeContext({ DD_SITE_URL: receiver.origin, DD_API_KEY: 'dd-key-1234' });

    const outcome = await createDatadogConnector(provider, made.context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: true, attempts: 2 });
    expect(made.sleeps).toEqual([9000]);
  });

  it('reports a rejected event body as permanent with Datadog’s error', async () => {
    receiver.respond('*', reply.json(400, { errors: ['Event title is required'] }));
    const outcome = await connect().deliver(makeRequest());
    expect(outcome).toMatchObject({ success: false, statusCode: 400, retryable: false });
    expect(outcome.error).toContain('Event title is required');
  });

  it.each([
    ['no token_env', makeProvider('datadog', { url_env: 'DD_SITE_URL' }), /spec\.token_env/],
    [
      'bad alert_type',
      makeProvider('datadog', {
        url_env: 'DD_SITE_URL',
        token_env: 'DD_API_KEY',
        options: { alert_type: 'panic' },
      }),
      /alert_type/,
    ],
  ])('throws ConnectorError at creation: %s', (_label, which, message) => {
    const { context } = makeContext({ DD_SITE_URL: 'https://api.datadoghq.eu', DD_API_KEY: 'dd-key-1234' });
    expect(() => createDatadogConnector(which, context)).toThrow(ConnectorError);
    expect(() => createDatadogConnector(which, context)).toThrow(message);
  });
});
