/**
 * A real local HTTP server standing in for the comment endpoints of GitHub's and GitLab's REST
 * APIs, with the shapes they document: GitHub issue comments (list with per_page/page, POST to the
 * issue, PATCH by comment id; `Authorization: Bearer`), GitLab merge request notes (list with
 * per_page/page, POST, PUT by note id; `PRIVATE-TOKEN` or `JOB-TOKEN`; system notes included in
 * lists). Comments live in memory; every request is recorded. Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForgeComment {
  id: number;
  body: string;
  system?: boolean;
}

export interface ForgeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeForge {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** GITHUB_API_URL for this server. */
  githubApiUrl: string;
  /** CI_API_V4_URL for this server. */
  gitlabApiUrl: string;
  requests: ForgeRequest[];
  /** Comments by thread: `github:owner/repo#N` or `gitlab:PROJECT!IID`. */
  threads: Map<string, ForgeComment[]>;
  /** Answer the next `count` requests with this status before serving normally (e.g. 503). */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

export interface FakeForgeOptions {
  /** The only token accepted (401 otherwise). */
  token: string;
}

export async function startFakeForge(options: FakeForgeOptions): Promise<FakeForge> {
  const requests: ForgeRequest[] = [];
  const threads = new Map<string, ForgeComment[]>();
  let nextId = 1000;
  let failures: { status: number; left: number } | null = null;
  const send = (res: ServerResponse, status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const thread = (key: string): ForgeComment[] => {
    let list = threads.get(key);
    if (!list) threads.set(key, (list = []));
    return list;
  };
  const page = (list: ForgeComment[], query: URLSearchParams): ForgeComment[] => {
    const perPage = Number(query.get('per_page') ?? 30);
    const number = Number(query.get('page') ?? 1);
    return list.slice((number - 1) * perPage, number * perPage);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });
    if (failures && failures.left > 0) {
      failures.left--;
      send(res, failures.status, { message: 'try again' });
      return;
    }
    const github = /^\/github\/repos\/([^/]+)\/([^/]+)\/issues\/(?:(\d+)\/comments|comments\/(\d+))$/.exec(
      url.pathname,
    );
    if (github) {
      if (req.headers.authorization !== `Bearer ${options.token}`)
        return send(res, 401, { message: 'Bad credentials' });
      const [, owner, repo, issue, commentId] = github;
      const html = (id: number): string =>
        `https://github.example/${owner}/${repo}/pull/${issue ?? 0}#issuecomment-${id}`;
      if (issue !== undefined) {
        const list = thread(`github:${owner}/${repo}#${issue}`);
        if (req.method === 'GET')
          return send(
            res,
            200,
            page(list, url.searchParams).map((c) => ({ ...c, html_url: html(c.id) })),
          );
        if (req.method === 'POST') {
          const comment = { id: nextId++, body: (JSON.parse(body) as { body: string }).body };
          list.push(comment);
          return send(res, 201, { ...comment, html_url: html(comment.id) });
        }
      } else if (req.method === 'PATCH') {
        for (const list of threads.values()) {
          const comment = list.find((c) => String(c.id) === commentId);
          if (comment) {
            comment.body = (JSON.parse(body) as { body: string }).body;
            return send(res, 200, { ...comment, html_url: html(comment.id) });
          }
        }
        return send(res, 404, { message: 'Not Found' });
      }
      return send(res, 404, { message: 'Not Found' });
    }
    const gitlab = /^\/gitlab\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(
      url.pathname,
    );
    if (gitlab) {
      const token = req.headers['private-token'] ?? req.headers['job-token'];
      if (token !== options.token) return send(res, 401, { message: '401 Unauthorized' });
      const [, project, iid, noteId] = gitlab;
      const list = thread(`gitlab:${decodeURIComponent(project!)}!${iid}`);
      if (noteId === undefined && req.method === 'GET') return send(res, 200, page(list, url.searchParams));
      if (noteId === undefined && req.method === 'POST') {
        const note = { id: nextId++, body: (JSON.parse(body) as { body: string }).body, system: false };
        list.push(note);
        return send(res, 201, note);
      }
      if (noteId !== undefined && req.method === 'PUT') {
        const note = list.find((c) => String(c.id) === noteId);
        if (!note) return send(res, 404, { message: '404 Not found' });
        note.body = (JSON.parse(body) as { body: string }).body;
        return send(res, 200, note);
      }
      return send(res, 405, { message: 'Method not allowed' });
    }
    send(res, 404, { message: 'Not Found' });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    githubApiUrl: `${origin}/github`,
    gitlabApiUrl: `${origin}/gitlab/api/v4`,
    requests,
    threads,
    failNext(status, count = 1) {
      failures = { status, left: count };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
