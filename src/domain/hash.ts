/** SHA-256 over RFC 8785 canonical JSON: record hashes and deterministic ids (docs/reference.md §4). */
import { createHash, hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  // `crypto.hash` (Node >= 20.12) is the one-shot fast path; createHash covers older runtimes.
  return typeof hash === 'function'
    ? hash('sha256', text, 'hex')
    : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SHA-256 (hex) of the RFC 8785 canonical form of `value`. */
export function hashOf(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** `prefix` followed by the first 16 hex chars of `hashOf(value)`, e.g. `gordackretryexec-0123…`. */
export function makeId(prefix: string, value: unknown): string {
  return `${prefix}${hashOf(value).slice(0, 16)}`;
}

/**
 * The record with its `*_hash` field set to the hash of the whole record except that field.
 * Any value already in the field is ignored, so re-hashing a record is idempotent. Name both type
 * arguments (`withHash<ExecutionRecord, 'execution_hash'>(rest, 'execution_hash')`): TypeScript
 * cannot infer `T` from `Omit<T, K>`.
 */
export function withHash<T extends object, K extends keyof T & string = keyof T & string>(
  record: Omit<T, K>,
  field: K,
): T {
  const rest: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  delete rest[field];
  return { ...rest, [field]: hashOf(rest) } as T;
}

/** True when the record's `field` is a string equal to the hash of the rest of the record. */
export function hasValidHash(record: object, field: string): boolean {
  const rest: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  const claimed = rest[field];
  delete rest[field];
  return typeof claimed === 'string' && claimed === hashOf(rest);
}
