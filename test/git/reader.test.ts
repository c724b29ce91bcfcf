import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitReader, type LocalGitReader } from '../../src/git/reader.js';
import { GitError, UnknownRevisionError } from '../../src/errors.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';

describe('createGitReader', () => {
  let repo: TempDir;
  let reader: LocalGitReader;
  const commits: string[] = [];

  beforeAll(async () => {
    repo = await createTempRepo();
    commits.push(
      await commitFiles(
        repo.dir,
        { 'manifests/a.yaml': 'a: 1\n', 'manifests/deep/b/c.yaml': 'c: 1\n', 'README.md': '# ops\n' },
        'first',
        { date: '2026-01-01T00:00:00Z', author: 'Alice <alice@example.test>' },
      ),
    );
    commits.push(
      await commitFiles(
        repo.dir,
        {
          'manifests/a.yaml': 'a: 2\n',
          'records/runs/2026-01/r1.json': '{}\n',
          'manifests-old/x.yaml': 'x\n',
        },
        'second',
        { date: '2026-01-02T03:04:05Z', author: 'Bob <bob@example.test>' },
      ),
    );
    commits.push(
      await commitFiles(
        repo.dir,
        { 'manifests/deep/b/c.yaml': null, 'manifests/with space.yaml': 's\n' },
        'third',
        {
          date: '2026-01-03T00:00:00Z',
        },
      ),
    );
    // Uncommitted changes must never be seen.
    await writeFile(join(repo.dir, 'manifests/a.yaml'), 'a: dirty\n');
    await writeFile(join(repo.dir, 'manifests/untracked.yaml'), 'u\n');
    reader = createGitReader(repo.dir);
  });

  afterAll(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it.each([
    ['main', 2],
    ['HEAD', 2],
    ['HEAD~1', 1],
    ['main~2', 0],
  ])('resolves %s', async (rev, index) => {
    expect(await reader.resolve(rev)).toBe(commits[index]);
  });

  it('resolves a full commit id to itself', async () => {
    expect(await reader.resolve(commits[0] ?? '')).toBe(commits[0]);
  });

  it.each(['nope', 'HEAD~5', '--all', 'a b'])(
    'rejects the unknown revision %j naming it and the repo',
    async (rev) => {
      const error = await reader.resolve(rev).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GitError);
      expect((error as Error).message).toContain(rev);
      expect((error as Error).message).toContain(repo.dir);
    },
  );

  it('tells a name that resolves to no commit (UnknownRevisionError) from a repository that fails', async () => {
    expect(await reader.resolve('0'.repeat(40)).catch((caught: unknown) => caught)).toBeInstanceOf(
      UnknownRevisionError,
    );
    const gone = createGitReader(`${repo.dir}-gone`);
    const failure = await gone.resolve('main').catch((caught: unknown) => caught);
    await gone.close();
    expect(failure).toBeInstanceOf(GitError);
    expect(failure).not.toBeInstanceOf(UnknownRevisionError);
  });

  it('lists blobs under prefixes with sizes, committed content only', async () => {
    const entries = await reader.listTree(commits[2] ?? '', ['manifests/']);
    expect(entries.map((entry) => entry.path)).toEqual(['manifests/a.yaml', 'manifests/with space.yaml']);
    expect(entries[0]?.size).toBe(5);
    const blobs = await reader.readBlobs(entries.map((entry) => entry.blob));
    expect(blobs.get(entries[0]?.blob ?? '')?.toString()).toBe('a: 2\n');
  });

  it('lists the same files without sizes when asked (no --long), and no size on them', async () => {
    const sized = await reader.listTree(commits[2] ?? '', []);
    const plain = await reader.listTree(commits[2] ?? '', [], { sizes: false });
    expect(plain).toEqual(sized.map(({ path, blob }) => ({ path, blob })));
    expect(plain.some((entry) => 'size' in entry)).toBe(false);
  });

  it.each([
    [['manifests/'], 0, ['manifests/a.yaml', 'manifests/deep/b/c.yaml']],
    [['manifests'], 2, ['manifests/a.yaml', 'manifests/with space.yaml']],
    [
      ['manifests/', 'records/'],
      1,
      ['manifests/a.yaml', 'manifests/deep/b/c.yaml', 'records/runs/2026-01/r1.json'],
    ],
    [['manifests/deep'], 0, ['manifests/deep/b/c.yaml']],
    [['records/runs/'], 0, []],
    [['missing/'], 2, []],
    [[], 0, ['README.md', 'manifests/a.yaml', 'manifests/deep/b/c.yaml']],
  ])('lists %j at commit %i', async (prefixes, index, expected) => {
    const entries = await reader.listTree(commits[index] ?? '', prefixes);
    expect(entries.map((entry) => entry.path).sort()).toEqual([...expected].sort());
  });

  it('fails clearly when listing an unknown commit', async () => {
    await expect(reader.listTree('f'.repeat(40), ['manifests/'])).rejects.toThrow(GitError);
  });

  it('reads the first parent, null for a root', async () => {
    expect(await reader.readParent(commits[2] ?? '')).toBe(commits[1]);
    expect(await reader.readParent(commits[0] ?? '')).toBeNull();
  });

  it('reads a single committed file', async () => {
    expect(await reader.readFile(commits[2] ?? '', 'manifests/a.yaml')).toBe('a: 2\n');
    expect(await reader.readFile(commits[2] ?? '', 'manifests/untracked.yaml')).toBeNull();
  });

  it('throws when a blob is missing', async () => {
    await expect(reader.readBlobs(['0'.repeat(40)])).rejects.toThrow(/not found/);
  });
});
