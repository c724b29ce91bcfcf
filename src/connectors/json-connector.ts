/**
 * The shape every HTTP connector but Sentinel (which first fetches a token) shares: POST a JSON
 * payload built from the delivery to one endpoint, with fixed headers plus any the request
 * itself determines, through `sendHttp` (timeout, attempts, Retry-After, redaction), classifying
 * the answer the product's way. Each connector supplies only what is its own.
 */
import type { Connector, ConnectorContext, CallOutcome, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { secretsOf } from './env.js';
import { describeTarget, providerTimeoutMs, sendHttp, type SendHttpOptions } from './http.js';

export interface JsonConnectorSpec {
  provider: Provider;
  context: ConnectorContext;
  /** Whether the receiver deduplicates a re-send; if not, an ambiguous attempt is not repeated in the call. */
  idempotent: boolean;
  /** The full endpoint URL (secret: it never appears in errors). */
  url: string;
  /**
   * Headers besides `content-type: application/json` and `user-agent` (which they may override).
   * Credential headers need no listing as secrets: `sendHttp` scrubs their values itself.
   */
  headers: Record<string, string>;
  /** Headers that depend on the request and its serialised body (e.g. a signature). */
  requestHeaders?: (request: DeliveryRequest, body: string) => Record<string, string>;
  payload: (request: DeliveryRequest) => unknown;
  classify?: SendHttpOptions['classify'];
  retryDelayOf?: SendHttpOptions['retryDelayOf'];
}

export function createJsonConnector(spec: JsonConnectorSpec): Connector {
  const { provider, context, url } = spec;
  const secrets = secretsOf(provider, context.env);
  const target = describeTarget(provider);
  const timeoutMs = providerTimeoutMs(provider);
  const fixedHeaders = { 'content-type': 'application/json', 'user-agent': 'cavra-gitops', ...spec.headers };
  return {
    type: provider.spec.type,
    idempotent: spec.idempotent,
    async deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<CallOutcome> {
      const body = JSON.stringify(spec.payload(request));
      const headers = spec.requestHeaders
        ? { ...fixedHeaders, ...spec.requestHeaders(request, body) }
        : fixedHeaders;
      return sendHttp(() => ({ method: 'POST', url, headers, body, timeoutMs }), context, {
        secrets,
        target,
        ...(spec.classify ? { classify: spec.classify } : {}),
        ...(spec.retryDelayOf ? { retryDelayOf: spec.retryDelayOf } : {}),
        resendAfterAmbiguousFailure: spec.idempotent,
        ...(signal ? { signal } : {}),
      });
    },
  };
}
