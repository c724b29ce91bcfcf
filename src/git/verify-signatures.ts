/**
 * Verified signature status of many commits against one allowed-signers content, in one
 * `git log --no-walk=unsorted --stdin` (commit ids on stdin, so no command-line limit applies).
 * git verifies ssh signatures only against `gpg.ssh.allowedSignersFile`, so the content is written
 * to a private temp file and passed with `-c`; '' becomes `/dev/null` (trust nobody), never the
 * operator's own configuration.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SignatureInfo } from '../domain/types.js';
import { GitError } from '../errors.js';
import { parseSignatureStatus } from './commit-format.js';
import { describeGitFailure, runGit } from './run-git.js';

const COMMIT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export interface VerifySignaturesOptions {
  repoDir: string;
  env: NodeJS.ProcessEnv;
}

/** Parse `%x01%H%x00%G?%x00%GS` records into commit → signature. */
function parseSignatureLog(output: Buffer): Map<string, SignatureInfo> {
  const result = new Map<string, SignatureInfo>();
  for (const record of output.toString('utf8').split('\x01')) {
    if (record === '') continue;
    const [commit = '', letter = '', principal = ''] = record.split('\x00');
    result.set(commit.trim(), { status: parseSignatureStatus(letter.trim()), principal: principal.trim() });
  }
  return result;
}

/** Verify `commits` against `allowedSigners`; every commit must exist (GitError otherwise). */
export async function verifySignatures(
  commits: readonly string[],
  allowedSigners: string,
  options: VerifySignaturesOptions,
): Promise<Map<string, SignatureInfo>> {
  const unique = [...new Set(commits)];
  const invalid = unique.find((commit) => !COMMIT_ID.test(commit));
  if (invalid !== undefined) {
    throw new GitError(
      `"${invalid.slice(0, 80)}" is not a commit id; signatures are verified for full ids only.`,
    );
  }
  if (unique.length === 0) return new Map();
  let signersDir: string | null = null;
  try {
    let signersFile = '/dev/null';
    if (allowedSigners !== '') {
      signersDir = await mkdtemp(join(tmpdir(), 'cavra-signers-'));
      signersFile = join(signersDir, 'allowed_signers');
      await writeFile(signersFile, allowedSigners, { mode: 0o600 });
    }
    const result = await runGit(
      [
        '-c',
        `gpg.ssh.allowedSignersFile=${signersFile}`,
        '-c',
        'log.showSignature=false',
        'log',
        '--no-walk=unsorted',
        '--stdin',
        '--format=%x01%H%x00%G?%x00%GS',
      ],
      { cwd: options.repoDir, env: options.env, input: `${unique.join('\n')}\n` },
    );
    if (result.exitCode !== 0) {
      throw new GitError(
        `Verifying the signatures of ${unique.length} commit(s) in ${options.repoDir} failed: ${describeGitFailure(result.stderr)}`,
      );
    }
    return parseSignatureLog(result.stdout);
  } finally {
    if (signersDir) await rm(signersDir, { recursive: true, force: true });
  }
}
