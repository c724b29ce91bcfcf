/**
 * Whether a local directory is inside a git repository (bare or not), asked of git itself so
 * worktrees, `.git` files and bare repositories all count. The CLI uses it to turn a mistyped
 * `--repo` into a usage error instead of a git failure.
 */
import type { Env } from '../domain/ports.js';
import { createGitEnv, runGit } from './run-git.js';

/** True when git finds a repository at (or above) `dir`. `dir` must exist. */
export async function isGitRepository(dir: string, env: Env): Promise<boolean> {
  const result = await runGit(['rev-parse', '--git-dir'], { cwd: dir, env: createGitEnv(env) });
  return result.exitCode === 0;
}
