/**
 * No secret reaches an outcome or a configuration error, for every connector type: canary values
 * sit in the URL env vars (userinfo, a secret path, a query token), in tokens and secrets, and the
 * server echoes back everything it received (URL, Authorization header, body) in its error answer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConnector } from '../../src/connectors/registry.js';
import type { Env } from '../../src/domain/ports.js';
import type { Provider, ProviderType } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import {
  refusedUrl,
  reply,
  startHttpReceiver,
  type HttpReceiver,
  type RecordedRequest,
} from '../helpers/http-receiver.js';
import {
  CANARY,
  canaryUrl,
  canaryValues,
  makeContext,
  makeProvider,
  makeRequest,
} from './connector-fixtures.js';

const EMAIL = 'canary-email-6120@example.test';
/** An access token the (stand-in) Entra ID issues: the Sentinel connector must never show it. */
const ACCESS_TOKEN = 'canaryaccesstoken-1b7e44c09f';
const TOKEN_PATH_SUFFIX = '/oauth2/v2.0/token';

type HttpType = Exclude<ProviderType, 'file'>;

/** A provider of each HTTP type that uses every secret-bearing field the type supports. */
function setup(type: HttpType, base: string): { provider: Provider; env: Env } {
  // Only the variables the provider names, so an echo can only return values the connector knew.
  const env: Record<string, string> = { URL: base };
  const spec: Partial<Provider['spec']> = { url_env: 'URL', timeout_seconds: 5 };
  if (type !== 'webhook' && type !== 'slack' && type !== 'teams') env.TOKEN = CANARY.token;
  switch (type) {
    case 'webhook':
      env.SECRET = CANARY.signingSecret;
      spec.signing_secret_env = 'SECRET';
      break;
    case 'slack':
    case 'teams':
      break;
    case 'datadog':
    case 'splunk':
      spec.token_env = 'TOKEN';
      break;
    case 'jira':
      spec.token_env = 'TOKEN';
      spec.options = { project_key: 'OPS', email: EMAIL };
      break;
    case 'servicenow':
      spec.token_env = 'TOKEN';
      spec.options = { username: EMAIL };
      break;
    case 'sentinel':
      env.AUTHORITY = base.replace('/services/', '/authority/');
      spec.token_env = 'TOKEN';
      spec.options = {
        tenant_id: 'tenant-1',
        client_id: 'client-1',
        dcr_immutable_id: 'dcr-1',
        stream_name: 'Custom-Cavra_CL',
        authority_url_env: 'AUTHORITY',
      };
      break;
  }
  return { provider: makeProvider(type, spec, `canary-${type}`), env };
}

const HTTP_TYPES: HttpType[] = [
  'webhook',
  'slack',
  'teams',
  'datadog',
  'splunk',
  'sentinel',
  'jira',
  'servicenow',
];

/** Every value that must not appear, including credentials as they travel (base64 in Basic). */
function forbidden(): string[] {
  const basic = (text: string): string => Buffer.from(text).toString('base64');
  return [
    ...canaryValues(),
    ACCESS_TOKEN,
    EMAIL,
    basic(`${CANARY.user}:${CANARY.password}`),
    basic(`${EMAIL}:${CANARY.token}`),
  ];
}

/** Fail when a canary appears, literally or inside anything that decodes from base64. */
function expectNoSecret(text: string): void {
  for (const value of forbidden()) expect(text).not.toContain(value);
  for (const candidate of text.match(/[A-Za-z0-9+/=_-]{12,}/g) ?? []) {
    const decoded = Buffer.from(candidate, 'base64').toString('latin1');
    for (const value of canaryValues()) expect(decoded).not.toContain(value);
  }
}

/** The answer of a server that echoes what it got, Authorization first so it survives excerpts. */
function echo(status: number, request: RecordedRequest, env: Env): ReturnType<typeof reply.status> {
  const known = Object.values(env).join(' ');
  const text = `echo auth=${String(request.headers.authorization)} dd=${String(request.headers['dd-api-key'])} url=${request.url} env=${known} body=${request.body}`;
  return reply.status(status, text);
}

