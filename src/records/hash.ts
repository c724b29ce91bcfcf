/** SHA-256 over canonical JSON: record hashes and deterministic ids (SPEC §4). */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
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
 * Any existing value of the field is ignored, so re-hashing a record is idempotent.
 */
export function withHash<T extends object>(record: Omit<T, never>, field: keyof T & string): T {
  const rest: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  delete rest[field];
  return { ...rest, [field]: hashOf(rest) } as T;
}

/** True when the record's `field` equals the hash of the rest of the record. */
export function hasValidHash(record: object, field: string): boolean {
  const rest: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  const claimed = rest[field];
  delete rest[field];
  return typeof claimed === 'string' && claimed === hashOf(rest);
}
