/**
 * The path to name a repository file by in `<commit>:<path>`, or null when no file can be named
 * so. Leading `./` is dropped (git would read it against its working directory); an empty or
 * absolute path, an empty, `.` or `..` segment, a line feed or a NUL names no file (git answers
 * such names "missing", and a line feed would end the `cat-file --batch` request). Every reader
 * of a path a manifest names (the allowed-signers file) takes it through here, so they agree.
 */
export function objectPathOf(path: string): string | null {
  let clean = path;
  while (clean.startsWith('./')) clean = clean.slice(2);
  if (/[\n\0]/.test(clean)) return null;
  const segments = clean.split('/');
  return segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..') ? clean : null;
}
