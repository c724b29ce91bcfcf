/**
 * The simple-git runner against real repositories: every non-zero exit settles with its exit code
 * and outputs (also the silent ones simple-git would call a success), git that cannot start is a
 * clear GitError, the injected env (GIT_SSH_COMMAND included) reaches git, and `DEBUG=*` never
 * makes simple-git print arguments or the env (remote credentials, tokens).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitError } from '../../src/errors.js';
import { createGitEnv } from '../../src/git/run-git.js';
import { runPorcelain, settlePorcelain } from '../../src/git/run-porcelain.js';
import { verifyRevision } from '../../src/git/verify-revision.js';
import { commitFiles, createTempDir, createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';

const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const STORE_MODULE = new URL('../../src/git/store.ts', import.meta.url).href;

const cleanups: TempDir[] = [];
afterEach(async () => {
  for (const dir of cleanups.splice(0)) await dir.cleanup();
});

async function repoWithCommit(): Promise<{ dir: string; commit: string }> {
  const repo = await createTempRepo();
  cleanups.push(repo);
  const commit = await commitFiles(repo.dir, { 'a.txt': 'a\n' }, 'a');
  return { dir: repo.dir, commit };
}

const envOf = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  createGitEnv({ PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_GLOBAL: '/dev/null' }, extra);

describe('settlePorcelain', () => {
  it('returns the output of a command that succeeds', async () => {
    const { dir, commit } = await repoWithCommit();
    const outcome = await runPorcelain(['rev-parse', 'HEAD'], { cwd: dir, env: envOf() });
    expect(outcome).toEqual({ ok: true, value: `${commit}\n` });
  });

  it('settles a non-zero exit with its code and both outputs', async () => {
    const { dir } = await repoWithCommit();
    const outcome = await runPorcelain(['rev-parse', '--verify', 'no-such-branch'], {
      cwd: dir,
      env: envOf(),
    });
    expect(outcome).toEqual({
      ok: false,
      exitCode: 128,
      stdout: '',
      stderr: 'fatal: Needed a single revision\n',
    });
  });

  it('treats a silent non-zero exit as a failure (simple-git alone would call it a success)', async () => {
    const { dir } = await repoWithCommit();
    const outcome = await runPorcelain(['rev-parse', '--verify', '-q', 'no-such-branch'], {
      cwd: dir,
      env: envOf(),
    });
    expect(outcome).toEqual({ ok: false, exitCode: 1, stdout: '', stderr: '' });
  });

  it('says git could not be started when it is not on PATH', async () => {
    const { dir } = await repoWithCommit();
    const error = await runPorcelain(['status'], { cwd: dir, env: { PATH: '/nonexistent' } }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(GitError);
    expect((error as Error).message).toBe(
      `Could not start git in ${dir}: spawn git ENOENT. Install git (>= 2.39) and make sure it is on PATH.`,
    );
  });

  it('says so when the directory to run in does not exist', async () => {
    const dir = join((await repoWithCommit()).dir, 'missing');
    await expect(runPorcelain(['status'], { cwd: dir, env: envOf() })).rejects.toThrow(
      `Could not start git in ${dir}: the directory does not exist.`,
    );
  });

  it('passes per-command config and the env through, GIT_SSH_COMMAND included', async () => {
    const { dir } = await repoWithCommit();
    const scratch = await createTempDir();
    cleanups.push(scratch);
    const marker = join(scratch.dir, 'ssh-called');
    const ssh = join(scratch.dir, 'fake-ssh');
    // A stand-in ssh: records how git called it and fails like an unreachable host.
    await writeFile(ssh, `#!/bin/sh\necho "$@" > '${marker}'\necho 'ssh: connect refused' >&2\nexit 255\n`);
    await chmod(ssh, 0o755);
    const outcome = await settlePorcelain(
      { cwd: dir, env: envOf({ GIT_SSH_COMMAND: ssh }), config: ['core.abbrev=12'] },
      async (simple) => {
        const short = await simple.raw(['log', '-1', '--format=%h']);
        const fetched = await simple.raw(['ls-remote', 'ssh://git@example.invalid/ops.git']).catch(() => 'x');
        return { short, fetched };
      },
    );
    expect(outcome.ok && outcome.value.short.trim()).toHaveLength(12);
    expect(await readFile(marker, 'utf8')).toContain('example.invalid');
  });
});

describe('verifyRevision', () => {
  it('tells a missing name from a failing lookup, keeping only what git said about the failure', async () => {
    const { dir, commit } = await repoWithCommit();
    const options = { cwd: dir, env: envOf() };
    expect(await verifyRevision('main^{commit}', options)).toEqual({ status: 'found', id: commit });
    expect(await verifyRevision('nope^{commit}', options)).toEqual({ status: 'missing' });
    const blob = await git(dir, ['rev-parse', 'HEAD:a.txt']);
    const failed = await verifyRevision(`${blob}^{commit}`, options);
    expect(failed.status).toBe('failed');
    expect(failed.status === 'failed' && failed.stderr).toMatch(/expected commit type/);
    expect(failed.status === 'failed' && failed.stderr).not.toMatch(/Needed a single revision/);
  });
});

describe('simple-git debug logging', () => {
  it('prints neither arguments nor env under DEBUG=*', async () => {
    const state = await createTempDir();
    cleanups.push(state);
    const script = [
      `const { openGitStore } = await import(${JSON.stringify(STORE_MODULE)});`,
      `const store = await openGitStore({ remote: 'https://bot:s3cr3t-pass@127.0.0.1:9/ops.git',`,
      `  stateDir: ${JSON.stringify(state.dir)}, branch: 'main', replicaId: 'r' });`,
      `await store.fetch('main').catch(() => undefined);`,
      `await store.close();`,
      `process.stderr.write('done\\n');`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', TSX_LOADER, '--input-type=module', '-e', script], {
      env: { ...process.env, DEBUG: '*', CAVRA_API_TOKEN: 'tok-0123456789abcdef' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const output = Buffer.concat(chunks).toString('utf8');
    expect(code, output).toBe(0);
    expect(output).toContain('done');
    expect(output).not.toMatch(/s3cr3t-pass|tok-0123456789abcdef|simple-git/);
  });
});
