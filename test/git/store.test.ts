import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitError, GitError } from '../../src/errors.js';
import {
  openGitStore,
  parsePushRejection,
  type CavraGitStore,
  type GitStoreOptions,
} from '../../src/git/store.js';
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

const FIXED_TIME = new Date('2026-06-28T10:00:00Z');
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function tempDir(): Promise<TempDir> {
  const dir = await createTempDir();
  cleanups.push(dir.cleanup);
  return dir;
}

/** A bare remote whose main has one commit with a manifest. */
async function createSeededRemote(): Promise<{ remote: TempDir; seed: string }> {
  const work = await createTempRepo();
  const remote = await createBareRemote();
  cleanups.push(work.cleanup, remote.cleanup);
  const seed = await commitFiles(work.dir, { 'manifests/policy.yaml': 'kind: ReconcilerPolicy\n' }, 'seed');
  await pushBranch(work.dir, remote.dir);
  return { remote, seed };
}

async function openStore(overrides: Partial<GitStoreOptions> & { remote: string }): Promise<CavraGitStore> {
  const stateDir = overrides.stateDir ?? (await tempDir()).dir;
  const store = await openGitStore({
    branch: 'main',
    replicaId: 'replica-a',
    clock: { now: () => FIXED_TIME },
    ...overrides,
    stateDir,
  });
  cleanups.push(() => store.close());
  return store;
}

const change = {
  put: [
    {
      path: 'records/executions/2026-06/gordackretryexec-0123456789abcdef.json',
      content: '{\n  "a": 1\n}\n',
    },
    { path: 'records/claims/gordackretryexec-0123456789abcdef.json', content: '{}\n' },
  ],
  remove: [],
};

describe('openGitStore', () => {
  it('fetches the remote tip, null for a branch the remote does not have', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    expect(await store.fetch('main')).toBe(seed);
    expect(await store.fetch('nope')).toBeNull();
    expect(await store.resolve('main')).toBe(seed);
    expect(await store.readFile(seed, 'manifests/policy.yaml')).toBe('kind: ReconcilerPolicy\n');
  });

  it('fetches from an empty remote as null and can create the first commit', async () => {
    const remote = await createBareRemote();
    cleanups.push(remote.cleanup);
    const store = await openStore({ remote: `file://${remote.dir}` });
    expect(await store.fetch('main')).toBeNull();
    const root = await store.createCommit(null, change, 'first records');
    expect(await store.push(root, 'main')).toEqual({ status: 'pushed', commit: root });
    expect(await readBranch(remote.dir)).toBe(root);
  });

  it('reads committed branches of a local non-bare repository without touching its working tree', async () => {
    const work = await createTempRepo();
    cleanups.push(work.cleanup);
    const tip = await commitFiles(work.dir, { 'manifests/a.yaml': 'a\n' }, 'a');
    await writeFile(join(work.dir, 'manifests/a.yaml'), 'dirty\n');
    const store = await openStore({ remote: work.dir });
    expect(await store.fetch('main')).toBe(tip);
    expect(await store.readFile(tip, 'manifests/a.yaml')).toBe('a\n');
    expect(await git(work.dir, ['status', '--porcelain'])).toBe('M manifests/a.yaml');
  });

  it('fetches the ledger branch with the tracked branch', async () => {
    const { remote, seed } = await createSeededRemote();
    const writer = await openStore({ remote: remote.dir });
    await writer.fetch('main');
    const ledger = await writer.createCommit(seed, change, 'ledger records');
    expect((await writer.push(ledger, 'cavra-ledger')).status).toBe('pushed');
    const store = await openStore({
      remote: remote.dir,
      ledgerBranch: 'cavra-ledger',
      replicaId: 'replica-b',
    });
    expect(await store.fetch('main')).toBe(seed);
    expect(await store.readRemoteTip('cavra-ledger')).toBe(ledger);
  });
});