describe('redaction across all connector types', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const scenarios = HTTP_TYPES.flatMap((type) =>
    [400, 401, 403, 500].flatMap((status) =>
      [false, true].map((tokenIssued) => ({ type, status, tokenIssued })),
    ),
  ).filter(({ type, tokenIssued }) => type === 'sentinel' || !tokenIssued);

  it.each(scenarios)(
    '$type: an echoed $status answer (token issued: $tokenIssued) leaks nothing',
    async ({ type, status, tokenIssued }) => {
      const { provider, env } = setup(type, canaryUrl(receiver.origin));
      receiver.handle((request) => {
        if (tokenIssued && request.path.endsWith(TOKEN_PATH_SUFFIX)) {
          return reply.json(200, { token_type: 'Bearer', expires_in: 3599, access_token: ACCESS_TOKEN });
        }
        return echo(status, request, env);
      });
      const { context } = makeContext(env);

      const outcome = await createConnector(provider, context).deliver(makeRequest());

      expect(outcome.success).toBe(false);
      expect(outcome.statusCode).toBe(status);
      // The canaries really travelled: the URL's query token reached the server.
      expect(receiver.requests.some((request) => request.url.includes(CANARY.queryToken))).toBe(true);
      if (tokenIssued) expect(receiver.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expectNoSecret(outcome.error);
      // Not even the endpoint's host and port: errors name the env var that holds the URL.
      expect(outcome.error).not.toContain(new URL(receiver.origin).host);
      expect(outcome.error).toContain(`$${provider.spec.url_env}`);
    },
  );

  it.each(HTTP_TYPES)('%s: a refused connection and a timeout leak nothing', async (type) => {
    const refused = setup(type, canaryUrl(await refusedUrl()));
    const refusedOutcome = await createConnector(refused.provider, makeContext(refused.env).context).deliver(
      makeRequest(),
    );
    expect(refusedOutcome).toMatchObject({ success: false, statusCode: null, retryable: true });
    expectNoSecret(refusedOutcome.error);

    receiver.handle(() => reply.hang());
    const hanging = setup(type, canaryUrl(receiver.origin));
    const provider = { ...hanging.provider, spec: { ...hanging.provider.spec, timeout_seconds: 0.3 } };
    const { context } = makeContext(hanging.env, { maxAttempts: 1 });
    const timedOut = await createConnector(provider, context).deliver(makeRequest());
    expect(timedOut).toMatchObject({ success: false, statusCode: null, retryable: true });
    expect(timedOut.error).toContain('timeout');
    expectNoSecret(timedOut.error);
  });

  it.each(HTTP_TYPES)('%s: a URL env var that is not http(s) fails to build without showing it', (type) => {
    const { provider, env } = setup(type, canaryUrl('ftp://127.0.0.1:21'));
    let thrown: unknown;
    try {
      createConnector(provider, makeContext(env).context);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as Error).message).toContain('URL');
    expectNoSecret((thrown as Error).message);
  });

  it('file: a failed write names the provider and file, and no env value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cavra-redaction-'));
    try {
      // A regular file where the directory should be: every write fails.
      const blocked = join(dir, 'not-a-directory');
      await writeFile(blocked, 'x');
      const provider = makeProvider('file', { options: { directory: 'not-a-directory' } }, 'canary-file');
      const env = {
        URL: canaryUrl('https://example.test'),
        TOKEN: CANARY.token,
        SECRET: CANARY.signingSecret,
      };

      const outcome = await createConnector(provider, makeContext(env, { fileRoot: dir }).context).deliver(
        makeRequest(),
      );

      expect(outcome.success).toBe(false);
      expect(outcome.error).toContain('canary-file');
      expectNoSecret(outcome.error);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
