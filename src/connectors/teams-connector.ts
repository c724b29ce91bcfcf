/**
 * Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received" →
 * post card) or a legacy incoming webhook: POST of a `message` with one Adaptive Card attachment
 * (`application/vnd.microsoft.card.adaptive`, card version 1.4: title, summary, a FactSet of the
 * delivery and package counts). Workflows answers 202 Accepted, legacy webhooks 200 `1`. The URL
 * in `url_env` carries its own credential (the `sig` query parameter, or the secret path of a
 * legacy webhook), so it is never shown, only its origin.
 *
 * Legacy connectors may answer 200 with `Webhook message delivery failed with error: Microsoft
 * Teams endpoint returned HTTP error 429 …`; that body is a failure (retryable for 429/5xx).
 *
 * Not idempotent: Teams posts every request as a new message and offers no dedup key, so a
 * timed-out attempt is not re-sent within the call (the card shows the idempotency key).
 *
 * Configuration errors (missing `url_env` or its variable) throw `ConnectorError` at creation.
 */
import { createJsonConnector } from './json-connector.js';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { describePackageCounts, summarizeAuditEvent, summarizeAuditTitle } from './audit-event.js';
import { readProviderEnv } from './env.js';
import { classifyStatus, excerptOf, type HttpClassification } from './http.js';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Create a Teams webhook connector for `provider`. */
export function createTeamsConnector(provider: Provider, context: ConnectorContext): Connector {
  const url = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const urlEnv = provider.spec.url_env ?? 'url_env';
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url,
    headers: {},
    payload: buildTeamsMessage,
    classify: (status, text) => classifyTeamsAnswer(status, text, urlEnv),
  });
}

/** The webhook payload: a message with one Adaptive Card attachment. */
function buildTeamsMessage(request: DeliveryRequest): unknown {
  const facts = [
    { title: 'Delivery', value: request.deliveryId },
    { title: 'Audit', value: request.auditId },
    { title: 'Provider', value: request.provider },
    { title: 'Attempt', value: String(request.attempt) },
    ...(request.executionId ? [{ title: 'Execution', value: request.executionId }] : []),
    ...describePackageCounts(request.package).map(({ label, value }) => ({
      title: label,
      value: String(value),
    })),
    { title: 'Idempotency key', value: request.idempotencyKey },
    { title: 'At', value: request.at },
  ];
  return {
    type: 'message',
    summary: summarizeAuditTitle(request),
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: summarizeAuditTitle(request),
              size: 'Medium',
              weight: 'Bolder',
              wrap: true,
            },
            { type: 'TextBlock', text: summarizeAuditEvent(request), wrap: true },
            { type: 'FactSet', facts },
          ],
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

/** Map a Teams webhook answer to an outcome. */
function classifyTeamsAnswer(status: number, body: string, urlEnv: string): HttpClassification {
  if (status >= 200 && status < 300) {
    // Legacy connectors report downstream failures inside a 200.
    if (/delivery failed/i.test(body)) {
      const retryable = /\b(429|5\d\d)\b/.test(body);
      return { success: false, retryable, reason: `HTTP ${status} but Teams reported: ${excerptOf(body)}` };
    }
    return { success: true, retryable: false, reason: '' };
  }
  if (status === 401 || status === 403) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}: Teams refused the webhook URL (signature invalid, flow turned off or owner removed); copy the current URL into ${urlEnv}`,
    };
  }
  if (status === 404) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP 404: the Teams workflow or webhook no longer exists; create a new one and put its URL in ${urlEnv}`,
    };
  }
  if (status === 400 || status === 413) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}: Teams rejected the card (report this as a bug in cavra-gitops): ${excerptOf(body)}`,
    };
  }
  return classifyStatus(status, body);
}
