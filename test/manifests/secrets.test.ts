import { describe, expect, it } from 'vitest';
import { detectSecret, isSafeToEcho, safePointer, scanForSecrets } from '../../src/manifests/secrets.js';

// Assembled at run time so that the repository itself holds no secret-shaped literals.
const join = (...parts: string[]) => parts.join('');

describe('detectSecret', () => {
  it.each([
    [join('-----BEGIN RSA ', 'PRIVATE KEY-----\nMIIE...'), 'secret.private-key'],
    [join('-----BEGIN ', 'PRIVATE KEY-----'), 'secret.private-key'],
    [join('AKIA', 'IOSFODNN7EXAMPLE'), 'secret.aws-key'],
    [join('aws_secret_access_key = ', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'secret.aws-key'],
    [join('AIza', 'SyD-abcdefghijklmnopqrstuvwxyz01234'), 'secret.gcp-key'],
    [join('{"type": "service_account", "private', '_key": "x"}'), 'secret.gcp-key'],
    [join('DefaultEndpointsProtocol=https;AccountKey=', 'abcdefghijklmnopqrstuvwxyz0123456789=='), 'secret.azure-key'],
    [join('ghp_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'), 'secret.token'],
    [join('github_pat_', '11ABCDEFG0123456789_abcdefghijklmnop'), 'secret.token'],
    [join('xoxb-', '1234567890-abcdefghij'), 'secret.token'],
    [join('xoxp-', '1234567890-abcdefghij'), 'secret.token'],
    [join('sk_live_', '4eC39HqLyjWDarjtT1zdp7dc'), 'secret.token'],
    [join('whsec_', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 'secret.token'],
    [join('glpat-', 'abcdefghijklmnopqrst'), 'secret.token'],
    [join('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiJjYXZyYSJ9.c2lnbmF0dXJlc2ln'), 'secret.jwt'],
    [join('https://hooks.slack.com/', 'services/T000/B000/XXXX'), 'secret.webhook-url'],
    [join('https://acme.webhook.office.com/', 'webhookb2/abc'), 'secret.webhook-url'],
    [join('https://discord.com/api/', 'webhooks/1/abc'), 'secret.webhook-url'],
    ['see https://ops:hunter2@tickets.example.com/1', 'secret.url-credentials'],
    ['https://api.example.com/v1?api_key=abc123', 'secret.url-query-token'],
    ['https://x.example.com/?sig=abc&other=1', 'secret.url-query-token'],
  ])('%s is %s', (text, rule) => {
    expect(detectSecret(text)?.rule).toBe(rule);
  });

  it.each([
    'ops-webhook',
    'CAVRA_DEMO_WEBHOOK_SECRET',
    'https://tickets.example.com/browse/OPS-42?view=full',
    'alice@example.com',
    'gordackretryexec-0123456789abcdef',
    'Receiver was being redeployed during the drill; retry is safe.',
    '2026-06-28T10:00:00Z',
  ])('%s is not a secret', (text) => {
    expect(detectSecret(text)).toBeNull();
  });
});

describe('scanForSecrets', () => {
  it('finds values and keys, with their paths, and high-entropy values only under secret-like keys', () => {
    const value = {
      spec: {
        options: {
          api_token: 'Zx9qT4mW2vL8rK1pN7sB3yH6',
          directory: 'Zx9qT4mW2vL8rK1pN7sB3yH6',
          [join('xoxb-', '1234567890-abcdefghij')]: 'x',
        },
        token_env: 'SOME_TOKEN_VARIABLE_NAME',
        list: ['fine', join('ghp_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8')],
      },
    };
    const hits = scanForSecrets(value).map((h) => [h.rule, h.segments.join('/'), h.inKey]);
    expect(hits).toEqual(
      expect.arrayContaining([
        ['secret.high-entropy', 'spec/options/api_token', false],
        ['secret.token', 'spec/options', true],
        ['secret.token', 'spec/list/1', false],
      ]),
    );
    expect(hits).toHaveLength(3);
  });
});

describe('echo safety', () => {
  it('never echoes secret-shaped path segments', () => {
    expect(safePointer(['spec', 'options', join('ghp_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8')])).toBe('/spec/options/*');
    expect(safePointer(['metadata', 'labels', 'app.kubernetes.io', 0])).toBe('/metadata/labels/app.kubernetes.io/0');
    expect(safePointer(['spec', 'has space'])).toBe('/spec/*');
    expect(isSafeToEcho('url_env')).toBe(true);
    expect(isSafeToEcho('has space')).toBe(false);
  });
});