describe('createCommit', () => {
  it('puts and removes files in nested dirs without a checkout, deterministically', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const first = await store.createCommit(seed, change, 'reconcile: record execution');
    const second = await store.createCommit(
      first,
      {
        put: [{ path: 'records/executions/2026-06/other.json', content: 'x\n' }],
        remove: ['records/claims/gordackretryexec-0123456789abcdef.json', 'manifests/policy.yaml'],
      },
      'reconcile: outcome',
    );
    const tree = (await store.listTree(second, [])).map((entry) => entry.path);
    expect(tree).toEqual([
      'records/executions/2026-06/gordackretryexec-0123456789abcdef.json',
      'records/executions/2026-06/other.json',
    ]);
    expect(await git(store.repoDir, ['rev-parse', `${second}^`])).toBe(first);
    expect(await store.readFile(second, 'records/executions/2026-06/other.json')).toBe('x\n');
    // No working tree anywhere: the clone is bare.
    expect(await git(store.repoDir, ['rev-parse', '--is-bare-repository'])).toBe('true');

    // Same inputs, same time, another replica dir with the same replica id: same commit id.
    const again = await openStore({ remote: remote.dir });
    await again.fetch('main');
    expect(await again.createCommit(seed, change, 'reconcile: record execution')).toBe(first);
  });

  it('writes the committer, the fixed time and the replica trailer', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir, replicaId: 'ops-1' });
    await store.fetch('main');
    const commit = await store.createCommit(seed, change, 'reconcile: record');
    const raw = await git(store.repoDir, ['cat-file', 'commit', commit]);
    expect(raw).toContain(`committer cavra-gitops <ops-1> ${FIXED_TIME.getTime() / 1000} +0000`);
    expect(raw.endsWith('reconcile: record\n\nCavra-Gitops-Replica: ops-1')).toBe(true);
  });

  it("keeps fast-import's freed heap between blobs, unless the operator set glibc's threshold", async () => {
    // A `git` on PATH that notes the threshold each fast-import child got, then runs the real git.
    const { remote, seed } = await createSeededRemote();
    const shim = await tempDir();
    const log = join(shim.dir, 'thresholds.log');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(
      join(shim.dir, 'git'),
      `#!/bin/sh\nfor arg in "$@"; do [ "$arg" = fast-import ] && echo "\${MALLOC_TRIM_THRESHOLD_:-unset}" >> ${log}; done\nexec ${realGit} "$@"\n`,
    );
    await chmod(join(shim.dir, 'git'), 0o755);
    const path = `${shim.dir}:${process.env.PATH ?? ''}`;
    const store = await openStore({ remote: remote.dir, env: { ...process.env, PATH: path } });
    await store.fetch('main');
    await store.createCommit(seed, change, 'default threshold');
    const tuned = await openStore({
      remote: remote.dir,
      env: { ...process.env, PATH: path, MALLOC_TRIM_THRESHOLD_: '4096' },
    });
    await tuned.fetch('main');
    await tuned.createCommit(seed, change, 'operator threshold');
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['1048576', '4096']);
  });

  it('takes the per-call time over the clock', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const commit = await store.createCommit(seed, change, 'm', { time: new Date('2030-01-01T00:00:00Z') });
    expect(await git(store.repoDir, ['log', '-1', '--format=%cI', commit])).toBe('2030-01-01T00:00:00+00:00');
  });

  it('tells an empty commit from one with changes', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const same = await store.createCommit(
      seed,
      { put: [{ path: 'manifests/policy.yaml', content: 'kind: ReconcilerPolicy\n' }], remove: [] },
      'no-op',
    );
    expect(await store.isEmptyCommit(same)).toBe(true);
    expect(await store.isEmptyCommit(await store.createCommit(seed, change, 'records'))).toBe(false);
  });

  it.each(['/etc/passwd', '../escape', 'a//b', 'records/./x', '.git/config', 'dir/'])(
    'refuses the unsafe path %j',
    async (path) => {
      const { remote, seed } = await createSeededRemote();
      const store = await openStore({ remote: remote.dir });
      await store.fetch('main');
      await expect(
        store.createCommit(seed, { put: [{ path, content: 'x' }], remove: [] }, 'bad'),
      ).rejects.toThrow(/unsafe path/);
    },
  );

  it('writes many files with a bounded number of processes', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const put = Array.from({ length: 3000 }, (_, index) => ({
      path: `records/deliveries/2026-06/d-${index}.json`,
      content: `{"i": ${index}}\n`,
    }));
    const started = Date.now();
    const commit = await store.createCommit(seed, { put, remove: [] }, 'bulk');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await store.listTree(commit, ['records/'])).length).toBe(3000);
  });
});

