/**
 * A real local HTTP server standing in for providers in tests. It records every request (method,
 * path with query, headers, raw body) and answers on cue: success, a status with body and headers
 * (e.g. 429 + Retry-After, 5xx, 4xx), hang (the client's timeout fires), or a closed socket.
 *
 * Replies are chosen in this order: a queued one-shot reply for the request's path, then a custom
 * handler, then the path's standing reply, then the default (200 with `{"ok":true}`).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path including the query string, as sent. */
  url: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The body as UTF-8 text. */
  body: string;
}

export type ReceiverReply =
  | { kind: 'respond'; status: number; body?: string; headers?: Record<string, string> }
  /** Never answer (until the server closes): for client timeouts. */
  | { kind: 'hang' }
  /** Destroy the socket without an answer: for connection resets. */
  | { kind: 'close' }
  /** Another reply, given after `ms` (calls that take uneven time). */
  | { kind: 'delay'; ms: number; then: ReceiverReply };

/** Reply builders, so tests read like the scenario they describe. */
export const reply = {
  ok(
    body = '{"ok":true}',
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): ReceiverReply {
    return { kind: 'respond', status: 200, body, headers };
  },
  status(status: number, body = '', headers: Record<string, string> = {}): ReceiverReply {
    return { kind: 'respond', status, body, headers };
  },
  json(status: number, value: unknown, headers: Record<string, string> = {}): ReceiverReply {
    return {
      kind: 'respond',
      status,
      body: JSON.stringify(value),
      headers: { 'content-type': 'application/json', ...headers },
    };
  },
  /** 429 with `Retry-After: <seconds>`. */
  tooManyRequests(retryAfterSeconds: number | string, body = 'rate limited'): ReceiverReply {
    return { kind: 'respond', status: 429, body, headers: { 'retry-after': String(retryAfterSeconds) } };
  },
  hang(): ReceiverReply {
    return { kind: 'hang' };
  },
  close(): ReceiverReply {
    return { kind: 'close' };
  },
  delay(ms: number, then: ReceiverReply): ReceiverReply {
    return { kind: 'delay', ms, then };
  },
};

export type ReceiverHandler = (request: RecordedRequest) => ReceiverReply | undefined;

export interface HttpReceiver {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests whose path (without query) equals `path`. */
  requestsTo(path: string): RecordedRequest[];
  /** Queue one-shot replies for `path` ('*' for any path), used in order before anything else. */
  enqueue(path: string, ...replies: ReceiverReply[]): void;
  /** The standing reply for `path` ('*' for any path) once its queue is empty. */
  respond(path: string, reply: ReceiverReply): void;
  /** A custom handler consulted after queued replies; return undefined to fall through. */
  handle(handler: ReceiverHandler): void;
  /** How many requests carried each value of the header (e.g. `webhook-id`). */
  countByHeader(header: string): Map<string, number>;
  /** Forget recorded requests, queues and replies. */
  reset(): void;
  /** Close the server and destroy open sockets (hanging requests included). */
  close(): Promise<void>;
}

/** Start a receiver on 127.0.0.1 with an ephemeral port. */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: RecordedRequest[] = [];
  const queues = new Map<string, ReceiverReply[]>();
  const standing = new Map<string, ReceiverReply>();
  let handler: ReceiverHandler | undefined;
  const sockets = new Set<Socket>();

  const choose = (request: RecordedRequest): ReceiverReply => {
    for (const key of [request.path, '*']) {
      const queued = queues.get(key)?.shift();
      if (queued) return queued;
    }
    const handled = handler?.(request);
    if (handled) return handled;
    return standing.get(request.path) ?? standing.get('*') ?? reply.ok();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const url = req.url ?? '/';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url,
        path: url.split('?')[0] ?? url,
        headers: req.headers,
        rawBody,
        body: rawBody.toString('utf8'),
      };
      requests.push(recorded);
      const answer = (chosen: ReceiverReply): void => {
        if (chosen.kind === 'hang') return;
        if (chosen.kind === 'delay') {
          setTimeout(() => answer(chosen.then), chosen.ms);
          return;
        }
        if (chosen.kind === 'close') {
          req.socket.destroy();
          return;
        }
        res.writeHead(chosen.status, chosen.headers ?? {});
        res.end(chosen.body ?? '');
      };
      answer(choose(recorded));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((request) => request.path === path),
    enqueue(path, ...replies) {
      queues.set(path, [...(queues.get(path) ?? []), ...replies]);
    },
    respond(path, chosen) {
      standing.set(path, chosen);
    },
    handle(next) {
      handler = next;
    },
    countByHeader(header) {
      const counts = new Map<string, number>();
      for (const request of requests) {
        const value = request.headers[header.toLowerCase()];
        if (typeof value === 'string') counts.set(value, (counts.get(value) ?? 0) + 1);
      }
      return counts;
    },
    reset() {
      requests.length = 0;
      queues.clear();
      standing.clear();
      handler = undefined;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A local URL on which nothing listens (for connection-refused tests). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
