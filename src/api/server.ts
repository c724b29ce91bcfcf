/**
 * Listening: an http.Server around the app with timeouts that bound slow clients, bound to
 * 127.0.0.1 unless told otherwise, and a close that lets in-flight requests finish.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

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
