/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation. The `canonicalize` package (by the RFC's
 * author) does the ordering and number formatting; we add the I-JSON checks the RFC requires and
 * the package does not make: no lone surrogates in strings or keys, no non-finite numbers anywhere.
 */
import { createRequire } from 'node:module';
import { InternalError } from '../errors.js';

// The package is CommonJS with `module.exports = fn` but types it as an ES default export, which
// NodeNext resolves to `.default`; require gives the function itself.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Canonical JSON text of `value`; throws InternalError for values RFC 8785 cannot represent. */
export function canonicalJson(value: unknown): string {
  assertIJson(value, '');
  const text = canonicalize(value);
  if (text === undefined) throw new InternalError('canonicalJson: value has no JSON representation');
  return text;
}

function assertIJson(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InternalError(`canonicalJson: non-finite number at ${path || '/'}`);
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new InternalError(`canonicalJson: lone surrogate at ${path || '/'}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertIJson(item, `${path}/${index}`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) throw new InternalError(`canonicalJson: lone surrogate in a key at ${path || '/'}`);
      assertIJson(item, `${path}/${key}`);
    }
  }
}
