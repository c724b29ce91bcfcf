/**
 * Query strings, parsed with bounds and checked against what each route accepts. Express's own
 * parser is switched off: it builds nested objects and arrays from client input, while every
 * parameter of this API is one flat string.
 */
import { HttpError } from './http-error.js';

/** Longest query string accepted, in characters (every legitimate one is far shorter). */
const MAX_QUERY_LENGTH = 2048;
/** Most parameters accepted in one query string. */
const MAX_QUERY_PARAMS = 16;

/** One value per name. */
export type QueryParams = Readonly<Record<string, string>>;

/**
 * Parse the query string of a request URL and check it: only `allowed` names, each at most once,
 * within the size bounds. Unknown names are a 400 rather than ignored, so a typo such as
 * `recovery_slo_minute=30` fails loudly instead of silently answering with the default.
 */
export function parseQuery(url: string, allowed: readonly string[]): QueryParams {
  const mark = url.indexOf('?');
  if (mark === -1) return {};
  const raw = url.slice(mark + 1);
  if (raw.length > MAX_QUERY_LENGTH) {
    throw new HttpError(
      400,
      'query_too_long',
      `The query string has ${raw.length} characters; at most ${MAX_QUERY_LENGTH} are accepted.`,
    );
  }
  const search = new URLSearchParams(raw);
  if ([...search.keys()].length > MAX_QUERY_PARAMS) {
    throw new HttpError(
      400,
      'too_many_parameters',
      `At most ${MAX_QUERY_PARAMS} query parameters are accepted.`,
    );
  }
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of search) {
    if (!allowed.includes(name)) {
      const accepted =
        allowed.length === 0 ? 'this route takes no query parameters' : `accepted: ${allowed.join(', ')}`;
      throw new HttpError(
        400,
        'unknown_parameter',
        `Unknown query parameter "${name.slice(0, 60)}"; ${accepted}.`,
      );
    }
    if (Object.hasOwn(params, name)) {
      throw new HttpError(
        400,
        'repeated_parameter',
        `Query parameter "${name}" is given more than once; give it once.`,
      );
    }
    params[name] = value;
  }
  return params;
}

/** An integer parameter within [min, max], or `fallback` when absent. */
export function readIntegerParam(
  params: QueryParams,
  name: string,
  range: { min: number; max: number; fallback: number },
): number {
  const raw = params[name];
  if (raw === undefined) return range.fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < range.min || Number(raw) > range.max) {
    throw new HttpError(
      400,
      'invalid_parameter',
      `${name}=${JSON.stringify(raw.slice(0, 40))} is not valid; use a whole number from ${range.min} to ${range.max}.`,
    );
  }
  return Number(raw);
}

/** A free-text parameter (an id or a name): 1..200 printable characters, or undefined when absent. */
export function readTextParam(params: QueryParams, name: string): string | undefined {
  const raw = params[name];
  if (raw === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (raw.length === 0 || raw.length > 200 || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw new HttpError(400, 'invalid_parameter', `${name} must be 1 to 200 printable characters.`);
  }
  return raw;
}

/** One of `values`, or undefined when absent. */
export function readEnumParam<T extends string>(
  params: QueryParams,
  name: string,
  values: readonly T[],
): T | undefined {
  const raw = params[name];
  if (raw === undefined) return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    throw new HttpError(
      400,
      'invalid_parameter',
      `${name}=${JSON.stringify(raw.slice(0, 40))} is not valid; use one of ${values.join(', ')}.`,
    );
  }
  return raw as T;
}
