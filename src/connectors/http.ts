/**
 * The one HTTP sender every HTTP connector uses: a timeout per attempt, a bounded number of
 * attempts, `Retry-After` honoured (capped), 429/5xx/timeouts retryable, other 4xx and 3xx
 * permanent, and errors that never carry a URL's secret parts, a token, or a secret echoed by
 * the server.
 */
import type { ConnectorContext, CallOutcome } from '../domain/ports.js';
import { readAuthMode, readBasicAuthAccount } from '../domain/provider-options.js';
import type { Provider } from '../domain/types.js';
import { URL_IN_TEXT, redactText, redactUrl } from '../redact.js';
import { ConnectorError } from '../errors.js';
import { describeProvider } from './env.js';

export interface HttpRequestSpec {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** How a provider's answer maps to an outcome; the default suits most JSON APIs. */
export interface HttpClassification {
  success: boolean;
  retryable: boolean;
  /** Public-safe reason for a failure ('' on success). */
  reason: string;
}

export interface SendHttpOptions {
  /** Secret values (tokens, signing secrets, the URL itself) to scrub from any error text. */
  secrets: Iterable<string | undefined>;
  /** Override the default status classification (e.g. Slack answers with text error codes). */
  classify?: (status: number, body: string) => HttpClassification;
  signal?: AbortSignal;
  /**
   * Public description of the destination used in errors, e.g. `provider "ops" at https://host`.
   * Default: the redacted URL.
   */
  target?: string;
  /**
   * Whether to send again within this call after a timeout or a connection reset, when the
   * receiver may already have processed the request. Default true; connectors whose receiver
   * does not deduplicate pass false, so an ambiguous attempt is not doubled inside one call
   * (the outcome stays retryable: a later, approved retry decides).
   */
  resendAfterAmbiguousFailure?: boolean;
  /** How long a retryable answer asks to wait, in ms; default: its `Retry-After` header. */
  retryDelayOf?: (headers: Headers, nowMs: number) => number | null;
}

let httpClientLoading = false;

/**
 * Load Node's HTTP client now rather than with the first request: the global `fetch` loads its
 * implementation (undici, ~20 ms) when it is first called. The reconciler has this done while it
 * waits for its first claim push (ReconcilerOptions.prepareCalls). A `data:` URL makes no
 * connection.
 */
export function loadHttpClient(): void {
  if (httpClientLoading) return;
  httpClientLoading = true;
  // Nothing waits for it: any rejection, of the fetch or of reading its body, is dropped here.
  fetch('data:,')
    .then((response) => response.arrayBuffer())
    .catch(() => undefined);
}

/** Longest answer body read (bytes); the rest is discarded so a huge error page costs nothing. */
const MAX_BODY_BYTES = 64 * 1024;
/** Longest body excerpt quoted in an error. */
const MAX_BODY_EXCERPT = 200;

/** Default mapping: 2xx success; 408/425/429/5xx retryable; 3xx, 410 and other 4xx permanent. */
export function classifyStatus(status: number, body: string): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const excerpt = body ? `: ${excerptOf(body)}` : '';
  if (status >= 300 && status < 400) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP ${status} redirect (not followed: update the endpoint URL to its new location)`,
    };
  }
  if (status === 410) {
    return {
      success: false,
      retryable: false,
      reason: `HTTP 410 Gone (the receiver disabled this endpoint; stop sending or configure a new URL)${excerpt}`,
    };
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return { success: false, retryable: true, reason: `HTTP ${status}${excerpt}` };
  }
  return {
    success: false,
    retryable: false,
    reason: `HTTP ${status} (permanent, fix the request or credentials)${excerpt}`,
  };
}

/**
 * Parse `Retry-After` (delta-seconds or an HTTP-date) into milliseconds from `nowMs`;
 * null when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/**
 * Send a request with bounded attempts. `build(attempt)` makes the request for attempt n (1-based),
 * so connectors may re-sign per attempt. Never rejects for HTTP or network failures, nor when
 * `signal` aborts: it resolves with an outcome whose `error` is redacted.
 */
export async function sendHttp(
  build: (attempt: number) => HttpRequestSpec,
  context: ConnectorContext,
  options: SendHttpOptions,
): Promise<CallOutcome> {
  const secrets = [...options.secrets];
  const classify = options.classify ?? classifyStatus;
  const resendAmbiguous = options.resendAfterAmbiguousFailure ?? true;
  const retryDelayOf =
    options.retryDelayOf ??
    ((headers: Headers, nowMs: number) => parseRetryAfter(headers.get('retry-after'), nowMs));
  const maxAttempts = Math.max(1, context.maxAttempts);
  let last: CallOutcome = {
    success: false,
    statusCode: null,
    error: 'not attempted',
    retryable: true,
    attempts: 0,
  };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const request = build(attempt);
    const target = options.target ?? redactUrl(request.url);
    const { url, headers } = moveUserinfoToHeader(request.url, request.headers);
    const attemptSecrets = [...secrets, ...credentialHeaderValues(headers)];
    const aborted = (): CallOutcome => ({
      success: false,
      statusCode: null,
      error: scrub(`call to ${target} aborted by shutdown before an answer`, attemptSecrets),
      retryable: true,
      attempts: attempt,
    });
    if (options.signal?.aborted) return { ...aborted(), attempts: attempt - 1 };

    let waitMs: number | null = null;
    try {
      const timeout = AbortSignal.timeout(request.timeoutMs);
      const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
      const response = await context.fetch(url, {
        method: request.method,
        headers,
        body: request.body,
        signal,
        // Following a redirect would re-send credentials to a URL nobody configured.
        redirect: 'manual',
      });
      // Scrubbed before anything quotes it: an excerpt cut at its length limit must not keep
      // half of a secret that the whole body would have shown to be one.
      const body = scrub(await readBody(response), attemptSecrets);
      const verdict = classify(response.status, body);
      const reason = verdict.success ? '' : scrub(`${verdict.reason} from ${target}`, attemptSecrets);
      last = {
        success: verdict.success,
        statusCode: response.status,
        error: reason,
        retryable: verdict.retryable,
        attempts: attempt,
      };
      if (verdict.success || !verdict.retryable) return last;
      waitMs = retryDelayOf(response.headers, Date.now());
    } catch (error) {
      if (options.signal?.aborted) return aborted();
      const failure = describeNetworkError(error, request.timeoutMs, target);
      last = {
        success: false,
        statusCode: null,
        error: scrub(failure.message, attemptSecrets),
        retryable: true,
        attempts: attempt,
      };
      if (failure.ambiguous && !resendAmbiguous) {
        last.error += '; not re-sent within this call because the receiver does not deduplicate';
        return last;
      }
    }
    if (attempt === maxAttempts) break;
    const delay = waitMs ?? backoffMs(attempt);
    if (delay > context.maxRetryAfterMs) {
      last = {
        ...last,
        error: `${last.error}; Retry-After ${Math.ceil(delay / 1000)}s exceeds the per-call limit, left for a later retry`,
      };
      break;
    }
    try {
      await context.sleep(delay, options.signal);
    } catch (error) {
      if (options.signal?.aborted) return { ...last, error: `${last.error}; waiting aborted by shutdown` };
      throw error;
    }
  }
  return last;
}

/**
 * fetch refuses URLs with userinfo; an operator who writes `https://user:pass@host/` means HTTP
 * Basic authentication, so the credentials move into an `Authorization` header (unless the
 * connector already set one, which wins) and the URL loses them.
 */
export function moveUserinfoToHeader(
  raw: string,
  headers: Record<string, string>,
): { url: string; headers: Record<string, string> } {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { url: raw, headers };
  }
  if (!parsed.username && !parsed.password) return { url: raw, headers };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  return {
    url: parsed.href,
    headers: hasAuthorization
      ? headers
      : { ...headers, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
  };
}

/** Header names whose values are credentials (checked case-insensitively). */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|signature|cookie|password/i;

/**
 * Credential values the request itself carries (an `Authorization` header built from a token or
 * from URL userinfo, an API key header), so a server that echoes them back cannot leak them
 * even when the connector did not list the derived form (e.g. base64 of `user:password`).
 */
function credentialHeaderValues(headers: Record<string, string>): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue;
    values.push(value);
    const credential = value.replace(/^(Basic|Bearer|Splunk|Token|SharedAccessSignature)\s+/i, '');
    if (credential !== value) values.push(credential);
  }
  return values.filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
}

