/**
 * Splunk HTTP Event Collector: `POST {url}/services/collector/event` with
 * `Authorization: Splunk <token>` (from `token_env`) and the JSON event envelope
 * `{time, host?, source, sourcetype, index?, event}`; `event` is the common audit event (so it
 * carries `idempotency_key`). HEC answers `{"text":"Success","code":0}`; its documented status
 * codes are mapped to reasons (e.g. 403 code 4 invalid token, 400 code 7 incorrect index,
 * 503 code 9 server busy).
 *
 * Every request carries `X-Splunk-Request-Channel`: `options.channel` when set, else a GUID
 * derived from the provider name. HEC requires a channel when indexer acknowledgment is on for
 * the token and ignores it otherwise; one stable channel per provider is what Splunk recommends
 * (acks are not polled: a 200 means HEC accepted the event).
 *
 * Options: `index` (default: the token's default index), `sourcetype` [`_json`], `source`
 * [`cavra-gitops`], `host`, `channel`.
 *
 * Not idempotent: HEC indexes every event it receives. Re-sends carry the same
 * `event.idempotency_key`, so searches can deduplicate (`| dedup event.idempotency_key`).
 *
 * Configuration errors (missing `url_env`/`token_env` or their variables) throw
 * `ConnectorError` at creation.
 */
import { createJsonConnector } from './json-connector.js';
import { createHash } from 'node:crypto';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { buildAuditEvent, type AuditEvent } from './audit-event.js';
import { describeProvider, readProviderEnv } from './env.js';
import { appendPath, classifyStatus, excerptOf, type HttpClassification } from './http.js';

export interface SplunkEnvelope {
  time: number;
  host?: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: AuditEvent;
}

/** Create a Splunk HEC connector for `provider`. */
export function createSplunkConnector(provider: Provider, context: ConnectorContext): Connector {
  const base = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const token = readProviderEnv(provider, 'token_env', context.env, { required: true });
  const tokenEnv = provider.spec.token_env ?? 'token_env';
  const options = readSplunkOptions(provider);
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url: appendPath(base, '/services/collector/event'),
    headers: { authorization: `Splunk ${token}`, 'x-splunk-request-channel': options.channel },
    payload: (request) => buildSplunkEnvelope(request, options),
    classify: (status, text) => classifySplunkAnswer(status, text, tokenEnv),
  });
}

export interface SplunkOptions {
  index: string | null;
  sourcetype: string;
  source: string;
  host: string | null;
  channel: string;
}

function readSplunkOptions(provider: Provider): SplunkOptions {
  const text = (name: string): string | null => {
    const value = provider.spec.options[name];
    if (value === undefined || value === '') return null;
    if (typeof value !== 'string') {
      throw new ConnectorError(`${describeProvider(provider)}: spec.options.${name} must be a string.`);
    }
    return value;
  };
  const channel = text('channel');
  if (channel !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(channel)) {
    throw new ConnectorError(
      `${describeProvider(provider)}: spec.options.channel must be a GUID (HEC channels are GUIDs).`,
    );
  }
  return {
    index: text('index'),
    sourcetype: text('sourcetype') ?? '_json',
    source: text('source') ?? 'cavra-gitops',
    host: text('host'),
    channel: channel ?? channelFor(provider.name),
  };
}

/** A stable GUID-shaped channel per provider name. */
function channelFor(name: string): string {
  const hex = createHash('sha256').update(`cavra-gitops/splunk-channel/${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The HEC event envelope for a delivery; `time` is epoch seconds (milliseconds as decimals). */
function buildSplunkEnvelope(request: DeliveryRequest, options: SplunkOptions): SplunkEnvelope {
  return {
    time: Date.parse(request.at) / 1000,
    ...(options.host ? { host: options.host } : {}),
    source: options.source,
    sourcetype: options.sourcetype,
    ...(options.index ? { index: options.index } : {}),
    event: buildAuditEvent(request),
  };
}

/** HEC status codes (`{"text", "code"}` in the answer) as documented by Splunk. */
const HEC_CODES: Record<number, string> = {
  1: 'token disabled',
  2: 'token is required',
  3: 'invalid authorization',
  4: 'invalid token',
  5: 'no data',
  6: 'invalid data format',
  7: 'incorrect index',
  8: 'internal server error',
  9: 'server is busy',
  10: 'data channel is missing',
  11: 'invalid data channel',
  12: 'event field is required',
  13: 'event field cannot be blank',
  14: 'ACK is disabled',
  15: 'error in handling indexed fields',
  16: 'query string authorization is not enabled',
  18: 'HEC is unhealthy, queues are full',
  19: 'HEC is unhealthy, ack service unavailable',
  20: 'HEC is unhealthy, queues are full, ack service unavailable',
};

/** Map a HEC answer to an outcome. */
function classifySplunkAnswer(status: number, body: string, tokenEnv: string): HttpClassification {
  const answer = parseHecAnswer(body);
  if (status >= 200 && status < 300 && (answer === null || answer.code === 0)) {
    return { success: true, retryable: false, reason: '' };
  }
  const meaning = answer ? (HEC_CODES[answer.code] ?? answer.text) : '';
  const detail = answer ? ` (HEC code ${answer.code}: ${excerptOf(meaning)})` : '';
  if (status === 401 || status === 403 || (answer && answer.code >= 1 && answer.code <= 4)) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}${detail}: HEC refused the token in ${tokenEnv}; check that it exists, is enabled and is copied completely`,
    };
  }
  if (answer?.code === 7) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}${detail}: the index in spec.options.index does not exist or is not allowed for this token`,
    };
  }
  if (answer?.code === 10 || answer?.code === 11) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}${detail}: set spec.options.channel to a GUID accepted by this HEC token`,
    };
  }
  const fallback = classifyStatus(status, '');
  if (status >= 200 && status < 300) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status}${detail}: HEC did not accept the event`,
    };
  }
  return { ...fallback, reason: `${fallback.reason}${detail || (body ? `: ${excerptOf(body)}` : '')}` };
}

function parseHecAnswer(body: string): { text: string; code: number } | null {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { code?: unknown }).code === 'number'
    ) {
      const { code, text } = parsed as { code: number; text?: unknown };
      return { code, text: typeof text === 'string' ? text : '' };
    }
  } catch {
    // not a HEC JSON answer (e.g. a proxy's error page)
  }
  return null;
}
