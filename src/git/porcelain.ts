/**
 * Working-tree git for the CLI (the `reconcile` guard and the bundled demo), so that only
 * src/git/ runs git: small functions over simple-git, each one command, each failure a GitError
 * with git's redacted message.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Env } from '../domain/ports.js';
import { GitError } from '../errors.js';
import { redactRemote } from './redact-remote.js';
import { createGitEnv } from './run-git.js';
import { expectPorcelain, settlePorcelain, type PorcelainOptions } from './run-porcelain.js';

export interface PorcelainCommandOptions {
  /** Environment for git (default: `process.env`, minus variables that redirect git). */
  env?: Env;
}

/** Author and committer of {@link commitAll}. */
export interface CommitAuthor {
  name: string;
  email: string;
}

function optionsFor(cwd: string, options: PorcelainCommandOptions, config: string[] = []): PorcelainOptions {
  return { cwd, env: createGitEnv(options.env ?? process.env), config };
}

/**
 * The branch checked out in the working tree at `repoDir`, or null when there is none to protect:
 * no working tree (a bare repository or not a repository at all), a detached HEAD, or git failing.
 */
export async function readCheckedOutBranch(
  repoDir: string,
  options: PorcelainCommandOptions = {},
): Promise<string | null> {
  // A bare repository has a HEAD too, but nothing is checked out: pushing to it is fine.
  if (!existsSync(join(repoDir, '.git'))) return null;
  const head = await settlePorcelain(optionsFor(repoDir, options), (git) =>
    git.raw(['symbolic-ref', '-q', 'HEAD']),
  ).catch(() => null);
  if (head === null || !head.ok) return null;
  const ref = head.value.trim();
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}

/** `git init --bare` of `dir` (created if missing; its parent must exist) with `branch` as its unborn HEAD. */
export async function initBareRepository(
  dir: string,
  branch: string,
  options: PorcelainCommandOptions = {},
): Promise<void> {
  const outcome = await settlePorcelain(optionsFor(dirname(dir), options), (git) =>
    git.init(true, ['-b', branch, dir]),
  );
  expectPorcelain(outcome, `Creating the bare repository ${dir}`);
}

/** `git clone` of `remote` into `dir` (which must not exist yet or be empty; its parent must exist). */
export async function cloneRepository(
  remote: string,
  dir: string,
  options: PorcelainCommandOptions = {},
): Promise<void> {
  const outcome = await settlePorcelain(optionsFor(dirname(dir), options), (git) =>
    // Quiet: the error then starts with git's reason, not "Cloning into ...".
    git.clone(remote, dir, ['--quiet']),
  );
  expectPorcelain(outcome, `Cloning ${redactRemote(remote)} into ${dir}`, remote);
}

/** Switch the working tree at `workdir` to `branch`, creating it (or resetting it) at HEAD. */
export async function switchToBranch(
  workdir: string,
  branch: string,
  options: PorcelainCommandOptions = {},
): Promise<void> {
  const outcome = await settlePorcelain(optionsFor(workdir, options), (git) =>
    git.checkout(['-q', '-B', branch]),
  );
  expectPorcelain(outcome, `Switching ${workdir} to ${branch}`);
}

/**
 * Stage everything in the working tree at `workdir` (additions, changes, deletions) and commit it
 * as `author`, unsigned whatever the user's git config says. Returns the new commit id.
 */
export async function commitAll(
  workdir: string,
  message: string,
  author: CommitAuthor,
  options: PorcelainCommandOptions = {},
): Promise<string> {
  const config = [`user.name=${author.name}`, `user.email=${author.email}`, 'commit.gpgsign=false'];
  const outcome = await settlePorcelain(optionsFor(workdir, options, config), async (git) => {
    await git.add(['-A']);
    await git.commit(message);
    return git.revparse(['--verify', 'HEAD^{commit}']);
  });
  const commit = expectPorcelain(outcome, `Committing in ${workdir}`);
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`Committing in ${workdir} made no commit.`);
  return commit;
}

/** `git push <remote> <branch>` from the working tree at `workdir`, without force. */
export async function pushBranch(
  workdir: string,
  remote: string,
  branch: string,
  options: PorcelainCommandOptions = {},
): Promise<void> {
  const outcome = await settlePorcelain(optionsFor(workdir, options), (git) =>
    git.raw(['push', remote, `refs/heads/${branch}:refs/heads/${branch}`]),
  );
  expectPorcelain(outcome, `Pushing ${branch} from ${workdir} to ${redactRemote(remote)}`, remote);
}
