/**
 * One place that maps a Provider's `type` to its connector, and builds the ConnectorContext the
 * connectors share (fetch, sleep, attempt bounds) with defaults that production uses.
 */
import { resolve } from 'node:path';
import type { Connector, ConnectorContext, Env } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError, InternalError, type ConnectorErrorReason } from '../errors.js';
import { createDatadogConnector } from './datadog-connector.js';
import { createFileConnector } from './file-connector.js';
import { createJiraConnector } from './jira-connector.js';
import { createSentinelConnector } from './sentinel-connector.js';
import { createServicenowConnector } from './servicenow-connector.js';
import { createSlackConnector } from './slack-connector.js';
import { createSplunkConnector } from './splunk-connector.js';
import { createTeamsConnector } from './teams-connector.js';
import { createWebhookConnector } from './webhook-connector.js';

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/**
 * The connector for a provider, by `provider.spec.type`.
 *
 * Throws `ConnectorError` when the provider's configuration cannot work: an env var it needs is
 * not named or not set, a URL env var does not hold an http(s) URL, a required option is missing.
 * The message names the provider and the env var (never a value); the reconciler records a
 * `skipped` execution with it. Everything that happens during a call is a `CallOutcome`.
 */
export function createConnector(provider: Provider, context: ConnectorContext): Connector {
  const type = provider.spec.type;
  switch (type) {
    case 'webhook':
      return createWebhookConnector(provider, context);
    case 'file':
      return createFileConnector(provider, context);
    case 'slack':
      return createSlackConnector(provider, context);
    case 'teams':
      return createTeamsConnector(provider, context);
    case 'datadog':
      return createDatadogConnector(provider, context);
    case 'splunk':
      return createSplunkConnector(provider, context);
    case 'sentinel':
      return createSentinelConnector(provider, context);
    case 'jira':
      return createJiraConnector(provider, context);
    case 'servicenow':
      return createServicenowConnector(provider, context);
    default: {
      const unknown: never = type;
      throw new InternalError(
        `No connector for provider type "${String(unknown)}"; schema validation should have rejected it.`,
      );
    }
  }
}

export type ConnectorContextOptions = Partial<ConnectorContext> & { env: Env; fileRoot: string };

/**
 * A ConnectorContext with production defaults: global fetch, a real sleep that an AbortSignal
 * cuts short, 3 attempts per call, Retry-After honoured up to 60 s.
 */
export function createConnectorContext(options: ConnectorContextOptions): ConnectorContext {
  return {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    sleep: options.sleep ?? sleepUnlessAborted,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    env: options.env,
    fileRoot: options.fileRoot,
  };
}

/** Whether a provider's connector can be built now, and if not why (a PascalCase reason) and how to fix it. */
export type ProviderReadiness =
  { ready: true } | { ready: false; reason: ConnectorErrorReason; message: string };

/**
 * Stands in for the file root when the caller has none at hand: whether a `file` provider can be
 * built does not depend on where the root is, only on its directory staying below it.
 */
const ANY_FILE_ROOT = resolve('/cavra-gitops-file-root');

/**
 * Whether `provider`'s connector could be built with `env` right now, without any I/O: env vars
 * named by `url_env`, `token_env`, `signing_secret_env` and `*_env` options set and well-formed,
 * required options present, a `file` provider's directory inside the file root.
 *
 * It runs the very factory `createConnector` runs, with a context whose fetch and sleep refuse to
 * be used: building a connector only reads its configuration (a test holds every type to that),
 * so the answer here and the outcome of building the connector for a call cannot disagree.
 */
export function checkProviderReady(
  provider: Provider,
  env: Env,
  options: { fileRoot?: string } = {},
): ProviderReadiness {
  const context: ConnectorContext = {
    env,
    fileRoot: options.fileRoot ?? ANY_FILE_ROOT,
    fetch: () => Promise.reject(new InternalError('checkProviderReady must not call fetch')),
    sleep: () => Promise.reject(new InternalError('checkProviderReady must not sleep')),
    maxAttempts: 1,
    maxRetryAfterMs: 0,
  };
  try {
    createConnector(provider, context);
    return { ready: true };
  } catch (error) {
    if (error instanceof ConnectorError) {
      return { ready: false, reason: error.reason ?? 'ConfigurationInvalid', message: error.message };
    }
    throw error;
  }
}

/** Wait `ms`; rejects with the signal's reason as soon as `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
