import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJiraConnector } from '../../src/connectors/jira-connector.js';
import type { Provider } from '../../src/domain/types.js';
import { ConnectorError } from '../../src/errors.js';
import {
  reply,
  startHttpReceiver,
  type HttpReceiver,
  type RecordedRequest,
} from '../helpers/http-receiver.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';

const EMAIL = 'automation@example.test';
const API_TOKEN = 'ATATT3xFfGF0-jira-api-token-4711';
const ISSUE_PATH = '/rest/api/2/issue';

/** Generous timeout so a slow CI start is not a timeout; hang tests pass a short one. */
function jiraProvider(options: Provider['spec']['options'] = {}, timeoutSeconds = 5): Provider {
  return makeProvider(
    'jira',
    {
      timeout_seconds: timeoutSeconds,
      url_env: 'JIRA_URL',
      token_env: 'JIRA_TOKEN',
      options: { project_key: 'OPS', email: EMAIL, ...options },
    },
    'ops-jira',
  );
}

/** Answers like Jira's create-issue resource: credentials, JSON, required fields, else 4xx. */
function jiraAnswer(request: RecordedRequest, expectedAuth: string): ReturnType<typeof reply.json> {
  if (request.headers.authorization !== expectedAuth) return reply.status(401, 'Unauthorized');
  if (request.headers['content-type'] !== 'application/json') return reply.status(415);
  const { fields } = JSON.parse(request.body) as { fields?: Record<string, unknown> };
  const errors: Record<string, string> = {};
  if (!fields?.summary) errors.summary = 'You must specify a summary of the issue.';
  if ((fields?.project as { key?: string } | undefined)?.key !== 'OPS')
    errors.project = 'valid project is required';
  if (!(fields?.issuetype as { name?: string } | undefined)?.name)
    errors.issuetype = 'valid issue type is required';
  if (Object.keys(errors).length > 0) return reply.json(400, { errorMessages: [], errors });
  return reply.json(201, { id: '10000', key: 'OPS-24', self: `${request.url}/10000` });
}

