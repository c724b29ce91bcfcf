/**
 * Microsoft Sentinel through the Azure Monitor Logs Ingestion API: a Microsoft Entra ID token by
 * client credentials, then one JSON array of records POSTed to a data collection rule's stream on
 * a data collection endpoint (DCE). The retired HTTP Data Collector API is deliberately not used.
 *
 * The API does not deduplicate: a re-send adds a second row. Queries dedupe by `IdempotencyKey`
 * (e.g. `| summarize arg_max(TimeGenerated, *) by IdempotencyKey`), so the connector is not idempotent.
 */
import type { Connector, ConnectorContext, CallOutcome, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { AUDIT_EVENT_TYPE } from './audit-event.js';
import { createEntraTokenSource, DEFAULT_ENTRA_AUTHORITY, tokenEndpointUrl } from './entra-token.js';
import { describeProvider, readProviderEnv, readProviderOptionEnv, secretsOf } from './env.js';
import {
  appendPath,
  classifyStatus,
  describeTarget,
  excerptOf,
  permanentFailure,
  providerTimeoutMs,
  sendHttp,
  type HttpClassification,
} from './http.js';

/** The Logs Ingestion API version this connector speaks. */
const LOGS_INGESTION_API_VERSION = '2023-01-01';

/** One row of the DCR stream; the stream declaration must have these columns (docs/connectors.md). */
export interface SentinelRecord {
  TimeGenerated: string;
  EventType: string;
  DeliveryId: string;
  AuditId: string;
  Provider: string;
  Attempt: number;
  ExecutionId: string;
  IdempotencyKey: string;
  RouteCount: number;
  AcknowledgementCount: number;
  AcknowledgedCount: number;
  ResolvedCount: number;
  EscalatedCount: number;
  DismissedCount: number;
  OutstandingCount: number;
  /** `dynamic` column: the package's routes as JSON. */
  Routes: { route_id: string; provider: string; state: string; owner: string }[];
}

/** The request body: a JSON array with one record per delivery. */
function buildSentinelRecords(request: DeliveryRequest): SentinelRecord[] {
  const pkg = request.package;
  return [
    {
      TimeGenerated: request.at,
      EventType: AUDIT_EVENT_TYPE,
      DeliveryId: request.deliveryId,
      AuditId: request.auditId,
      Provider: request.provider,
      Attempt: request.attempt,
      ExecutionId: request.executionId,
      IdempotencyKey: request.idempotencyKey,
      RouteCount: pkg.route_count,
      AcknowledgementCount: pkg.acknowledgement_count,
      AcknowledgedCount: pkg.acknowledged_count,
      ResolvedCount: pkg.resolved_count,
      EscalatedCount: pkg.escalated_count,
      DismissedCount: pkg.dismissed_count,
      OutstandingCount: pkg.outstanding_count,
      Routes: pkg.routes.map((route) => ({
        route_id: route.route_id,
        provider: route.provider,
        state: route.state,
        owner: route.owner,
      })),
    },
  ];
}

/** `{DCE}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`. */
export function ingestionUrl(endpoint: string, dcrImmutableId: string, streamName: string): string {
  const url = new URL(
    appendPath(
      endpoint,
      `/dataCollectionRules/${encodeURIComponent(dcrImmutableId)}/streams/${encodeURIComponent(streamName)}`,
    ),
  );
  url.searchParams.set('api-version', LOGS_INGESTION_API_VERSION);
  return url.href;
}

/**
 * Build the Sentinel connector. Reads and checks its configuration now, so a misconfigured
 * provider fails with a `ConnectorError` naming the option or env var (never a value).
 */
export function createSentinelConnector(provider: Provider, context: ConnectorContext): Connector {
  const where = describeProvider(provider);
  const endpoint = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const clientSecret = readProviderEnv(provider, 'token_env', context.env, { required: true });
  const tenantId = requireStringOption(
    provider,
    'tenant_id',
    'the Directory (tenant) ID of the app registration',
  );
  const clientId = requireStringOption(
    provider,
    'client_id',
    'the Application (client) ID of the app registration',
  );
  const dcrImmutableId = requireStringOption(
    provider,
    'dcr_immutable_id',
    'the immutableId of the data collection rule (dcr-...)',
  );
  const streamName = requireStringOption(
    provider,
    'stream_name',
    'the stream declared in the rule, e.g. Custom-CavraAuditDelivery_CL',
  );
  const scope = optionalStringOption(provider, 'scope');
  const authority =
    readProviderOptionEnv(provider, 'authority_url_env', context.env) ?? DEFAULT_ENTRA_AUTHORITY;

  try {
    // Checked here so a bad authority is a configuration error, not a failure on every call.
    tokenEndpointUrl(authority, tenantId);
  } catch (error) {
    throw new ConnectorError(
      `${where}: the env var named by spec.options.authority_url_env does not hold an absolute URL; set it to the Microsoft Entra authority, e.g. ${DEFAULT_ENTRA_AUTHORITY}.`,
      { cause: error, reason: 'EnvVarInvalid' },
    );
  }
  const url = ingestionUrl(endpoint, dcrImmutableId, streamName);
  const timeoutMs = providerTimeoutMs(provider);
  const staticSecrets = [...secretsOf(provider, context.env), authority];
  const secretEnvName = provider.spec.token_env ?? 'token_env';
  const tokens = createEntraTokenSource(
    {
      authorityUrl: authority,
      tenantId,
      clientId,
      clientSecret,
      ...(scope ? { scope } : {}),
      timeoutMs,
      secretEnvName,
      secrets: staticSecrets,
      target: `${describeTarget(provider)} (Microsoft Entra ID token endpoint)`,
    },
    context,
  );
  const target = `${describeTarget(provider)} (Logs Ingestion API)`;

  async function ingest(request: DeliveryRequest, token: string, signal?: AbortSignal): Promise<CallOutcome> {
    const body = JSON.stringify(buildSentinelRecords(request));
    return sendHttp(
      () => ({
        method: 'POST',
        url,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          // Correlates our call with Azure's logs; the idempotency key is public.
          'x-ms-client-request-id': request.idempotencyKey,
        },
        body,
        timeoutMs,
      }),
      context,
      {
        secrets: [...staticSecrets, token],
        classify: (status, answer) => classifyIngestionAnswer(status, answer, dcrImmutableId, streamName),
        signal,
        target,
        // The API does not deduplicate: never send twice within one call after an ambiguous failure.
        resendAfterAmbiguousFailure: false,
      },
    );
  }

  return {
    type: 'sentinel',
    idempotent: false,
    async deliver(request, signal) {
      const nowMs = Date.parse(request.at);
      const first = await tokens.getToken(nowMs, signal);
      if (!first.ok) return first.outcome;
      let outcome = await ingest(request, first.token, signal);
      let attempts = first.attempts + outcome.attempts;
      // A cached token may have been revoked or outlived a fixed replay clock: fetch a new one once.
      if (outcome.statusCode === 401) {
        tokens.invalidate();
        if (first.attempts === 0) {
          const fresh = await tokens.getToken(nowMs, signal);
          if (!fresh.ok) return { ...fresh.outcome, attempts: attempts + fresh.outcome.attempts };
          outcome = await ingest(request, fresh.token, signal);
          attempts += fresh.attempts + outcome.attempts;
        }
      }
      return { ...outcome, attempts };
    },
  };
}

