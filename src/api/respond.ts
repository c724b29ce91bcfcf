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

/** Characters of JSON text gathered before they are encoded into a chunk of the body. */
const CHUNK_CHARS = 1 << 20;
/**
 * Levels of plain objects and arrays serialised piece by piece (below them, each value goes to
 * `JSON.stringify` whole): a list answer's rows or a plan's decisions are level 2.
 */
const SPLIT_DEPTH = 2;

/** A plain object or array without `toJSON`, whose pieces `JSON.stringify` would join as they are. */
function isSplittable(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  const plain = Array.isArray(value)
    ? prototype === Array.prototype
    : prototype === Object.prototype || prototype === null;
  return plain && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/** Write `value` as `JSON.stringify` would; false when it has no JSON text (undefined, a function). */
function writeJson(value: unknown, depth: number, write: (text: string) => void): boolean {
  if (depth >= SPLIT_DEPTH || !isSplittable(value)) {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) return false;
    write(text);
    return true;
  }
  if (Array.isArray(value)) {
    write('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) write(',');
      if (!writeJson(value[i], depth + 1, write)) write('null');
    }
    write(']');
    return true;
  }
  write('{');
  let first = true;
  for (const key of Object.keys(value)) {
    const item = value[key];
    // What JSON.stringify leaves out of an object; a toJSON answering undefined is left to the leaf.
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    const text =
      depth + 1 >= SPLIT_DEPTH || !isSplittable(item) ? (JSON.stringify(item) as string | undefined) : '';
    if (text === undefined) continue;
    write(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
    first = false;
    if (text === '') writeJson(item, depth + 1, write);
    else write(text);
  }
  write('}');
  return true;
}

/**
 * Serialise `value` (the bytes of `JSON.stringify(value)`) and tag it with the SHA-256 of the
 * bytes (a strong validator). The text is encoded and hashed a megabyte at a time, so an 80 MB
 * answer (the retry plan of 100,000 records, whose arrows make it a two-byte string) is never one
 * 160 MB string on the heap beside its bytes.
 */
export function prepareJson(value: unknown): PreparedBody {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let pending: string[] = [];
  let pendingChars = 0;
  const flush = (): void => {
    const chunk = Buffer.from(pending.join(''), 'utf8');
    hash.update(chunk);
    chunks.push(chunk);
    pending = [];
    pendingChars = 0;
  };
  const written = writeJson(value, 0, (text) => {
    pending.push(text);
    pendingChars += text.length;
    if (pendingChars >= CHUNK_CHARS) flush();
  });
  if (!written) throw new TypeError('A response body must be a JSON value.');
  flush();
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return { body, etag: `"${hash.digest('hex')}"` };
}

/**
 * Whether `If-None-Match` matches `etag`. GET uses the weak comparison (RFC 9110 §13.1.2), so a
 * `W/` prefix the client or a proxy added still matches; `*` matches any current representation.
 */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
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
