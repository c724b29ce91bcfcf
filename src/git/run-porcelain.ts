/**
 * Running git porcelain through simple-git: the one-shot commands whose output is text (init,
 * config, fetch, push, ls-remote, rev-parse, update-ref, repack, fsck, symbolic-ref, clone, commit).
 * Every command gets the env of `createGitEnv` and a cwd, and settles to an outcome instead of
 * throwing on a non-zero exit, so callers keep classifying git's stderr themselves (missing refs,
 * rejected pushes, corruption) and build their own redacted messages with `describeGitFailure`.
 *
 * Streams stay on raw child processes (run-git.ts, batch-reader.ts, history-walk.ts):
 * simple-git buffers a command's whole output and never writes to its stdin (docs/decisions.md).
 */
import createDebug from 'debug';
import { GitConstructError, GitError as SimpleGitError, simpleGit, type SimpleGit } from 'simple-git';
import { GitError } from '../errors.js';
import { describeGitFailure } from './run-git.js';
import { redactGitText } from './redact-remote.js';

export interface PorcelainOptions {
  cwd: string;
  /** The whole environment of the child (simple-git replaces `process.env` with it). */
  env: NodeJS.ProcessEnv;
  /** `-c key=value` settings for these commands only. */
  config?: string[];
}

/** A command that ran: its parsed value, or how it failed (exit code and both outputs). */
export type PorcelainResult<T> =
  { ok: true; value: T } | { ok: false; exitCode: number; stdout: string; stderr: string };

/**
 * What our `errors` hook hands back to simple-git for a non-zero exit. It must extend simple-git's
 * own GitError: anything else is rewrapped into a plain one and its fields are lost.
 */
class GitExit extends SimpleGitError {
  constructor(
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(undefined, `git exited with code ${exitCode}`);
  }
}

/** git could not be started at all (not on PATH, cwd gone): Node reports a negative errno. */
class GitStartFailure extends SimpleGitError {}

/**
 * simple-git's default treats a non-zero exit with an empty stderr as success (`rev-parse
 * --verify -q` says "no such commit" exactly that way), and a git killed by a signal (no exit
 * code) as success too. Every non-zero exit is a failure here, with the outputs kept.
 */
function classifyExit(
  error: Buffer | Error | undefined,
  result: { stdOut: Buffer[]; stdErr: Buffer[]; exitCode: number | null },
): Buffer | Error | undefined {
  const stderr = Buffer.concat(result.stdErr).toString('utf8');
  const code = typeof result.exitCode === 'number' ? result.exitCode : 128;
  if (code < 0) {
    // simple-git puts the spawn error's stack into stderr: its first line is the message.
    const first = stderr.split('\n')[0]?.replace(/^Error: /, '') ?? '';
    return new GitStartFailure(undefined, first || 'the process could not be spawned');
  }
  if (code !== 0) return new GitExit(code, Buffer.concat(result.stdOut).toString('utf8'), stderr);
  return error;
}

/** A few of the names simple-git logs under, to tell whether `DEBUG` switched them on. */
const SIMPLE_GIT_LOGGERS = ['simple-git', 'simple-git:task:raw:1', 'simple-git:output:raw:1'];

/**
 * simple-git logs every command's arguments (remote URLs with credentials) and the child's whole
 * env (tokens) through the `debug` package when `DEBUG` matches `simple-git*` (`DEBUG=*` does).
 * Secrets must never reach a log, so its loggers stay off whatever `DEBUG` says; other packages'
 * loggers are left as they were. (`debug` writes the new setting back to `process.env.DEBUG`.)
 */
function silenceSimpleGitDebug(): void {
  if (!SIMPLE_GIT_LOGGERS.some((name) => createDebug.enabled(name))) return;
  const namespaces = createDebug.disable();
  createDebug.enable([namespaces, '-simple-git', '-simple-git:*'].filter((part) => part !== '').join(','));
}

/** A simple-git instance for `options.cwd`; throws simple-git's construct error when cwd is gone. */
function createSimpleGit(options: PorcelainOptions): SimpleGit {
  silenceSimpleGitDebug();
  return simpleGit({
    baseDir: options.cwd,
    config: options.config ?? [],
    trimmed: false,
    errors: classifyExit,
    // The blocked-by-default "unsafe" arguments (`-c protocol.*.allow`, --upload-pack,
    // --receive-pack, `clone -u`, `push --exec`) are never passed: nothing is opted into. The env
    // is not filtered by simple-git, so GIT_SSH_COMMAND, GIT_ASKPASS etc. reach git as given.
  }).env(options.env);
}

/**
 * Run simple-git commands (`run` may call several on the one instance) and settle: a non-zero
 * exit becomes `{ ok: false, ... }`; git that cannot be started, a missing cwd or a command
 * simple-git refuses becomes a GitError.
 */
export async function settlePorcelain<T>(
  options: PorcelainOptions,
  run: (git: SimpleGit) => Promise<T>,
): Promise<PorcelainResult<T>> {
  try {
    return { ok: true, value: await run(createSimpleGit(options)) };
  } catch (error) {
    if (error instanceof GitExit) {
      return { ok: false, exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr };
    }
    // No `cause`: simple-git's errors carry the task, whose arguments may hold a remote's credentials.
    if (error instanceof GitStartFailure) {
      throw new GitError(
        `Could not start git in ${options.cwd}: ${error.message}. Install git (>= 2.39) and make sure it is on PATH.`,
      );
    }
    if (error instanceof GitConstructError) {
      throw new GitError(`Could not start git in ${options.cwd}: the directory does not exist.`);
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new GitError(`Running git in ${options.cwd} failed: ${redactGitText(message)}`);
  }
}

/** `git <args>` through simple-git's `raw`, settled. */
export function runPorcelain(args: string[], options: PorcelainOptions): Promise<PorcelainResult<string>> {
  return settlePorcelain(options, (git) => git.raw(args));
}

/**
 * The value of an outcome, or a GitError whose message starts with `what` (e.g. "Cloning
 * /srv/ops.git") and carries git's redacted stderr.
 */
export function expectPorcelain<T>(outcome: PorcelainResult<T>, what: string, remote?: string): T {
  if (outcome.ok) return outcome.value;
  throw new GitError(`${what} failed: ${describeGitFailure(outcome.stderr, remote)}`);
}
