import { describe, expect, it } from 'vitest';
import {
  createConnector,
  createConnectorContext,
  sleepUnlessAborted,
} from '../../src/connectors/registry.js';
import type { ProviderSpec, ProviderType } from '../../src/domain/types.js';
import { PROVIDER_TYPES } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import { makeContext, makeProvider } from './connector-fixtures.js';

const ENV = {
  URL: 'https://receiver.example.test/hook',
  TOKEN: 'registry-token-1',
  AUTHORITY: 'https://login.example.test',
};

/** The smallest valid spec of each type. */
const SPECS: Record<ProviderType, Partial<ProviderSpec>> = {
  webhook: { url_env: 'URL' },
  file: { options: { directory: 'out' } },
  slack: { url_env: 'URL' },
  teams: { url_env: 'URL' },
  datadog: { url_env: 'URL', token_env: 'TOKEN' },
  splunk: { url_env: 'URL', token_env: 'TOKEN' },
  sentinel: {
    url_env: 'URL',
    token_env: 'TOKEN',
    options: {
      tenant_id: 'tenant-1',
      client_id: 'client-1',
      dcr_immutable_id: 'dcr-1',
      stream_name: 'Custom-Cavra_CL',
      authority_url_env: 'AUTHORITY',
    },
  },
  jira: { url_env: 'URL', token_env: 'TOKEN', options: { project_key: 'OPS', email: 'bot@example.test' } },
  servicenow: { url_env: 'URL', token_env: 'TOKEN', options: { username: 'bot' } },
};

describe('createConnector', () => {
  it.each(PROVIDER_TYPES.map((type) => [type]))('builds the %s connector', (type) => {
    const connector = createConnector(makeProvider(type, SPECS[type]), makeContext(ENV).context);
    expect(connector.type).toBe(type);
    expect(connector.idempotent).toBe(type === 'webhook' || type === 'file');
  });

  it.each(PROVIDER_TYPES.filter((type) => type !== 'file').map((type) => [type]))(
    'fails to build %s with ConnectorError when its URL variable is unset',
    (type) => {
      expect(() =>
        createConnector(makeProvider(type, SPECS[type]), makeContext({ TOKEN: 'x-token' }).context),
      ).toThrow(ConnectorError);
    },
  );
});

describe('createConnectorContext', () => {
  it('fills production defaults and keeps overrides', () => {
    const context = createConnectorContext({ env: {}, fileRoot: '/repo' });
    expect(context).toMatchObject({ maxAttempts: 3, maxRetryAfterMs: 60_000, fileRoot: '/repo' });
    expect(typeof context.fetch).toBe('function');
    const custom = createConnectorContext({ env: {}, fileRoot: '/repo', maxAttempts: 1, maxRetryAfterMs: 5 });
    expect(custom).toMatchObject({ maxAttempts: 1, maxRetryAfterMs: 5 });
  });

  it('sleeps for real but stops at once when aborted', async () => {
    await expect(sleepUnlessAborted(1)).resolves.toBeUndefined();
    const controller = new AbortController();
    const pending = sleepUnlessAborted(60_000, controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(pending).rejects.toThrow('shutdown');
    await expect(sleepUnlessAborted(60_000, AbortSignal.abort(new Error('already')))).rejects.toThrow(
      'already',
    );
  });
});
