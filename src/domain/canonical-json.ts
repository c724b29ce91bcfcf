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
 * - numbers: ECMAScript's Number-to-String (§3.2.2.3), which is what `JSON.stringify` (and
 *   `String`) does for a finite number (`-0` → `0`); NaN and ±Infinity are errors;
 * - strings: ECMAScript's JSON string escaping (`JSON.stringify`), after rejecting lone surrogates
 *   (I-JSON, RFC 7493 §2.1);
 * - object members sorted by their keys' UTF-16 code units (`Array.prototype.sort`'s default
 *   comparison is exactly that), no whitespace.
 *
 * The same pass writes record files, in their own layout (writeJson, records/layout.ts), so a
 * file is checked as its hash is, without a second walk.
 */
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import { InternalError } from '../errors.js';

// `String.prototype.isWellFormed` (ES2024, Node >= 20) is native and several times faster than
// a lone-surrogate regex; this project's TypeScript lib is ES2023, hence the cast.
const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();

// What JSON.stringify escapes in a well-formed string (`"`, `\\`, U+0000-U+001F), and every
// surrogate: a string with none of them is well-formed and JSON.stringify only puts it in quotes.
// Most strings of a record are such (ids, hashes, times), and JSON.stringify, a call into the
// runtime, costs several times this test.
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const ESCAPED_OR_SURROGATE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)` for well-formed text; InternalError for a lone surrogate. */
function quote(text: string, walk: Walk<unknown>, what: 'string' | 'key'): string {
  if (!ESCAPED_OR_SURROGATE.test(text)) return `"${text}"`;
  if (!isWellFormed(text)) fail(`${what} contains a lone surrogate`, walk);
  return JSON.stringify(text);
}

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
  return writeJson(value, CANONICAL, null);
}

/**
 * How {@link writeJson} lays a value out: which members come in which order, and the whitespace.
 * `Order` is whatever the layout needs to order an object's members (nothing for RFC 8785).
 */
export interface JsonLayout<Order> {
  /** One level of indentation; '' writes no whitespace at all, as RFC 8785 does. */
  readonly indent: string;
  /** The own enumerable keys of `record`, in the order they are written. */
  keys(record: Readonly<Record<string, unknown>>, order: Order): string[];
  /** The order of the value of member `key` (the items of an array take their array's). */
  memberOrder(key: string, order: Order): Order;
}

/** RFC 8785: members sorted by their keys' UTF-16 code units, no whitespace. */
const CANONICAL: JsonLayout<null> = {
  indent: '',
  keys: sortedKeys,
  memberOrder: () => null,
};

function sortedKeys(record: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(record).sort();
}

/**
 * The JSON text of `value` in `layout`: every value written exactly as canonical JSON writes it,
 * and checked the same way (the same InternalErrors), whatever the layout. A text in another
 * layout (a record file, records/layout.ts) needs no canonical pass to be sure it is I-JSON.
 */
export function writeJson<Order>(value: unknown, layout: JsonLayout<Order>, order: Order): string {
  return write(value, order, '', { layout, segments: [], ancestors: [] });
}

/**
 * Where the walk is: the JSON Pointer segments (joined only when reporting an error, because
 * building a pointer per member would cost more than the serialisation) and the open containers.
 */
interface Walk<Order> {
  layout: JsonLayout<Order>;
  segments: (string | number)[];
  ancestors: object[];
}

function write<Order>(value: unknown, order: Order, indent: string, walk: Walk<Order>): string {
  switch (typeof value) {
    case 'string':
      return quote(value, walk, 'string');
    case 'number':
      if (!Number.isFinite(value)) fail(`${String(value)} is not a JSON number`, walk);
      // For a finite number, what JSON.stringify returns, without the call into the runtime.
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return writeObject(value, order, indent, walk);
    default:
      // undefined, bigint, function, symbol: no JSON representation.
      return fail(`${withIndefiniteArticle(typeof value)} has no JSON representation`, walk);
  }
}

function writeObject<Order>(value: object, order: Order, indent: string, walk: Walk<Order>): string {
  if (walk.ancestors.includes(value)) fail('value is cyclic', walk);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return write((toJSON as () => unknown).call(value), order, indent, walk);
  }
  walk.ancestors.push(value);
  const { layout } = walk;
  const inner = indent + layout.indent;
  // What comes before the first item, between two items, and after the last one.
  const pretty = layout.indent !== '';
  const first = pretty ? `\n${inner}` : '';
  const between = pretty ? `,\n${inner}` : ',';
  const last = pretty ? `\n${indent}` : '';
  let text: string;
  if (Array.isArray(value)) {
    text = '[';
    for (let index = 0; index < value.length; index += 1) {
      text += index === 0 ? first : between;
      walk.segments.push(index);
      text += write(value[index], order, inner, walk);
      walk.segments.pop();
    }
    text += value.length === 0 ? ']' : `${last}]`;
  } else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      fail(
        `${withIndefiniteArticle(value.constructor?.name ?? 'non-plain object')} has no JSON representation`,
        walk,
      );
    }
    const record = value as Record<string, unknown>;
    const colon = pretty ? ': ' : ':';
    text = '{';
    let written = 0;
    for (const key of layout.keys(record, order)) {
      const member = record[key];
      if (member === undefined) continue;
      const name = quote(key, walk, 'key');
      text += written === 0 ? first : between;
      written += 1;
      walk.segments.push(key);
      text += `${name}${colon}${write(member, layout.memberOrder(key, order), inner, walk)}`;
      walk.segments.pop();
    }
    text += written === 0 ? '}' : `${last}}`;
  }
  walk.ancestors.pop();
  return text;
}

function fail(reason: string, walk: Walk<unknown>): never {
  const pointer = walk.segments
    .map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('');
  throw new InternalError(
    `canonicalJson: ${reason} at ${pointer === '' ? '/' : pointer}; only I-JSON values (RFC 7493) can be hashed, so fix the code that built this record.`,
  );
}