/**
 * 204 is success. 401/403/404/413 and other 4xx are permanent with a reason that says what to
 * fix; the Azure error code (`{"error":{"code":...}}`) is quoted, the message text is not.
 */
function classifyIngestionAnswer(
  status: number,
  body: string,
  dcrImmutableId: string,
  streamName: string,
): HttpClassification {
  const code = /"code"\s*:\s*"([A-Za-z0-9_.-]{1,80})"/.exec(body)?.[1];
  const label = `HTTP ${status}${code ? ` ${code}` : ''}`;
  switch (status) {
    case 401:
      return permanentFailure(
        `Logs Ingestion API refused the token (${label}); check the app registration's tenant and client id`,
      );
    case 403:
      return permanentFailure(
        `Logs Ingestion API denied access (${label}); assign the app registration the Monitoring Metrics Publisher role on data collection rule ${dcrImmutableId}`,
      );
    case 404:
      return permanentFailure(
        `Logs Ingestion API found no such rule or stream (${label}); check options.dcr_immutable_id (${dcrImmutableId}), options.stream_name (${streamName}) and the endpoint in url_env`,
      );
    case 413:
      return permanentFailure(`Logs Ingestion API rejected the payload as too large (${label})`);
    default:
      if (status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429) {
        return permanentFailure(
          `Logs Ingestion API rejected the records (${label}); check that stream ${streamName} declares the columns in docs/connectors.md: ${excerptOf(body)}`,
        );
      }
      return classifyStatus(status, body);
  }
}

function requireStringOption(provider: Provider, name: string, what: string): string {
  const value = optionalStringOption(provider, name);
  if (value === undefined) {
    throw new ConnectorError(`${describeProvider(provider)} has no spec.options.${name}; set it to ${what}.`);
  }
  return value;
}

function optionalStringOption(provider: Provider, name: string): string | undefined {
  const value = provider.spec.options[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new ConnectorError(`${describeProvider(provider)}: spec.options.${name} must be a string.`);
  }
  return value;
}
