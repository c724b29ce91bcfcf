/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation.
 *
 * A single strict pass instead of the `canonicalize` package alone, because the package accepts
 * values RFC 8785 cannot represent and silently turns them into something else: a function or
 * symbol member becomes `"key":undefined` (not JSON), a Map or Set becomes `{}`, a lone surrogate
 * becomes a `\udxxx` escape, a cycle overflows the stack. A hash over such text would be a hash of
 * the wrong thing, so every one of those is an InternalError here. The package remains the
 * reference the tests compare against for every representable value.
 *
 * What RFC 8785 requires, and how this meets it:
 * - numbers: ECMAScript's Number-to-String (§3.2.2.3), which is what `JSON.stringify` does for a
 *   finite number (`-0` → `0`); NaN and ±Infinity are errors;
 * - strings: ECMAScript's JSON string escaping (`JSON.stringify`), after rejecting lone surrogates
 *   (I-JSON, RFC 7493 §2.1);
 * - object members sorted by their keys' UTF-16 code units (`Array.prototype.sort`'s default
 *   comparison is exactly that), no whitespace.
 */
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import { InternalError } from '../errors.js';

// `String.prototype.isWellFormed` (ES2024, Node >= 20) is native and several times faster than
// a lone-surrogate regex; this project's TypeScript lib is ES2023, hence the cast.
const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Canonical JSON text of `value` (RFC 8785).
 *
 * Object members whose value is `undefined` are omitted (as `JSON.stringify` does, so optional
 * fields may be absent or undefined alike); objects with a `toJSON` method (Date) are serialised
 * through it. Throws InternalError, naming the JSON Pointer of the offending value, for NaN,
 * ±Infinity, lone surrogates in strings or keys, bigint, functions, symbols, `undefined` inside
 * arrays or at the top, non-plain objects (Map, Set, class instances) and cycles.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, { segments: [], ancestors: [] });
}

/**
 * Where the walk is: the JSON Pointer segments (joined only when reporting an error, because
 * building a pointer per member would cost more than the serialisation) and the open containers.
 */
interface Walk {
  segments: (string | number)[];
  ancestors: object[];
}

function serialize(value: unknown, walk: Walk): string {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) fail('string contains a lone surrogate', walk);
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) fail(`${String(value)} is not a JSON number`, walk);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return serializeObject(value, walk);
    default:
      // undefined, bigint, function, symbol: no JSON representation.
      return fail(`${withIndefiniteArticle(typeof value)} has no JSON representation`, walk);
  }
}

function serializeObject(value: object, walk: Walk): string {
  if (walk.ancestors.includes(value)) fail('value is cyclic', walk);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return serialize((toJSON as () => unknown).call(value), walk);
  }
  walk.ancestors.push(value);
  let text: string;
  if (Array.isArray(value)) {
    text = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) text += ',';
      walk.segments.push(index);
      text += serialize(value[index], walk);
      walk.segments.pop();
    }
    text += ']';
  } else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      fail(
        `${withIndefiniteArticle(value.constructor?.name ?? 'non-plain object')} has no JSON representation`,
        walk,
      );
    }
    const record = value as Record<string, unknown>;
    text = '{';
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      if (!isWellFormed(key)) fail('key contains a lone surrogate', walk);
      if (text.length > 1) text += ',';
      walk.segments.push(key);
      text += `${JSON.stringify(key)}:${serialize(member, walk)}`;
      walk.segments.pop();
    }
    text += '}';
  }
  walk.ancestors.pop();
  return text;
}

function fail(reason: string, walk: Walk): never {
  const pointer = walk.segments
    .map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('');
  throw new InternalError(
    `canonicalJson: ${reason} at ${pointer === '' ? '/' : pointer}; only I-JSON values (RFC 7493) can be hashed, so fix the code that built this record.`,
  );
}
