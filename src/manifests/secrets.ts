/**
 * Detection of secret material in manifests. Manifests are public (they live in a repository and
 * are echoed into records and PR comments), so a credential in one is refused; findings name the
 * rule and the location, never the value. Patterns are compiled once at module load: this runs
 * on every string of every manifest.
 */
import type { RuleId } from './rules.js';
import { segmentsOf, type WalkedValue } from './walked-value.js';

export interface SecretMatch {
  rule: RuleId;
  /** What was found, in words, e.g. "a GitHub token". Never the value. */
  label: string;
}

/** A secret found while walking a document. */
export interface SecretHit extends SecretMatch {
  /** Path of the value (or of the map holding the key, when `inKey`). */
  segments: (string | number)[];
  /** True when the secret is a map key, not a value. */
  inKey: boolean;
}

/**
 * Cheap pre-filter: a string can only hold a known secret shape if it contains one of these.
 * Most manifest strings (names, states, people) fail it and skip the detailed patterns.
 */
const CANDIDATE =
  /-----BEGIN|AKIA|ASIA|AIza|AccountKey|SharedAccessSignature|sig=|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|[sr]k_(?:live|test)_|whsec_|npm_|eyJ|:\/\/|aws_secret|private_key/i;

const PATTERNS: readonly (SecretMatch & { re: RegExp })[] = [
  { rule: 'secret.private-key', label: 'a PEM private key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
  { rule: 'secret.gcp-key', label: 'a Google Cloud service-account key', re: /"private_key"\s*:/ },
  { rule: 'secret.aws-key', label: 'an AWS access key id', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/ },
  {
    rule: 'secret.aws-key',
    label: 'an AWS secret access key',
    re: /aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}/i,
  },
  { rule: 'secret.gcp-key', label: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  {
    rule: 'secret.azure-key',
    label: 'an Azure account key',
    re: /AccountKey=[A-Za-z0-9+/]{20,}={0,2}|SharedAccessSignature=|[?&]sig=[A-Za-z0-9%+/=]{16,}/,
  },
  { rule: 'secret.token', label: 'a GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/ },
  { rule: 'secret.token', label: 'a GitLab token', re: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { rule: 'secret.token', label: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { rule: 'secret.token', label: 'a Stripe key', re: /\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}/ },
  { rule: 'secret.token', label: 'a webhook signing secret', re: /\bwhsec_[A-Za-z0-9+/=_-]{10,}/ },
  { rule: 'secret.token', label: 'an npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { rule: 'secret.jwt', label: 'a JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  {
    rule: 'secret.webhook-url',
    label: 'an incoming-webhook URL',
    re: /hooks\.slack\.com\/(?:services|workflows|triggers)\/|\.webhook\.office\.com\/webhook|discord(?:app)?\.com\/api\/webhooks\/|logic\.azure\.com[^\s]*[?&]sig=/i,
  },
];

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const SECRET_QUERY_PARAM =
  /^(?:access_?token|token|api_?key|apikey|key|secret|client_secret|password|passwd|pwd|sig|signature|auth|code|x-amz-signature|x-goog-signature|sv)$/i;
const SECRET_LIKE_KEY = /(?:secret|token|passw(?:or)?d|passwd|pwd|api_?key|apikey|private_?key|credential|auth|bearer|cookie|session)/i;
const SAFE_ECHO = /^[A-Za-z0-9_.-]{1,64}$/;

/** The first secret shape found in `text`, or null. */
export function detectSecret(text: string): SecretMatch | null {
  if (text.length < 8 || !CANDIDATE.test(text)) return null;
  for (const pattern of PATTERNS) {
    if (pattern.re.test(text)) return { rule: pattern.rule, label: pattern.label };
  }
  if (text.includes('://')) return detectSecretUrl(text);
  return null;
}

function detectSecretUrl(text: string): SecretMatch | null {
  for (const match of text.matchAll(URL_IN_TEXT)) {
    let url: URL;
    try {
      url = new URL(match[0]);
    } catch {
      continue;
    }
    if (url.username !== '' || url.password !== '') {
      return { rule: 'secret.url-credentials', label: 'a URL with credentials' };
    }
    for (const key of url.searchParams.keys()) {
      if (SECRET_QUERY_PARAM.test(key)) {
        return { rule: 'secret.url-query-token', label: 'a URL with a token in its query' };
      }
    }
  }
  return null;
}

/** Shannon entropy in bits per character. */
function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/**
 * A random-looking value under a secret-like key (`password`, `api_key`, …). `*_env` keys hold
 * env var names, not values, and are exempt; so are values without spaces that are short.
 */
function isHighEntropySecret(key: string, value: string): boolean {
  if (!SECRET_LIKE_KEY.test(key) || key.endsWith('_env')) return false;
  if (value.length < 16 || /\s/.test(value)) return false;
  const entropy = shannonEntropy(value);
  return value.length >= 32 ? entropy >= 3.0 : entropy >= 3.5;
}

/**
 * Every secret in a parsed document, walked iteratively (documents may be wide; depth is
 * already bounded by the YAML limits). Keys are checked as well as values.
 */
export function scanForSecrets(value: unknown): SecretHit[] {
  const hits: SecretHit[] = [];
  const stack: WalkedValue[] = [{ value, key: '', segment: '', parent: null }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const current = item.value;
    if (typeof current === 'string') {
      const match = detectSecret(current);
      if (match !== null) hits.push({ ...match, segments: segmentsOf(item), inKey: false });
      else if (isHighEntropySecret(item.key, current)) {
        hits.push({
          rule: 'secret.high-entropy',
          label: 'a high-entropy secret',
          segments: segmentsOf(item),
          inKey: false,
        });
      }
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        stack.push({ value: current[i], key: item.key, segment: i, parent: item });
      }
    } else if (current !== null && typeof current === 'object') {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const keyMatch = detectSecret(key);
        if (keyMatch !== null) {
          hits.push({ ...keyMatch, segments: segmentsOf(item), inKey: true });
          continue;
        }
        stack.push({ value: (current as Record<string, unknown>)[key], key, segment: key, parent: item });
      }
    }
  }
  return hits;
}

/**
 * Keys that name a secret when they appear in a comment (`# api_key: …`, `# password=…`): the
 * whole key or its last `_`-part, so prose words that merely contain one (`author`) do not count.
 */
const COMMENT_SECRET_KEY =
  /^(?:[a-z0-9]+[_-])*(?:secret|token|password|passwd|pwd|api_?key|apikey|private_?key|credentials?|bearer)$/i;
const COMMENT_PAIR = /([A-Za-z][A-Za-z0-9_-]*)\s*[:=]\s*["']?([^\s"']+)/g;

/**
 * The first secret in the text of a YAML comment (without its `#`), or null: the same shapes as
 * in values, plus a random-looking value after a secret-like key — the commented-out line
 * `# token: …` that is a credential as surely as the uncommented one.
 */
export function detectSecretInComment(text: string): SecretMatch | null {
  const match = detectSecret(text);
  if (match !== null) return match;
  for (const [, key = '', value = ''] of text.matchAll(COMMENT_PAIR)) {
    if (COMMENT_SECRET_KEY.test(key) && isHighEntropySecret(key, value)) {
      return { rule: 'secret.high-entropy', label: 'a high-entropy secret' };
    }
  }
  return null;
}

/** True when `text` may be quoted in a message: short, identifier-like, and not secret-shaped. */
export function isSafeToEcho(text: string): boolean {
  return SAFE_ECHO.test(text) && detectSecret(text) === null && !(text.length >= 20 && shannonEntropy(text) >= 4);
}

/** A JSON Pointer for `segments` in which anything unsafe to echo is replaced by `*`. */
export function safePointer(segments: readonly (string | number)[]): string {
  let pointer = '';
  for (const segment of segments) {
    const text = String(segment);
    pointer += '/' + (isSafeToEcho(text) ? text.replace(/~/g, '~0').replace(/\//g, '~1') : '*');
  }
  return pointer;
}
