/**
 * SSH-signed reconciler commits (docs/reference.md §6a). `git fast-import` builds the commit's tree
 * without a checkout but cannot sign, so the signed commit is made from that tree by
 * `git commit-tree -S` with git's own ssh signing (`gpg.format=ssh`, `user.signingkey=<file>`): the
 * same tree, parent, author, committer, time and message, one more process per commit, and the
 * signature exactly as `git log --show-signature` and `verify` check it. The unsigned commit
 * fast-import made is left unreferenced.
 */
import { GitError } from '../errors.js';
import type { CommitIdentity } from './fast-import.js';
import { cleanIdentityPart } from './fast-import.js';
import { describeGitFailure, runGit } from './run-git.js';

export interface SignCommitOptions {
  /** Where git runs (the state dir; `GIT_DIR` in `env` names the clone). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Absolute path of the ssh private key (`--signing-key`). */
  keyFile: string;
  identity: CommitIdentity;
  time: Date;
  message: string;
  parent: string | null;
}

/** The signed twin of `unsigned` (a commit fast-import made): its id. */
export async function signCommit(unsigned: string, options: SignCommitOptions): Promise<string> {
  const date = `@${Math.floor(options.time.getTime() / 1000)} +0000`;
  const name = cleanIdentityPart(options.identity.name);
  const email = cleanIdentityPart(options.identity.email);
  const result = await runGit(
    [
      '-c',
      'gpg.format=ssh',
      '-c',
      `user.signingkey=${options.keyFile}`,
      'commit-tree',
      '-S',
      ...(options.parent === null ? [] : ['-p', options.parent]),
      '-F',
      '-',
      `${unsigned}^{tree}`,
    ],
    {
      cwd: options.cwd,
      env: {
        ...options.env,
        GIT_AUTHOR_NAME: name,
        GIT_AUTHOR_EMAIL: email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: name,
        GIT_COMMITTER_EMAIL: email,
        GIT_COMMITTER_DATE: date,
      },
      input: options.message,
    },
  );
  const id = result.stdout.toString('utf8').trim();
  if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(id)) {
    throw new GitError(
      `Signing a commit with ${options.keyFile} failed: ${describeGitFailure(result.stderr)}; check that --signing-key names an ssh private key without a passphrase (mode 600) and that ssh-keygen is installed.`,
    );
  }
  return id;
}
