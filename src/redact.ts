/**
 * Redaction used by every layer before anything reaches a log, an error, a record or the API.
 * URLs lose their userinfo, query string and fragment (tokens travel there, e.g. Slack/Teams
 * webhook paths are secret too, so known webhook hosts lose their path); known secret values
 * (env var contents the process read) are replaced wherever they appear.
 */

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Hosts whose URL path itself is the credential. */
const SECRET_PATH_HOSTS = [
  /(^|\.)hooks\.slack\.com$/i,
  /(^|\.)webhook\.office\.com$/i,
  /(^|\.)logic\.azure\.com$/i,
];

/** A URL with credentials, query and fragment removed; hosts whose path is a secret keep only the origin. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[redacted-url]';
  }
  const userinfo = url.username || url.password ? '[redacted]@' : '';
  const secretPath = SECRET_PATH_HOSTS.some((pattern) => pattern.test(url.hostname));
  const path = secretPath ? '/[redacted]' : url.pathname;
  const query = url.search ? '?[redacted]' : '';
  return `${url.protocol}//${userinfo}${url.host}${path === '/' ? '' : path}${query}`;
}

/**
 * Redact every URL inside free text and every occurrence of the given secret values
 * (values shorter than 4 characters are ignored: they would shred ordinary text).
 */
export function redactText(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(URL_PATTERN, (match) => redactUrl(match));
}
