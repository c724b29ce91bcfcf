/**
 * `verify` reads `<commit>:<path>` names by blob id where the walk of a chain of commits says
 * which blob the path holds there (withWalkedPaths). The answer must be git's for every commit and
 * path, whatever a linear history did to the files: written, rewritten, deleted, re-added, made
 * executable, turned into a symlink, a submodule or a directory, outside the walked prefix too.
 * With a merge in the history, every name goes to git.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { GitReader } from '../../src/domain/ports.js';
import { createGitReader } from '../../src/git/index.js';
import { advanceHistoryIndex } from '../../src/read-model/history-index.js';
import { isChainFromRoot, withWalkedPaths } from '../../src/read-model/walked-paths.js';
import { cleanupAllTempDirs, commitFiles, createTempRepo, git } from '../helpers/git-fixtures.js';
import { commitFileOps, fileOp } from '../helpers/linear-history.js';

const PATHS = ['manifests/a.yaml', 'manifests/sub/b.yaml', 'manifests/sub', 'other/c.yaml'];
const PREFIXES = ['manifests/'];

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
        fc.array(fc.array(fileOp(PATHS), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (history) => {
          const repo = await createTempRepo();
          const reader = createGitReader(repo.dir);
          try {
            const commits: string[] = [];
            for (const [at, ops] of history.entries())
              commits.push(await commitFileOps(repo.dir, ops, PATHS, `commit ${at}`));
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
