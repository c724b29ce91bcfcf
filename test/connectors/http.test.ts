import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendPath,
  classifyStatus,
  moveUserinfoToHeader,
  parseRetryAfter,
  sendHttp,
  type HttpRequestSpec,
} from '../../src/connectors/http.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { makeContext } from './connector-fixtures.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-06-28T10:00:00Z');
  it.each([
    ['12', 12_000],
    [' 0 ', 0],
    ['Sun, 28 Jun 2026 10:00:30 GMT', 30_000],
    ['Sun, 28 Jun 2026 09:00:00 GMT', 0],
    ['soon', null],
    ['', null],
    [null, null],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('classifyStatus', () => {
  it.each([
    [200, true, false],
    [204, true, false],
    [301, false, false],
    [400, false, false],
    [404, false, false],
    [408, false, true],
    [410, false, false],
    [429, false, true],
    [500, false, true],
    [503, false, true],
  ])('HTTP %i → success %s, retryable %s', (status, success, retryable) => {
    expect(classifyStatus(status, '')).toMatchObject({ success, retryable });
  });
});

describe('appendPath and moveUserinfoToHeader', () => {
  it.each([
    ['https://api.datadoghq.eu', 'https://api.datadoghq.eu/api/v1/events'],
    ['https://api.datadoghq.eu/', 'https://api.datadoghq.eu/api/v1/events'],
    ['https://proxy.example/dd/', 'https://proxy.example/dd/api/v1/events'],
    ['https://api.datadoghq.eu/api/v1/events', 'https://api.datadoghq.eu/api/v1/events'],
    ['https://proxy.example/x?key=1', 'https://proxy.example/x/api/v1/events?key=1'],
  ])('%s + /api/v1/events = %s', (base, expected) => {
    expect(appendPath(base, '/api/v1/events')).toBe(expected);
  });

  it('moves userinfo into Basic auth unless an Authorization header is already set', () => {
    expect(moveUserinfoToHeader('https://a%40b:p%3Aw@host.example/x', {})).toEqual({
      url: 'https://host.example/x',
      headers: { authorization: `Basic ${Buffer.from('a@b:p:w').toString('base64')}` },
    });
    expect(moveUserinfoToHeader('https://u:p@host.example/', { Authorization: 'Splunk t' })).toEqual({
      url: 'https://host.example/',
      headers: { Authorization: 'Splunk t' },
    });
  });
});

describe('sendHttp', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => receiver.reset());

  const request =
    (path = '/x', headers: Record<string, string> = {}): (() => HttpRequestSpec) =>
    () => ({
      method: 'POST',
      url: `${receiver.origin}${path}`,
      headers,
      body: '{}',
      timeoutMs: 2000,
    });

  it('builds each attempt afresh and counts attempts', async () => {
    receiver.enqueue('/x', reply.status(500), reply.status(500));
    const built: number[] = [];
    const { context } = makeContext({});

    const outcome = await sendHttp(
      (attempt) => {
        built.push(attempt);
        return request()();
      },
      context,
      { secrets: [] },
    );

    expect(outcome).toMatchObject({ success: true, attempts: 3 });
    expect(built).toEqual([1, 2, 3]);
  });

  it('does not follow redirects (credentials would go to a URL nobody configured)', async () => {
    receiver.respond('/x', reply.status(307, '', { location: `${receiver.origin}/elsewhere` }));
    const { context } = makeContext({});
    const outcome = await sendHttp(request('/x', { authorization: 'Bearer t0ken-value' }), context, {
      secrets: [],
    });
    expect(outcome).toMatchObject({ success: false, statusCode: 307, retryable: false });
    expect(receiver.requestsTo('/elsewhere')).toHaveLength(0);
  });

  it('scrubs credential header values a server echoes, even when the caller did not list them', async () => {
    receiver.handle((received) =>
      reply.status(
        400,
        `you sent ${String(received.headers['x-api-key'])} and ${String(received.headers.authorization)}`,
      ),
    );
    const { context } = makeContext({});
    const outcome = await sendHttp(
      request('/x', { 'x-api-key': 'apikey-998877', authorization: 'Bearer bearer-665544' }),
      context,
      {
        secrets: [],
      },
    );
    expect(outcome.error).not.toContain('apikey-998877');
    expect(outcome.error).not.toContain('bearer-665544');
    expect(outcome.error).toContain('you sent [redacted]');
  });

  it('quotes only a short single-line excerpt of a huge answer', async () => {
    receiver.respond('/x', reply.status(400, `line1\nline2\r\n${'x'.repeat(200_000)}`));
    const { context } = makeContext({});
    const outcome = await sendHttp(request(), context, { secrets: [] });
    expect(outcome.error).toContain('line1 line2');
    expect(outcome.error.length).toBeLessThan(400);
  });

  it('returns an outcome, not a rejection, when shutdown aborts the wait between attempts', async () => {
    receiver.respond('/x', reply.tooManyRequests(30));
    const controller = new AbortController();
    const { context } = makeContext(
      {},
      {
        sleep: async () => {
          controller.abort();
          throw new Error('aborted');
        },
      },
    );
    const outcome = await sendHttp(request(), context, { secrets: [], signal: controller.signal });
    expect(outcome).toMatchObject({ success: false, statusCode: 429, retryable: true, attempts: 1 });
    expect(outcome.error).toContain('aborted by shutdown');
  });
});
