/**
 * The reconciler's own bare clone of the ops remote, in a locked state directory. Reads go through
 * the batch reader of the clone; commits are built with fast-import (no checkout, no working tree);
 * pushes never force, so git's atomic ref update decides races and a loser gets `rejected`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Clock, Env, PushResult, ReconcilerStore, TreeChange } from '../domain/ports.js';
import { GitError } from '../errors.js';
import { REPLICA_TRAILER_KEY } from './history-walk.js';
import { appendTrailer, buildFastImportStream, fastImportEnv, type CommitIdentity } from './fast-import.js';
import { signCommit } from './sign-commit.js';
import { createGitReader } from './reader.js';
import { redactRemote } from './redact-remote.js';
import { createGitEnv, describeGitFailure, runGit, withConfigEnv } from './run-git.js';
import { runPorcelain, settlePorcelain, type PorcelainResult } from './run-porcelain.js';
import { verifyRevision } from './verify-revision.js';
import { gitDirOf, readLocalBranchTips } from './local-refs.js';
import { isLocalRemote } from './state-dir.js';
import { acquireStateLock, type StateLock } from './state-lock.js';

export interface GitStoreOptions {
  /** Bare repository path, `file://`, ssh or https URL, or a local non-bare repository path. */
  remote: string;
  /** Directory owned by this replica: lock file and the bare clone (`repo.git`). */
  stateDir: string;
  /** The tracked branch. */
  branch: string;
  /** Separate branch for records, fetched with `branch`. */
  ledgerBranch?: string;
  replicaId: string;
  /** Commit author/committer name; default `cavra-gitops`. */
  authorName?: string;
  /** Commit author/committer email; default the replica id. */
  authorEmail?: string;
  /** An ssh private key file: every commit is ssh-signed with it (`--signing-key`). */
  signingKey?: string;
  env?: Env;
  /** Source of commit times (inject `CAVRA_GITOPS_NOW`); default the wall clock. */
  clock?: Clock;
  /** Base for a relative local `remote`; default `process.cwd()`. */
  cwd?: string;
}

export interface CreateCommitOptions {
  /** Commit time; overrides the store's clock. */
  time?: Date;
}

/** The GitStore port plus conveniences the reconciler and CLI use. */
export interface CavraGitStore extends ReconcilerStore {
  readonly stateDir: string;
  /** The bare clone inside the state dir. */
  readonly repoDir: string;
  /** The remote, redacted for messages. */
  readonly remoteLabel: string;
  readonly replicaId: string;
  createCommit(
    base: string | null,
    change: TreeChange,
    message: string,
    options?: CreateCommitOptions,
  ): Promise<string>;
  /** File content at a commit as UTF-8, null when absent. */
  readFile(commit: string, path: string): Promise<string | null>;
  /** The last fetched (or pushed) tip of `branch`, without network; null when unknown. */
  readRemoteTip(branch: string): Promise<string | null>;
  /**
   * The remote's current tips of `branches` without fetching objects (one `git ls-remote`, or
   * for a local remote its ref files): a no-op run compares them with the last run and skips the
   * fetch. Null for a missing branch.
   */
  peekRemoteTips(branches: string[]): Promise<Map<string, string | null>>;
  /**
   * Roll the clone's packs up (geometric repack) once there are more than a few dozen; every
   * commit and fetch adds one, and lookups slow down as they pile up. Meant for between runs.
   */
  maintain(): Promise<void>;
  /** True when `commit` has the same tree as its first parent (or is an empty root): nothing changed. */
  isEmptyCommit(commit: string): Promise<boolean>;
}