describe('jira connector (REST API v2, create issue)', () => {
  let receiver: HttpReceiver;
  const basic = `Basic ${Buffer.from(`${EMAIL}:${API_TOKEN}`).toString('base64')}`;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  beforeEach(() => {
    receiver.reset();
    receiver.handle((request) =>
      request.path.endsWith(ISSUE_PATH) ? jiraAnswer(request, basic) : reply.status(404),
    );
  });

  const env = (): Record<string, string> => ({ JIRA_URL: receiver.origin, JIRA_TOKEN: API_TOKEN });

  it('creates an issue with basic auth, the project, issue type, summary, description and labels (201)', async () => {
    const { context } = makeContext(env());
    const connector = createJiraConnector(jiraProvider(), context);
    const request = makeRequest({ provider: 'ops-jira' });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: 201, error: '', retryable: false, attempts: 1 });
    expect(connector.idempotent).toBe(false);
    const [received] = receiver.requests;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe(ISSUE_PATH);
    expect(received?.headers.authorization).toBe(basic);
    expect(received?.headers.accept).toBe('application/json');
    const { fields } = JSON.parse(received!.body) as { fields: Record<string, unknown> };
    expect(fields.project).toEqual({ key: 'OPS' });
    expect(fields.issuetype).toEqual({ name: 'Task' });
    expect(fields.summary).toBe(`CAVRA audit delivery ${request.deliveryId} → ops-jira (attempt 2)`);
    expect(fields.labels).toEqual(['cavra-gitops', `cavra-${request.idempotencyKey}`]);
    expect(fields.description).toContain(`Audit: ${request.auditId}`);
    expect(fields.description).toContain(`Execution: ${request.executionId}`);
    expect(fields.description).toContain('route-b: escalated (owner team-b');
  });

  it('sends a Data Center personal access token as Bearer, under a context path, with a custom issue type', async () => {
    receiver.handle((request) => jiraAnswer(request, `Bearer ${API_TOKEN}`));
    const { context } = makeContext({ ...env(), JIRA_URL: `${receiver.origin}/jira/` });
    const provider = jiraProvider({ auth: 'bearer', email: '', issue_type: 'Incident' });

    const outcome = await createJiraConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: true, statusCode: 201 });
    expect(receiver.requests[0]?.path).toBe(`/jira${ISSUE_PATH}`);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({
      fields: { issuetype: { name: 'Incident' } },
    });
  });

  it('names the rejected fields of a 400, not their messages', async () => {
    receiver.enqueue(
      ISSUE_PATH,
      reply.json(400, {
        errorMessages: ['Issue type is not valid for project'],
        errors: { customfield_10010: 'value "private-value-123" is not allowed', priority: 'bad' },
      }),
    );
    const { context } = makeContext(env());

    const outcome = await createJiraConnector(jiraProvider(), context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: 400, retryable: false, attempts: 1 });
    expect(outcome.error).toContain('fields customfield_10010, priority');
    expect(outcome.error).toContain('Issue type is not valid for project');
    expect(outcome.error).not.toContain('private-value-123');
  });

  it.each([
    {
      name: '429 + Retry-After, then 201',
      replies: [reply.tooManyRequests(30)],
      expected: { success: true, statusCode: 201, retryable: false, attempts: 2, error: '' },
      sleeps: [30_000],
    },
    {
      name: '500 on every attempt',
      replies: [reply.status(500), reply.status(502), reply.status(503)],
      expected: { success: false, statusCode: 503, retryable: true, attempts: 3 },
      sleeps: [1000, 2000],
    },
    {
      name: '401 (bad token)',
      replies: [reply.status(401, 'Unauthorized')],
      expected: { success: false, statusCode: 401, retryable: false, attempts: 1 },
      sleeps: [],
      error: 'JIRA_TOKEN',
    },
    {
      name: '403 (no Create Issues permission)',
      replies: [reply.json(403, { errorMessages: ['You do not have permission'] })],
      expected: { success: false, statusCode: 403, retryable: false, attempts: 1 },
      sleeps: [],
      error: 'Create Issues permission',
    },
  ])('maps $name', async ({ replies, expected, sleeps: expectedSleeps, error }) => {
    receiver.enqueue(ISSUE_PATH, ...replies);
    const { context, sleeps } = makeContext(env());

    const outcome = await createJiraConnector(jiraProvider(), context).deliver(makeRequest());

    expect(outcome).toMatchObject(expected);
    expect(sleeps).toEqual(expectedSleeps);
    if (error) expect(outcome.error).toContain(error);
    expect(outcome.error).not.toContain(API_TOKEN);
  });

  it('does not re-send within the call after a timeout (Jira does not deduplicate)', async () => {
    receiver.enqueue(ISSUE_PATH, reply.hang());
    const { context, sleeps } = makeContext(env());

    const outcome = await createJiraConnector(jiraProvider({}, 0.3), context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, statusCode: null, retryable: true, attempts: 1 });
    expect(outcome.error).toContain('timeout');
    expect(receiver.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([
    ['the URL env var is unset', jiraProvider(), { JIRA_TOKEN: API_TOKEN }, 'JIRA_URL'],
    ['the token env var is unset', jiraProvider(), { JIRA_URL: 'https://jira.example.test' }, 'JIRA_TOKEN'],
    [
      'project_key is missing',
      jiraProvider({ project_key: '' }),
      { JIRA_URL: 'https://x.test', JIRA_TOKEN: API_TOKEN },
      'options.project_key',
    ],
    [
      'basic auth has no email',
      jiraProvider({ email: '' }),
      { JIRA_URL: 'https://x.test', JIRA_TOKEN: API_TOKEN },
      'options.email',
    ],
    [
      'auth is unknown',
      jiraProvider({ auth: 'oauth1' }),
      { JIRA_URL: 'https://x.test', JIRA_TOKEN: API_TOKEN },
      'options.auth',
    ],
  ])('refuses to build when %s', (_name, provider, values, expected) => {
    const { context } = makeContext(values);
    expect(() => createJiraConnector(provider, context)).toThrow(ConnectorError);
    expect(() => createJiraConnector(provider, context)).toThrow(expected);
    try {
      createJiraConnector(provider, context);
    } catch (error) {
      expect((error as Error).message).not.toContain(API_TOKEN);
    }
  });
});