describe('maintain', () => {
  it('keeps every commit as a pack and rolls the packs up once they pile up, losing nothing', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const packs = async () =>
      (await readdir(join(store.repoDir, 'objects', 'pack'))).filter((name) => name.endsWith('.pack')).length;
    const commits: string[] = [];
    let tip = seed;
    for (let i = 0; i < 40; i++) {
      tip = await store.createCommit(
        tip,
        { put: [{ path: `records/runs/run-${i}.json`, content: `{"i":${i}}\n` }], remove: [] },
        `run ${i}`,
      );
      commits.push(tip);
    }
    // A one-file commit is a pack of its own, not three loose objects.
    expect(await packs()).toBeGreaterThan(40);
    expect(await readdir(join(store.repoDir, 'objects'))).toEqual(['info', 'pack']);
    await store.maintain();
    expect(await packs()).toBeLessThan(8);
    const files = await store.listTree(tip, ['records/runs']);
    expect(files).toHaveLength(40);
    expect((await store.readBlobs([files[0]!.blob])).size).toBe(1);
    // Below the threshold nothing is done.
    const before = await packs();
    await store.maintain();
    expect(await packs()).toBe(before);
  });
});

describe('push', () => {
  it('pushes without force and rejects a non-fast-forward', async () => {
    const { remote, seed } = await createSeededRemote();
    const a = await openStore({ remote: remote.dir, replicaId: 'a' });
    const b = await openStore({ remote: remote.dir, replicaId: 'b' });
    await a.fetch('main');
    await b.fetch('main');
    const fromA = await a.createCommit(seed, change, 'a');
    const fromB = await b.createCommit(
      seed,
      { put: [{ path: 'records/claims/other.json', content: '{}\n' }], remove: [] },
      'b',
    );
    expect(await a.push(fromA, 'main')).toEqual({ status: 'pushed', commit: fromA });
    const rejected = await b.push(fromB, 'main');
    expect(rejected.status).toBe('rejected');
    expect(rejected.status === 'rejected' && rejected.reason).toMatch(/fetch first|non-fast-forward/);
    expect(await readBranch(remote.dir)).toBe(fromA);
    expect(await b.fetch('main')).toBe(fromA);
  });

  it('reports a pre-receive hook that rejects the first pushes as rejected, then lands', async () => {
    const { remote, seed } = await createSeededRemote();
    const counter = join(remote.dir, 'rejections-left');
    await writeFile(counter, '2');
    const hook = join(remote.dir, 'hooks', 'pre-receive');
    await mkdir(join(remote.dir, 'hooks'), { recursive: true });
    await writeFile(
      hook,
      `#!/bin/sh\nleft=$(cat "${counter}")\nif [ "$left" -gt 0 ]; then echo $((left - 1)) > "${counter}"; echo "busy, try again" >&2; exit 1; fi\nexit 0\n`,
    );
    await chmod(hook, 0o755);
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const commit = await store.createCommit(seed, change, 'records');
    const first = await store.push(commit, 'main');
    expect(first).toEqual({ status: 'rejected', reason: 'pre-receive hook declined' });
    expect((await store.push(commit, 'main')).status).toBe('rejected');
    expect(await store.push(commit, 'main')).toEqual({ status: 'pushed', commit });
    expect(await readBranch(remote.dir)).toBe(commit);
  });

  it('lets exactly one of two stores building on the same tip land', async () => {
    const { remote, seed } = await createSeededRemote();
    const stores = await Promise.all(
      ['r1', 'r2', 'r3', 'r4'].map((replicaId) => openStore({ remote: remote.dir, replicaId })),
    );
    await Promise.all(stores.map((store) => store.fetch('main')));
    const commits = await Promise.all(
      stores.map((store, index) =>
        store.createCommit(
          seed,
          { put: [{ path: `records/claims/c-${index}.json`, content: '{}\n' }], remove: [] },
          'claim',
        ),
      ),
    );
    const results = await Promise.all(stores.map((store, index) => store.push(commits[index] ?? '', 'main')));
    const pushed = results.filter((result) => result.status === 'pushed');
    expect(pushed).toHaveLength(1);
    expect(await readBranch(remote.dir)).toBe(pushed[0]?.status === 'pushed' ? pushed[0].commit : '');
  });

  it('throws a redacted GitError when the remote is unreachable', async () => {
    const store = await openStore({
      remote: 'https://bot:s3cr3t-token@127.0.0.1:9/ops.git?access_token=abcdef123',
    });
    const error = await store.fetch('main').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitError);
    const message = (error as Error).message;
    expect(message).toContain('127.0.0.1:9/ops.git');
    expect(message).not.toMatch(/s3cr3t|abcdef123|bot:/);
  });

  it('throws a GitError naming the path when the remote path does not exist', async () => {
    const missing = join((await tempDir()).dir, 'no-such-remote.git');
    const store = await openStore({ remote: missing });
    await expect(store.fetch('main')).rejects.toThrow(new RegExp(`Fetching main from ${missing} failed`));
  });

  it('throws a GitError when a file:// remote disappears mid-run', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: `file://${remote.dir}` });
    await store.fetch('main');
    const commit = await store.createCommit(seed, change, 'records');
    await rename(remote.dir, `${remote.dir}-gone`);
    cleanups.push(async () => rename(`${remote.dir}-gone`, remote.dir));
    await expect(store.push(commit, 'main')).rejects.toThrow(GitError);
    await expect(store.fetch('main')).rejects.toThrow(/Fetching main from file:\/\//);
  });

  it.each([
    ['!\tabc:refs/heads/main\t[rejected] (non-fast-forward)', 'non-fast-forward'],
    ['!\tabc:refs/heads/main\t[remote rejected] (pre-receive hook declined)', 'pre-receive hook declined'],
    ['!\tabc:refs/heads/main\t[rejected] (stale info)', 'stale info'],
    ['*\tabc:refs/heads/main\t[new branch]', null],
    ['!\tabc:refs/heads/other\t[rejected] (fetch first)', null],
  ])('parses the porcelain line %j', (line, expected) => {
    expect(parsePushRejection(`To /remote\n${line}\nDone\n`, 'refs/heads/main')).toBe(expected);
  });
});

