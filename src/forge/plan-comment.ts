/**
 * One pull-request comment that a CI job keeps up to date: found by a hidden marker among the
 * comments of the pull request (GitHub) or merge request (GitLab), edited when present, created
 * when not. So a pull request carries exactly one plan comment however often it is pushed.
 *
 * REST shapes used:
 * - GitHub: `GET {api}/repos/{owner}/{repo}/issues/{n}/comments?per_page=100&page=P`,
 *   `POST {api}/repos/{owner}/{repo}/issues/{n}/comments`, `PATCH {api}/repos/{owner}/{repo}/issues/comments/{id}`;
 *   `Authorization: Bearer <token>` (the job's GITHUB_TOKEN with `pull-requests: write`).
 * - GitLab: `GET {api}/projects/{id}/merge_requests/{iid}/notes?per_page=100&page=P`,
 *   `POST .../notes`, `PUT .../notes/{note_id}`; `PRIVATE-TOKEN: <token>` (a project or personal
 *   access token with the `api` scope) or `JOB-TOKEN`.
 */
import { EXIT, ExitError, messageOf } from '../errors.js';
import { redactText } from '../redact.js';

export type Forge = 'github' | 'gitlab';

export interface ForgeTarget {
  forge: Forge;
  /** API base: GITHUB_API_URL (`https://api.github.com`) or CI_API_V4_URL (`https://gitlab.example/api/v4`). */
  apiUrl: string;
  /** GitHub `owner/repo`; GitLab project id or full path. */
  project: string;
  /** Pull request number (GitHub) or merge request iid (GitLab). */
  number: number;
  token: string;
  /** GitLab only: how the token is sent (default PRIVATE-TOKEN). */
  tokenHeader?: 'PRIVATE-TOKEN' | 'JOB-TOKEN';
}

export interface UpsertCommentOptions {
  /** Identifies this comment among others; it is written as a hidden HTML comment. Default `plan`. */
  marker?: string;
  fetch?: typeof fetch;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** Waits between attempts on 429/5xx answers (injectable so tests never sleep). */
  delay?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

export interface UpsertCommentResult {
  action: 'created' | 'updated' | 'unchanged';
  id: string;
  /** The comment's web address when the forge returns one. */
  url: string | null;
}

/** Bodies above these lengths are refused by the forge (GitHub: 65,536 characters). */
const MAX_BODY_CHARS: Record<Forge, number> = { github: 65_000, gitlab: 1_000_000 };
const PAGE_SIZE = 100;
/** 100 pages of 100 comments: a pull request with more is not a plan's place anyway. */
const MAX_PAGES = 100;
const MAX_ATTEMPTS = 3;

/** The hidden first line that identifies the comment. */
export function markerLine(marker = 'plan'): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(marker)) {
    throw new ExitError(
      `--marker ${JSON.stringify(marker)} must be letters, digits, dots, dashes or underscores.`,
    );
  }
  return `<!-- cavra-gitops:${marker} -->`;
}

/** The comment body: marker, then the text, cut to what the forge accepts (saying so). */
export function composeCommentBody(forge: Forge, text: string, marker?: string): string {
  const head = `${markerLine(marker)}\n`;
  const limit = MAX_BODY_CHARS[forge] - head.length;
  if (text.length <= limit) return `${head}${text}`;
  const note = `\n\n… cut here: ${text.length - limit + 200} more characters; the job log has the whole plan.\n`;
  return `${head}${text.slice(0, limit - 200)}${note}`;
}

interface Comment {
  id: string;
  body: string;
  url: string | null;
}

