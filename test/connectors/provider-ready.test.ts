/**
 * checkProviderReady answers "could this provider's connector be built now?" without I/O, by
 * running the same factory createConnector runs: the table below holds each answer against what
 * building the connector for a real call does, so the two cannot drift apart.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProviderReady, createConnector } from '../../src/connectors/registry.js';
import type { Env } from '../../src/domain/ports.js';
import type { ProviderSpec, ProviderType } from '../../src/domain/types.js';
import { PROVIDER_TYPES } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import { makeContext, makeProvider } from './connector-fixtures.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const ENV: Env = {
  URL: 'https://receiver.example.test/hook',
  TOKEN: 'ready-token-1',
  SECRET,
  AUTHORITY: 'https://login.example.test',
};

/** A complete spec of each type, using every env field the type reads. */
const SPECS: Record<ProviderType, Partial<ProviderSpec>> = {
  webhook: { url_env: 'URL', signing_secret_env: 'SECRET' },
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

function without(env: Env, name: string): Env {
  const copy: Record<string, string | undefined> = { ...env };
  delete copy[name];
  return copy;
}

type Case = [label: string, type: ProviderType, spec: Partial<ProviderSpec>, env: Env, reason: string | null];

const CASES: Case[] = [
  ...PROVIDER_TYPES.map((type): Case => [`${type}, complete`, type, SPECS[type], ENV, null]),
  ...PROVIDER_TYPES.filter((type) => type !== 'file').map((type): Case => [
    `${type}, url_env variable unset`,
    type,
    SPECS[type],
    without(ENV, 'URL'),
    'EnvVarMissing',
  ]),
  ...PROVIDER_TYPES.filter((type) => type !== 'file').map((type): Case => [
    `${type}, url_env variable blank`,
    type,
    SPECS[type],
    { ...ENV, URL: '  ' },
    'EnvVarMissing',
  ]),
  ...PROVIDER_TYPES.filter((type) => type !== 'file').map((type): Case => [
    `${type}, url_env not a URL`,
    type,
    SPECS[type],
    { ...ENV, URL: 'receiver:8080' },
    'EnvVarInvalid',
  ]),
  ...(['datadog', 'splunk', 'sentinel', 'jira', 'servicenow'] as const).map((type): Case => [
    `${type}, token_env variable unset`,
    type,
    SPECS[type],
    without(ENV, 'TOKEN'),
    'EnvVarMissing',
  ]),
  ['webhook, signing secret unset', 'webhook', SPECS.webhook, without(ENV, 'SECRET'), 'EnvVarMissing'],
  [
    'webhook, signing secret without whsec_',
    'webhook',
    SPECS.webhook,
    { ...ENV, SECRET: 'plain' },
    'EnvVarInvalid',
  ],
  ['webhook without url_env', 'webhook', {}, ENV, 'ConfigurationInvalid'],
  [
    'sentinel, authority variable unset',
    'sentinel',
    SPECS.sentinel,
    without(ENV, 'AUTHORITY'),
    'EnvVarMissing',
  ],
  [
    'sentinel, authority not a URL',
    'sentinel',
    SPECS.sentinel,
    { ...ENV, AUTHORITY: 'nope' },
    'EnvVarInvalid',
  ],
  [
    'sentinel without tenant_id',
    'sentinel',
    { ...SPECS.sentinel, options: { ...SPECS.sentinel.options, tenant_id: '' } },
    ENV,
    'ConfigurationInvalid',
  ],
  [
    'jira without project_key',
    'jira',
    { ...SPECS.jira, options: { email: 'bot@example.test' } },
    ENV,
    'ConfigurationInvalid',
  ],
  [
    'jira basic auth without email',
    'jira',
    { ...SPECS.jira, options: { project_key: 'OPS' } },
    ENV,
    'ConfigurationInvalid',
  ],
  [
    'jira bearer auth without email',
    'jira',
    { ...SPECS.jira, options: { project_key: 'OPS', auth: 'bearer' } },
    ENV,
    null,
  ],
  [
    'jira with an unknown auth',
    'jira',
    { ...SPECS.jira, options: { ...SPECS.jira.options, auth: 'oauth' } },
    ENV,
    'ConfigurationInvalid',
  ],
  [
    'servicenow basic auth without username',
    'servicenow',
    { ...SPECS.servicenow, options: {} },
    ENV,
    'ConfigurationInvalid',
  ],
  ['servicenow bearer auth', 'servicenow', { ...SPECS.servicenow, options: { auth: 'bearer' } }, ENV, null],
  [
    'splunk with a channel that is not a GUID',
    'splunk',
    { ...SPECS.splunk, options: { channel: 'x' } },
    ENV,
    'ConfigurationInvalid',
  ],
  ['file without directory', 'file', {}, ENV, 'ConfigurationInvalid'],
  [
    'file, absolute directory',
    'file',
    { options: { directory: '/srv/elsewhere' } },
    ENV,
    'DirectoryOutsideFileRoot',
  ],
  [
    'file, escaping directory',
    'file',
    { options: { directory: '../../elsewhere' } },
    ENV,
    'DirectoryOutsideFileRoot',
  ],
];

describe('checkProviderReady', () => {
  let fileRoot: string;
  beforeAll(async () => {
    fileRoot = join(await mkdtemp(join(tmpdir(), 'cavra-ready-')), 'never-created');
  });
  afterAll(async () => {
    await rm(join(fileRoot, '..'), { recursive: true, force: true });
  });

  it.each(CASES)('%s', (_label, type, spec, env, reason) => {
    const provider = makeProvider(type, spec, `ready-${type}`);
    const readiness = checkProviderReady(provider, env, { fileRoot });

    // What building the connector for a call does with the same inputs.
    let built: unknown = null;
    try {
      createConnector(provider, makeContext(env, { fileRoot }).context);
    } catch (error) {
      built = error;
    }

    if (reason === null) {
      expect(readiness).toEqual({ ready: true });
      expect(built).toBeNull();
    } else {
      expect(readiness).toMatchObject({ ready: false, reason });
      expect(built).toBeInstanceOf(ConnectorError);
      expect(readiness).toHaveProperty('message', (built as Error).message);
      // The message names the provider and never an env value.
      expect((readiness as { message: string }).message).toContain(`ready-${type}`);
      for (const value of Object.values(env)) {
        if (value && value.length > 6)
          expect((readiness as { message: string }).message).not.toContain(value);
      }
    }
  });

  it('does no I/O: no request, no sleep, and the file root is not created', () => {
    let calls = 0;
    for (const type of PROVIDER_TYPES) {
      const context = makeContext(ENV, {
        fileRoot,
        fetch: () => {
          calls++;
          return Promise.reject(new Error('no fetch while building'));
        },
        sleep: () => {
          calls++;
          return Promise.resolve();
        },
      }).context;
      createConnector(makeProvider(type, SPECS[type]), context);
      expect(checkProviderReady(makeProvider(type, SPECS[type]), ENV, { fileRoot })).toEqual({ ready: true });
    }
    expect(calls).toBe(0);
    expect(existsSync(fileRoot)).toBe(false);
  });

  it('needs no file root to judge a file provider: only its directory matters', () => {
    expect(checkProviderReady(makeProvider('file', SPECS.file), {})).toEqual({ ready: true });
    expect(checkProviderReady(makeProvider('file', { options: { directory: '../x' } }), {})).toMatchObject({
      ready: false,
      reason: 'DirectoryOutsideFileRoot',
    });
  });

  it('turns ready once the missing variable is set', () => {
    const provider = makeProvider('webhook', SPECS.webhook);
    expect(checkProviderReady(provider, without(ENV, 'URL'))).toMatchObject({
      ready: false,
      reason: 'EnvVarMissing',
    });
    expect(checkProviderReady(provider, ENV)).toEqual({ ready: true });
  });
});
