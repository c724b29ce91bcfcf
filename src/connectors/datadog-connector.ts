/**
 * Datadog Events API v1: `POST {url}/api/v1/events` with the API key in `DD-API-KEY` (from
 * `token_env`) and `{title, text, date_happened, tags, alert_type, priority, aggregation_key,
 * source_type_name?, host?}`. The base URL comes from `url_env` and names the site, e.g.
 * `https://api.datadoghq.eu` or `https://api.us5.datadoghq.com`. 202 Accepted is success;
 * 403 means the API key is invalid; 429 carries `X-RateLimit-Reset` (seconds), used when there is
 * no `Retry-After`.
 *
 * Options: `alert_type` (info [default], success, warning, error), `priority` (normal [default],
 * low), `tags` (comma-separated extra tags), `source_type_name`, `host`.
 *
 * Not idempotent: Datadog stores every posted event; `aggregation_key` (= the idempotency key)
 * only groups re-sends of one delivery together in the event explorer.
 *
 * Configuration errors (missing `url_env`/`token_env` or their variables, bad options) throw
 * `ConnectorError` at creation.
 */
import { createJsonConnector } from './json-connector.js';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import {
  describePackageCounts,
  summarizeAuditEvent,
  summarizeAuditTitle,
  truncateText,
  unixSeconds,
} from './audit-event.js';
import { describeProvider, readProviderEnv } from './env.js';
import { appendPath, classifyStatus, excerptOf, parseRetryAfter, type HttpClassification } from './http.js';

const ALERT_TYPES = ['info', 'success', 'warning', 'error'] as const;
const PRIORITIES = ['normal', 'low'] as const;
/** Datadog limits: title 100 chars, text 4000 chars, aggregation_key 100 chars. */
const MAX_TITLE = 100;
const MAX_TEXT = 4000;
const MAX_AGGREGATION_KEY = 100;

export interface DatadogEvent {
  title: string;
  text: string;
  date_happened: number;
  tags: string[];
  alert_type: string;
  priority: string;
  aggregation_key: string;
  source_type_name?: string;
  host?: string;
}

/** Create a Datadog events connector for `provider`. */
export function createDatadogConnector(provider: Provider, context: ConnectorContext): Connector {
  const base = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const apiKey = readProviderEnv(provider, 'token_env', context.env, { required: true });
  const tokenEnv = provider.spec.token_env ?? 'token_env';
  const options = readDatadogOptions(provider);
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url: appendPath(base, '/api/v1/events'),
    headers: { accept: 'application/json', 'dd-api-key': apiKey },
    payload: (request) => buildDatadogEvent(request, options),
    classify: (status, text) => classifyDatadogAnswer(status, text, tokenEnv),
    retryDelayOf: datadogRetryDelay,
  });
}

export interface DatadogOptions {
  alertType: string;
  priority: string;
  tags: string[];
  sourceTypeName: string | null;
  host: string | null;
}

function readDatadogOptions(provider: Provider): DatadogOptions {
  const { alert_type, priority, tags, source_type_name, host } = provider.spec.options;
  const pick = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    throw new ConnectorError(
      `${describeProvider(provider)}: spec.options.${name} must be one of ${allowed.join(', ')}.`,
    );
  };
  return {
    alertType: pick('alert_type', alert_type, ALERT_TYPES, 'info'),
    priority: pick('priority', priority, PRIORITIES, 'normal'),
    tags:
      typeof tags === 'string'
        ? tags
            .split(',')
            .map((tag) => tag.trim())
            .filter(Boolean)
        : [],
    sourceTypeName: typeof source_type_name === 'string' && source_type_name ? source_type_name : null,
    host: typeof host === 'string' && host ? host : null,
  };
}

/** The Events API v1 body for a delivery. */
function buildDatadogEvent(request: DeliveryRequest, options: DatadogOptions): DatadogEvent {
  const counts = describePackageCounts(request.package)
    .map(({ label, value }) => `- ${label}: ${value}`)
    .join('\n');
  const text = `%%%\n${summarizeAuditEvent(request)}\n\n${counts}\n\nIdempotency key: \`${request.idempotencyKey}\`\n%%%`;
  return {
    title: truncateText(summarizeAuditTitle(request), MAX_TITLE),
    text: truncateText(text, MAX_TEXT),
    date_happened: unixSeconds(request.at),
    tags: [
      'source:cavra-gitops',
      `cavra_delivery:${request.deliveryId}`,
      `cavra_audit:${request.auditId}`,
      `cavra_provider:${request.provider}`,
      `cavra_attempt:${request.attempt}`,
      ...(request.executionId ? [`cavra_execution:${request.executionId}`] : []),
      ...options.tags,
    ],
    alert_type: options.alertType,
    priority: options.priority,
    aggregation_key: request.idempotencyKey.slice(0, MAX_AGGREGATION_KEY),
    ...(options.sourceTypeName ? { source_type_name: options.sourceTypeName } : {}),
    ...(options.host ? { host: options.host } : {}),
  };
}

/** Map a Datadog Events API answer to an outcome. */
function classifyDatadogAnswer(status: number, body: string, tokenEnv: string): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  if (status === 403 || status === 401) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}: Datadog rejected the API key in ${tokenEnv} (wrong key or wrong site in the URL); use an API key of this site's organization`,
    };
  }
  if (status === 400 || status === 413) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}: Datadog rejected the event: ${excerptOf(body)}`,
    };
  }
  return classifyStatus(status, body);
}

/** `Retry-After`, else Datadog's `X-RateLimit-Reset` (seconds until the window resets). */
function datadogRetryDelay(headers: Headers, nowMs: number): number | null {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), nowMs);
  if (retryAfter !== null) return retryAfter;
  const reset = headers.get('x-ratelimit-reset');
  return reset !== null && /^\d+$/.test(reset.trim()) ? Number(reset.trim()) * 1000 : null;
}
