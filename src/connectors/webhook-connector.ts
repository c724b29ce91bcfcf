/**
 * Generic webhook per Standard Webhooks 1.0: POST of the audit event as JSON with the headers
 * `webhook-id` (the idempotency key), `webhook-timestamp` (unix seconds of `request.at`) and
 * `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the
 * base64-decoded part of the `whsec_` secret in `signing_secret_env`; no signature header when
 * the Provider names no signing secret). 410 Gone is permanent: the receiver disabled the endpoint.
 *
 * Idempotent: every attempt and every re-send of a delivery carries the same `webhook-id`, and
 * Standard Webhooks receivers deduplicate on it, so an unknown outcome may be sent again.
 *
 * Configuration errors (missing `url_env`, unset variables, a malformed secret) throw
 * `ConnectorError` at creation.
 */
import { createHmac } from 'node:crypto';
import type { Connector, ConnectorContext, CallOutcome, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { buildAuditEvent, unixSeconds } from './audit-event.js';
import { describeProvider, readProviderEnv } from './env.js';
import { createJsonConnector } from './json-connector.js';

const SECRET_PREFIX = 'whsec_';
/** Standard Webhooks: symmetric secrets are 24 to 64 random bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Ids go into the signed content `id.timestamp.body`; the spec forbids `.` in them. */
const SAFE_WEBHOOK_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Create a Standard Webhooks connector for `provider`. */
export function createWebhookConnector(provider: Provider, context: ConnectorContext): Connector {
  const url = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const secret = readProviderEnv(provider, 'signing_secret_env', context.env, { required: false });
  const key = secret === undefined ? null : decodeSigningSecret(provider, secret);
  const json = createJsonConnector({
    provider,
    context,
    idempotent: true,
    url,
    headers: {},
    payload: buildAuditEvent,
    requestHeaders(request, body) {
      const timestamp = String(unixSeconds(request.at));
      const id = request.idempotencyKey;
      return {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        ...(key ? { 'webhook-signature': signWebhook(key, id, timestamp, body) } : {}),
      };
    },
  });

  return {
    ...json,
    async deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<CallOutcome> {
      if (!SAFE_WEBHOOK_ID.test(request.idempotencyKey)) {
        return {
          success: false,
          statusCode: null,
          error: `idempotency key "${request.idempotencyKey}" cannot be a webhook-id: use letters, digits, "_" and "-" only`,
          retryable: false,
          attempts: 0,
        };
      }
      return json.deliver(request, signal);
    },
  };
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (Standard Webhooks symmetric signature). */
function signWebhook(key: Buffer, id: string, timestamp: string, body: string): string {
  const digest = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${digest}`;
}

/**
 * The HMAC key of a `whsec_<base64>` secret. Throws `ConnectorError` (naming the env var, never
 * the value) when the prefix is missing, the rest is not base64, or the key has the wrong size.
 */
function decodeSigningSecret(provider: Provider, secret: string): Buffer {
  const name = provider.spec.signing_secret_env ?? 'signing_secret_env';
  const fix = `set ${name} to "whsec_" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes (e.g. "whsec_$(openssl rand -base64 32)")`;
  const trimmed = secret.trim();
  if (!trimmed.startsWith(SECRET_PREFIX)) {
    throw new ConnectorError(
      `${describeProvider(provider)}: the signing secret in ${name} does not start with "whsec_"; ${fix}.`,
      { reason: 'EnvVarInvalid' },
    );
  }
  const encoded = trimmed.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new ConnectorError(
      `${describeProvider(provider)}: the signing secret in ${name} is not valid base64 after "whsec_"; ${fix}.`,
      { reason: 'EnvVarInvalid' },
    );
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new ConnectorError(
      `${describeProvider(provider)}: the signing secret in ${name} decodes to ${key.length} bytes; ${fix}.`,
      { reason: 'EnvVarInvalid' },
    );
  }
  return key;
}
