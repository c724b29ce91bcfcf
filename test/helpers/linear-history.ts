/**
 * Random linear histories for the property tests of what is read from a walk of history instead
 * of git's trees: each commit writes, rewrites or deletes some of a few paths, as a file, an
 * executable, a symlink or a submodule.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { git } from './git-fixtures.js';

/** Modes of an entry in the index: a file, an executable, a symlink, a submodule (a commit id). */
export const MODES = ['100644', '100755', '120000', '160000'] as const;

export type FileOp =
  { path: string; mode: (typeof MODES)[number]; content: string } | { path: string; delete: true };

/** One change to one of `paths`. */
export function fileOp(paths: readonly string[]): fc.Arbitrary<FileOp> {
  return fc.oneof(
    fc.record({
      path: fc.constantFrom(...paths),
      mode: fc.constantFrom(...MODES),
      content: fc.constantFrom('x', 'y', 'z'),
    }),
    fc.record({ path: fc.constantFrom(...paths), delete: fc.constant(true as const) }),
  );
}

/**
 * Apply `ops` to the index of the repository at `dir` and commit them (an empty commit when they
 * change nothing); the new commit's id. A path that is a file in one op and a directory of another
 * of `paths` in the next replaces it, as `git add` would.
 */
export async function commitFileOps(
  dir: string,
  ops: readonly FileOp[],
  paths: readonly string[],
  message: string,
): Promise<string> {
  for (const change of ops) {
    if ('delete' in change) {
      await git(dir, ['update-index', '--force-remove', change.path]);
      continue;
    }
    for (const path of paths) {
      if (path.startsWith(`${change.path}/`) || change.path.startsWith(`${path}/`))
        await git(dir, ['update-index', '--force-remove', path]);
    }
    // A submodule entry names a commit; any id will do, git does not need the object.
    const id =
      change.mode === '160000'
        ? `${change.content.charCodeAt(0).toString(16)}${'0'.repeat(38)}`
        : execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: change.content })
            .toString()
            .trim();
    await git(dir, ['update-index', '--add', '--cacheinfo', `${change.mode},${id},${change.path}`]);
  }
  await git(dir, ['commit', '-q', '--allow-empty', '-m', message]);
  return git(dir, ['rev-parse', 'HEAD']);
}
