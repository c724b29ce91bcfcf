import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE } from '../../src/connectors/audit-event.js';
import { createWebhookConnector } from '../../src/connectors/webhook-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { refusedUrl, reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  CANARY,
  canaryUrl,
  canaryValues,
  makeContext,
  makeProvider,
  makeRequest,
} from './connector-fixtures.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const AT_SECONDS = Date.parse('2026-06-28T10:00:00Z') / 1000;

/** Verify like a Standard Webhooks receiver: any `v1,` signature matches, timestamp within 5 min. */
function verifyStandardWebhook(
  headers: IncomingHttpHeaders,
  rawBody: Buffer,
  secret: string,
  nowSeconds: number,
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), rawBody]))
    .digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe('webhook connector (Standard Webhooks)', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const provider = makeProvider(
    'webhook',
    { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' },
    'ops-webhook',
  );
  const env = () => ({ HOOK_URL: `${receiver.origin}/hooks/cavra`, HOOK_SECRET: SECRET });

  it('POSTs the signed audit event the way a Standard Webhooks receiver verifies it', async () => {
    const { context } = makeContext(env());
    const connector = createWebhookConnector(provider, context);
    const request = makeRequest({ provider: 'ops-webhook' });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: 200, error: '', retryable: false, attempts: 1 });
    expect(connector.idempotent).toBe(true);
    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.path).toBe('/hooks/cavra');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['webhook-id']).toBe(request.idempotencyKey);
    expect(received?.headers['webhook-timestamp']).toBe(String(AT_SECONDS));
    expect(verifyStandardWebhook(received!.headers, received!.rawBody, SECRET, AT_SECONDS)).toBe(true);
    // A different secret must not verify: the check above can fail.
    const otherSecret = `whsec_${Buffer.from('another-secret-another-secret-32').toString('base64')}`;
    expect(verifyStandardWebhook(received!.headers, received!.rawBody, otherSecret, AT_SECONDS)).toBe(false);
    expect(JSON.parse(received!.body)).toEqual({
      event_type: AUDIT_EVENT_TYPE,
      delivery_id: request.deliveryId,
      audit_id: request.auditId,
      provider: 'ops-webhook',
      attempt: 2,
      execution_id: request.executionId,
      idempotency_key: request.idempotencyKey,
      timestamp: request.at,
      package: request.package,
    });
  });

  it('omits execution_id on attempt 1 and sends no signature without a signing secret', async () => {
    const unsigned = makeProvider('webhook', { url_env: 'HOOK_URL' });
    const { context } = makeContext(env());
    const request = makeRequest({ attempt: 1, executionId: '', idempotencyKey: 'ops-weekly-audit' });

    const outcome = await createWebhookConnector(unsigned, context).deliver(request);

    expect(outcome.success).toBe(true);
    const [received] = receiver.requests;
    expect(received?.headers['webhook-signature']).toBeUndefined();
    expect(received?.headers['webhook-id']).toBe('ops-weekly-audit');
    expect(JSON.parse(received!.body)).not.toHaveProperty('execution_id');
  });

  it('honours 429 Retry-After and re-sends with the same webhook-id', async () => {
    receiver.enqueue('/hooks/cavra', reply.tooManyRequests(7));
    const { context, sleeps } = makeContext(env());

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: true, statusCode: 200, attempts: 2 });
    expect(sleeps).toEqual([7000]);
    expect([...receiver.countByHeader('webhook-id').values()]).toEqual([2]);
  });

  it('retries a 5xx with backoff, then succeeds', async () => {
    receiver.enqueue('/hooks/cavra', reply.status(503, 'maintenance'), reply.status(502));
    const { context, sleeps } = makeContext(env());

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: true, statusCode: 200, attempts: 3 });
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('gives up after maxAttempts 5xx answers with a retryable outcome', async () => {
    receiver.respond('/hooks/cavra', reply.status(500, 'boom'));
    const { context } = makeContext(env());

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: 500, retryable: true, attempts: 3 });
    expect(outcome.error).toContain('HTTP 500: boom');
    expect(outcome.error).toContain('provider "ops-webhook" (webhook)');
  });

  it.each([
    [410, 'HTTP 410 Gone'],
    [400, 'HTTP 400 (permanent'],
    [401, 'HTTP 401 (permanent'],
    [302, 'HTTP 302 redirect'],
  ])('treats HTTP %i as permanent after one attempt', async (status, reason) => {
    receiver.respond(
      '/hooks/cavra',
      reply.status(status, '', status === 302 ? { location: 'https://elsewhere.example/' } : {}),
    );
    const { context, sleeps } = makeContext(env());

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: status, retryable: false, attempts: 1 });
    expect(outcome.error).toContain(reason);
    expect(sleeps).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out against a receiver that never answers', async () => {
    receiver.respond('/hooks/cavra', reply.hang());
    const fast = makeProvider('webhook', { url_env: 'HOOK_URL', timeout_seconds: 0.2 });
    const { context } = makeContext(env(), { maxAttempts: 2 });

    const outcome = await createWebhookConnector(fast, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 2 });
    expect(outcome.error).toContain('within 200 ms (timeout');
    // Idempotent: re-sent within the call with the same webhook-id.
    expect([...receiver.countByHeader('webhook-id').values()]).toEqual([2]);
  });

  it('reports a refused connection without an HTTP status', async () => {
    const { context, sleeps } = makeContext({ HOOK_URL: await refusedUrl(), HOOK_SECRET: SECRET });

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 3 });
    expect(outcome.error).toContain('ECONNREFUSED');
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('leaves a Retry-After longer than the per-call limit to a later retry', async () => {
    receiver.respond('/hooks/cavra', reply.tooManyRequests(3600));
    const { context, sleeps } = makeContext(env());

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: 429, retryable: true, attempts: 1 });
    expect(outcome.error).toContain('Retry-After 3600s exceeds the per-call limit');
    expect(sleeps).toEqual([]);
  });

  it('stops when the caller aborts', async () => {
    receiver.respond('/hooks/cavra', reply.hang());
    const slow = makeProvider('webhook', { url_env: 'HOOK_URL', timeout_seconds: 30 });
    const { context } = makeContext(env());
    const controller = new AbortController();

    const pending = createWebhookConnector(slow, context).deliver(makeRequest(), controller.signal);
    while (receiver.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();

    const outcome = await pending;
    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 1 });
    expect(outcome.error).toContain('aborted');
  });

  it('sends URL userinfo as HTTP Basic authentication, not in the URL', async () => {
    const url = new URL(`${receiver.origin}/hooks/cavra`);
    url.username = 'alice';
    url.password = 's3cret';
    const { context } = makeContext({ HOOK_URL: url.href, HOOK_SECRET: SECRET });

    await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
    );
  });

  it('refuses an idempotency key that cannot be a webhook-id', async () => {
    const { context } = makeContext(env());
    const outcome = await createWebhookConnector(provider, context).deliver(
      makeRequest({ idempotencyKey: 'a.b.1' }),
    );
    expect(outcome).toMatchObject({ success: false, retryable: false, attempts: 0 });
    expect(receiver.requests).toHaveLength(0);
  });

  describe('configuration errors throw ConnectorError at creation, naming the variable but not its value', () => {
    it.each([
      ['no url_env', makeProvider('webhook'), {}, 'spec.url_env'],
      ['url env unset', provider, { HOOK_SECRET: SECRET }, 'HOOK_URL is not set'],
      ['url not http', provider, { HOOK_URL: 'ftp://canaryhost/x', HOOK_SECRET: SECRET }, 'HOOK_URL'],
      ['secret env unset', provider, { HOOK_URL: 'https://example.test/' }, 'HOOK_SECRET is not set'],
      [
        'secret without prefix',
        provider,
        { HOOK_URL: 'https://example.test/', HOOK_SECRET: 'canary-raw-secret' },
        'whsec_',
      ],
      [
        'secret too short',
        provider,
        { HOOK_URL: 'https://example.test/', HOOK_SECRET: 'whsec_Y2FuYXJ5' },
        'decodes to 6 bytes',
      ],
      [
        'secret not base64',
        provider,
        { HOOK_URL: 'https://example.test/', HOOK_SECRET: 'whsec_canary!!secret' },
        'not valid base64',
      ],
    ])('%s', (_label, which, values: Record<string, string>, expected) => {
      const { context } = makeContext(values);
      let thrown: unknown;
      try {
        createWebhookConnector(which, context);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConnectorError);
      const message = (thrown as Error).message;
      expect(message).toContain(expected);
      for (const value of Object.values(values)) expect(message).not.toContain(value);
    });
  });

  it('never puts URL parts, tokens or the signing secret in an error, even when the server echoes them', async () => {
    receiver.handle((request) =>
      reply.status(500, `echo ${request.url} ${JSON.stringify(request.headers)} ${CANARY.signingSecret}`),
    );
    const { context } = makeContext({
      HOOK_URL: canaryUrl(receiver.origin),
      HOOK_SECRET: CANARY.signingSecret,
    });

    const outcome = await createWebhookConnector(provider, context).deliver(makeRequest());

    expect(outcome.success).toBe(false);
    expect(receiver.requests[0]?.url).toContain(CANARY.queryToken);
    for (const canary of canaryValues()) expect(outcome.error).not.toContain(canary);

    const refused = new URL(canaryUrl(await refusedUrl()));
    const { context: refusedContext } = makeContext({
      HOOK_URL: refused.href,
      HOOK_SECRET: CANARY.signingSecret,
    });
    const refusedOutcome = await createWebhookConnector(provider, refusedContext).deliver(makeRequest());
    expect(refusedOutcome.error).toContain('ECONNREFUSED');
    for (const canary of canaryValues()) expect(refusedOutcome.error).not.toContain(canary);
  });
});
