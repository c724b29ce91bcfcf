import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADAPTIVE_CARD_CONTENT_TYPE, createTeamsConnector } from '../../src/connectors/teams-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';
import { describeHttpConnectorContract } from './http-connector-contract.js';

const provider = makeProvider('teams', { url_env: 'TEAMS_WORKFLOW_URL' }, 'ops-teams');
const FLOW_PATH = '/workflows/0123abcd/triggers/manual/paths/invoke';
const flowUrl = (origin: string) =>
  `${origin}${FLOW_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=secretsig123`;

describeHttpConnectorContract('teams', {
  create: createTeamsConnector,
  provider,
  env: (base) => ({ TEAMS_WORKFLOW_URL: base.includes('?') ? base : flowUrl(base) }),
  path: FLOW_PATH,
  success: reply.status(202, ''),
  permanent: {
    reply: reply.json(400, { error: { code: 'InvalidRequestContent' } }),
    reason: 'Teams rejected the card',
  },
  idempotent: false,
});

interface TeamsPayload {
  type: string;
  attachments: {
    contentType: string;
    content: {
      type: string;
      version: string;
      body: { type: string; text?: string; facts?: { title: string; value: string }[] }[];
    };
  }[];
}

describe('teams connector request and answers', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const connect = () =>
    createTeamsConnector(provider, makeContext({ TEAMS_WORKFLOW_URL: flowUrl(receiver.origin) }).context);

  it('POSTs a message with one Adaptive Card attachment, keeping the sig query parameter', async () => {
    receiver.respond('*', reply.status(202, ''));
    const request = makeRequest();

    expect(await connect().deliver(request)).toMatchObject({ success: true, statusCode: 202 });

    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toContain('sig=secretsig123');
    expect(received?.headers['content-type']).toBe('application/json');
    const body = JSON.parse(received!.body) as TeamsPayload;
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    const card = body.attachments[0]!;
    expect(card.contentType).toBe(ADAPTIVE_CARD_CONTENT_TYPE);
    expect(card.content.type).toBe('AdaptiveCard');
    expect(card.content.version).toBe('1.4');
    const facts = card.content.body.find((element) => element.type === 'FactSet')!.facts!;
    expect(facts).toContainEqual({ title: 'Delivery', value: request.deliveryId });
    expect(facts).toContainEqual({ title: 'Attempt', value: '2' });
    expect(facts).toContainEqual({ title: 'Outstanding', value: '2' });
    expect(facts).toContainEqual({ title: 'Idempotency key', value: request.idempotencyKey });
  });

  it('accepts the legacy incoming webhook answer 200 "1"', async () => {
    receiver.respond('*', reply.status(200, '1'));
    expect(await connect().deliver(makeRequest())).toMatchObject({ success: true, statusCode: 200 });
  });

  it.each([
    [
      'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId x',
      true,
    ],
    ['Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400', false],
  ])('treats a legacy 200 that reports a failure as failed: %s', async (body, retryable) => {
    receiver.respond('*', reply.status(200, body));
    const outcome = await connect().deliver(makeRequest());
    expect(outcome).toMatchObject({ success: false, statusCode: 200, retryable });
    expect(outcome.error).toContain('Teams reported');
  });

  it.each([
    [401, 'copy the current URL into TEAMS_WORKFLOW_URL'],
    [404, 'no longer exists'],
  ])('maps HTTP %i to a permanent reason', async (status, reason) => {
    receiver.respond('*', reply.status(status, ''));
    const outcome = await connect().deliver(makeRequest());
    expect(outcome).toMatchObject({ success: false, retryable: false, statusCode: status });
    expect(outcome.error).toContain(reason);
  });

  it('throws ConnectorError at creation when the URL variable is not set', () => {
    expect(() => createTeamsConnector(provider, makeContext({}).context)).toThrow(ConnectorError);
  });
});
