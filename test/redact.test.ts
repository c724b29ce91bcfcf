/**
 * Redaction that holds however a secret is written back: percent-encoded, JSON/JS-escaped, as
 * HTML entities, in any case, or several of these at once — and that replaces exactly that span,
 * leaving the text around it readable.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_URI_SCHEMES, evidenceUri } from '../src/domain/evidence-uris.js';
import {
  URL_IN_TEXT,
  expandSecret,
  isBareOpaqueUrl,
  mayHoldUrl,
  redactText,
  redactUrl,
} from '../src/redact.js';

const SECRET = 'Tok/en+Secret-42xy';

const percentAll = (text: string, upper: boolean): string =>
  [...Buffer.from(text)]
    .map((b) => `%${upper ? b.toString(16).toUpperCase() : b.toString(16)}`.padStart(3, '%0'))
    .join('');
const unicodeAll = (text: string): string =>
  [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

describe('redactText', () => {
  it.each([
    ['as written', SECRET],
    ['upper case', SECRET.toUpperCase()],
    ['lower case', SECRET.toLowerCase()],
    ['percent-encoded (encodeURIComponent)', encodeURIComponent(SECRET)],
    [
      'percent-encoded, lower-case hex',
      encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    ],
    ['every byte percent-encoded, upper hex', percentAll(SECRET, true)],
    ['every byte percent-encoded, lower hex', percentAll(SECRET, false)],
    ['percent-encoded twice', encodeURIComponent(encodeURIComponent(SECRET))],
    ['JSON with \\/', JSON.stringify(SECRET).slice(1, -1).replace(/\//g, '\\/')],
    ['\\u escapes', unicodeAll(SECRET)],
    ['\\u escapes, upper hex', unicodeAll(SECRET).toUpperCase()],
    ['\\x escapes', SECRET.replace('/', '\\x2f')],
    ['HTML entities', SECRET.replace('/', '&#x2F;').replace('+', '&#43;')],
    ['HTML named entities', SECRET.replace('/', '&sol;')],
    [
      'mixed: upper case, then JSON-escaped percent-encoding',
      JSON.stringify(encodeURIComponent(SECRET.toUpperCase())).slice(1, -1).replace('%', '\\u0025'),
    ],
  ])('replaces the secret %s, and only it', (_name, written) => {
    const text = `before ${written} after`;
    expect(redactText(text, [SECRET])).toBe('before [redacted] after');
  });

  it('keeps everything around several secrets, escapes and non-ASCII text included', () => {
    const text = `é "a\\"b" ${encodeURIComponent(SECRET)} %zz \\q & ümlaut ${SECRET.toUpperCase()}!`;
    expect(redactText(text, [SECRET])).toBe('é "a\\"b" [redacted] %zz \\q & ümlaut [redacted]!');
  });

  it('finds an encoded secret right after half an escape', () => {
    // `%0` + `a%22…`: decoding alone would read `%0a` as a newline and lose the secret's "a".
    expect(redactText(`%0${encodeURIComponent('a"bcdefg')}`, ['a"bcdefg'])).toBe('%0[redacted]');
  });

  it('merges overlapping matches and ignores secrets shorter than 4 characters', () => {
    expect(redactText('xx abcdefgh yy', ['abcdef', 'cdefgh', 'ab', ''])).toBe('xx [redacted] yy');
    // Written as it is, the value is redacted; its decoded form is too short to look for.
    expect(redactText('the %61%62 ab', ['%61%62'])).toBe('the [redacted] ab');
  });

  it('redacts URLs in free text, also when their separators are escaped', () => {
    expect(redactText('see https://user:pw@host.example/p?token=abc now')).toBe(
      'see https://[redacted]@host.example/p?[redacted] now',
    );
    expect(redactText('{"u":"https:\\/\\/host.example\\/p?token=abc"}')).toBe('{"u":"[redacted-url]"}');
    expect(redactText('u=https%3A%2F%2Fhost.example%2Fp%3Ftoken%3Dabc end')).toBe('u=[redacted-url] end');
    expect(redactText('u=https:\\u002f\\u002fhost.example end')).toBe('u=[redacted-url] end');
  });

  it('never lets any case/encoding mix of a secret through (property)', () => {
    const encoders = [
      (s: string) => s,
      (s: string) => s.toUpperCase(),
      (s: string) => s.toLowerCase(),
      (s: string) => encodeURIComponent(s),
      (s: string) => percentAll(s, true),
      (s: string) => percentAll(s, false),
      (s: string) => JSON.stringify(s).slice(1, -1).replace(/\//g, '\\/'),
      (s: string) => unicodeAll(s),
    ];
    fc.assert(
      fc.property(
        fc.string({
          minLength: 6,
          maxLength: 24,
          unit: fc.constantFrom(...'abcXYZ019/+-_.:@%&\\"é'.split('')),
        }),
        fc.array(fc.integer({ min: 0, max: encoders.length - 1 }), { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 10 }),
        (secret, chain, around) => {
          fc.pre(secret.length >= 4);
          const written = chain.reduce((value, index) => encoders[index]!(value), secret);
          // Separated by a space, which no escape can swallow; `around` itself may hold escapes.
          const out = redactText(`${around} ${written} ${around}`, [secret]);
          expect(out).toContain('[redacted]');
          expect(out.toLowerCase()).not.toContain(secret.toLowerCase());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays linear on large text', () => {
    const text = `${'%41\\u0042&amp;x '.repeat(20_000)}${SECRET}`;
    const started = performance.now();
    expect(redactText(text, [SECRET, 'another-secret-value']).endsWith('[redacted]')).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('mayHoldUrl: redactText skips the URL pass only where it would change nothing', () => {
  // What the URL pattern and redactUrl look at: schemes and their characters, every form of `:`
  // and `/` the pattern knows (escaped, percent-encoded, in either case), userinfo, query strings,
  // fragments, secret webhook hosts and paths, bearer tokens, and the characters that end a URL.
  const FRAGMENTS = [
    ...'aZz09+.-_:/\\%@?#=&;"\'<> \n\té'.split(''),
    'http',
    'HTTPS',
    'ftp',
    'svc+git',
    'connector-delivery',
    ':',
    '://',
    '%3a',
    '%3A',
    '\\u003a',
    '\\U003A',
    '\\/',
    '%2f',
    '%2F',
    '\\u002f',
    '\\u002F',
    '//',
    'user:pw@',
    '%40',
    '?token=abc',
    '&sig=',
    '#frag',
    'hooks.slack.com',
    '/services/T0A1B2C3D4/B000/xyz',
    'webhook.office.com',
    'logic.azure.com',
    'Bearer ',
    'Authorization: ',
    'gordackretryexec-0123abcd',
    '2026-06-28T10:00:00.000Z',
  ];
  const fragments = (maxLength: number) => fc.string({ unit: fc.constantFrom(...FRAGMENTS), maxLength });
  // Shaped like a URL, written in each form the pattern knows, and in some it does not.
  const urlShaped = fc
    .tuple(
      fragments(3),
      fc.constantFrom('http', 'HTTPS', 'a', 'svc+git', 'connector-delivery', '0ab', '-x', ''),
      fc.constantFrom(':', '%3a', '%3A', '\\u003a', '\\U003A', '::', '%3', '\\u03a', ''),
      fc.array(fc.constantFrom('/', '\\/', '%2f', '%2F', '\\u002f', '\\U002F', '\\', '%', '%2'), {
        maxLength: 3,
      }),
      fragments(4),
    )
    .map(
      ([before, scheme, colon, slashes, after]) => `${before}${scheme}${colon}${slashes.join('')}${after}`,
    );
  const texts = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fragments(16),
    urlShaped,
    fc
      .tuple(
        fc.string({ maxLength: 10 }),
        fc.webUrl({
          withQueryParameters: true,
          withFragments: true,
          authoritySettings: { withUserInfo: true },
        }),
        fc.string({ maxLength: 10 }),
      )
      .map(([before, url, after]) => `${before}${url}${after}`),
  );

  it('is true for every text the URL pattern finds a URL in (property)', () => {
    let skipped = 0;
    let found = 0;
    fc.assert(
      fc.property(texts, (text) => {
        const match = text.search(URL_IN_TEXT) !== -1;
        if (match) found += 1;
        if (!mayHoldUrl(text)) skipped += 1;
        // No match: the URL pass returns the text as it is, which is what skipping it returns.
        expect(match && !mayHoldUrl(text)).toBe(false);
      }),
      { numRuns: 3000 },
    );
    // Both sides were exercised.
    expect(found).toBeGreaterThan(300);
    expect(skipped).toBeGreaterThan(300);
  });

  it.each([
    ['https://user:pw@host.example/p?token=abc', true],
    ['https%3A%2F%2Fhost.example%2Fp', true],
    ['HTTPS%3a%2f%2fhost', true],
    ['https:\\u002f\\u002fhost.example', true],
    ['https\\U003A\\/\\/host', true],
    ['2026-06-28T10:00:00.000Z', true],
    ['hooks.slack.com/services/T0A1B2C3D4/B000/xyz?token=abc#frag', false],
    ['gordackretryexec-e19f2988f0c35bf8', false],
    ['Bearer abcdef0123456789', false],
  ])('%s → %s', (text, expected) => {
    expect(mayHoldUrl(text)).toBe(expected);
    if (!expected) expect(redactText(text)).toBe(text);
  });
});

describe('isBareOpaqueUrl: redactUrls skips parsing only URLs redactUrl keeps as they are', () => {
  const schemes = fc.constantFrom(
    ...Object.values(EVIDENCE_URI_SCHEMES),
    ...['x', 'git+ssh', 'a.b', 'svc-1', 'urn', 'data', 'javascript', 'blob', 'Connector-Delivery', 'X'],
    ...['http', 'https', 'ws', 'wss', 'ftp', 'file', 'HTTPS'],
  );
  // Hosts of what an opaque host may hold, and the same with what a host must not hold (or what
  // the parser would rewrite) put in, and secret-path hosts.
  const opaque = fc.string({ unit: fc.constantFrom(...'abz09.-'.split('')), minLength: 1, maxLength: 14 });
  const odd = fc.constantFrom(
    ...'A_%@:/?#[]\\ \t^|~é'.split(''),
    '',
    'hooks.slack.com',
    'webhook.office.com',
    'x.logic.azure.com',
    'xn--nxasmq6b',
    '0x7f',
    '1.2.3',
    '%41',
  );
  const hosts = fc.oneof(
    opaque,
    fc.tuple(opaque, odd, opaque).map(([before, inserted, after]) => `${before}${inserted}${after}`),
  );
  const urls = fc
    .tuple(schemes, fc.constantFrom('://', '://', '://', ':/', ':///', '//'), hosts)
    .map(([scheme, separator, host]) => `${scheme}${separator}${host}`);

  it('is true only for URLs redactUrl returns unchanged (property)', () => {
    let bare = 0;
    fc.assert(
      fc.property(urls, (url) => {
        if (!isBareOpaqueUrl(url)) return;
        bare += 1;
        expect(redactUrl(url)).toBe(url);
      }),
      { numRuns: 3000 },
    );
    expect(bare).toBeGreaterThan(300);
  });

  it.each([
    ['connector-delivery://audit-2026-06.ops-webhook.2', true],
    ['go-rollback-drill-retry-worker://gordackworker-6a039fe70756ab0b', true],
    ['http://example.test', false],
    ['x://hooks.slack.com', false],
    ['x://host/path', false],
    ['x://user@host', false],
    ['x://host:8080', false],
    ['x://Host', false],
    ['X://host', false],
  ])('%s → %s', (url, expected) => {
    expect(isBareOpaqueUrl(url)).toBe(expected);
  });

  it('leaves the evidence URIs of a record unchanged, as parsing them does', () => {
    const refs = Object.values(EVIDENCE_URI_SCHEMES).map((scheme) => evidenceUri(scheme, 'audit-1.ops.2'));
    for (const ref of refs) expect(redactText(`see ${ref} now`)).toBe(`see ${ref} now`);
  });
});

describe('expandSecret', () => {
  it('splits a URL into the parts that are secret on their own', () => {
    const pieces = expandSecret(
      'https://bot-user:p%40ss-9931@hooks.example.test/services/T0A1B2C3D4/B000/abcdefghijklmnopqrstu?token=q-77aa#frag-1234',
    );
    expect(pieces).toEqual(
      expect.arrayContaining([
        'bot-user',
        'p@ss-9931',
        Buffer.from('bot-user:p@ss-9931').toString('base64'),
        'q-77aa',
        'frag-1234',
        '/services/T0A1B2C3D4/B000/abcdefghijklmnopqrstu',
        'T0A1B2C3D4',
        'abcdefghijklmnopqrstu',
      ]),
    );
    // Plain words of a path are not secrets on their own: errors naming them stay readable.
    expect(pieces).not.toContain('services');
    expect(pieces).not.toContain('B000');
  });

  it('keeps a bare origin public, and adds the body and text key of a whsec_ secret', () => {
    expect(expandSecret('https://api.datadoghq.eu')).toEqual([]);
    const key = 'a-signing-key-of-32-bytes-long!!';
    expect(expandSecret(`whsec_${Buffer.from(key).toString('base64')}`)).toEqual(
      expect.arrayContaining([Buffer.from(key).toString('base64'), key]),
    );
  });
});

describe('redactUrl', () => {
  it('drops userinfo, query and secret paths', () => {
    expect(redactUrl('https://u:p@hooks.slack.com/services/T/B/X?x=1')).toBe(
      'https://[redacted]@hooks.slack.com/[redacted]?[redacted]',
    );
    expect(redactUrl('not a url')).toBe('[redacted-url]');
  });
});
