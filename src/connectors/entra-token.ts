/**
 * Microsoft Entra ID access tokens by the OAuth 2.0 client-credentials grant, cached per connector
 * until shortly before they expire. Used by the Sentinel connector (Azure Monitor Logs Ingestion
 * API). The token and the client secret never leave this module except as an `Authorization`
 * header value; failures come back as redacted {@link CallOutcome}s.
 */
import type { ConnectorContext, CallOutcome } from '../domain/ports.js';
import { excerptOf, sendHttp, type HttpClassification } from './http.js';

/** Microsoft's public cloud; sovereign clouds set `options.authority_url_env`. */
export const DEFAULT_ENTRA_AUTHORITY = 'https://login.microsoftonline.com';

/** The scope of the Logs Ingestion API (the double slash is how Microsoft documents it). */
export const MONITOR_INGESTION_SCOPE = 'https://monitor.azure.com//.default';

/** Refresh this long before `expires_in` runs out, so a token never expires mid-call. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export interface EntraTokenOptions {
  /** Authority base URL, e.g. `https://login.microsoftonline.com` (value of `authority_url_env`). */
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Default {@link MONITOR_INGESTION_SCOPE}. */
  scope?: string;
  timeoutMs: number;
  /** Env var that holds the client secret: named (never the value) in failure reasons. */
  secretEnvName: string;
  /** Further values to scrub from reasons (e.g. the URLs read from env vars). */
  secrets?: Iterable<string | undefined>;
  /** Public description of the token endpoint for reasons (default: its redacted URL). */
  target?: string;
}

export type TokenResult = { ok: true; token: string; attempts: number } | { ok: false; outcome: CallOutcome };

export interface EntraTokenSource {
  /** A cached token when still valid at `nowMs`, else a fresh one from the token endpoint. */
  getToken(nowMs: number, signal?: AbortSignal): Promise<TokenResult>;
  /** Forget the cached token (the resource server refused it). */
  invalidate(): void;
}

interface CachedToken {
  token: string;
  refreshAtMs: number;
}

/** The v2.0 token endpoint of a tenant under an authority (which may carry a path prefix). */
export function tokenEndpointUrl(authorityUrl: string, tenantId: string): string {
  const url = new URL(authorityUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  return url.toString();
}

/**
 * Create a token source for one app registration. `nowMs` is passed per call (the run's `now`),
 * so tests and replays control expiry without a wall clock.
 */
export function createEntraTokenSource(
  options: EntraTokenOptions,
  context: ConnectorContext,
): EntraTokenSource {
  const url = tokenEndpointUrl(options.authorityUrl, options.tenantId);
  const body = new URLSearchParams({
    client_id: options.clientId,
    client_secret: options.clientSecret,
    scope: options.scope ?? MONITOR_INGESTION_SCOPE,
    grant_type: 'client_credentials',
  }).toString();
  const secrets = [options.clientSecret, ...(options.secrets ?? [])];
  let cached: CachedToken | null = null;
  let inFlight: Promise<TokenResult> | null = null;

  async function requestToken(nowMs: number, signal?: AbortSignal): Promise<TokenResult> {
    // The token is read from the answer inside `classify` (which sees the body), so the token
    // request gets sendHttp's timeout, bounded attempts, Retry-After and redaction unchanged.
    let token: ParsedToken | null = null;
    const classify = (status: number, body: string): HttpClassification => {
      const verdict = classifyTokenAnswer(status, body, options);
      if (!verdict.success) return verdict;
      token = parseTokenBody(body);
      if (token !== null) return verdict;
      return {
        success: false,
        retryable: false,
        reason:
          `the token endpoint answered HTTP ${status} without an access_token; check that the env var named by ` +
          'options.authority_url_env holds a Microsoft Entra authority such as https://login.microsoftonline.com',
      };
    };
    const outcome = await sendHttp(
      () => ({
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body,
        timeoutMs: options.timeoutMs,
      }),
      context,
      { secrets, classify, signal, ...(options.target ? { target: options.target } : {}) },
    );
    const parsed = token as ParsedToken | null;
    if (!outcome.success || parsed === null) {
      return { ok: false, outcome: { ...outcome, success: false, error: `token request: ${outcome.error}` } };
    }
    const lifetimeMs = parsed.expiresInSeconds * 1000;
    // Short-lived tokens (rare) would be refreshed on every call with a fixed margin; use half instead.
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
    cached = { token: parsed.token, refreshAtMs: nowMs + lifetimeMs - margin };
    return { ok: true, token: parsed.token, attempts: outcome.attempts };
  }

  return {
    async getToken(nowMs, signal) {
      if (cached && nowMs < cached.refreshAtMs) return { ok: true, token: cached.token, attempts: 0 };
      // Concurrent deliveries share one token request instead of each asking for a token.
      inFlight ??= requestToken(nowMs, signal).finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    invalidate() {
      cached = null;
    },
  };
}

/**
 * 400/401/403 from the token endpoint are configuration errors (wrong tenant, client id or
 * secret): permanent. 429/5xx are transient. The reason keeps only the OAuth error code and the
 * AADSTS number, never `error_description` text.
 */
function classifyTokenAnswer(status: number, body: string, options: EntraTokenOptions): HttpClassification {
  const excerpt = excerptOf(body);
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const code = /"error"\s*:\s*"([a-z_]{1,64})"/i.exec(excerpt)?.[1];
  const aadsts = /AADSTS(\d{1,9})/.exec(excerpt)?.[1];
  const detail = [code, aadsts ? `AADSTS${aadsts}` : undefined].filter(Boolean).join(', ');
  const label = `HTTP ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    return { success: false, retryable: true, reason: `Microsoft Entra ID token endpoint answered ${label}` };
  }
  return {
    success: false,
    retryable: false,
    reason:
      `Microsoft Entra ID refused the client-credentials grant, ${label} (permanent): check options.tenant_id, ` +
      `options.client_id and the client secret in env var ${options.secretEnvName}`,
  };
}

interface ParsedToken {
  token: string;
  expiresInSeconds: number;
}

function parseTokenBody(text: string): ParsedToken | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const token = record.access_token;
  if (typeof token !== 'string' || token === '') return null;
  // expires_in is a number of seconds; some authorities send it as a string.
  const expires = Number(record.expires_in);
  return { token, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : 3600 };
}
