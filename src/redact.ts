/**
 * Redaction used by every layer before anything reaches a log, an error, a record or the API.
 * URLs lose their userinfo, query string and fragment (tokens travel there, e.g. Slack/Teams
 * webhook paths are secret too, so known webhook hosts lose their path); known secret values
 * (env var contents the process read) are replaced wherever they appear.
 *
 * "Wherever" includes the forms a server echoes them in: percent-encoded (either hex case, every
 * byte or only reserved ones, more than once), JSON- or JS-escaped (`\/`, `\u002f`, `\x2f`), as
 * HTML entities, and in any letter case. Text is matched through a canonical view — escapes
 * decoded, letters lower-cased — that remembers where each of its characters came from, so what is
 * replaced is exactly the original span, however it was written.
 */

/** A URL in free text, its `://` also when escaped (`:\/\/`, `%3A%2F%2F`, `:\u002f\u002f`). */
export const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*(?::|%3a|\\u003a)(?:\/|\\\/|%2f|\\u002f){2}[^\s"'<>]+/gi;

const REDACTED = '[redacted]';

/** Hosts whose URL path itself is the credential. */
const SECRET_PATH_HOSTS = [
  /(^|\.)hooks\.slack\.com$/i,
  /(^|\.)webhook\.office\.com$/i,
  /(^|\.)logic\.azure\.com$/i,
];

/** Shorter secrets are ignored: they would shred ordinary text. */
const MIN_SECRET_LENGTH = 4;

/** Decoding passes over text: enough for a value encoded twice and then JSON-escaped. */
const MAX_DECODE_PASSES = 4;

/** A URL with credentials, query and fragment removed; hosts whose path is a secret keep only the origin. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[redacted-url]';
  }
  const userinfo = url.username || url.password ? `${REDACTED}@` : '';
  const secretPath = SECRET_PATH_HOSTS.some((pattern) => pattern.test(url.hostname));
  const path = secretPath ? `/${REDACTED}` : url.pathname;
  const query = url.search ? `?${REDACTED}` : '';
  return `${url.protocol}//${userinfo}${url.host}${path === '/' ? '' : path}${query}`;
}

/**
 * Redact every occurrence of the given secret values, in any of the encodings and letter cases
 * above, then every URL inside the text. Values shorter than 4 characters (after decoding) are
 * ignored.
 */
export function redactText(text: string, secrets: Iterable<string | undefined> = []): string {
  const needles = canonicalSecrets(secrets);
  return redactUrls(needles.length === 0 ? text : replaceSecrets(text, needles));
}

/**
 * Every URL inside `text` through redactUrl, an escaped one dropped whole: redactText given no
 * secrets. The secret scan of records (domain/record-controls.ts) calls it on every string.
 */
export function redactUrls(text: string): string {
  if (!mayHoldUrl(text)) return text;
  // An escaped URL (`https:\/\/…`, `https%3A%2F%2F…`) is dropped whole: parsed as it is, its
  // escapes would turn into a host and path that still carry what was encoded in them.
  return text.replace(URL_IN_TEXT, (match) => {
    if (!PLAIN_URL_START.test(match)) return '[redacted-url]';
    return isBareOpaqueUrl(match) ? match : redactUrl(match);
  });
}

const PLAIN_URL_START = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * False when `text` holds no URL_IN_TEXT match, so that redactUrls would return it as it is:
 * every match has a `:`, or the `%` of `%3a` or the `\` of `\u003a` (in any case). Most text
 * redaction sees has none of them (ids, hashes, names: most of a record's strings), and this test
 * costs a fraction of the pattern's. A property test holds it against the pattern.
 */
export function mayHoldUrl(text: string): boolean {
  return URL_MARKS.test(text);
}

const URL_MARKS = /[:%\\]/;

/**
 * True for a URL that redactUrl returns as it is, known without parsing it (parsing costs more
 * than the rest of a record's secret scan): a scheme that is not special in WHATWG's sense (the
 * parser rewrites their hosts: case, IPv4 numbers, IDNA), `//`, and a host of lower-case letters,
 * digits, dots and dashes, which a non-special URL keeps as written (an opaque host); no
 * userinfo, port, path, query or fragment, and not a host whose path is secret. CAVRA's evidence
 * URIs are such URLs, four in every execution record. A property test holds this against redactUrl.
 */
export function isBareOpaqueUrl(url: string): boolean {
  const match = BARE_OPAQUE_URL.exec(url);
  if (match === null || SPECIAL_SCHEMES.has(match[1]!)) return false;
  const host = match[2]!;
  return !SECRET_PATH_HOSTS.some((pattern) => pattern.test(host));
}

const BARE_OPAQUE_URL = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9.-]+)$/;
const SPECIAL_SCHEMES: ReadonlySet<string> = new Set(['ftp', 'file', 'http', 'https', 'ws', 'wss']);

