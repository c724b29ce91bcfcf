/**
 * The outcome contract every HTTP connector honours, as one reusable suite: success, 429 with
 * Retry-After, 5xx then success, a permanent 4xx with a clear reason, a timeout, a refused
 * connection, and redaction of URL parts, tokens and secrets from every error.
 * Each connector's own test adds the request-shape checks of its API.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Connector, ConnectorContext, Env } from '../../src/domain/ports.js';
import type { Provider } from '../../src/domain/types.js';
import {
  refusedUrl,
  reply,
  startHttpReceiver,
  type HttpReceiver,
  type ReceiverReply,
} from '../helpers/http-receiver.js';
import { CANARY, canaryUrl, canaryValues, makeContext, makeRequest } from './connector-fixtures.js';

export interface HttpConnectorContract {
  create: (provider: Provider, context: ConnectorContext) => Connector;
  /** A provider whose `url_env` (and `token_env` when the type needs one) are set. */
  provider: Provider;
  /** The env for a base URL (the receiver's origin, or a canary URL). */
  env: (baseUrl: string, token: string) => Env;
  /** The request path the API uses (what the receiver must see). */
  path: string;
  /** What the real API answers on success. */
  success: ReceiverReply;
  /** A permanent failure as the real API answers it, and a phrase the reason must contain. */
  permanent: { reply: ReceiverReply; reason: string };
  idempotent: boolean;
}

/** Register the contract suite for one connector (call inside a test file). */
export function describeHttpConnectorContract(name: string, contract: HttpConnectorContract): void {
  describe(`${name} connector outcome contract`, () => {
    let receiver: HttpReceiver;
    beforeAll(async () => {
      receiver = await startHttpReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });
    beforeEach(() => receiver.reset());

    const connect = (
      overrides: Partial<ConnectorContext> = {},
      baseUrl?: string,
      token = 'test-token-0001',
      provider = contract.provider,
    ) => {
      const made = makeContext(contract.env(baseUrl ?? receiver.origin, token), overrides);
      return { connector: contract.create(provider, made.context), sleeps: made.sleeps };
    };

    it('succeeds on the API success answer after one request to the documented path', async () => {
      receiver.respond('*', contract.success);
      const { connector } = connect();

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: true, error: '', attempts: 1 });
      expect(connector.idempotent).toBe(contract.idempotent);
      expect(receiver.requests.map((request) => request.path)).toEqual([contract.path]);
    });

    it('waits as long as 429 Retry-After asks, then succeeds', async () => {
      receiver.enqueue(contract.path, reply.tooManyRequests(4));
      receiver.respond('*', contract.success);
      const { connector, sleeps } = connect();

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: true, attempts: 2 });
      expect(sleeps).toEqual([4000]);
    });

    it('retries a 5xx with backoff, then succeeds', async () => {
      receiver.enqueue(contract.path, reply.status(503, 'unavailable'));
      receiver.respond('*', contract.success);
      const { connector, sleeps } = connect();

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: true, attempts: 2 });
      expect(sleeps).toEqual([1000]);
    });

    it('ends with a retryable failure when every attempt gets a 5xx', async () => {
      receiver.respond('*', reply.status(502, 'bad gateway'));
      const { connector } = connect({ maxAttempts: 2 });

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: false, statusCode: 502, retryable: true, attempts: 2 });
      expect(outcome.error).toContain('HTTP 502');
    });

    it('stops at a permanent 4xx with a reason an operator can act on', async () => {
      receiver.respond('*', contract.permanent.reply);
      const { connector, sleeps } = connect();

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: false, retryable: false, attempts: 1 });
      expect(outcome.statusCode).toBeGreaterThanOrEqual(400);
      expect(outcome.error).toContain(contract.permanent.reason);
      expect(outcome.error).toContain(`provider "${contract.provider.name}"`);
      expect(sleeps).toEqual([]);
    });

    it('times out when the receiver never answers', async () => {
      receiver.respond('*', reply.hang());
      const fast = { ...contract.provider, spec: { ...contract.provider.spec, timeout_seconds: 0.25 } };
      const { connector } = connect({ maxAttempts: 2 }, undefined, undefined, fast);

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true });
      expect(outcome.error).toContain('(timeout');
      // Only receivers that deduplicate get an ambiguous attempt again within the call.
      expect(outcome.attempts).toBe(contract.idempotent ? 2 : 1);
      expect(receiver.requests).toHaveLength(contract.idempotent ? 2 : 1);
    });

    it('reports a refused connection as retryable with no status', async () => {
      const { connector, sleeps } = connect({}, await refusedUrl());

      const outcome = await connector.deliver(makeRequest());

      expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 3 });
      expect(outcome.error).toContain('ECONNREFUSED');
      expect(sleeps).toEqual([1000, 2000]);
    });

    it('keeps canary URL parts and tokens out of every error, even when the server echoes them', async () => {
      receiver.handle((request) =>
        reply.status(
          500,
          `echo ${request.url} ${JSON.stringify(request.headers)} ${request.body.slice(0, 50)}`,
        ),
      );
      const { connector } = connect({ maxAttempts: 1 }, canaryUrl(receiver.origin), CANARY.token);

      const failed = await connector.deliver(makeRequest());
      receiver.respond('*', {
        kind: 'respond',
        status: 400,
        body: JSON.stringify({ text: CANARY.token, code: 6 }),
      });
      const rejected = await connector.deliver(makeRequest());
      const { connector: refusedConnector } = connect(
        { maxAttempts: 1 },
        canaryUrl(await refusedUrl()),
        CANARY.token,
      );
      const refused = await refusedConnector.deliver(makeRequest());

      expect(receiver.requests[0]?.url).toContain(CANARY.queryToken);
      for (const outcome of [failed, rejected, refused]) {
        expect(outcome.success).toBe(false);
        for (const canary of canaryValues()) expect(outcome.error).not.toContain(canary);
      }
    });
  });
}
