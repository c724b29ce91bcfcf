import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackConnector } from '../../src/connectors/slack-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';
import { describeHttpConnectorContract } from './http-connector-contract.js';

const provider = makeProvider('slack', { url_env: 'SLACK_WEBHOOK_URL' }, 'ops-slack');
const HOOK_PATH = '/services/T0001/B0001/abcdefghijklmnop';

describeHttpConnectorContract('slack', {
  create: createSlackConnector,
  provider,
  env: (base) => ({ SLACK_WEBHOOK_URL: base.includes('/services/') ? base : `${base}${HOOK_PATH}` }),
  path: HOOK_PATH,
  success: reply.status(200, 'ok', { 'content-type': 'text/html' }),
  permanent: { reply: reply.status(404, 'channel_not_found'), reason: 'channel_not_found' },
  idempotent: false,
});

describe('slack connector request and answers', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const connect = () =>
    createSlackConnector(
      provider,
      makeContext({ SLACK_WEBHOOK_URL: `${receiver.origin}${HOOK_PATH}` }).context,
    );

  it('POSTs JSON with a text fallback and Block Kit blocks Slack accepts', async () => {
    receiver.respond('*', reply.status(200, 'ok'));
    const request = makeRequest({ deliveryId: 'ops<weekly>&co' });

    expect((await connect().deliver(request)).success).toBe(true);

    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(received!.body) as {
      text: string;
      blocks: { type: string; fields?: { text: string }[]; text?: { type: string; text: string } }[];
    };
    expect(body.text).toContain('ops&lt;weekly&gt;&amp;co');
    expect(body.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(body.blocks[0]?.text?.type).toBe('plain_text');
    expect(body.blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
    const fields = body.blocks[1]!.fields!.map((item) => item.text);
    expect(fields).toEqual([
      '*Delivery*\nops&lt;weekly&gt;&amp;co',
      `*Audit*\n${request.auditId}`,
      `*Provider*\n${request.provider}`,
      '*Attempt*\n2',
      `*Execution*\n${request.executionId}`,
    ]);
    expect(body.blocks[2]!.fields).toHaveLength(7);
    expect(body.blocks[2]!.fields![6]!.text).toBe('*Outstanding*\n2');
    for (const block of body.blocks) expect((block.fields ?? []).length).toBeLessThanOrEqual(10);
  });

  it.each([
    [400, 'invalid_payload', 'could not parse the message payload'],
    [403, 'action_prohibited', 'restricts posting'],
    [
      404,
      'no_service',
      'revoked or wrong; create a new incoming webhook and put its URL in SLACK_WEBHOOK_URL',
    ],
    [403, 'invalid_token', 'revoked or wrong'],
    [410, 'channel_is_archived', 'channel is archived'],
    [404, 'channel_not_found', 'no longer exists'],
  ])('maps HTTP %i %s to a permanent reason', async (status, code, reason) => {
    receiver.respond('*', reply.status(status, code));

    const outcome = await connect().deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: status, retryable: false, attempts: 1 });
    expect(outcome.error).toContain(code);
    expect(outcome.error).toContain(reason);
  });

  it('retries rollup_error (HTTP 500)', async () => {
    receiver.enqueue(HOOK_PATH, reply.status(500, 'rollup_error'));
    receiver.respond('*', reply.status(200, 'ok'));
    expect(await connect().deliver(makeRequest())).toMatchObject({ success: true, attempts: 2 });
  });

  it('throws ConnectorError at creation when the URL variable is not set, naming it', () => {
    expect(() => createSlackConnector(provider, makeContext({}).context)).toThrow(ConnectorError);
    expect(() => createSlackConnector(provider, makeContext({}).context)).toThrow(/SLACK_WEBHOOK_URL/);
  });
});
