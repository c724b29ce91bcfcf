/**
 * Real git repositories in temp dirs for tests. Every helper spawns the real `git` with a clean,
 * deterministic environment (no user/global config, fixed dates), so commit ids are stable.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Default time of fixture commits, so ids are deterministic unless a test asks otherwise. */
export const FIXTURE_DATE = new Date('2026-01-01T00:00:00Z');
export const FIXTURE_AUTHOR = 'Test Author <author@example.test>';

/** A temp directory (or repository) and the function that removes it. */
export interface TempDir {
  dir: string;
  cleanup: () => Promise<void>;
}

export interface CommitOptions {
  /** `Name <email>`; default {@link FIXTURE_AUTHOR}. Also used as committer. */
  author?: string;
  /** Author and committer date; default {@link FIXTURE_DATE}. */
  date?: Date | string;
  /** Extra `-c key=value` config for the commit (e.g. ssh signing: see `signWith`). */
  config?: Record<string, string>;
  /** Sign the commit with this ssh private key file (`gpg.format=ssh`). */
  signWith?: string;
  /** Allow a commit without changes (default false: git refuses). */
  allowEmpty?: boolean;
}

const openDirs = new Set<string>();

/** Environment for fixture git processes: no user or system config, no prompts. */
export function fixtureGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Run git in `cwd` and return trimmed stdout; rejects with git's stderr on failure. */
export async function git(
  cwd: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, {
      cwd,
      env: fixtureGitEnv(extraEnv),
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim()}`, { cause: error });
  }
}

/** A fresh empty temp directory. */
export async function createTempDir(prefix = 'cavra-test-'): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  openDirs.add(dir);
  return {
    dir,
    cleanup: async () => {
      openDirs.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function configureRepo(dir: string): Promise<void> {
  const settings: [string, string][] = [
    ['user.name', 'Test Author'],
    ['user.email', 'author@example.test'],
    ['commit.gpgsign', 'false'],
    ['tag.gpgsign', 'false'],
    ['gc.auto', '0'],
    ['core.autocrlf', 'false'],
  ];
  for (const [key, value] of settings) await git(dir, ['config', key, value]);
}

/** A non-bare repository (`git init -b <branch>`), configured for tests, with no commits. */
export async function createTempRepo(options: { branch?: string } = {}): Promise<TempDir> {
  const temp = await createTempDir('cavra-repo-');
  await git(temp.dir, ['init', '-q', '-b', options.branch ?? 'main']);
  await configureRepo(temp.dir);
  return temp;
}

/** A bare repository to push to (a stand-in for a forge remote). */
export async function createBareRemote(options: { branch?: string } = {}): Promise<TempDir> {
  const temp = await createTempDir('cavra-remote-');
  await git(temp.dir, ['init', '-q', '--bare', '-b', options.branch ?? 'main']);
  await configureRepo(temp.dir);
  return temp;
}

function toGitDate(date: Date | string): string {
  const time = typeof date === 'string' ? new Date(date) : date;
  // `@<epoch> +0000` is git's unambiguous internal date format.
  return `@${Math.floor(time.getTime() / 1000)} +0000`;
}

function splitIdentity(identity: string): { name: string; email: string } {
  const match = /^(.*?)\s*<([^>]*)>\s*$/.exec(identity);
  if (!match) return { name: identity, email: 'unknown@example.test' };
  return { name: match[1] ?? '', email: match[2] ?? '' };
}

/**
 * Write (string) or delete (null) files in a non-bare repository's working tree, stage everything
 * and commit with deterministic dates. Returns the new commit id.
 */
export async function commitFiles(
  repoDir: string,
  files: Record<string, string | null>,
  message: string,
  options: CommitOptions = {},
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(repoDir, path);
    if (content === null) {
      await unlink(full).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  await git(repoDir, ['add', '-A']);
  const author = splitIdentity(options.author ?? FIXTURE_AUTHOR);
  const date = toGitDate(options.date ?? FIXTURE_DATE);
  const config: Record<string, string> = { ...options.config };
  if (options.signWith !== undefined) {
    config['gpg.format'] = 'ssh';
    config['user.signingkey'] = options.signWith;
  }
  const args: string[] = [];
  for (const [key, value] of Object.entries(config)) args.push('-c', `${key}=${value}`);
  args.push('commit', '-q', '-m', message);
  if (options.allowEmpty) args.push('--allow-empty');
  if (options.signWith !== undefined) args.push('-S');
  await git(repoDir, args, {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  });
  return git(repoDir, ['rev-parse', 'HEAD']);
}

/** Push a branch of `repoDir` to `remoteDir` (a path), creating or fast-forwarding it. */
export async function pushBranch(repoDir: string, remoteDir: string, branch = 'main'): Promise<void> {
  await git(repoDir, ['push', '-q', remoteDir, `${branch}:refs/heads/${branch}`]);
}

/** The commit a branch points to in any repository (bare or not), or null when absent. */
export async function readBranch(repoDir: string, branch = 'main'): Promise<string | null> {
  try {
    return await git(repoDir, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]);
  } catch {
    return null;
  }
}

/**
 * Generate an ed25519 ssh key pair in `dir` for signing commits. Returns the private key path,
 * the public key line, and an allowed-signers line mapping `principal` to the key.
 */
export async function createSshSigningKey(
  dir: string,
  principal: string,
  name = 'signing_key',
): Promise<{ keyPath: string; publicKey: string; allowedSignersLine: string }> {
  const keyPath = join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', principal, '-f', keyPath]);
  const publicKey = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  const [type, key] = publicKey.split(/\s+/);
  return { keyPath, publicKey, allowedSignersLine: `${principal} ${type ?? ''} ${key ?? ''}\n` };
}

/** Remove every temp dir created by these helpers that was not cleaned up yet (for afterAll). */
export async function cleanupAllTempDirs(): Promise<void> {
  const dirs = [...openDirs];
  openDirs.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
