/**
 * `verify` reads `<commit>:<path>` names by blob id where the walk of a chain of commits says
 * which blob the path holds there (withWalkedPaths). The answer must be git's for every commit and
 * path, whatever a linear history did to the files: written, rewritten, deleted, re-added, made
 * executable, turned into a symlink, a submodule or a directory, outside the walked prefix too.
 * With a merge in the history, every name goes to git.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { GitReader } from '../../src/domain/ports.js';
import { createGitReader } from '../../src/git/index.js';
import { advanceHistoryIndex } from '../../src/read-model/history-index.js';
import { isChainFromRoot, withWalkedPaths } from '../../src/read-model/walked-paths.js';
import { cleanupAllTempDirs, commitFiles, createTempRepo, git } from '../helpers/git-fixtures.js';

const PATHS = ['manifests/a.yaml', 'manifests/sub/b.yaml', 'manifests/sub', 'other/c.yaml'];
/** Modes of an entry in the index: a file, an executable, a symlink, a submodule (a commit id). */
const MODES = ['100644', '100755', '120000', '160000'] as const;
const PREFIXES = ['manifests/'];

type Op = { path: string; mode: (typeof MODES)[number]; content: string } | { path: string; delete: true };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    path: fc.constantFrom(...PATHS),
    mode: fc.constantFrom(...MODES),
    content: fc.constantFrom('x', 'y', 'z'),
  }),
  fc.record({ path: fc.constantFrom(...PATHS), delete: fc.constant(true as const) }),
);

afterAll(cleanupAllTempDirs);

/** Every commit's name of every path (and of some the walk does not answer), as git and as the walk read them. */
async function readBoth(
  reader: GitReader,
  walked: GitReader,
  commits: string[],
  maxBytes: number,
): Promise<{ git: unknown[]; walked: unknown[] }> {
  const names = commits.flatMap((commit) => [
    ...PATHS.map((path) => `${commit}:${path}`),
    `${commit}:manifests/never.yaml`,
    `${commit}:./manifests/a.yaml`,
    `${commit}:manifests`,
  ]);
  const shape = (objects: Map<string, unknown>): unknown[] => names.map((name) => [name, objects.get(name)]);
  return {
    git: shape(await reader.readObjects(names, { maxBytes })),
    walked: shape(await walked.readObjects(names, { maxBytes })),
  };
}

describe('withWalkedPaths', () => {
  it('answers every <commit>:<path> as git does after any linear history', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (history) => {
          const repo = await createTempRepo();
          const reader = createGitReader(repo.dir);
          try {
            const commits: string[] = [];
            for (const [at, ops] of history.entries()) {
              for (const change of ops) {
                if ('delete' in change) {
                  await git(repo.dir, ['update-index', '--force-remove', change.path]);
                  continue;
                }
                // A file and a directory of one name cannot both be in the index: drop the other.
                for (const path of PATHS) {
                  if (path.startsWith(`${change.path}/`) || change.path.startsWith(`${path}/`))
                    await git(repo.dir, ['update-index', '--force-remove', path]);
                }
                // A submodule entry names a commit; any id will do, git does not need the object.
                const id =
                  change.mode === '160000'
                    ? `${change.content.charCodeAt(0).toString(16)}${'0'.repeat(38)}`
                    : hashObject(repo.dir, change.content);
                await git(repo.dir, [
                  'update-index',
                  '--add',
                  '--cacheinfo',
                  `${change.mode},${id},${change.path}`,
                ]);
              }
              await git(repo.dir, ['commit', '-q', '--allow-empty', '-m', `commit ${at}`]);
              commits.push(await git(repo.dir, ['rev-parse', 'HEAD']));
            }
            const { index } = await advanceHistoryIndex(reader, null, commits.at(-1)!, PREFIXES);
            expect(isChainFromRoot(index)).toBe(true);
            const walked = withWalkedPaths(reader, index);
            expect(walked).not.toBe(reader);
            // Sizes only (twice: the second from what the first read), then contents too.
            for (const maxBytes of [0, 0, 1]) {
              const both = await readBoth(reader, walked, commits, maxBytes);
              expect(both.walked).toEqual(both.git);
            }
          } finally {
            await reader.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('leaves a history with a merge to git', async () => {
    const repo = await createTempRepo();
    const reader = createGitReader(repo.dir);
    try {
      await commitFiles(repo.dir, { 'manifests/a.yaml': 'a: 1\n' }, 'root');
      await git(repo.dir, ['checkout', '-q', '-b', 'side']);
      await commitFiles(repo.dir, { 'manifests/a.yaml': 'a: 2\n' }, 'side');
      await git(repo.dir, ['checkout', '-q', '-']);
      await commitFiles(repo.dir, { 'manifests/b.yaml': 'b: 1\n' }, 'main');
      await git(repo.dir, ['merge', '-q', '--no-ff', '-m', 'merge', 'side']);
      const tip = await git(repo.dir, ['rev-parse', 'HEAD']);
      const { index } = await advanceHistoryIndex(reader, null, tip, PREFIXES);
      expect(isChainFromRoot(index)).toBe(false);
      expect(withWalkedPaths(reader, index)).toBe(reader);
    } finally {
      await reader.close();
    }
  });
});

function hashObject(dir: string, content: string): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: content })
    .toString()
    .trim();
}