/** The trailer that marks a reconciler commit (one definition, shared with the history walk). */
export const REPLICA_TRAILER = REPLICA_TRAILER_KEY;
const SCRATCH_REF = 'refs/cavra-gitops/last-commit';
/** Packs in the clone above which `maintain()` repacks. */
const MAX_PACKS = 32;
const CLONE_DIR = 'repo.git';
/**
 * The settings of every git the store runs, given through the environment (withConfigEnv), so
 * they hold whatever the clone's config says and cost no `git config` write (simple-git waits
 * 50 ms after each silent command: five writes were 0.3 s of a new replica's first run). No gc in
 * the middle of a run (it would stall a commit); `maintain()` rolls packs up between runs instead.
 * Small commits and fetches stay packs: exploding them into loose objects costs a file per
 * object, milliseconds each on a slow disk.
 */
const CLONE_SETTINGS: readonly (readonly [string, string])[] = [
  ['gc.auto', '0'],
  ['fastimport.unpackLimit', '1'],
  ['fetch.unpackLimit', '1'],
  ['core.logAllRefUpdates', 'false'],
  ['fetch.writeFetchHead', 'false'],
];
const BRANCH_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])$/;
const MISSING_REMOTE_REF = /couldn't find remote ref/i;
const CORRUPTION =
  /corrupt|bad object|unable to read|did not send all necessary objects|missing (blob|tree|commit)|not a git repository|fatal: bad config/i;

function assertBranch(branch: string): void {
  if (!BRANCH_NAME.test(branch) || branch.endsWith('.lock')) {
    throw new GitError(`"${branch}" is not a valid branch name; use a name like main or cavra-ledger.`);
  }
}

/**
 * Open (creating on first use) the replica's clone of `options.remote` in `options.stateDir`,
 * holding the state dir's lock until `close()`. Opening does not touch the network.
 */
