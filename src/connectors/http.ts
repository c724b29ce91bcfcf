/**
 * The one HTTP sender every HTTP connector uses: a timeout per attempt, a bounded number of
 * attempts, `Retry-After` honoured (capped), 429/5xx/timeouts retryable, other 4xx permanent,
 * and errors that never carry a URL's secret parts, a token, or a secret echoed by the server.
 */
import type { ConnectorContext, DeliveryOutcome } from '../domain/ports.js';
import { redactText, redactUrl } from '../redact.js';

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
  /** Override the default status classification (e.g. Slack answers 200 with `ok: false`). */
  classify?: (status: number, body: string) => HttpClassification;
  signal?: AbortSignal;
}

const MAX_BODY_EXCERPT = 200;

/** Default mapping: 2xx success; 408/425/429/5xx retryable; 410 and other 4xx permanent. */
export function classifyStatus(status: number, body: string): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const excerpt = body ? `: ${body}` : '';
  if (status === 410) return { success: false, retryable: false, reason: `HTTP 410 Gone (endpoint removed)${excerpt}` };
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return { success: false, retryable: true, reason: `HTTP ${status}${excerpt}` };
  }
  return { success: false, retryable: false, reason: `HTTP ${status} (permanent, fix the request or credentials)${excerpt}` };
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
 * so connectors may re-sign per attempt. Never rejects for HTTP or network failures: it resolves
 * with an outcome whose `error` is redacted.
 */
export async function sendHttp(
  build: (attempt: number) => HttpRequestSpec,
  context: ConnectorContext,
  options: SendHttpOptions,
): Promise<DeliveryOutcome> {
  const secrets = [...options.secrets];
  const classify = options.classify ?? classifyStatus;
  let last: DeliveryOutcome = { success: false, statusCode: null, error: 'not attempted', retryable: true, attempts: 0 };

  for (let attempt = 1; attempt <= context.maxAttempts; attempt++) {
    const request = build(attempt);
    const target = redactUrl(request.url);
    let waitMs: number | null = null;
    try {
      const timeout = AbortSignal.timeout(request.timeoutMs);
      const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
      const response = await context.fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal,
        redirect: 'error',
      });
      const body = await readExcerpt(response);
      const verdict = classify(response.status, body);
      const reason = verdict.success ? '' : scrub(`${verdict.reason} from ${target}`, secrets);
      last = { success: verdict.success, statusCode: response.status, error: reason, retryable: verdict.retryable, attempts: attempt };
      if (verdict.success || !verdict.retryable) return last;
      waitMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    } catch (error) {
      if (options.signal?.aborted) {
        return { success: false, statusCode: null, error: `call to ${target} aborted by shutdown`, retryable: true, attempts: attempt };
      }
      last = { success: false, statusCode: null, error: scrub(describeNetworkError(error, request.timeoutMs, target), secrets), retryable: true, attempts: attempt };
    }
    if (attempt === context.maxAttempts) break;
    const delay = waitMs ?? backoffMs(attempt);
    if (delay > context.maxRetryAfterMs) {
      last = { ...last, error: `${last.error}; Retry-After ${Math.ceil(delay / 1000)}s exceeds the per-call limit, left for a later retry` };
      break;
    }
    await context.sleep(delay, options.signal);
  }
  return last;
}

/** Exponential backoff between attempts without a Retry-After: 1 s, 2 s, 4 s, ... */
function backoffMs(attempt: number): number {
  return 1000 * 2 ** (attempt - 1);
}

async function readExcerpt(response: Response): Promise<string> {
  try {
    const text = await response.text();
    // Control characters could forge log lines; collapse whitespace and cut to a short excerpt.
    return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_BODY_EXCERPT);
  } catch {
    return '';
  }
}

function describeNetworkError(error: unknown, timeoutMs: number, target: string): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer from ${target} within ${timeoutMs} ms (timeout)`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : null;
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : '';
  return `request to ${target} failed${code ? ` (${code})` : ''}: no HTTP answer`;
}

function scrub(text: string, secrets: (string | undefined)[]): string {
  return redactText(text, secrets);
}
