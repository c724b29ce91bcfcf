/**
 * Listening: an http.Server around the app with timeouts that bound slow clients, bound to
 * 127.0.0.1 unless told otherwise, and a close that lets in-flight requests finish.
 *
 * Two kinds of request never reach express: CONNECT (Node hands it to the server's 'connect'
 * event, and closes the socket when nobody listens) and methods Node's parser does not know
 * (a 'clientError'). Both are answered here, as 405 with `Allow: GET, HEAD` like every other
 * method the read-only API refuses, instead of a closed socket or a bare 400.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { HttpError } from './http-error.js';
import { ALLOWED_METHODS, describeMethodNotAllowed } from './method-not-allowed.js';

export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1: exposing the API is an explicit choice). */
  host?: string;
  /** Port; 0 picks a free one (tests). */
  port: number;
  /** Whole-request limit in ms (default 30 s). */
  requestTimeoutMs?: number;
  /** Time to receive the request headers in ms (default 10 s). */
  headersTimeoutMs?: number;
  /** Idle keep-alive connection lifetime in ms (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** How long close() waits for in-flight requests before cutting connections (default 5 s). */
  closeGraceMs?: number;
}

export interface RunningServer {
  /** `http://host:port` (IPv6 hosts in brackets). */
  url: string;
  server: Server;
  /** Stop accepting, let in-flight requests finish (bounded), then resolve. */
  close(): Promise<void>;
}

/** Listen with `app`; resolves once the port is bound, rejects if it cannot be (e.g. EADDRINUSE). */
export function startServer(app: Express, options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(
    {
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // Headers carry no payload in this API; a small limit bounds what a client can make us parse.
      maxHeaderSize: 16 * 1024,
    },
    app,
  );
  // Node checks the timeouts on this interval; keep it well below the request timeout.
  server.timeout = 0;
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    writeRawError(socket, methodNotAllowed(req.method ?? 'CONNECT'));
  });
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    // A client that reset the connection is gone: there is nobody to answer.
    if (error.code === 'ECONNRESET') socket.destroy();
    else writeRawError(socket, toClientError(error));
  });
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${shownHost}:${address.port}`,
        server,
        close: () => closeGracefully(server, options.closeGraceMs ?? 5_000),
      });
    });
  });
}

/** How long a socket answered outside express may stay half-open for the client to close it. */
const RAW_ERROR_GRACE_MS = 5_000;

/** A 405 for a method the API refuses, as the express handler words it. */
function methodNotAllowed(method: string): HttpError {
  return new HttpError(405, 'method_not_allowed', describeMethodNotAllowed(method));
}

/** The first token of a raw request line (the method), if it looks like one. */
function methodOfPacket(packet: Buffer | undefined): string | null {
  const match = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}(?= )/.exec(packet?.toString('latin1', 0, 64) ?? '');
  return match ? match[0] : null;
}

/** What Node would answer a request it could not parse, except that an unknown method is a 405. */
function toClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): HttpError {
  switch (error.code) {
    case 'HPE_INVALID_METHOD':
      return methodNotAllowed(methodOfPacket(error.rawPacket) ?? 'This method');
    case 'HPE_HEADER_OVERFLOW':
      return new HttpError(431, 'headers_too_large', 'The request headers are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpError(408, 'request_timeout', 'The request took too long to arrive.');
    default:
      return new HttpError(400, 'bad_request', 'The request could not be parsed as HTTP/1.1.');
  }
}

/**
 * Answer on a socket express never saw, then close it: the same JSON error body and the headers
 * that matter for an error (no caching, no sniffing), and `Connection: close` since whatever the
 * client sends next on this socket is not HTTP we can parse.
 */
function writeRawError(socket: Duplex, error: HttpError): void {
  const writable =
    socket.writable &&
    !(socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (!writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(error.toBody()), 'utf8');
  const headers = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    ...(error.status === 405 ? [`Allow: ${ALLOWED_METHODS}`] : []),
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${body.length}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    'Connection: close',
  ];
  // Whatever else the client sends is discarded (unread input would make close() send a reset,
  // which can make the client drop the answer); end() sends the answer and half-closes, and a
  // client that never closes its side loses the socket after a short grace.
  socket.resume();
  socket.end(Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  const timer = setTimeout(() => socket.destroy(), RAW_ERROR_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Idle keep-alive sockets would hold close() open until their timeout; in-flight ones finish.
    server.closeIdleConnections();
  });
}
