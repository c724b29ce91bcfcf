/**
 * Sending JSON the way every route of this API does: serialised once, a strong ETag over the exact
 * bytes, 304 when the client already has them, and the revision the body was computed from.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { HttpError } from './http-error.js';

/** A response body ready to send many times: its bytes and its strong entity tag. */
export interface PreparedBody {
  body: Buffer;
  etag: string;
}

/** Serialise `value` and tag it with the SHA-256 of the bytes (a strong validator). */
export function prepareJson(value: unknown): PreparedBody {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('hex')}"` };
}

/**
 * Whether `If-None-Match` matches `etag`. GET uses the weak comparison (RFC 9110 §13.1.2), so a
 * `W/` prefix the client or a proxy added still matches; `*` matches any current representation.
 */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const wanted = header.trim();
  if (wanted === '*') return true;
  return wanted.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

export interface RevisionHeaders {
  revision: string;
  ledgerRevision: string;
}

/** Send a prepared body for `revision`: 200 with the bytes, or 304 when the client's copy matches. */
export function sendPrepared(
  req: Request,
  res: Response,
  prepared: PreparedBody,
  revision?: RevisionHeaders,
): void {
  if (revision !== undefined) {
    res.setHeader('X-Cavra-Revision', revision.revision);
    if (revision.ledgerRevision !== revision.revision)
      res.setHeader('X-Cavra-Ledger-Revision', revision.ledgerRevision);
  }
  res.setHeader('ETag', prepared.etag);
  // Clients may keep a copy but must revalidate it every time: the tip can move at any moment.
  res.setHeader('Cache-Control', 'no-cache');
  if (matchesIfNoneMatch(req.headers['if-none-match'], prepared.etag)) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', prepared.body.length);
  // Node writes no body for HEAD, but the Content-Length above still tells the size.
  res.status(200).end(prepared.body);
}

/** Send an error as `{error: {code, message}}`. Errors are never cached. */
export function sendError(res: Response, error: HttpError): void {
  if (res.headersSent) return;
  const body = Buffer.from(JSON.stringify(error.toBody()), 'utf8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.status(error.status).end(body);
}
