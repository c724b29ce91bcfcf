/**
 * The working-tree helpers the CLI uses instead of running git itself, against real temp
 * repositories: which branch a working tree has checked out, and the demo's init → clone →
 * switch → commit → push, with failures as redacted GitErrors.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitError } from '../../src/errors.js';
import {
  cloneRepository,
  commitAll,
  initBareRepository,
  pushBranch,
  readCheckedOutBranch,
  switchToBranch,
} from '../../src/git/porcelain.js';
import {
  commitFiles,
  createBareRemote,
  createTempDir,
  createTempRepo,
  git,
  readBranch,
  type TempDir,
} from '../helpers/git-fixtures.js';

const cleanups: TempDir[] = [];
afterEach(async () => {
  for (const dir of cleanups.splice(0)) await dir.cleanup();
});

async function track(dir: Promise<TempDir>): Promise<TempDir> {
  const temp = await dir;
  cleanups.push(temp);
  return temp;
}

/** No user or system git config, as in CI; tests that need one add it. */
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

describe('readCheckedOutBranch', () => {
  it('names the branch a working tree has checked out', async () => {
    const repo = await track(createTempRepo({ branch: 'ops' }));
    expect(await readCheckedOutBranch(repo.dir, { env })).toBe('ops');
    await commitFiles(repo.dir, { 'a.txt': 'a\n' }, 'a');
    await git(repo.dir, ['checkout', '-q', '-b', 'feature']);
    expect(await readCheckedOutBranch(repo.dir, { env })).toBe('feature');
  });

  it('is null for a detached HEAD, a bare repository, a plain directory and a missing one', async () => {
    const repo = await track(createTempRepo());
    const commit = await commitFiles(repo.dir, { 'a.txt': 'a\n' }, 'a');
    await git(repo.dir, ['checkout', '-q', '--detach', commit]);
    expect(await readCheckedOutBranch(repo.dir, { env })).toBeNull();
    const bare = await track(createBareRemote());
    expect(await readCheckedOutBranch(bare.dir, { env })).toBeNull();
    const plain = await track(createTempDir());
    expect(await readCheckedOutBranch(plain.dir, { env })).toBeNull();
    expect(await readCheckedOutBranch(join(plain.dir, 'missing'), { env })).toBeNull();
  });

  it('ignores a GIT_DIR in the env that points at another repository', async () => {
    const repo = await track(createTempRepo({ branch: 'ops' }));
    const other = await track(createTempRepo({ branch: 'elsewhere' }));
    const redirected = { ...env, GIT_DIR: join(other.dir, '.git') };
    expect(await readCheckedOutBranch(repo.dir, { env: redirected })).toBe('ops');
  });
});

describe('demo repository helpers', () => {
  it('create a bare remote, clone it, commit everything as the given author and push it', async () => {
    const root = await track(createTempDir());
    const remote = join(root.dir, 'ops-remote.git');
    const work = join(root.dir, 'ops');
    await initBareRepository(remote, 'main', { env });
    expect(await git(remote, ['rev-parse', '--is-bare-repository'])).toBe('true');
    expect(await git(remote, ['symbolic-ref', 'HEAD'])).toBe('refs/heads/main');
    await cloneRepository(remote, work, { env });
    await switchToBranch(work, 'main', { env });
    await mkdir(join(work, 'manifests'));
    await writeFile(join(work, 'manifests', 'policy.yaml'), 'kind: ReconcilerPolicy\n');
    const commit = await commitAll(work, 'Seed', { name: 'Demo Operator', email: 'op@example.com' }, { env });
    expect(await git(work, ['log', '-1', '--format=%an <%ae>|%cn|%s|%G?'])).toBe(
      'Demo Operator <op@example.com>|Demo Operator|Seed|N',
    );
    expect(await git(work, ['status', '--porcelain'])).toBe('');
    await pushBranch(work, 'origin', 'main', { env });
    expect(await readBranch(remote)).toBe(commit);
    expect(await git(remote, ['show', `${commit}:manifests/policy.yaml`])).toBe('kind: ReconcilerPolicy');
  });

  it('commit unsigned even when the user config asks for signing', async () => {
    const root = await track(createTempDir());
    const work = join(root.dir, 'ops');
    await initBareRepository(join(root.dir, 'remote.git'), 'main', { env });
    await cloneRepository(join(root.dir, 'remote.git'), work, { env });
    const globalConfig = join(root.dir, 'gitconfig');
    // Signing through a program that always fails: a signed commit would not be made at all.
    await writeFile(globalConfig, '[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n');
    await writeFile(join(work, 'a.txt'), 'a\n');
    const author = { name: 'A', email: 'a@example.com' };
    const commit = await commitAll(work, 'a', author, { env: { ...env, GIT_CONFIG_GLOBAL: globalConfig } });
    expect(await git(work, ['rev-parse', 'HEAD'])).toBe(commit);
  });

  it('fail with GitErrors that name what failed and keep credentials out', async () => {
    const root = await track(createTempDir());
    const secretRemote = 'https://bot:s3cr3t-pass@127.0.0.1:9/ops.git';
    const error = await cloneRepository(secretRemote, join(root.dir, 'ops'), { env }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(GitError);
    expect((error as Error).message).toMatch(
      /^Cloning https:\/\/\[redacted\]@127\.0\.0\.1:9\/ops\.git into .* failed: fatal: unable to access/,
    );
    expect((error as Error).message).not.toMatch(/s3cr3t|bot:/);
    expect(existsSync(join(root.dir, 'ops'))).toBe(false);

    const repo = await track(createTempRepo());
    await expect(commitAll(repo.dir, 'nothing', { name: 'A', email: 'a@x' }, { env })).rejects.toThrow(
      /^Committing in .* failed: /,
    );
    await commitFiles(repo.dir, { 'a.txt': 'a\n' }, 'a');
    await expect(pushBranch(repo.dir, join(root.dir, 'no-such-remote.git'), 'main', { env })).rejects.toThrow(
      /^Pushing main from .* to .*no-such-remote\.git failed: .*does not appear to be a git repository/,
    );
  });
});
