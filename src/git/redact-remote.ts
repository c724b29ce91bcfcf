/**
 * Redaction of git remotes for errors and logs, on top of the project's `redact.ts`: URLs lose
 * userinfo and query strings; local paths and scp-style `host:path` remotes are kept readable.
 */
import { redactText, redactUrl } from '../redact.js';

const SCHEME_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_LIKE = /^([^@/:\s]+@)?([^/:\s]+):(?!\/\/)(.*)$/;

/** A remote as it may appear in a message: no credentials, no query string. */
export function redactRemote(remote: string): string {
  if (SCHEME_URL.test(remote)) {
    // file:// URLs parse fine; for anything unparsable redactUrl already answers a placeholder.
    return redactUrl(remote);
  }
  const scp = SCP_LIKE.exec(remote);
  if (scp && !remote.startsWith('/') && !remote.startsWith('.')) {
    // `git@host:org/repo.git`: the user is not a secret, but drop it for uniformity.
    return `${scp[2] ?? ''}:${scp[3] ?? ''}`;
  }
  return remote;
}

/** Secret parts of a remote URL (password, username, query values) to scrub from free text. */
function remoteSecrets(remote: string): string[] {
  if (!SCHEME_URL.test(remote)) return [];
  try {
    const url = new URL(remote);
    const secrets = [url.password, url.username, decodeLenient(url.password)];
    for (const value of url.searchParams.values()) secrets.push(value);
    if (url.search.length > 1) secrets.push(url.search.slice(1));
    return secrets.filter((value) => value.length >= 4);
  } catch {
    return [];
  }
}

/** A percent-decoded value, or the value itself when it is not valid percent-encoding. */
function decodeLenient(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Free text (git's stderr) with URLs redacted and the remote's secret parts removed. */
export function redactGitText(text: string, remote?: string): string {
  return redactText(text, remote === undefined ? [] : remoteSecrets(remote));
}
