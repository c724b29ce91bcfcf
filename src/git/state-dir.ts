/**
 * Where a replica keeps its clone: by default a directory derived from the (redacted) remote and
 * the replica id, so replicas on one machine never share a clone unless told to.
 */
import { createHash } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Env } from '../domain/ports.js';
import { redactRemote } from './redact-remote.js';

export interface ResolveStateDirOptions {
  remote: string;
  replicaId: string;
  /** Parent of derived state dirs; default `$XDG_STATE_HOME/cavra-gitops` or `~/.cache/cavra-gitops`. */
  baseDir?: string;
  /** `--state-dir`: used as given (resolved against `cwd`). */
  explicit?: string;
  env?: Env;
  cwd?: string;
}

/** The default replica id: the host name. */
export function defaultReplicaId(): string {
  return hostname();
}

/** A readable, filesystem-safe slug of the remote's last path segment, for humans browsing the dir. */
function remoteSlug(remote: string): string {
  const last = redactRemote(remote)
    .replace(/[?#].*$/, '')
    .split(/[/:\\]/)
    .filter((part) => part !== '')
    .pop();
  const slug = (last ?? 'repo')
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 40);
  return slug === '' || slug === '.' || slug === '..' ? 'repo' : slug;
}

/**
 * The state directory for a (remote, replica) pair. The hash covers the redacted remote so a
 * rotated credential in the URL keeps the same clone, and the replica id so replicas differ.
 */
export function resolveStateDir(options: ResolveStateDirOptions): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.explicit !== undefined && options.explicit !== '') {
    return isAbsolute(options.explicit) ? options.explicit : resolve(cwd, options.explicit);
  }
  const env = options.env ?? process.env;
  const base =
    options.baseDir ??
    (env.XDG_STATE_HOME
      ? join(env.XDG_STATE_HOME, 'cavra-gitops')
      : join(env.HOME || homedir(), '.cache', 'cavra-gitops'));
  const identity = `${normalizeRemoteForIdentity(options.remote, cwd)}\n${options.replicaId}`;
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const replica = options.replicaId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40) || 'replica';
  return join(base, `${remoteSlug(options.remote)}-${replica}-${digest}`);
}

/** Local paths are made absolute (so `.` and `/abs/path` agree); URLs are redacted. */
function normalizeRemoteForIdentity(remote: string, cwd: string): string {
  if (isLocalRemote(remote)) return resolve(cwd, remote);
  return redactRemote(remote);
}

/** Whether a remote is a local filesystem path (not a URL and not scp-like `host:path`). */
export function isLocalRemote(remote: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return false;
  if (remote.startsWith('/') || remote.startsWith('.') || remote.startsWith('~')) return true;
  // scp-like syntax needs a colon before the first slash.
  const colon = remote.indexOf(':');
  const slash = remote.indexOf('/');
  return colon === -1 || (slash !== -1 && slash < colon);
}