export async function openGitStore(options: GitStoreOptions): Promise<CavraGitStore> {
  assertBranch(options.branch);
  if (options.ledgerBranch !== undefined) assertBranch(options.ledgerBranch);
  const remote = isLocalRemote(options.remote)
    ? resolvePath(options.cwd ?? process.cwd(), options.remote)
    : options.remote;
  const remoteLabel = redactRemote(options.remote);
  const stateDir = resolvePath(options.cwd ?? process.cwd(), options.stateDir);
  const repoDir = join(stateDir, CLONE_DIR);
  const env = withConfigEnv(createGitEnv(options.env ?? process.env, { GIT_DIR: repoDir }), CLONE_SETTINGS);
  await mkdir(stateDir, { recursive: true });
  const lock = await acquireStateLock(stateDir);
  try {
    await prepareClone(stateDir, repoDir, remote, env);
  } catch (error) {
    await lock.release();
    throw error;
  }
  return createStore({ options, remote, remoteLabel, stateDir, repoDir, env, lock });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Make sure `repoDir` is a usable bare clone configured for `remote`; rebuild it when broken. */
async function prepareClone(
  stateDir: string,
  repoDir: string,
  remote: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // Leftovers of a clone being built when a process was killed.
  for (const name of await readdir(stateDir)) {
    if (name.startsWith(`${CLONE_DIR}.tmp-`))
      await rm(join(stateDir, name), { recursive: true, force: true });
  }
  if (await exists(repoDir)) {
    const check = await settlePorcelain({ cwd: stateDir, env }, (git) =>
      git.revparse(['--is-bare-repository']),
    );
    if (check.ok && check.value === 'true') {
      await removeStaleGitLocks(repoDir);
      await configureClone(repoDir, remote, env);
      return;
    }
    await rm(repoDir, { recursive: true, force: true });
  }
  await initClone(stateDir, repoDir, remote, env);
}

/**
 * `git init --bare` in a temp dir renamed into place, so a half-made clone is never mistaken for
 * one. Not `-q`: simple-git waits 50 ms more for a command that prints nothing (docs/decisions.md).
 * A remote on this machine is cloned instead (copyLocalObjects).
 */
async function initClone(
  stateDir: string,
  repoDir: string,
  remote: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const temp = join(stateDir, `${CLONE_DIR}.tmp-${randomBytes(4).toString('hex')}`);
  const initEnv = { ...env, GIT_DIR: temp };
  if (isLocalRemote(remote) && (await copyLocalObjects(stateDir, temp, remote, env))) {
    await configureClone(temp, remote, initEnv);
    await rename(temp, repoDir);
    return;
  }
  const init = await settlePorcelain({ cwd: stateDir, env: initEnv }, (git) => git.init(true, [temp]));
  if (!init.ok) {
    throw new GitError(
      `Creating the clone in ${stateDir} failed: ${describeGitFailure(init.stderr)}; check that the state dir is writable.`,
    );
  }
  await configureClone(temp, remote, initEnv);
  await rename(temp, repoDir);
}

/**
 * A bare clone of the local `remote` in `temp` with no refs: its objects only, its packs
 * hardlinked (or copied across file systems) as `git clone <path>` does. A first fetch into an
 * empty repository packs and indexes every object of the history again (5.6 s at 10,000 commits,
 * against 1.1 s this way, fetch included); with the objects in place the fetch transfers nothing,
 * and it still creates the remote-tracking ref as for any remote. False (and nothing left behind)
 * when git cannot clone it, e.g. no repository there yet: `git init` then, and the fetch says why.
 */
async function copyLocalObjects(
  stateDir: string,
  temp: string,
  remote: string,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  // The clone makes its own repository: no GIT_DIR pointing into one.
  const { GIT_DIR: _gitDir, ...cloneEnv } = env;
  const options = { cwd: temp, env: { ...env, GIT_DIR: temp } };
  const giveUp = async (): Promise<false> => {
    await rm(temp, { recursive: true, force: true });
    return false;
  };
  const cloned = await settlePorcelain({ cwd: stateDir, env: cloneEnv }, (git) =>
    git.clone(remote, temp, ['--bare', '--no-tags', '--quiet']),
  );
  if (!cloned.ok) return giveUp();
  // The remote's loose objects come along loose; packed like everything the clone keeps (a pack
  // per commit, rolled up by maintain), while its refs still say what they belong to.
  if (!(await settlePorcelain(options, (git) => git.raw(['repack', '-d', '-q']))).ok) return giveUp();
  const refs = await settlePorcelain(options, (git) => git.raw(['for-each-ref', '--format=%(refname)']));
  if (!refs.ok) return giveUp();
  for (const ref of refs.value.split('\n').filter(Boolean)) {
    if (!(await settlePorcelain(options, (git) => git.raw(['update-ref', '-d', ref]))).ok) return giveUp();
  }
  return true;
}

/**
 * Set the clone's remote: read first (one `git config --list`) and written only when it differs
 * (a new clone, a moved remote, e.g. a rotated credential in the URL).
 */
async function configureClone(repoDir: string, remote: string, env: NodeJS.ProcessEnv): Promise<void> {
  const options = { cwd: repoDir, env: { ...env, GIT_DIR: repoDir } };
  const failure = (outcome: PorcelainResult<unknown>): GitError =>
    new GitError(
      `Configuring the clone ${repoDir} failed: ${outcome.ok ? '' : describeGitFailure(outcome.stderr, remote)}`,
    );
  const listed = await settlePorcelain(options, (git) => git.listConfig('local'));
  if (!listed.ok) throw failure(listed);
  if (listed.value.all['remote.origin.url'] === remote) return;
  const result = await settlePorcelain(options, (git) =>
    git.addConfig('remote.origin.url', remote, false, 'local'),
  );
  if (!result.ok) throw failure(result);
}

/**
 * Delete git lock files (`index.lock`, `refs/**\/*.lock`, ...) in the clone. We hold the state
 * dir's exclusive lock, so any git lock here was left by a killed process of ours.
 */
async function removeStaleGitLocks(repoDir: string): Promise<void> {
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth === 0 && entry.name === 'objects') {
          await visit(join(full, 'pack'), depth + 1);
          continue;
        }
        await visit(full, depth + 1);
      } else if (
        entry.name.endsWith('.lock') ||
        entry.name.startsWith('tmp_pack_') ||
        entry.name.startsWith('tmp_idx_')
      ) {
        await rm(full, { force: true });
      }
    }
  };
  await visit(repoDir, 0);
}