/** Exponential backoff between attempts without a Retry-After: 1 s, 2 s, 4 s, ... */
function backoffMs(attempt: number): number {
  return 1000 * 2 ** (attempt - 1);
}

/** Read at most MAX_BODY_BYTES of the answer as text; '' when the body cannot be read. */
async function readBody(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    if (size >= MAX_BODY_BYTES) await reader.cancel();
  } catch {
    // A body cut off mid-way still classifies by status.
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES);
}

/** A body as a short one-line excerpt: control characters could forge log lines. */
export function excerptOf(body: string): string {
  return (
    body
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      // A provider echoing an endpoint would put a URL into records: drop every URL whole, also
      // when it is escaped (`https:\/\/`, `https%3A%2F%2F`).
      .replace(URL_IN_TEXT, '[url]')
      .trim()
      .slice(0, MAX_BODY_EXCERPT)
  );
}

interface NetworkFailure {
  message: string;
  /** True when the request may have reached the receiver (timeout, reset after sending). */
  ambiguous: boolean;
}

function describeNetworkError(error: unknown, timeoutMs: number, target: string): NetworkFailure {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      message: `no answer from ${target} within ${timeoutMs} ms (timeout; the receiver may have processed the request)`,
      ambiguous: true,
    };
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : null;
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : '';
  // Refused, DNS and TLS failures happen before anything is sent; everything else may not.
  const beforeSending =
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(
      code,
    );
  return {
    message: `request to ${target} failed${code ? ` (${code})` : ''}: no HTTP answer`,
    ambiguous: !beforeSending,
  };
}

