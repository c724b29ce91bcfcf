/**
 * What the store's clone keeps true now that its porcelain runs through simple-git: its settings
 * hold through the environment whatever the clone's config says (and cost no write), a push moves the remote-tracking ref by itself
 * (no `update-ref` after it), and branch names resolve without a detour.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnknownRevisionError } from '../../src/errors.js';
import { openGitStore, type CavraGitStore } from '../../src/git/store.js';
import {
  commitFiles,
  createBareRemote,
  createTempDir,
  createTempRepo,
  git,
  pushBranch,
  readBranch,
  type TempDir,
} from '../helpers/git-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function track(dir: Promise<TempDir>): Promise<TempDir> {
  const temp = await dir;
  cleanups.push(temp.cleanup);
  return temp;
}

async function seededRemote(): Promise<{ remote: string; seed: string }> {
  const work = await track(createTempRepo());
  const remote = await track(createBareRemote());
  const seed = await commitFiles(work.dir, { 'manifests/policy.yaml': 'kind: ReconcilerPolicy\n' }, 'seed');
  await pushBranch(work.dir, remote.dir);
  return { remote: remote.dir, seed };
}

async function open(remote: string, stateDir: string, replicaId = 'r'): Promise<CavraGitStore> {
  const store = await openGitStore({ remote, stateDir, branch: 'main', replicaId });
  cleanups.push(() => store.close());
  return store;
}

describe('the clone settings', () => {
  it('hold for every git the store runs whatever the clone config says; only a moved remote is written', async () => {
    const { remote, seed } = await seededRemote();
    const stateDir = (await track(createTempDir())).dir;
    const first = await openGitStore({ remote, stateDir, branch: 'main', replicaId: 'r' });
    const repoDir = first.repoDir;
    await first.close();
    expect(await git(repoDir, ['config', '--local', 'remote.origin.url'])).toBe(remote);

    // An operator's edits that would explode small commits into loose objects and gc mid-run.
    await git(repoDir, ['config', 'fastimport.unpackLimit', '1000']);
    await git(repoDir, ['config', 'fetch.unpackLimit', '1000']);
    await git(repoDir, ['config', 'gc.auto', '1']);
    const config = join(repoDir, 'config');
    const before = { text: await readFile(config, 'utf8'), mtime: (await stat(config)).mtimeMs };
    const store = await open(remote, stateDir);
    expect({ text: await readFile(config, 'utf8'), mtime: (await stat(config)).mtimeMs }).toEqual(before);
    await store.fetch('main');
    await store.createCommit(seed, { put: [{ path: 'records/a.json', content: '{}\n' }], remove: [] }, 'one');
    expect(await readdir(join(repoDir, 'objects'))).toEqual(['info', 'pack']);
    await store.close();

    // A remote that moved (e.g. a rotated credential in the URL) is written.
    const moved = `file://${remote}`;
    await (await openGitStore({ remote: moved, stateDir, branch: 'main', replicaId: 'r' })).close();
    expect(await git(repoDir, ['config', '--local', 'remote.origin.url'])).toBe(moved);
  });
});

describe('a new replica of a remote on this machine', () => {
  it('takes the objects as `git clone <path>` does (packs hardlinked), and keeps only what a fetch makes', async () => {
    const { remote, seed } = await seededRemote();
    await git(remote, ['tag', 'v1', seed]);
    await git(remote, ['repack', '-a', '-d', '-q']);
    const [remotePack] = (await readdir(join(remote, 'objects', 'pack'))).filter((name) =>
      name.endsWith('.pack'),
    );
    const store = await open(remote, (await track(createTempDir())).dir);
    expect(await store.fetch('main')).toBe(seed);
    // The same file, not a copy: a fetch into an empty repository packs and indexes every object again.
    expect((await stat(join(store.repoDir, 'objects', 'pack', remotePack!))).ino).toBe(
      (await stat(join(remote, 'objects', 'pack', remotePack!))).ino,
    );
    expect(await readdir(join(store.repoDir, 'objects'))).toEqual(['info', 'pack']);
    expect(await git(store.repoDir, ['for-each-ref', '--format=%(refname)'])).toBe(
      'refs/remotes/origin/main',
    );
  });
});

describe('push', () => {
  it('moves the remote-tracking ref to what it pushed, a new branch too, and sets no fetch refspec', async () => {
    const { remote, seed } = await seededRemote();
    const store = await open(remote, (await track(createTempDir())).dir);
    await store.fetch('main');
    const change = { put: [{ path: 'records/a.json', content: '{}\n' }], remove: [] };
    const commit = await store.createCommit(seed, change, 'records');
    expect(await store.push(commit, 'main')).toEqual({ status: 'pushed', commit });
    expect(await store.readRemoteTip('main')).toBe(commit);
    expect(await store.push(commit, 'cavra-ledger')).toEqual({ status: 'pushed', commit });
    expect(await store.readRemoteTip('cavra-ledger')).toBe(commit);
    expect(await readBranch(remote, 'cavra-ledger')).toBe(commit);
    await expect(git(store.repoDir, ['config', '--get-all', 'remote.origin.fetch'])).rejects.toThrow();
  });

  it('moves a stale remote-tracking ref when the remote already has the commit', async () => {
    const { remote, seed } = await seededRemote();
    const store = await open(remote, (await track(createTempDir())).dir);
    await store.fetch('main');
    const commit = await store.createCommit(seed, { put: [{ path: 'a', content: 'a' }], remove: [] }, 'a');
    await store.push(commit, 'main');
    await git(store.repoDir, ['update-ref', 'refs/remotes/origin/main', seed]);
    expect(await store.push(commit, 'main')).toEqual({ status: 'pushed', commit });
    expect(await store.readRemoteTip('main')).toBe(commit);
  });

  it('leaves the remote-tracking ref alone when the push is rejected', async () => {
    const { remote, seed } = await seededRemote();
    const store = await open(remote, (await track(createTempDir())).dir);
    await store.fetch('main');
    const ours = await store.createCommit(seed, { put: [{ path: 'a', content: 'a' }], remove: [] }, 'a');
    const other = await open(remote, (await track(createTempDir())).dir, 'other');
    await other.fetch('main');
    const theirs = await other.createCommit(seed, { put: [{ path: 'b', content: 'b' }], remove: [] }, 'b');
    expect((await other.push(theirs, 'main')).status).toBe('pushed');
    expect((await store.push(ours, 'main')).status).toBe('rejected');
    expect(await store.readRemoteTip('main')).toBe(seed);
  });
});

describe('resolve', () => {
  it('resolves a fetched branch, a commit id, and says unknown for neither', async () => {
    const { remote, seed } = await seededRemote();
    const store = await open(remote, (await track(createTempDir())).dir);
    await store.fetch('main');
    expect(await store.resolve('main')).toBe(seed);
    expect(await store.resolve(seed)).toBe(seed);
    expect(await store.readRemoteTip('nope')).toBeNull();
    await expect(store.resolve('nope')).rejects.toBeInstanceOf(UnknownRevisionError);
  });
});
