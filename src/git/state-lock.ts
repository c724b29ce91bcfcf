/**
 * An exclusive lock on a state directory, so two processes never share a clone. The lock file is
 * written completely before it appears (temp file + link, which fails if the lock exists), holds
 * pid, host and start time, and is taken over when its holder is a dead process on this host.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitError } from '../errors.js';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  token: string;
}

export interface StateLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Remove the lock if it is still ours. */
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  /** Injected for tests; default `os.hostname()`. */
  host?: string;
  pid?: number;
  now?: () => Date;
  /** Injected liveness check; default `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
}

/** Whether a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null;
    return {
      pid: value.pid,
      host: value.host,
      started: typeof value.started === 'string' ? value.started : '',
      token: typeof value.token === 'string' ? value.token : '',
    };
  } catch {
    return null;
  }
}

/**
 * Take `<stateDir>/lock`. Throws ExitError naming the holder when a live process has it; a lock
 * of a dead process on this host (or an unreadable one, which our atomic write never leaves) is
 * removed and taken.
 */
export async function acquireStateLock(
  stateDir: string,
  options: AcquireLockOptions = {},
): Promise<StateLock> {
  const path = join(stateDir, 'lock');
  const host = options.host ?? hostname();
  const isAlive = options.isAlive ?? isProcessAlive;
  const holder: LockHolder = {
    pid: options.pid ?? process.pid,
    host,
    started: (options.now?.() ?? new Date()).toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const temp = join(stateDir, `lock.${holder.token}.tmp`);
  await writeFile(temp, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(temp, path);
        return {
          path,
          holder,
          release: async () => {
            const current = parseHolder(await readFile(path, 'utf8').catch(() => ''));
            if (current?.token === holder.token) await unlink(path).catch(() => undefined);
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = parseHolder(await readFile(path, 'utf8').catch(() => ''));
      const stale = existing === null || (existing.host === host && !isAlive(existing.pid));
      if (!stale) {
        throw new ExitError(
          `State dir ${stateDir} is in use by pid ${existing.pid} on host ${existing.host} (since ${existing.started || 'unknown'}); stop it or pass --state-dir.`,
        );
      }
      await unlink(path).catch(() => undefined);
    }
    throw new ExitError(
      `Could not lock state dir ${stateDir}: another process keeps taking it; stop it or pass --state-dir.`,
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