interface StoreParts {
  options: GitStoreOptions;
  remote: string;
  remoteLabel: string;
  stateDir: string;
  repoDir: string;
  env: NodeJS.ProcessEnv;
  lock: StateLock;
}

function createStore(parts: StoreParts): CavraGitStore {
  const { options, remote, remoteLabel, stateDir, repoDir, env, lock } = parts;
  let reader = createGitReader(repoDir, { env: options.env ?? process.env, gitDir: true });
  let closed = false;
  /** Serialises operations that write to the clone (fetch, commit, push). */
  let writeQueue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = writeQueue.then(work, work);
    writeQueue = run.catch(() => undefined);
    return run;
  };
  const porcelain = { cwd: stateDir, env };
  const git = (args: string[]): Promise<PorcelainResult<string>> => runPorcelain(args, porcelain);
  const identity: CommitIdentity = {
    name: options.authorName ?? 'cavra-gitops',
    email: options.authorEmail ?? options.replicaId,
  };
  const assertOpen = (): void => {
    if (closed) throw new GitError(`The git store in ${stateDir} is closed.`);
  };

  const readRemoteTip = async (branch: string): Promise<string | null> => {
    assertBranch(branch);
    const found = await verifyRevision(`refs/remotes/origin/${branch}^{commit}`, porcelain);
    return found.status === 'found' ? found.id : null;
  };

  const localGitDir = isLocalRemote(options.remote) ? gitDirOf(remote) : null;
  const peekRemoteTips = async (branches: string[]): Promise<Map<string, string | null>> => {
    for (const branch of branches) assertBranch(branch);
    const local = localGitDir ? await readLocalBranchTips(localGitDir, branches) : null;
    if (local) return local;
    const result = await settlePorcelain(porcelain, (simple) =>
      simple.listRemote(['--heads', 'origin', ...branches.map((b) => `refs/heads/${b}`)]),
    );
    if (!result.ok) throw fetchFailure(branches.join(', '), result);
    const tips = new Map<string, string | null>(branches.map((b) => [b, null]));
    for (const line of result.value.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref?.startsWith('refs/heads/')) {
        const branch = ref.slice('refs/heads/'.length);
        if (tips.has(branch)) tips.set(branch, sha);
      }
    }
    return tips;
  };

  /**
   * `--verbose`, not `--quiet`: an up-to-date fetch then still prints its ref lines, and simple-git
   * waits 50 ms more for a command that prints nothing. Failures print the same either way.
   */
  const fetchRefspecs = (branches: string[]): Promise<PorcelainResult<unknown>> =>
    settlePorcelain(porcelain, (simple) =>
      simple.fetch([
        '--no-tags',
        '--no-recurse-submodules',
        '--verbose',
        'origin',
        ...branches.map((branch) => `+refs/heads/${branch}:refs/remotes/origin/${branch}`),
      ]),
    );

  const fetchFailure = (branch: string, result: PorcelainResult<unknown>): GitError =>
    new GitError(
      `Fetching ${branch} from ${remoteLabel} failed: ${result.ok ? '' : describeGitFailure(result.stderr, remote)}; check the remote URL, network and credentials.`,
    );

  /** Fetch branches one by one, forgetting those the remote does not have. */
  const fetchEach = async (branches: string[]): Promise<void> => {
    for (const branch of branches) {
      const result = await fetchRefspecs([branch]);
      if (result.ok) continue;
      if (!MISSING_REMOTE_REF.test(result.stderr)) throw fetchFailure(branch, result);
      await git(['update-ref', '-d', `refs/remotes/origin/${branch}`]);
    }
  };

  const rebuildClone = async (): Promise<void> => {
    await reader.close();
    await rm(repoDir, { recursive: true, force: true });
    await initClone(stateDir, repoDir, remote, env);
    reader = createGitReader(repoDir, { env: options.env ?? process.env, gitDir: true });
  };

  const fetchOnce = async (branches: string[]): Promise<PorcelainResult<unknown>> => {
    const result = await fetchRefspecs(branches);
    if (!result.ok && MISSING_REMOTE_REF.test(result.stderr)) {
      await fetchEach(branches);
      return { ok: true, value: null };
    }
    return result;
  };

  const fetchedBranches = new Set<string>();
  let verifiedSinceFetch = false;

  /**
   * A read failed: check the clone's connectivity (only now, so start-up stays cheap); when it is
   * damaged, rebuild it, fetch what we had fetched, and try the read once more.
   */
  const withRepair = async <T>(read: () => Promise<T>, commit?: string): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      if (closed || !(error instanceof GitError) || verifiedSinceFetch) throw error;
      // An unknown commit is the caller's mistake, not damage: no fsck for it.
      if (commit !== undefined && !(await git(['cat-file', '-e', `${commit}^{commit}`])).ok) throw error;
      const repaired = await serialized(async () => {
        const fsck = await git(['fsck', '--connectivity-only', '--no-dangling', '--no-progress']);
        if (fsck.ok) {
          // Nothing changes until the next fetch: do not pay for fsck again on every bad request.
          verifiedSinceFetch = true;
          return false;
        }
        await rebuildClone();
        const result = await fetchOnce([...fetchedBranches]);
        if (!result.ok) throw fetchFailure([...fetchedBranches].join(', '), result);
        return true;
      });
      if (!repaired) throw error;
      return read();
    }
  };

  const store: CavraGitStore = {
    stateDir,
    repoDir,
    remoteLabel,
    replicaId: options.replicaId,

    resolve: async (rev) => {
      assertOpen();
      try {
        return await reader.resolve(rev);
      } catch (error) {
        // A bare branch name means the remote's branch as last fetched.
        if (BRANCH_NAME.test(rev)) {
          const tip = await readRemoteTip(rev).catch(() => null);
          if (tip) return tip;
        }
        throw error;
      }
    },
    listTree: (commit, prefixes, listOptions) =>
      withRepair(() => reader.listTree(commit, prefixes, listOptions), commit),
    readBlobs: (blobs) => withRepair(() => reader.readBlobs(blobs)),
    walkHistory: (request) => withRepair(() => reader.walkHistory(request), request.tip),
    isAncestor: (ancestor, descendant) => reader.isAncestor(ancestor, descendant),
    readObjects: (names, readOptions) => withRepair(() => reader.readObjects(names, readOptions)),
    verifySignatures: (commits, allowedSigners) => reader.verifySignatures(commits, allowedSigners),
    readFile: (commit, path) => reader.readFile(commit, path),
    readRemoteTip,
    peekRemoteTips: (branches) =>
      serialized(async () => {
        assertOpen();
        return peekRemoteTips(branches);
      }),

    fetch: (branch) =>
      serialized(async () => {
        assertOpen();
        assertBranch(branch);
        const branches = [...new Set([branch, ...(options.ledgerBranch ? [options.ledgerBranch] : [])])];
        for (const name of branches) fetchedBranches.add(name);
        verifiedSinceFetch = false;
        let result = await fetchOnce(branches);
        if (!result.ok && CORRUPTION.test(result.stderr)) {
          // The clone is damaged (e.g. a killed process mid-write): start it over and fetch again.
          await rebuildClone();
          result = await fetchOnce(branches);
        }
        if (!result.ok) throw fetchFailure(branch, result);
        return readRemoteTip(branch);
      }),

    createCommit: (base, change, message, commitOptions = {}) =>
      serialized(async () => {
        assertOpen();
        const time = commitOptions.time ?? options.clock?.now() ?? new Date();
        const fullMessage = appendTrailer(message, REPLICA_TRAILER, options.replicaId);
        const stream = buildFastImportStream({
          ref: SCRATCH_REF,
          base,
          change,
          message: fullMessage,
          identity,
          time,
        });
        // A stream on stdin: a raw child process, not simple-git (docs/decisions.md).
        const result = await runGit(['fast-import', '--quiet', '--force', '--done'], {
          cwd: stateDir,
          env: fastImportEnv(env),
          input: stream,
        });
        const id = result.stdout.toString('utf8').trim();
        if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(id)) {
          throw new GitError(
            `Creating a commit on ${base ?? 'an empty history'} in ${repoDir} failed: ${describeGitFailure(result.stderr)}`,
          );
        }
        if (options.signingKey === undefined) return id;
        return signCommit(id, {
          cwd: stateDir,
          env,
          keyFile: resolvePath(options.cwd ?? process.cwd(), options.signingKey),
          identity,
          time,
          message: fullMessage,
          parent: base,
        });
      }),

    push: (commit, branch) =>
      serialized(async (): Promise<PushResult> => {
        assertOpen();
        assertBranch(branch);
        const target = `refs/heads/${branch}`;
        // `raw`, not simple-git's push(): that one adds --verbose, whose "Pushing to" line would
        // then open the failure text. With a fetch refspec for the branch in force, a push that
        // lands also moves refs/remotes/origin/<branch> to the commit (git's own tracking-ref
        // update), so no silent `update-ref` follows, which simple-git would hold for 50 ms.
        const result = await runPorcelain(
          ['push', '--porcelain', '--no-verify', 'origin', `${commit}:${target}`],
          { ...porcelain, config: [`remote.origin.fetch=+${target}:refs/remotes/origin/${branch}`] },
        );
        const rejected = parsePushRejection(result.ok ? result.value : result.stdout, target);
        if (rejected !== null) return { status: 'rejected', reason: rejected };
        if (!result.ok) {
          throw new GitError(
            `Pushing ${commit.slice(0, 12)} to ${branch} on ${remoteLabel} failed: ${describeGitFailure(result.stderr, remote)}; check the remote URL, network and credentials.`,
          );
        }
        return { status: 'pushed', commit };
      }),

    maintain: () =>
      serialized(async () => {
        assertOpen();
        const packs = (await readdir(join(repoDir, 'objects', 'pack'))).filter((name) =>
          name.endsWith('.pack'),
        );
        if (packs.length <= MAX_PACKS) return;
        const result = await git(['repack', '-d', '-q', '--geometric=2']);
        if (!result.ok) {
          throw new GitError(`Repacking ${repoDir} failed: ${describeGitFailure(result.stderr)}`);
        }
      }),

    isEmptyCommit: async (commit) => {
      const treeOf = (rev: string): Promise<PorcelainResult<string>> =>
        settlePorcelain(porcelain, (simple) => simple.revparse(['--verify', `${rev}^{tree}`]));
      const result = await treeOf(commit);
      const parent = await reader.readParent(commit);
      if (!result.ok) throw new GitError(`${commit} is not a commit in ${repoDir}.`);
      const tree = result.value;
      if (parent === null) return tree === EMPTY_TREE_SHA1;
      const parentTree = await treeOf(parent);
      return parentTree.ok && parentTree.value === tree;
    },

    close: async () => {
      if (closed) return;
      closed = true;
      await writeQueue;
      await reader.close();
      await lock.release();
    },
  };
  return store;
}

const EMPTY_TREE_SHA1 = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * The reason of a rejected ref in `git push --porcelain` output (`!` lines: non-fast-forward,
 * fetch first, stale info, hook declined, lock failures), or null when the ref was not rejected.
 */
export function parsePushRejection(porcelain: string, target: string): string | null {
  for (const line of porcelain.split('\n')) {
    const [flag, refs, summary] = line.split('\t');
    if (flag === '!' && refs !== undefined && refs.endsWith(`:${target}`)) {
      const reason = /\(([^)]*)\)\s*$/.exec(summary ?? '')?.[1] ?? summary ?? 'rejected';
      return reason.trim() || 'rejected';
    }
  }
  return null;
}
