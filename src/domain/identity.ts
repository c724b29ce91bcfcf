/**
 * Comparing people for separation of duties (docs/reference.md §4). Identities in manifests are
 * free text (`decided_by`, `acknowledged_by`: an email or a forge login) and commit authors are
 * `Name <email>`. Two identities are the same person when they are equal after trimming and
 * lower-casing (emails and logins are case-insensitive in practice, and a false "same person" only
 * blocks a retry, never lets one through). An identity is the author of a commit when it equals the
 * author's name, the author's email, or the whole `Name <email>` text. Nothing finer is guessed:
 * `alice` is not `alice@example.com`.
 */

/** The form identities are compared in: trimmed and lower-cased (locale-independent). */
export function normalizeIdentity(identity: string): string {
  return identity.trim().toLowerCase();
}

/** True when both are non-empty and the same after normalisation. */
export function isSameIdentity(a: string, b: string): boolean {
  const left = normalizeIdentity(a);
  return left !== '' && left === normalizeIdentity(b);
}

const AUTHOR_PATTERN = /^(.*?)\s*<([^<>]*)>\s*$/;

/** The name and email of a `Name <email>` author (either may be ''; text without `<…>` is a name). */
export function parseAuthor(author: string): { name: string; email: string } {
  const match = AUTHOR_PATTERN.exec(author);
  if (match === null) return { name: author.trim(), email: '' };
  return { name: (match[1] ?? '').trim(), email: (match[2] ?? '').trim() };
}

/** True when `identity` is the author's name, the author's email or the whole author text. */
export function isAuthor(identity: string, author: string): boolean {
  const { name, email } = parseAuthor(author);
  return [name, email, author].some((candidate) => isSameIdentity(identity, candidate));
}