/**
 * The pieces of a secret value that are secret on their own, for redaction: the value, and for a
 * URL its href, userinfo (and the Basic credentials made of it), query values, fragment, path and
 * every path segment that looks like a token (Slack and Teams paths are the credential, and a
 * receiver may echo one segment alone); for a `whsec_` secret its base64 body and, when it is
 * text, the key itself. A bare origin (`https://api.datadoghq.eu`) is public: nothing.
 */
export function expandSecret(value: string): string[] {
  const pieces = [value, value.trim()];
  if (value.startsWith('whsec_')) {
    const body = value.slice('whsec_'.length).trim();
    pieces.push(body);
    const key = Buffer.from(body, 'base64').toString('utf8');
    // eslint-disable-next-line no-control-regex -- a key that is not printable text cannot be echoed as text
    if (!/[\u0000-\u001f\u007f\ufffd]/.test(key)) pieces.push(key);
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return unique(pieces);
  }
  if (!url.username && !url.password && !url.search && !url.hash && url.pathname === '/') return [];
  pieces.push(url.href);
  const user = safeDecode(url.username);
  const password = safeDecode(url.password);
  if (url.username) pieces.push(url.username, user);
  if (url.password) pieces.push(url.password, password);
  if (url.username || url.password) {
    // How the credentials travel once moved into an Authorization header.
    pieces.push(`${user}:${password}`, Buffer.from(`${user}:${password}`).toString('base64'));
  }
  for (const param of url.searchParams.values()) pieces.push(param);
  if (url.search) pieces.push(url.search.slice(1));
  if (url.hash) pieces.push(url.hash.slice(1));
  if (url.pathname.length > 1) {
    pieces.push(url.pathname, safeDecode(url.pathname));
    for (const segment of url.pathname.split('/')) {
      const decoded = safeDecode(segment);
      if (looksLikeToken(decoded)) pieces.push(decoded);
    }
  }
  return unique(pieces);
}

/**
 * A path segment that may be a credential by itself: long, or mixing in digits (`T0123ABCD`,
 * GUIDs, random tokens). Plain words (`services`, `collector`, `hook`) are not, or every error
 * that names them would be shredded.
 */
function looksLikeToken(segment: string): boolean {
  return segment.length >= 16 || (segment.length >= 8 && /\d/.test(segment) && /[a-z]/i.test(segment));
}

function unique(pieces: string[]): string[] {
  return [...new Set(pieces)].filter((piece) => piece.length >= MIN_SECRET_LENGTH);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// The canonical view: escapes decoded, lower case, with a map back to the original text
// ---------------------------------------------------------------------------------------------

/** `text[i]` of a canonical view came from `source.slice(starts[i], ends[i])`. */
interface CanonicalText {
  text: string;
  starts: number[];
  ends: number[];
}

const secretCache = new Map<string, string[]>();
const SECRET_CACHE_LIMIT = 4096;

/**
 * What the secrets are searched as, longest first, without duplicates or too-short ones: each
 * decoding pass of each, and their usual encodings as written (percent-encoded, every byte
 * percent-encoded, JSON- and `\u`-escaped). The encoded forms are searched in the view that
 * decodes nothing, which matters when the text just before an encoded secret ends in half an
 * escape (`%0` + `a%22…`): decoding would join the two and hide the secret's first character.
 */
function canonicalSecrets(secrets: Iterable<string | undefined>): string[] {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    let forms = secretCache.get(secret);
    if (forms === undefined) {
      forms = [...new Set([...canonicalViews(secret).map((view) => view.text), ...encodedForms(secret)])];
      if (secretCache.size >= SECRET_CACHE_LIMIT) secretCache.clear();
      secretCache.set(secret, forms);
    }
    for (const form of forms) if (form.length >= MIN_SECRET_LENGTH) needles.add(form);
  }
  return [...needles].sort((a, b) => b.length - a.length);
}

