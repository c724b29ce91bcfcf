/**
 * ServiceNow: one record per delivery through the Table API (`POST /api/now/table/{table}`,
 * `incident` by default).
 *
 * The idempotency key goes into `correlation_id` (with `correlation_display: cavra-gitops`), the
 * field integrations use to find "their" record, but the Table API does not enforce uniqueness on
 * it: a re-send creates a second record, so the connector is not idempotent.
 */
import { createJsonConnector } from './json-connector.js';
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { describeDeliveryText, summarizeAuditTitle } from './audit-event.js';
import { describeProvider, readProviderEnv } from './env.js';
import {
  appendPath,
  basicOrBearerAuthorization,
  classifyStatus,
  excerptOf,
  permanentFailure,
  type HttpClassification,
} from './http.js';

const DEFAULT_SERVICENOW_TABLE = 'incident';
const SERVICENOW_CORRELATION_DISPLAY = 'cavra-gitops';
/** `short_description` is 160 characters on the task table. */
const MAX_SHORT_DESCRIPTION = 160;
/** `correlation_id` is 100 characters on the task table. */
const MAX_CORRELATION_ID = 100;
/** Record fields an operator may preset through `spec.options` (public values only). */
const PASSTHROUGH_OPTIONS = ['category', 'subcategory', 'urgency', 'impact', 'assignment_group'] as const;

export type ServicenowRecord = {
  short_description: string;
  description: string;
  correlation_id: string;
  correlation_display: string;
} & Partial<Record<(typeof PASSTHROUGH_OPTIONS)[number], string>>;

/** The record body for a delivery, with the preset fields from `spec.options`. */
function buildServicenowRecord(
  request: DeliveryRequest,
  options: Provider['spec']['options'],
): ServicenowRecord {
  const record: ServicenowRecord = {
    short_description: summarizeAuditTitle(request).slice(0, MAX_SHORT_DESCRIPTION),
    description: describeDeliveryText(request, '-'),
    correlation_id: request.idempotencyKey.slice(0, MAX_CORRELATION_ID),
    correlation_display: SERVICENOW_CORRELATION_DISPLAY,
  };
  for (const name of PASSTHROUGH_OPTIONS) {
    const value = options[name];
    if (value !== undefined && value !== '') record[name] = String(value);
  }
  return record;
}

/** `basic` (options.username + password from token_env, the default) or `bearer` (OAuth token). */
function servicenowAuthorization(provider: Provider, secret: string): string {
  return basicOrBearerAuthorization(
    provider,
    secret,
    'spec.options.username; set it to the integration user (its password comes from the env var named by token_env), or set options.auth: bearer.',
  );
}

/** Build the ServiceNow connector; configuration errors are `ConnectorError`s naming the field. */
export function createServicenowConnector(provider: Provider, context: ConnectorContext): Connector {
  const base = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const secret = readProviderEnv(provider, 'token_env', context.env, { required: true });
  const tableOption = provider.spec.options.table;
  const table =
    typeof tableOption === 'string' && tableOption !== '' ? tableOption : DEFAULT_SERVICENOW_TABLE;
  if (!/^[a-z0-9_]+$/i.test(table)) {
    throw new ConnectorError(
      `${describeProvider(provider)}: spec.options.table must be a table name such as incident.`,
    );
  }
  const authorization = servicenowAuthorization(provider, secret);
  // The Table API does not deduplicate: an ambiguous attempt is not repeated within one call.
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url: appendPath(base, `/api/now/table/${table}`),
    headers: { authorization, accept: 'application/json' },
    payload: (request) => buildServicenowRecord(request, provider.spec.options),
    classify: (status, answer) => classifyServicenowAnswer(status, answer, table, provider.spec.token_env),
  });
}

/**
 * 201 is success. 400/401/403/404 are permanent with what to fix and ServiceNow's
 * `error.message`; 429/5xx are retryable.
 */
function classifyServicenowAnswer(
  status: number,
  body: string,
  table: string,
  tokenEnv: string | null,
): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const message = parseServicenowError(body);
  switch (status) {
    case 400:
      return permanentFailure(
        `ServiceNow rejected the ${table} record (HTTP 400)${message}; check the preset fields in spec.options`,
      );
    case 401:
      return permanentFailure(
        `ServiceNow refused the credentials (HTTP 401)${message}; check options.username / options.auth and the secret in env var ${tokenEnv ?? '(token_env)'}`,
      );
    case 403:
      return permanentFailure(
        `ServiceNow denied creating ${withIndefiniteArticle(table)} record (HTTP 403)${message}; give the integration user a role that may create ${table} records (e.g. itil) and REST access`,
      );
    case 404:
      return permanentFailure(
        `ServiceNow answered HTTP 404${message}; check options.table (${table}) and that url_env holds the instance URL`,
      );
    default:
      return classifyStatus(status, body);
  }
}

/** `: <message>` from `{"error": {"message": ..., "detail": ...}, "status": "failure"}`. */
function parseServicenowError(body: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return '';
  }
  const error =
    typeof value === 'object' && value !== null ? (value as { error?: unknown }).error : undefined;
  const message =
    typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? `: ${excerptOf(message)}` : '';
}
