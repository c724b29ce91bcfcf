/**
 * Slack incoming webhook: POST JSON with a `text` fallback (notifications, screen readers) and
 * Block Kit `blocks` (a header, a section of delivery fields, a section of package counts, a
 * context line with the idempotency key). The URL in `url_env` is itself the credential
 * (`hooks.slack.com/services/T…/B…/secret`), so it is never shown, only its origin.
 *
 * Slack answers 200 `ok`, or an HTTP error with a short text code; the documented ones are mapped
 * to reasons an operator can act on (HTTP 400 invalid_payload / user_not_found, 403
 * action_prohibited, 404 channel_not_found, 410 channel_is_archived, 500 rollup_error, and the
 * revoked-hook answers no_service / no_team / no_active_hooks / invalid_token). 429 carries
 * Retry-After.
 *
 * Not idempotent: Slack posts every request as a new message and offers no dedup key, so a
 * timed-out attempt is not re-sent within the call (the idempotency key is shown in the message
 * so humans can spot a duplicate).
 *
 * Configuration errors (missing `url_env` or its variable) throw `ConnectorError` at creation.
 */
import { createJsonConnector } from './json-connector.js';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import {
  describePackageCounts,
  summarizeAuditEvent,
  summarizeAuditTitle,
  truncateText,
} from './audit-event.js';
import { readProviderEnv } from './env.js';
import { classifyStatus, excerptOf, type HttpClassification } from './http.js';

/** Slack limits: header text 150 chars, section field text 2000 chars, 10 fields per section. */
const MAX_HEADER_CHARS = 150;

/** Create a Slack incoming-webhook connector for `provider`. */
export function createSlackConnector(provider: Provider, context: ConnectorContext): Connector {
  const url = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const urlEnv = provider.spec.url_env ?? 'url_env';
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    payload: buildSlackMessage,
    classify: (status, text) => classifySlackAnswer(status, text, urlEnv),
  });
}

/** The incoming-webhook payload: `text` fallback plus Block Kit blocks. */
function buildSlackMessage(request: DeliveryRequest): { text: string; blocks: unknown[] } {
  const deliveryFields = [
    field('Delivery', request.deliveryId),
    field('Audit', request.auditId),
    field('Provider', request.provider),
    field('Attempt', String(request.attempt)),
    ...(request.executionId ? [field('Execution', request.executionId)] : []),
  ];
  const countFields = describePackageCounts(request.package).map(({ label, value }) =>
    field(label, String(value)),
  );
  return {
    text: escapeSlack(summarizeAuditEvent(request)),
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: truncateText(summarizeAuditTitle(request), MAX_HEADER_CHARS) },
      },
      { type: 'section', fields: deliveryFields },
      { type: 'section', fields: countFields },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `idempotency key \`${escapeSlack(request.idempotencyKey)}\` · ${escapeSlack(request.at)}`,
          },
        ],
      },
    ],
  };
}

/** Slack's documented incoming-webhook error codes and what the operator should do. */
const SLACK_ERRORS: Record<string, string> = {
  invalid_payload: 'Slack could not parse the message payload (report this as a bug in cavra-gitops)',
  invalid_blocks: 'Slack rejected the Block Kit blocks (report this as a bug in cavra-gitops)',
  invalid_blocks_format: 'Slack rejected the Block Kit blocks (report this as a bug in cavra-gitops)',
  missing_text_or_fallback_or_attachments:
    'Slack found no text in the message (report this as a bug in cavra-gitops)',
  user_not_found: 'the user the webhook posts to does not exist',
  action_prohibited: 'the Slack workspace restricts posting through this webhook; ask a Slack admin',
  channel_not_found: "the webhook's channel no longer exists; create a new incoming webhook",
  channel_is_archived:
    "the webhook's channel is archived; unarchive it or create a webhook for another channel",
  rollup_error: 'Slack had an internal error',
};

/** Answers meaning the webhook URL itself is dead (revoked, app removed, wrong URL). */
const REVOKED_HOOK = new Set(['no_service', 'no_team', 'no_active_hooks', 'invalid_token', 'team_disabled']);

/** Map a Slack incoming-webhook answer to an outcome. */
function classifySlackAnswer(status: number, body: string, urlEnv: string): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const code = /^[a-z_]+$/.test(body.trim()) ? body.trim() : '';
  const retryable = status === 429 || status >= 500;
  if (status === 429)
    return {
      success: false,
      retryable,
      reason: 'HTTP 429 rate_limited (Slack allows about one message per second per webhook)',
    };
  if (REVOKED_HOOK.has(code)) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status} ${code}: the Slack webhook URL is revoked or wrong; create a new incoming webhook and put its URL in ${urlEnv}`,
    };
  }
  const meaning = SLACK_ERRORS[code];
  if (meaning) return { success: false, retryable, reason: `HTTP ${status} ${code}: ${meaning}` };
  const fallback = classifyStatus(status, body);
  return { ...fallback, reason: fallback.reason || `HTTP ${status}: ${excerptOf(body)}` };
}

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: `*${label}*\n${escapeSlack(value)}` };
}

/** Slack mrkdwn needs `&`, `<` and `>` escaped, or text could form links and mentions. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