describe('state dir lock and recovery', () => {
  it('refuses a second store on the same state dir with a clear message', async () => {
    const { remote } = await createSeededRemote();
    const stateDir = (await tempDir()).dir;
    await openStore({ remote: remote.dir, stateDir });
    const error = await openGitStore({ remote: remote.dir, stateDir, branch: 'main', replicaId: 'x' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ExitError);
    expect((error as Error).message).toMatch(
      new RegExp(`state dir ${stateDir} is in use by pid ${process.pid} on host`, 'i'),
    );
    expect((error as Error).message).toContain('--state-dir');
  });

  it('releases the lock on close so the next process can open', async () => {
    const { remote, seed } = await createSeededRemote();
    const stateDir = (await tempDir()).dir;
    const first = await openGitStore({ remote: remote.dir, stateDir, branch: 'main', replicaId: 'x' });
    await first.fetch('main');
    await first.close();
    const second = await openStore({ remote: remote.dir, stateDir });
    expect(await second.readRemoteTip('main')).toBe(seed);
  });

  it('recovers a lock and git lock files left by a killed process, keeping the clone', async () => {
    const { remote, seed } = await createSeededRemote();
    const stateDir = (await tempDir()).dir;
    const first = await openGitStore({ remote: remote.dir, stateDir, branch: 'main', replicaId: 'x' });
    await first.fetch('main');
    await first.close();
    // A process that has exited: its pid is not alive any more.
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString(),
    );
    await writeFile(
      join(stateDir, 'lock'),
      JSON.stringify({ pid: deadPid, host: hostname(), started: '2026-01-01T00:00:00Z', token: 'dead' }),
    );
    await writeFile(join(stateDir, 'repo.git', 'index.lock'), '');
    await writeFile(join(stateDir, 'repo.git', 'refs', 'remotes', 'origin', 'main.lock'), '');
    const store = await openStore({ remote: remote.dir, stateDir });
    expect(await store.readRemoteTip('main')).toBe(seed);
    expect(await store.fetch('main')).toBe(seed);
    await expect(readdir(join(stateDir, 'repo.git', 'refs', 'remotes', 'origin'))).resolves.toEqual(['main']);
  });

  it('re-fetches when objects of the clone are lost', async () => {
    const { remote, seed } = await createSeededRemote();
    const store = await openStore({ remote: remote.dir });
    await store.fetch('main');
    const [entry] = await store.listTree(seed, ['manifests/']);
    const blob = entry?.blob ?? '';
    const objects = join(store.repoDir, 'objects');
    await rm(join(objects, blob.slice(0, 2), blob.slice(2)), { force: true });
    await rm(join(objects, 'pack'), { recursive: true, force: true });
    const blobs = await store.readBlobs([blob]);
    expect(blobs.get(blob)?.toString()).toBe('kind: ReconcilerPolicy\n');
  });

  it('rebuilds a clone that is not a repository any more', async () => {
    const { remote, seed } = await createSeededRemote();
    const stateDir = (await tempDir()).dir;
    const first = await openGitStore({ remote: remote.dir, stateDir, branch: 'main', replicaId: 'x' });
    await first.fetch('main');
    await first.close();
    await writeFile(join(stateDir, 'repo.git', 'HEAD'), 'garbage');
    const store = await openStore({ remote: remote.dir, stateDir });
    expect(await store.fetch('main')).toBe(seed);
  });
});