function scrub(text: string, secrets: (string | undefined)[]): string {
  return redactText(text, secrets);
}

/** Per-attempt timeout of a provider in ms (`spec.timeout_seconds`, fractions allowed for tests). */
export function providerTimeoutMs(provider: { spec: { timeout_seconds: number } }): number {
  return Math.max(1, Math.round(provider.spec.timeout_seconds * 1000));
}

/**
 * How errors name a destination: the provider and the env var holding its URL, never the URL or
 * even its host (docs/reference.md §7: no URL in records, reports, logs or errors). The operator knows where
 * the env var points; a reader of the audit trail learns nothing about the endpoint.
 */
export function describeTarget(provider: Provider): string {
  const where = provider.spec.url_env ? ` at $${provider.spec.url_env}` : '';
  return `${describeProvider(provider)}${where}`;
}

/**
 * The `Authorization` header of an API that takes HTTP Basic (the default: the account named by
 * the type's account option and the secret) or a bearer token (`spec.options.auth: bearer`).
 * `missingUser` completes the error when basic auth has no account: "<provider> uses basic auth
 * but has no <missingUser>". Which options name the account is defined once, in
 * domain/provider-options.ts, so validation flags exactly what this refuses.
 */
export function basicOrBearerAuthorization(provider: Provider, secret: string, missingUser: string): string {
  const auth = readAuthMode(provider);
  if (auth === 'bearer') return `Bearer ${secret}`;
  if (auth === null) {
    throw new ConnectorError(`${describeProvider(provider)}: spec.options.auth must be basic or bearer.`, {
      reason: 'ConfigurationInvalid',
    });
  }
  const user = readBasicAuthAccount(provider);
  if (user === null) {
    throw new ConnectorError(`${describeProvider(provider)} uses basic auth but has no ${missingUser}`, {
      reason: 'ConfigurationInvalid',
    });
  }
  return `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}`;
}

/** A failure that resending cannot fix: `reason` says what the operator must change. */
export function permanentFailure(reason: string): HttpClassification {
  return { success: false, retryable: false, reason: `${reason} (permanent)` };
}

/**
 * `base` with `path` appended to its path (keeping a proxy prefix such as `/splunk`), unless the
 * base already ends with it. Query strings of the base are kept.
 */
export function appendPath(base: string, path: string): string {
  const url = new URL(base);
  const current = url.pathname.replace(/\/+$/, '');
  const suffix = path.startsWith('/') ? path : `/${path}`;
  if (!current.endsWith(suffix)) url.pathname = `${current}${suffix}`;
  return url.href;
}
