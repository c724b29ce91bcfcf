import { describe, expect, it } from 'vitest';
import { readProviderEnv, readProviderOptionEnv, secretsOf } from '../../src/connectors/env.js';
import { ConnectorError } from '../../src/errors.js';
import { redactText } from '../../src/redact.js';
import { makeProvider } from './connector-fixtures.js';

describe('readProviderEnv', () => {
  const provider = makeProvider('splunk', { url_env: 'HEC_URL', token_env: 'HEC_TOKEN' }, 'ops-splunk');

  it('returns the value of the named variable', () => {
    expect(readProviderEnv(provider, 'token_env', { HEC_TOKEN: 'secret-value' }, { required: true })).toBe(
      'secret-value',
    );
    expect(readProviderEnv(provider, 'signing_secret_env', {}, { required: false })).toBeUndefined();
  });

  it.each([
    ['field not named but required', 'signing_secret_env', {}, true, /ops-splunk.*spec\.signing_secret_env/],
    ['named variable unset', 'token_env', {}, false, /HEC_TOKEN is not set/],
    ['named variable blank', 'token_env', { HEC_TOKEN: '  ' }, true, /HEC_TOKEN is not set/],
    ['URL not http(s)', 'url_env', { HEC_URL: 'file:///etc/secret-path' }, true, /HEC_URL.*http\(s\) URL/],
    ['URL not a URL', 'url_env', { HEC_URL: 'not a url secret-value' }, true, /HEC_URL/],
  ] as const)(
    'throws ConnectorError: %s, never echoing the value',
    (_label, field, env, required, message) => {
      let thrown: unknown;
      try {
        readProviderEnv(provider, field, env, { required });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConnectorError);
      expect((thrown as Error).message).toMatch(message);
      for (const value of Object.values(env))
        if (value.trim()) expect((thrown as Error).message).not.toContain(value);
    },
  );

  it('reads *_env options', () => {
    const sentinel = makeProvider('sentinel', { options: { authority_url_env: 'AUTH_URL' } });
    expect(readProviderOptionEnv(sentinel, 'authority_url_env', { AUTH_URL: 'https://login.example' })).toBe(
      'https://login.example',
    );
    expect(readProviderOptionEnv(sentinel, 'missing_env', {})).toBeUndefined();
    expect(() => readProviderOptionEnv(sentinel, 'authority_url_env', {})).toThrow(/AUTH_URL is not set/);
  });
});

describe('secretsOf', () => {
  it('lists every value and credential-bearing URL part, and redaction removes them all', () => {
    const provider = makeProvider('webhook', {
      url_env: 'HOOK_URL',
      token_env: 'HOOK_TOKEN',
      signing_secret_env: 'HOOK_SECRET',
      options: { authority_url_env: 'AUTH_URL' },
    });
    const env = {
      HOOK_URL:
        'https://user1234:p%40ss5678@hooks.example.test/services/T1/B2/pathsecret99?token=querysecret77',
      HOOK_TOKEN: 'tokenvalue-abcdef',
      HOOK_SECRET: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTI0LWJ5dGVzIQ==',
      AUTH_URL: 'https://login.example.test/tenant?sig=authsig4321',
      UNRELATED: 'not-a-provider-secret',
    };
    const secrets = secretsOf(provider, env);

    expect(secrets).toEqual(
      expect.arrayContaining([
        env.HOOK_URL,
        env.HOOK_TOKEN,
        env.HOOK_SECRET,
        'querysecret77',
        'p@ss5678',
        'authsig4321',
      ]),
    );
    expect(secrets).not.toContain('not-a-provider-secret');
    const leaked = `failed: ${env.HOOK_URL} user1234 p@ss5678 /services/T1/B2/pathsecret99 querysecret77 tokenvalue-abcdef c2VjcmV0LXNpZ25pbmcta2V5LTI0LWJ5dGVzIQ== ${Buffer.from('user1234:p@ss5678').toString('base64')}`;
    const redacted = redactText(leaked, secrets);
    for (const piece of [
      'user1234',
      'p@ss5678',
      'pathsecret99',
      'querysecret77',
      'tokenvalue-abcdef',
      'c2VjcmV0LXNp',
      'dXNlcjEyMzQ6',
    ]) {
      expect(redacted).not.toContain(piece);
    }
  });

  it('keeps a bare origin visible (it is what errors name on purpose)', () => {
    const provider = makeProvider('datadog', { url_env: 'DD_URL' });
    expect(secretsOf(provider, { DD_URL: 'https://api.datadoghq.eu' })).toEqual([]);
  });
});