function encodedForms(secret: string): string[] {
  const bytes = [...Buffer.from(secret, 'utf8')];
  const units = Array.from({ length: secret.length }, (_, i) => secret.charCodeAt(i));
  return [
    safeEncode(secret),
    bytes.map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join(''),
    JSON.stringify(secret).slice(1, -1).replace(/\//g, '\\/'),
    units.map((unit) => `\\u${unit.toString(16).padStart(4, '0')}`).join(''),
  ].map((form) => form.toLowerCase());
}

/** encodeURIComponent, or the text itself when it holds a lone surrogate (which cannot be encoded). */
function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replace every span of `text` that some canonical view shows to be one of `needles`. */
function replaceSecrets(text: string, needles: readonly string[]): string {
  const spans: [number, number][] = [];
  for (const view of canonicalViews(text)) {
    for (const needle of needles) {
      let at = view.text.indexOf(needle);
      while (at !== -1) {
        spans.push([view.starts[at]!, view.ends[at + needle.length - 1]!]);
        at = view.text.indexOf(needle, at + 1);
      }
    }
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let position = 0;
  let open: [number, number] | null = null;
  for (const span of spans) {
    if (open !== null && span[0] <= open[1]) {
      open[1] = Math.max(open[1], span[1]);
      continue;
    }
    if (open !== null) {
      out += text.slice(position, open[0]) + REDACTED;
      position = open[1];
    }
    open = [span[0], span[1]];
  }
  if (open !== null) out += text.slice(position, open[0]) + REDACTED;
  return out + text.slice(open === null ? position : open[1]);
}

/** Escapes or other characters that make decoding differ from plain lower-casing. */
const NEEDS_DECODING = /[%\\&]|[^\0-\x7f]/;

/**
 * The views of `source` a secret is searched in: lower-cased, then with one more layer of
 * escapes decoded per view (a value encoded twice, then JSON-escaped). Every view is searched,
 * not only the last: decoding again can merge a decoded `\` or `%` with the literal characters
 * after it, and the form in between is the one that matches.
 */
function canonicalViews(source: string): CanonicalText[] {
  if (!NEEDS_DECODING.test(source)) {
    // ASCII without escapes: lower-casing keeps every position, and there is nothing to decode.
    const positions = Array.from({ length: source.length }, (_, i) => i);
    return [{ text: source.toLowerCase(), starts: positions, ends: positions.map((i) => i + 1) }];
  }
  const views: CanonicalText[] = [transform(source, false)];
  let current = transform(source, true);
  for (let pass = 1; pass <= MAX_DECODE_PASSES && current.changed; pass++) {
    views.push(current);
    const previous = current;
    const next = transform(previous.text, true);
    // Compose the maps: a character of the next view spans what its sources spanned.
    current = {
      text: next.text,
      starts: next.starts.map((start) => previous.starts[start]!),
      ends: next.ends.map((end) => previous.ends[end - 1]!),
      changed: next.changed,
    };
  }
  return views;
}

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  sol: '/',
  colon: ':',
  percnt: '%',
  quest: '?',
  equals: '=',
  num: '#',
  plus: '+',
};

const JSON_SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '/': '/',
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
};

const HEX2 = /^[0-9a-f]{2}$/i;
const HEX4 = /^[0-9a-f]{4}$/i;
const HEX8 = /^[0-9a-f]{8}$/i;
const ENTITY = /^&(#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,6});/i;

/**
 * One pass over `source`: everything lower-cased and, with `decode`, percent runs, backslash
 * escapes and HTML entities decoded (`changed` says whether any was).
 */
function transform(source: string, decode: boolean): CanonicalText & { changed: boolean } {
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  let changed = false;
  const push = (decoded: string, start: number, end: number): void => {
    const lower = decoded.toLowerCase();
    for (let k = 0; k < lower.length; k++) {
      text += lower[k];
      starts.push(start);
      ends.push(end);
    }
  };
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (!decode) {
      push(ch, i, i + 1);
      i++;
      continue;
    }
    if (ch === '%' && HEX2.test(source.slice(i + 1, i + 3))) {
      // A run of %XX is one UTF-8 sequence (or several); its characters all map to the run.
      let j = i;
      const bytes: number[] = [];
      while (source[j] === '%' && HEX2.test(source.slice(j + 1, j + 3))) {
        bytes.push(parseInt(source.slice(j + 1, j + 3), 16));
        j += 3;
      }
      push(Buffer.from(bytes).toString('utf8'), i, j);
      changed = true;
      i = j;
      continue;
    }
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1]!;
      // `\U` too: text upper-cased after it was escaped; with 8 digits, Python's long form.
      if (next === 'U' && HEX8.test(source.slice(i + 2, i + 10))) {
        const code = parseInt(source.slice(i + 2, i + 10), 16);
        if (code <= 0x10ffff) {
          push(String.fromCodePoint(code), i, i + 10);
          changed = true;
          i += 10;
          continue;
        }
      }
      if ((next === 'u' || next === 'U') && HEX4.test(source.slice(i + 2, i + 6))) {
        push(String.fromCharCode(parseInt(source.slice(i + 2, i + 6), 16)), i, i + 6);
        changed = true;
        i += 6;
        continue;
      }
      if ((next === 'x' || next === 'X') && HEX2.test(source.slice(i + 2, i + 4))) {
        push(String.fromCharCode(parseInt(source.slice(i + 2, i + 4), 16)), i, i + 4);
        changed = true;
        i += 4;
        continue;
      }
      const simple = JSON_SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        push(simple, i, i + 2);
        changed = true;
        i += 2;
        continue;
      }
    }
    if (ch === '&') {
      const entity = ENTITY.exec(source.slice(i, i + 12));
      const decoded = entity ? decodeEntity(entity[1]!) : null;
      if (entity && decoded !== null) {
        push(decoded, i, i + entity[0].length);
        changed = true;
        i += entity[0].length;
        continue;
      }
    }
    push(ch, i, i + 1);
    i++;
  }
  return { text, starts, ends, changed };
}

function decodeEntity(body: string): string | null {
  if (body.startsWith('#')) {
    const code =
      body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : null;
  }
  return HTML_ENTITIES[body.toLowerCase()] ?? null;
}
