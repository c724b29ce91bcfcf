/**
 * Shared fixtures for connector tests: a Provider with defaults filled, a delivery request, and a
 * ConnectorContext whose `sleep` records the delays asked for instead of waiting.
 */
import type { ConnectorContext, DeliveryRequest, Env } from '../../src/domain/ports.js';
import type { Provider, ProviderSpec, ProviderType } from '../../src/domain/types.js';

/** A normalised Provider of `type`; timeout tests pass a small `timeout_seconds` themselves. */
export function makeProvider(
  type: ProviderType,
  spec: Partial<ProviderSpec> = {},
  name = `test-${type}`,
): Provider {
  return {
    apiVersion: 'cavra.dev/v1',
    kind: 'Provider',
    name,
    labels: {},
    spec: {
      type,
      url_env: null,
      token_env: null,
      signing_secret_env: null,
      enabled: true,
      timeout_seconds: 5,
      category: 'webhook',
      idempotent: type === 'webhook' || type === 'file',
      options: {},
      ...spec,
    },
    source: {
      path: `manifests/providers/${name}.yaml`,
      document: 0,
      line: 1,
      column: 1,
      blob: '',
      introduced: null,
    },
  };
}

export function makeRequest(overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    idempotencyKey: 'gordackretryexec-0123456789abcdef',
    deliveryId: 'ops-weekly-audit',
    auditId: 'audit-2026-06-28',
    provider: 'test-provider',
    attempt: 2,
    executionId: 'gordackretryexec-0123456789abcdef',
    package: {
      route_count: 2,
      acknowledgement_count: 5,
      acknowledged_count: 3,
      resolved_count: 1,
      escalated_count: 1,
      dismissed_count: 0,
      outstanding_count: 2,
      routes: [
        { route_id: 'route-a', provider: 'pagerduty', state: 'acknowledged', owner: 'team-a' },
        { route_id: 'route-b', provider: 'email', state: 'escalated', owner: 'team-b' },
      ],
    },
    at: '2026-06-28T10:00:00Z',
    ...overrides,
  };
}

export interface TestContext {
  context: ConnectorContext;
  /** Every delay (ms) a connector asked `sleep` for. */
  sleeps: number[];
}

/** A real context (global fetch) whose sleep records the delay and returns at once. */
export function makeContext(env: Env, overrides: Partial<ConnectorContext> = {}): TestContext {
  const sleeps: number[] = [];
  // Built by hand (not createConnectorContext) so these fixtures do not load every connector.
  const context: ConnectorContext = {
    env,
    fileRoot: '/nonexistent',
    fetch: globalThis.fetch.bind(globalThis),
    maxAttempts: 3,
    maxRetryAfterMs: 60_000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  };
  return { context, sleeps };
}

/** Canary values for redaction tests: none of these may ever appear in an outcome's error. */
export const CANARY = {
  user: 'canaryuser7781',
  password: 'canarypass9931',
  queryToken: 'canaryquerytoken5521',
  pathSecret: 'CANARYPATHSECRET4410',
  token: 'canarytoken-3f9a7c21d0e84b55',
  /** `whsec_` + base64 of 32 bytes. */
  signingSecret: `whsec_${Buffer.from('canary-signing-secret-32-bytes!!').toString('base64')}`,
};

/** A receiver URL carrying every URL canary: userinfo, a Slack-style secret path, a query token. */
export function canaryUrl(origin: string, path = '/services/T000/B000'): string {
  const url = new URL(origin);
  url.username = CANARY.user;
  url.password = CANARY.password;
  url.pathname = `${path}/${CANARY.pathSecret}`;
  url.search = `?token=${CANARY.queryToken}`;
  return url.href;
}

/** The canary strings as a list, plus the base64 part of the signing secret. */
export function canaryValues(): string[] {
  return [
    CANARY.user,
    CANARY.password,
    CANARY.queryToken,
    CANARY.pathSecret,
    CANARY.token,
    CANARY.signingSecret,
    CANARY.signingSecret.slice('whsec_'.length),
  ];
}
