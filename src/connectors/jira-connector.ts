/**
 * Jira: one issue per delivery through the REST API v2 (`POST /rest/api/2/issue`). v2 takes a
 * plain-text description and works on both Jira Cloud and Jira Data Center; v3 (Cloud only) would
 * need Atlassian Document Format for the same text.
 *
 * Jira does not deduplicate: the idempotency key travels in a label (`cavra-<key>`) so a JQL
 * search (`labels = cavra-<key>`) finds a duplicate, but a re-send creates a second issue.
 */
import { createJsonConnector } from './json-connector.js';
import type { Connector, ConnectorContext, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { describeDeliveryText, summarizeAuditTitle } from './audit-event.js';
import { describeProvider, readProviderEnv } from './env.js';
import {
  appendPath,
  basicOrBearerAuthorization,
  classifyStatus,
  excerptOf,
  permanentFailure,
  type HttpClassification,
} from './http.js';

const JIRA_CREATE_ISSUE_PATH = '/rest/api/2/issue';
const DEFAULT_JIRA_ISSUE_TYPE = 'Task';
/** Jira's limit on a summary. */
const MAX_SUMMARY_LENGTH = 255;
/** Jira's limit on a label. */
const MAX_LABEL_LENGTH = 255;

export interface JiraIssueFields {
  project: { key: string };
  issuetype: { name: string };
  summary: string;
  description: string;
  labels: string[];
}

export interface JiraIssueOptions {
  projectKey: string;
  issueType: string;
}

/** The label that carries a delivery's idempotency key (labels may not contain spaces). */
function idempotencyLabel(idempotencyKey: string): string {
  return `cavra-${idempotencyKey}`.replace(/\s+/g, '_').slice(0, MAX_LABEL_LENGTH);
}

/** The create-issue body `{fields: {...}}` for a delivery. */
function buildJiraIssue(request: DeliveryRequest, options: JiraIssueOptions): { fields: JiraIssueFields } {
  const description = describeDeliveryText(request, '*');
  return {
    fields: {
      project: { key: options.projectKey },
      issuetype: { name: options.issueType },
      summary: summarizeAuditTitle(request).slice(0, MAX_SUMMARY_LENGTH),
      description,
      labels: ['cavra-gitops', idempotencyLabel(request.idempotencyKey)],
    },
  };
}

/**
 * The `Authorization` header: `basic` (Jira Cloud: account email + API token) or `bearer`
 * (Data Center personal access token).
 */
function jiraAuthorization(provider: Provider, token: string): string {
  return basicOrBearerAuthorization(
    provider,
    token,
    'spec.options.email; set it to the Atlassian account email that owns the API token (or set options.auth: bearer for a personal access token).',
  );
}

/** Build the Jira connector; configuration errors are `ConnectorError`s naming the field. */
export function createJiraConnector(provider: Provider, context: ConnectorContext): Connector {
  const base = readProviderEnv(provider, 'url_env', context.env, { required: true });
  const token = readProviderEnv(provider, 'token_env', context.env, { required: true });
  const projectKey = provider.spec.options.project_key;
  if (typeof projectKey !== 'string' || projectKey === '') {
    throw new ConnectorError(
      `${describeProvider(provider)} has no spec.options.project_key; set it to the key of the Jira project, e.g. OPS.`,
    );
  }
  const issueTypeOption = provider.spec.options.issue_type;
  const issueType =
    typeof issueTypeOption === 'string' && issueTypeOption !== '' ? issueTypeOption : DEFAULT_JIRA_ISSUE_TYPE;
  const authorization = jiraAuthorization(provider, token);
  // Jira does not deduplicate: an ambiguous attempt is not repeated within one call.
  return createJsonConnector({
    provider,
    context,
    idempotent: false,
    url: appendPath(base, JIRA_CREATE_ISSUE_PATH),
    headers: { authorization, accept: 'application/json' },
    payload: (request) => buildJiraIssue(request, { projectKey, issueType }),
    classify: (status, answer) => classifyJiraAnswer(status, answer, projectKey, provider.spec.token_env),
  });
}

/**
 * 201 is success. 400 names the rejected fields (`errors` keys) and Jira's `errorMessages`;
 * 401/403/404 say what to fix; 429/5xx are retryable (Retry-After is honoured by sendHttp).
 */
function classifyJiraAnswer(
  status: number,
  body: string,
  projectKey: string,
  tokenEnv: string | null,
): HttpClassification {
  if (status >= 200 && status < 300) return { success: true, retryable: false, reason: '' };
  const details = parseJiraErrors(body);
  switch (status) {
    case 400:
      return permanentFailure(
        `Jira rejected the issue (HTTP 400)${details}; check options.project_key, options.issue_type and the project's required fields`,
      );
    case 401:
      return permanentFailure(
        `Jira refused the credentials (HTTP 401); check options.email / options.auth and the token in env var ${tokenEnv ?? '(token_env)'}`,
      );
    case 403:
      return permanentFailure(
        `Jira denied issue creation in project ${projectKey} (HTTP 403)${details}; grant the account the Create Issues permission`,
      );
    case 404:
      return permanentFailure(
        `Jira answered HTTP 404${details}; check that url_env holds the Jira base URL (e.g. https://your-site.atlassian.net)`,
      );
    default:
      return classifyStatus(status, body);
  }
}

/** `: fields a, b; messages: x` from Jira's `{errorMessages: [], errors: {field: message}}`. */
function parseJiraErrors(body: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return '';
  }
  if (typeof value !== 'object' || value === null) return '';
  const record = value as { errorMessages?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (typeof record.errors === 'object' && record.errors !== null) {
    // Field names only: Jira's per-field messages may quote the submitted value.
    const fields = Object.keys(record.errors).slice(0, 10);
    if (fields.length > 0) parts.push(`fields ${fields.join(', ')}`);
  }
  if (Array.isArray(record.errorMessages)) {
    const messages = record.errorMessages.filter((m): m is string => typeof m === 'string').slice(0, 3);
    if (messages.length > 0) parts.push(`messages: ${excerptOf(messages.join('; '))}`);
  }
  return parts.length > 0 ? `: ${parts.join('; ')}` : '';
}
