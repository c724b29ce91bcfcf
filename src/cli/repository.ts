/**
 * `--repo DIR | --remote URL` for the read-only commands: a local repository is read in place
 * (committed objects only), any other git URL through a throw-away clone that is removed on close.
 * Also the option parsers the commands share (`--ref`/`--ledger-ref`, `--format`, durations).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { GitReader } from '../domain/ports.js';
import { ExitError, UnknownRevisionError } from '../errors.js';
import { createGitReader, openGitStore } from '../git/index.js';
import { isGitRepository } from '../git/probe-repository.js';
import type { CliContext } from './context.js';

export interface RepositoryOptions {
  repo?: string;
  remote?: string;
  /** Records live on this branch (`--ledger-branch`); fetched with the tracked branch for --remote. */
  ledgerBranch?: string;
}

export interface OpenedRepository {
  reader: GitReader;
  /** Resolve `ref` (default: the tracked branch for --remote, HEAD for --repo) to a commit. */
  resolve(ref?: string): Promise<string>;
  /** The tip of a branch (the remote's, for --remote), or null when it does not exist. */
  branchTip(branch: string): Promise<string | null>;
  close(): Promise<void>;
}

export async function openRepository(
  options: RepositoryOptions,
  context: CliContext,
  branch = 'main',
): Promise<OpenedRepository> {
  if (options.repo !== undefined && options.remote !== undefined) {
    throw new ExitError('Pass either --repo DIR or --remote URL, not both.');
  }
  if (options.remote === undefined) {
    const dir = await assertLocalRepository(options.repo, context);
    const reader = createGitReader(dir, { env: context.env });
    return {
      reader,
      resolve: (ref) => reader.resolve(ref ?? 'HEAD'),
      branchTip: async (name) => {
        try {
          return await reader.resolve(`refs/heads/${name}`);
        } catch (error) {
          if (error instanceof UnknownRevisionError) return null;
          throw error;
        }
      },
      close: () => reader.close(),
    };
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'cavra-gitops-read-'));
  try {
    const store = await openGitStore({
      remote: options.remote,
      stateDir,
      branch,
      ...(options.ledgerBranch !== undefined ? { ledgerBranch: options.ledgerBranch } : {}),
      replicaId: 'reader',
      env: context.env,
      cwd: context.cwd,
    });
    const tip = await store.fetch(branch);
    return {
      reader: store,
      async resolve(ref) {
        if (ref === undefined) {
          if (tip === null)
            throw new ExitError(`branch ${branch} does not exist on the remote; pass --branch or --ref.`);
          return tip;
        }
        return store.resolve(ref);
      },
      branchTip: (name) => store.readRemoteTip(name),
      async close() {
        await store.close();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * How the CLI names a local directory in messages: `--repo DIR` when given, else the current
 * directory (the default of every `--repo`).
 */
function describeDirectory(repo: string | undefined, dir: string): string {
  return repo === undefined ? `The current directory ${dir}` : `--repo ${repo}`;
}

/**
 * `--repo` (default: the current directory) resolved to an existing directory; a usage error
 * (exit 2) naming it when it does not exist or is not a directory.
 */
export async function assertLocalDirectory(repo: string | undefined, context: CliContext): Promise<string> {
  const dir = resolvePath(context.cwd, repo ?? '.');
  const what = describeDirectory(repo, dir);
  const stats = await stat(dir).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ExitError(
        `${what} does not exist; pass --repo with the directory of your ops repository, or --remote URL.`,
      );
    }
    throw new ExitError(`${what} cannot be read (${code ?? 'unknown error'}); check its permissions.`);
  });
  if (!stats.isDirectory()) {
    throw new ExitError(
      `${what} is a file, not a directory; pass --repo with the directory of a git repository.`,
    );
  }
  return dir;
}

/**
 * `--repo` resolved to a directory git recognises as a repository; a usage error (exit 2) naming
 * it otherwise, so a typo never reads as "git failed" (exit 3).
 */
export async function assertLocalRepository(repo: string | undefined, context: CliContext): Promise<string> {
  const dir = await assertLocalDirectory(repo, context);
  if (!(await isGitRepository(dir, context.env))) {
    throw new ExitError(
      `${describeDirectory(repo, dir)} is not a git repository; run git init there, or pass --repo DIR or --remote URL.`,
    );
  }
  return dir;
}

/** `--ref` and `--ledger-ref` resolved to commits: the revision read and where its records are read. */
export interface ResolvedRevisions {
  revision: string;
  /** Records come from this commit (a ledger branch); undefined: from `revision`. */
  ledgerRevision?: string;
}

export async function resolveRevisions(
  repository: OpenedRepository,
  options: { ref?: string; ledgerRef?: string; ledgerBranch?: string },
): Promise<ResolvedRevisions> {
  if (options.ledgerRef !== undefined && options.ledgerBranch !== undefined) {
    throw new ExitError('Pass either --ledger-ref REV or --ledger-branch B, not both.');
  }
  const revision = await repository.resolve(options.ref);
  if (options.ledgerRef !== undefined) {
    return { revision, ledgerRevision: await repository.resolve(options.ledgerRef) };
  }
  if (options.ledgerBranch !== undefined) {
    // A ledger branch not created yet is seeded from the tracked branch's records (docs/reference.md
    // §6a), so until it exists the records are the tracked revision's.
    const tip = await repository.branchTip(options.ledgerBranch);
    return tip === null ? { revision } : { revision, ledgerRevision: tip };
  }
  return { revision };
}

/** `--format` checked against the formats a command supports (default `fallback`). */
export function parseFormat<F extends string>(
  raw: string | undefined,
  formats: readonly F[],
  fallback: F,
): F {
  const format = raw ?? fallback;
  if (!(formats as readonly string[]).includes(format)) {
    throw new ExitError(
      `--format ${JSON.stringify(format)} is not supported; use one of ${formats.join(', ')}.`,
    );
  }
  return format as F;
}

/** Parse a duration like `30s`, `10m`, `1h`, `250ms` (a bare number is seconds) into ms. */
export function parseDuration(raw: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match)
    throw new ExitError(`${flag} ${JSON.stringify(raw)} is not a duration; use e.g. 30s, 10m or 1h.`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] ?? 1000;
  const ms = value * factor;
  if (ms <= 0) throw new ExitError(`${flag} must be greater than zero.`);
  return ms;
}
