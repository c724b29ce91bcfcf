/**
 * The environment every git child gets, and the raw child process for the commands simple-git
 * cannot run well (run-porcelain.ts runs the rest): a stream written to stdin (`fast-import`) and
 * output parsed as bytes (`ls-tree -z`). Output is collected as Buffers, chunks joined once.
 */
import { spawn } from 'node:child_process';
import type { Env } from '../domain/ports.js';
import { GitError } from '../errors.js';
import { redactGitText } from './redact-remote.js';

/** Variables that would redirect git to another repository, index or object store. */
const REPOSITORY_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_CEILING_DIRECTORIES',
  'GIT_QUARANTINE_PATH',
];

/**
 * The environment of a git child: the injected env without variables that point git elsewhere
 * (e.g. when running inside a git hook), English messages (we classify some of them) and no
 * interactive prompts (a daemon must fail, not hang, on missing credentials).
 */
export function createGitEnv(env: Env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !REPOSITORY_VARIABLES.includes(key)) result[key] = value;
  }
  result.LC_ALL = 'C';
  result.LANGUAGE = 'C';
  result.GIT_TERMINAL_PROMPT = '0';
  return { ...result, ...extra };
}

/**
 * `env` with `settings` added as git's environment config (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n,
 * GIT_CONFIG_VALUE_n; git >= 2.31), after any the env already carries: every git run with it
 * sees them as if passed with `-c`, over whatever the repository's config says, and nothing is
 * written (a `git config` write is a process of its own).
 */
export function withConfigEnv(
  env: NodeJS.ProcessEnv,
  settings: readonly (readonly [string, string])[],
): NodeJS.ProcessEnv {
  const given = Number(env.GIT_CONFIG_COUNT ?? '0');
  const start = Number.isInteger(given) && given > 0 ? given : 0;
  const result: NodeJS.ProcessEnv = { ...env, GIT_CONFIG_COUNT: String(start + settings.length) };
  settings.forEach(([key, value], index) => {
    result[`GIT_CONFIG_KEY_${start + index}`] = key;
    result[`GIT_CONFIG_VALUE_${start + index}`] = value;
  });
  return result;
}

export interface RunGitOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  input?: Buffer | string;
}

export interface RunGitResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/** Run git to completion. Resolves for any exit code; rejects only when git cannot be started. */
export async function runGit(args: string[], options: RunGitOptions): Promise<RunGitResult> {
  const out: Buffer[] = [];
  const result = await streamGit(args, options, (chunk) => out.push(chunk));
  const stdout = Buffer.concat(out);
  out.length = 0;
  return { ...result, stdout };
}

/**
 * Run git to completion, handing each chunk of its output to `onStdout` as it arrives (a listing
 * of 100,000 files is parsed as it streams rather than held twice, as chunks and joined).
 * Resolves for any exit code; rejects only when git cannot be started.
 */
export function streamGit(
  args: string[],
  options: RunGitOptions,
  onStdout: (chunk: Buffer) => void,
): Promise<Omit<RunGitResult, 'stdout'>> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const err: Buffer[] = [];
    child.stdout.on('data', onStdout);
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      reject(
        new GitError(
          `Could not start git in ${options.cwd}: ${error.message}. Install git (>= 2.39) and make sure it is on PATH.`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code, signal) => {
      // The listener holds what the caller builds from the output; a closed child's stream can
      // outlive the call (its handle is released later), so the listener goes now.
      child.stdout.removeListener('data', onStdout);
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // EPIPE when git exits before reading all input is reported through the exit code instead.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** git's stderr reduced to its meaningful lines, redacted, for an error message. */
export function describeGitFailure(stderr: string, remote?: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('hint:'));
  const text = lines.slice(-4).join(' ') || 'git exited with an error and no message';
  return redactGitText(text, remote);
}
