/**
 * A local remote's tips read from its ref files answer what `git ls-remote` answers — loose and
 * packed refs, branches with slashes, missing branches, a push between two reads — and anything
 * else (a symbolic ref, reftable, a linked worktree, not a repository) is left to git.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLocalBranchTips } from '../../src/git/local-refs.js';
import { openGitStore, type CavraGitStore } from '../../src/git/store.js';
import {
  cleanupAllTempDirs,
  commitFiles,
  createBareRemote,
  createTempDir,
  createTempRepo,
  git,
  pushBranch,
} from '../helpers/git-fixtures.js';

const stores: CavraGitStore[] = [];

afterEach(async () => {
  // Close first: a store's lock and cat-file live in the temp dirs.
  for (const store of stores.splice(0)) await store.close();
  await cleanupAllTempDirs();
});

/** A remote with `main` and `team/ledger`, and the working repository that pushed them. */
async function remoteWithBranches(): Promise<{ remote: string; work: string }> {
  const work = (await createTempRepo()).dir;
  const remote = (await createBareRemote()).dir;
  await commitFiles(work, { 'a.txt': 'a\n' }, 'first');
  await pushBranch(work, remote);
  await git(work, ['push', '-q', remote, 'main:refs/heads/team/ledger']);
  return { remote, work };
}

/** What git says the remote's branches point at, null for a missing one. */
async function lsRemote(remote: string, branches: string[]): Promise<Map<string, string | null>> {
  const out = await git(remote, ['ls-remote', '--heads', remote]);
  const found = new Map(out.split('\n').map((line) => [line.split('\t')[1], line.split('\t')[0]]));
  return new Map(branches.map((branch) => [branch, found.get(`refs/heads/${branch}`) ?? null]));
}

const BRANCHES = ['main', 'team/ledger', 'absent', 'team'];

describe('readLocalBranchTips', () => {
  it('reads loose refs as ls-remote does, and sees a push made after the first read', async () => {
    const { remote, work } = await remoteWithBranches();
    expect(await readLocalBranchTips(remote, BRANCHES)).toEqual(await lsRemote(remote, BRANCHES));
    await commitFiles(work, { 'a.txt': 'b\n' }, 'second');
    await pushBranch(work, remote);
    const after = await readLocalBranchTips(remote, ['main']);
    expect(after?.get('main')).toBe(await git(work, ['rev-parse', 'HEAD']));
  });

  it('reads packed refs once the loose ones are packed away', async () => {
    const { remote } = await remoteWithBranches();
    await git(remote, ['pack-refs', '--all', '--prune']);
    await expect(git(remote, ['rev-parse', '--verify', '-q', 'refs/heads/main'])).resolves.toMatch(
      /^[0-9a-f]{40}$/,
    );
    expect(await readLocalBranchTips(remote, BRANCHES)).toEqual(await lsRemote(remote, BRANCHES));
  });

  it('leaves a symbolic ref, reftable, a linked worktree and a non-repository to git', async () => {
    const { remote } = await remoteWithBranches();
    await git(remote, ['symbolic-ref', 'refs/heads/alias', 'refs/heads/main']);
    expect(await readLocalBranchTips(remote, ['alias'])).toBeNull();
    expect(await readLocalBranchTips(remote, ['main'])).not.toBeNull();

    const reftable = (await remoteWithBranches()).remote;
    await git(reftable, ['config', 'extensions.refStorage', 'reftable']);
    expect(await readLocalBranchTips(reftable, ['main'])).toBeNull();

    const linked = (await remoteWithBranches()).remote;
    await writeFile(join(linked, 'commondir'), '../..\n');
    expect(await readLocalBranchTips(linked, ['main'])).toBeNull();

    const empty = (await createTempDir()).dir;
    expect(await readLocalBranchTips(empty, ['main'])).toBeNull();
  });
});

describe('peekRemoteTips', () => {
  it('asks no git for a local remote, and git for a file:// one', async () => {
    const { remote, work } = await remoteWithBranches();
    const open = async (url: string) => {
      const stateDir = (await createTempDir()).dir;
      const store = await openGitStore({ remote: url, stateDir, branch: 'main', replicaId: 'r' });
      stores.push(store);
      return store;
    };
    const tip = await git(work, ['rev-parse', 'HEAD']);
    const local = await open(remote);
    const url = await open(`file://${remote}`);
    // Point both clones' origin somewhere that does not exist: only an ls-remote notices.
    for (const store of [local, url]) {
      await git(store.repoDir, ['config', 'remote.origin.url', join(remote, 'gone.git')]);
    }
    expect(await local.peekRemoteTips(['main', 'absent'])).toEqual(
      new Map([
        ['main', tip],
        ['absent', null],
      ]),
    );
    await expect(url.peekRemoteTips(['main'])).rejects.toThrow(
      /gone\.git|does not appear|not a git repository/i,
    );
  });
});
