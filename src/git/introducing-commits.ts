/**
 * "Which commit last changed each of these paths?" in one `git log` walk, newest first, stopped
 * as soon as every path is accounted for. The output (`-z`, a \x01 sentinel before each commit)
 * is parsed incrementally from Buffers.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommitInfo, SignatureStatus } from '../domain/types.js';
import { GitError } from '../errors.js';
import { describeGitFailure } from './run-git.js';

const COMMIT_SENTINEL = 0x01;
const NUL = 0x00;
/** Commit id, committer time, author, signature status letter, signer principal. */
const LOG_FORMAT = '%x01%H%x00%ct%x00%an <%ae>%x00%G?%x00%GS';
/** Command-line budget for pathspecs; beyond it we fall back to directories (ARG_MAX is ~2 MiB). */
const PATHSPEC_BUDGET_BYTES = 96 * 1024;

const SIGNATURE_STATUS: Record<string, SignatureStatus> = {
  G: 'good',
  B: 'bad',
  U: 'untrusted',
  X: 'expired',
  Y: 'expired',
  R: 'revoked',
  E: 'error',
  N: 'none',
};

/** Map git's `%G?` letter to a SignatureStatus (unknown letters are `error`). */
export function parseSignatureStatus(letter: string): SignatureStatus {
  return SIGNATURE_STATUS[letter] ?? 'error';
}

/** Git commit time (epoch seconds) as UTC ISO-8601 without milliseconds. */
export function formatCommitTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Incremental parser of `git log --format=<LOG_FORMAT> --name-only -z` output. Calls `onPath`
 * for each (commit, path) pair in output order.
 */
export class IntroducingLogParser {
  private carry: Buffer | null = null;
  private fields: string[] = [];
  private inHeader = false;
  private firstName = false;
  private current: CommitInfo | null = null;

  constructor(private readonly onPath: (path: string, commit: CommitInfo) => void) {}

  feed(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NUL, start);
      if (end === -1) {
        const rest = chunk.subarray(start);
        if (rest.length > 0) this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
        return;
      }
      const part = chunk.subarray(start, end);
      const token = this.carry ? Buffer.concat([this.carry, part]) : part;
      this.carry = null;
      start = end + 1;
      this.onToken(token);
    }
  }

  private onToken(token: Buffer): void {
    if (token.length > 0 && token[0] === COMMIT_SENTINEL) {
      this.inHeader = true;
      this.fields = [token.subarray(1).toString('utf8')];
      return;
    }
    if (this.inHeader) {
      this.fields.push(token.toString('utf8'));
      if (this.fields.length === 5) this.finishHeader();
      return;
    }
    if (!this.current) return;
    let name = token.toString('utf8');
    // git separates the formatted header from the name list with a newline.
    if (this.firstName && name.startsWith('\n')) name = name.slice(1);
    this.firstName = false;
    if (name !== '') this.onPath(name, this.current);
  }

  private finishHeader(): void {
    const [commit = '', time = '0', author = '', letter = '', principal = ''] = this.fields;
    this.inHeader = false;
    this.firstName = true;
    this.current = {
      commit,
      time: formatCommitTime(Number(time)),
      author,
      signature: { status: parseSignatureStatus(letter), principal },
    };
  }
}

/** Pathspecs for a set of paths that fit on a command line: the paths, their directories, or none. */
export function choosePathspecs(paths: readonly string[]): string[] {
  const size = (list: readonly string[]): number => list.reduce((sum, item) => sum + item.length + 1, 0);
  if (size(paths) <= PATHSPEC_BUDGET_BYTES) return [...paths];
  const dirs = [...new Set(paths.map((path) => dirname(path)))];
  if (!dirs.includes('.') && size(dirs) <= PATHSPEC_BUDGET_BYTES) return dirs;
  return [];
}

export interface ReadIntroducingOptions {
  repoDir: string;
  env: NodeJS.ProcessEnv;
  commit: string;
  paths: readonly string[];
  /** Content of an ssh allowed-signers file; without it no ssh signer is trusted. */
  allowedSigners?: string;
  /** `latest` (default): the last commit that changed the path; `added`: the last one that added it. */
  change?: 'latest' | 'added';
}

/** Run the walk. Paths with no commit at or before `commit` are absent from the result. */
export async function readIntroducingCommits(
  options: ReadIntroducingOptions,
): Promise<Map<string, CommitInfo>> {
  const wanted = new Set(options.paths);
  const found = new Map<string, CommitInfo>();
  if (wanted.size === 0) return found;
  let signersDir: string | null = null;
  try {
    // Always pass a signers file so the result never depends on the operator's git config:
    // without one, every ssh signature is "untrusted" (valid but from no known principal).
    let signersFile = '/dev/null';
    if (options.allowedSigners !== undefined) {
      signersDir = await mkdtemp(join(tmpdir(), 'cavra-signers-'));
      signersFile = join(signersDir, 'allowed_signers');
      await writeFile(signersFile, options.allowedSigners, { mode: 0o600 });
    }
    const args = [
      '--literal-pathspecs',
      '-c',
      `gpg.ssh.allowedSignersFile=${signersFile}`,
      '-c',
      'log.showSignature=false',
      'log',
      `--format=${LOG_FORMAT}`,
      '--name-only',
      '-z',
      '--no-renames',
      '--cc',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      ...(options.change === 'added' ? ['--diff-filter=A'] : []),
      options.commit,
      '--',
      ...choosePathspecs([...wanted]),
    ];
    await walkLog(args, options, (path, commit) => {
      if (wanted.has(path) && !found.has(path)) found.set(path, commit);
      return found.size === wanted.size;
    });
    return found;
  } finally {
    if (signersDir) await rm(signersDir, { recursive: true, force: true });
  }
}

/** Spawn `git log`, feed the parser, and stop git early once `onPath` says everything is found. */
function walkLog(
  args: string[],
  options: ReadIntroducingOptions,
  onPath: (path: string, commit: CommitInfo) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.repoDir,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let done = false;
    const stderr: Buffer[] = [];
    const parser = new IntroducingLogParser((path, commit) => {
      if (!done && onPath(path, commit)) {
        done = true;
        child.kill('SIGTERM');
      }
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!done) parser.feed(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) =>
      reject(
        new GitError(`Could not start git log in ${options.repoDir}: ${error.message}`, { cause: error }),
      ),
    );
    child.on('close', (code) => {
      if (done || code === 0) {
        resolve();
        return;
      }
      reject(
        new GitError(
          `Reading the history of ${options.paths.length} path(s) at ${options.commit} in ${options.repoDir} failed: ${describeGitFailure(Buffer.concat(stderr).toString('utf8'))}`,
        ),
      );
    });
  });
}
