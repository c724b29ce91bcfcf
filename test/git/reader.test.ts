import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitReader, type LocalGitReader } from '../../src/git/reader.js';
import { GitError, UnknownRevisionError } from '../../src/errors.js';
import {
  commitFiles,
  createBareRemote,
  createSshSigningKey,
  createTempDir,
  createTempRepo,
  git,
  pushBranch,
  type TempDir,
} from '../helpers/git-fixtures.js';

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

  it('finds the commit that last changed each path, with time and author', async () => {
    const result = await reader.readIntroducingCommits(commits[2] ?? '', [
      'manifests/a.yaml',
      'manifests/with space.yaml',
      'README.md',
      'manifests/never.yaml',
    ]);
    expect(result.get('manifests/a.yaml')).toEqual({
      commit: commits[1],
      time: '2026-01-02T03:04:05Z',
      author: 'Bob <bob@example.test>',
      signature: { status: 'none', principal: '' },
    });
    expect(result.get('manifests/with space.yaml')?.commit).toBe(commits[2]);
    expect(result.get('README.md')).toMatchObject({
      commit: commits[0],
      author: 'Alice <alice@example.test>',
    });
    expect(result.has('manifests/never.yaml')).toBe(false);
  });

  it('looks only at history at or before the given commit', async () => {
    const result = await reader.readIntroducingCommits(commits[0] ?? '', ['manifests/a.yaml']);
    expect(result.get('manifests/a.yaml')?.commit).toBe(commits[0]);
  });

  it('can answer the commit that added a path instead of the last change', async () => {
    const result = await reader.readIntroducingCommits(commits[2] ?? '', ['manifests/a.yaml'], {
      change: 'added',
    });
    expect(result.get('manifests/a.yaml')?.commit).toBe(commits[0]);
  });

  it('handles path lists too long for a command line', async () => {
    const paths = Array.from(
      { length: 5000 },
      (_, index) => `manifests/generated/${'n'.repeat(20)}-${index}.yaml`,
    );
    const result = await reader.readIntroducingCommits(commits[2] ?? '', [...paths, 'manifests/a.yaml']);
    expect(result.size).toBe(1);
    expect(result.get('manifests/a.yaml')?.commit).toBe(commits[1]);
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

describe('readIntroducingCommits through merges and on a bare repository', () => {
  it('attributes files to the branch commit that changed them, not to a clean merge', async () => {
    const repo = await createTempRepo();
    const remote = await createBareRemote();
    try {
      await commitFiles(repo.dir, { 'manifests/base.yaml': 'b\n' }, 'base');
      await git(repo.dir, ['checkout', '-q', '-b', 'feature']);
      const feature = await commitFiles(repo.dir, { 'manifests/approval.yaml': 'ok\n' }, 'approval', {
        date: '2026-02-01T00:00:00Z',
        author: 'Carol <carol@example.test>',
      });
      await git(repo.dir, ['checkout', '-q', 'main']);
      await commitFiles(repo.dir, { 'manifests/other.yaml': 'o\n' }, 'other', {
        date: '2026-02-02T00:00:00Z',
      });
      await git(repo.dir, ['merge', '-q', '--no-ff', '--no-edit', 'feature'], {
        GIT_AUTHOR_DATE: '@1780000000 +0000',
        GIT_COMMITTER_DATE: '@1780000000 +0000',
      });
      await pushBranch(repo.dir, remote.dir);
      const reader = createGitReader(remote.dir);
      try {
        const tip = await reader.resolve('main');
        const result = await reader.readIntroducingCommits(tip, ['manifests/approval.yaml']);
        expect(result.get('manifests/approval.yaml')).toMatchObject({
          commit: feature,
          author: 'Carol <carol@example.test>',
          time: '2026-02-01T00:00:00Z',
        });
      } finally {
        await reader.close();
      }
    } finally {
      await repo.cleanup();
      await remote.cleanup();
    }
  });
});

describe('ssh-signed commits', () => {
  let repo: TempDir;
  let keys: TempDir;
  let reader: LocalGitReader;
  let signed = '';
  let allowedSigners = '';

  beforeAll(async () => {
    repo = await createTempRepo();
    keys = await createTempDir('cavra-keys-');
    const key = await createSshSigningKey(keys.dir, 'alice@example.test');
    allowedSigners = key.allowedSignersLine;
    await commitFiles(repo.dir, { 'manifests/unsigned.yaml': 'u\n' }, 'unsigned');
    signed = await commitFiles(repo.dir, { 'manifests/approval.yaml': 'a\n' }, 'signed approval', {
      signWith: key.keyPath,
      author: 'Alice <alice@example.test>',
    });
    reader = createGitReader(repo.dir);
  });

  afterAll(async () => {
    await reader.close();
    await repo.cleanup();
    await keys.cleanup();
  });

  it('verifies a good signature and names the principal', async () => {
    const result = await reader.readIntroducingCommits(
      signed,
      ['manifests/approval.yaml', 'manifests/unsigned.yaml'],
      {
        allowedSigners,
      },
    );
    expect(result.get('manifests/approval.yaml')).toMatchObject({
      commit: signed,
      signature: { status: 'good', principal: 'alice@example.test' },
    });
    expect(result.get('manifests/unsigned.yaml')?.signature).toEqual({ status: 'none', principal: '' });
  });

  it('does not trust a signer missing from the allowed signers', async () => {
    const other = await createSshSigningKey(keys.dir, 'mallory@example.test', 'other_key');
    const result = await reader.readIntroducingCommits(signed, ['manifests/approval.yaml'], {
      allowedSigners: other.allowedSignersLine,
    });
    expect(result.get('manifests/approval.yaml')?.signature.status).toBe('untrusted');
  });

  it('never depends on the operator config without allowed signers: untrusted', async () => {
    const result = await reader.readIntroducingCommits(signed, ['manifests/approval.yaml']);
    expect(result.get('manifests/approval.yaml')?.signature).toEqual({ status: 'untrusted', principal: '' });
  });
});
