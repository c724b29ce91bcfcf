import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE } from '../../src/connectors/audit-event.js';
import { createSplunkConnector } from '../../src/connectors/splunk-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';
import { describeHttpConnectorContract } from './http-connector-contract.js';

const provider = makeProvider(
  'splunk',
  {
    url_env: 'SPLUNK_HEC_URL',
    token_env: 'SPLUNK_HEC_TOKEN',
    options: { index: 'cavra_audit', sourcetype: 'cavra:audit' },
  },
  'ops-splunk',
);
const SUCCESS = reply.json(200, { text: 'Success', code: 0 });

describeHttpConnectorContract('splunk', {
  create: createSplunkConnector,
  provider,
  env: (base, token) => ({ SPLUNK_HEC_URL: base, SPLUNK_HEC_TOKEN: token }),
  path: '/services/collector/event',
  success: SUCCESS,
  permanent: {
    reply: reply.json(403, { text: 'Invalid token', code: 4 }),
    reason: 'HEC refused the token in SPLUNK_HEC_TOKEN',
  },
  idempotent: false,
});

describe('splunk connector request and answers', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const connect = (which = provider) =>
    createSplunkConnector(
      which,
      makeContext({ SPLUNK_HEC_URL: receiver.origin, SPLUNK_HEC_TOKEN: 'hec-token-5678' }).context,
    );

  it('POSTs a HEC event envelope with Authorization: Splunk <token> and a request channel', async () => {
    receiver.respond('*', SUCCESS);
    const request = makeRequest();

    expect(await connect().deliver(request)).toMatchObject({ success: true, statusCode: 200 });

    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.path).toBe('/services/collector/event');
    expect(received?.headers.authorization).toBe('Splunk hec-token-5678');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['x-splunk-request-channel']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const body = JSON.parse(received!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      time: Date.parse(request.at) / 1000,
      source: 'cavra-gitops',
      sourcetype: 'cavra:audit',
      index: 'cavra_audit',
      event: {
        event_type: AUDIT_EVENT_TYPE,
        idempotency_key: request.idempotencyKey,
        delivery_id: request.deliveryId,
      },
    });
  });

  it('uses a configured channel and leaves index out when none is configured', async () => {
    receiver.respond('*', SUCCESS);
    const channel = '11111111-2222-4333-8444-555555555555';
    await connect(
      makeProvider('splunk', {
        url_env: 'SPLUNK_HEC_URL',
        token_env: 'SPLUNK_HEC_TOKEN',
        options: { channel },
      }),
    ).deliver(makeRequest());
    expect(receiver.requests[0]?.headers['x-splunk-request-channel']).toBe(channel);
    const body = JSON.parse(receiver.requests[0]!.body) as Record<string, unknown>;
    expect(body).not.toHaveProperty('index');
    expect(body.sourcetype).toBe('_json');
  });

  it.each([
    [401, { text: 'Token is required', code: 2 }, false, 'token is required'],
    [403, { text: 'Token disabled', code: 1 }, false, 'token disabled'],
    [400, { text: 'Incorrect index', code: 7 }, false, 'spec.options.index'],
    [400, { text: 'Data channel is missing', code: 10 }, false, 'spec.options.channel'],
    [400, { text: 'Invalid data format', code: 6 }, false, 'invalid data format'],
    [503, { text: 'Server is busy', code: 9 }, true, 'server is busy'],
  ])('maps HTTP %i %j (retryable %s)', async (status, answer, retryable, reason) => {
    receiver.respond('*', reply.json(status, answer));
    const outcome = await createSplunkConnector(
      provider,
      makeContext({ SPLUNK_HEC_URL: receiver.origin, SPLUNK_HEC_TOKEN: 'hec-token-5678' }, { maxAttempts: 1 })
        .context,
    ).deliver(makeRequest());
    expect(outcome).toMatchObject({ success: false, statusCode: status, retryable });
    expect(outcome.error).toContain(reason);
    expect(outcome.error).toContain(`HEC code ${answer.code}`);
  });

  it.each([
    ['no token_env', makeProvider('splunk', { url_env: 'SPLUNK_HEC_URL' }), /spec\.token_env/],
    [
      'token unset',
      makeProvider('splunk', { url_env: 'SPLUNK_HEC_URL', token_env: 'UNSET_TOKEN' }),
      /UNSET_TOKEN is not set/,
    ],
    [
      'bad channel',
      makeProvider('splunk', {
        url_env: 'SPLUNK_HEC_URL',
        token_env: 'SPLUNK_HEC_TOKEN',
        options: { channel: 'x' },
      }),
      /GUID/,
    ],
  ])('throws ConnectorError at creation: %s', (_label, which, message) => {
    const { context } = makeContext({
      SPLUNK_HEC_URL: 'https://splunk.example:8088',
      SPLUNK_HEC_TOKEN: 'hec-token-5678',
    });
    expect(() => createSplunkConnector(which, context)).toThrow(ConnectorError);
    expect(() => createSplunkConnector(which, context)).toThrow(message);
  });
});