interface ForgeApi {
  list(page: number): string;
  create(): string;
  update(id: string): string;
  updateMethod: 'PATCH' | 'PUT';
  headers: Record<string, string>;
  /** Comments from one page of the list answer, without system notes. */
  parse(item: unknown): Comment | null;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function createApi(target: ForgeTarget): ForgeApi {
  const base = target.apiUrl.replace(/\/+$/, '');
  const common = {
    Accept: 'application/json',
    'Content-Type': 'application/json',
    'User-Agent': 'cavra-gitops',
  };
  if (target.forge === 'github') {
    const [owner, repo, extra] = target.project.split('/');
    if (!owner || !repo || extra !== undefined) {
      throw new ExitError(`GITHUB_REPOSITORY ${JSON.stringify(target.project)} must be owner/repo.`);
    }
    const repoPath = `${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
    return {
      list: (page) => `${repoPath}/issues/${target.number}/comments?per_page=${PAGE_SIZE}&page=${page}`,
      create: () => `${repoPath}/issues/${target.number}/comments`,
      update: (id) => `${repoPath}/issues/comments/${encodeURIComponent(id)}`,
      updateMethod: 'PATCH',
      headers: {
        ...common,
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        Authorization: `Bearer ${target.token}`,
      },
      parse(item) {
        const record = asRecord(item);
        if (record === null || (typeof record.id !== 'number' && typeof record.id !== 'string')) return null;
        return {
          id: String(record.id),
          body: typeof record.body === 'string' ? record.body : '',
          url: typeof record.html_url === 'string' ? record.html_url : null,
        };
      },
    };
  }
  const notes = `${base}/projects/${encodeURIComponent(target.project)}/merge_requests/${target.number}/notes`;
  return {
    list: (page) => `${notes}?per_page=${PAGE_SIZE}&page=${page}&sort=asc&order_by=created_at`,
    create: () => notes,
    update: (id) => `${notes}/${encodeURIComponent(id)}`,
    updateMethod: 'PUT',
    headers: { ...common, [target.tokenHeader ?? 'PRIVATE-TOKEN']: target.token },
    parse(item) {
      const record = asRecord(item);
      if (record === null || record.system === true) return null;
      if (typeof record.id !== 'number' && typeof record.id !== 'string') return null;
      return { id: String(record.id), body: typeof record.body === 'string' ? record.body : '', url: null };
    },
  };
}

/** What to tell the operator for a refused request: the fix depends on the status. */
function describeRefusal(target: ForgeTarget, status: number, detail: string): string {
  const where =
    target.forge === 'github' ? `pull request #${target.number}` : `merge request !${target.number}`;
  const hint =
    status === 401
      ? target.forge === 'github'
        ? 'pass the job token as GITHUB_TOKEN'
        : 'set GITLAB_TOKEN to a project access token with the api scope'
      : status === 403
        ? target.forge === 'github'
          ? 'give the workflow `permissions: pull-requests: write` (pull requests from forks get a read-only token)'
          : 'give the token the api scope and at least the Reporter role'
        : status === 404
          ? 'check the repository, the pull request number and that the token can see them'
          : 'try again later';
  return `The ${target.forge === 'github' ? 'GitHub' : 'GitLab'} API refused the comment on ${where} (HTTP ${status}${detail ? `: ${detail}` : ''}); ${hint}.`;
}

async function readDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const message = asRecord(JSON.parse(text))?.message;
    if (typeof message === 'string') return message.slice(0, 200);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * Create or update the marked comment on the pull request; returns what was done. Refusals
 * (401/403/404/422) are usage errors (exit 2) saying how to fix them; network failures and
 * repeated 429/5xx answers are infrastructure errors (exit 3). The token never appears in errors.
 */
export async function upsertPlanComment(
  target: ForgeTarget,
  text: string,
  options: UpsertCommentOptions = {},
): Promise<UpsertCommentResult> {
  const api = createApi(target);
  const body = composeCommentBody(target.forge, text, options.marker);
  const marker = markerLine(options.marker);
  const doFetch = options.fetch ?? fetch;
  const delay = options.delay ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const secrets = [target.token];

  const request = async (method: string, url: string, payload?: unknown): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
      if (options.signal) signals.push(options.signal);
      let response: Response;
      try {
        response = await doFetch(url, {
          method,
          headers: api.headers,
          signal: AbortSignal.any(signals),
          ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        });
      } catch (error) {
        throw new ExitError(
          `Could not reach the ${target.forge === 'github' ? 'GitHub' : 'GitLab'} API at ${target.apiUrl}: ${redactText(messageOf(error), secrets)}; check the API URL and the network.`,
          EXIT.infrastructure,
          { cause: error },
        );
      }
      if (response.ok) {
        const answer = await response.text();
        try {
          return answer === '' ? null : (JSON.parse(answer) as unknown);
        } catch {
          throw new ExitError(
            `The ${target.forge} API answered ${method} ${new URL(url).pathname} with a body that is not JSON.`,
            EXIT.infrastructure,
          );
        }
      }
      const retryable = response.status === 429 || response.status >= 500;
      const detail = redactText(await readDetail(response), secrets);
      if (!retryable) throw new ExitError(describeRefusal(target, response.status, detail));
      if (attempt >= MAX_ATTEMPTS) {
        throw new ExitError(describeRefusal(target, response.status, detail), EXIT.infrastructure);
      }
      const retryAfter = Number(response.headers.get('retry-after'));
      await delay(
        Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : attempt * 1000,
      );
    }
  };

  let existing: Comment | null = null;
  for (let page = 1; page <= MAX_PAGES && existing === null; page++) {
    const items = await request('GET', api.list(page));
    if (!Array.isArray(items)) {
      throw new ExitError(
        `The ${target.forge} API answered the comment list with something that is not a list.`,
        EXIT.infrastructure,
      );
    }
    for (const item of items) {
      const comment = api.parse(item);
      if (comment !== null && comment.body.startsWith(marker)) {
        existing = comment;
        break;
      }
    }
    if (items.length < PAGE_SIZE) break;
  }

  if (existing !== null && existing.body === body) {
    return { action: 'unchanged', id: existing.id, url: existing.url };
  }
  const answer =
    existing === null
      ? await request('POST', api.create(), { body })
      : await request(api.updateMethod, api.update(existing.id), { body });
  const saved = api.parse(answer);
  const id = saved?.id ?? existing?.id ?? '';
  return { action: existing === null ? 'created' : 'updated', id, url: saved?.url ?? existing?.url ?? null };
}
