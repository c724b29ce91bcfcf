/**
 * Writes the audit event as pretty JSON under the file root (`--file-root`), in the provider's
 * `options.directory` (relative to the root), one file per delivery named `<idempotency key>.json`.
 * The write is atomic: a temp file in the same directory, fsync, rename, fsync of the directory,
 * so a reader never sees half a file and a crash leaves either nothing or the whole event.
 *
 * Confined to the root twice over: at creation the directory must be relative and stay below the
 * root (the same check validation reports, domain/provider-options.ts); at every write each path
 * component is resolved with realpath from the root down, creating missing ones one at a time, so
 * a symbolic link that leads out of the root is refused before anything is created or written
 * through it. The event file itself is never a symbolic link.
 *
 * Idempotent: a re-send with the same key finds the file. If it holds the same event (ignoring
 * `timestamp`, which a re-send in a later run changes) it is success without writing; a
 * different event under the same key is a permanent failure, never an overwrite.
 *
 * Configuration errors (no `options.directory`, an absolute or escaping one) throw
 * `ConnectorError` at creation.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Connector, ConnectorContext, CallOutcome, DeliveryRequest } from '../domain/ports.js';
import { parseFileDirectory } from '../domain/provider-options.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { buildAuditEvent } from './audit-event.js';
import { describeProvider } from './env.js';

/** A key that is one plain file name on every platform: no separators, no leading dot. */
const SAFE_FILE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * The directory of a file provider below the root, as path segments; `ConnectorError` naming the
 * provider when it is missing, absolute or climbs out of the root.
 */
function resolveFileDirectory(provider: Provider, fileRoot: string): string[] {
  const where = describeProvider(provider);
  if (!isAbsolute(fileRoot)) {
    throw new ConnectorError(
      `The file root "${fileRoot}" is not an absolute path; pass --file-root (or CAVRA_GITOPS_FILE_ROOT) as an absolute directory.`,
      { reason: 'ConfigurationInvalid' },
    );
  }
  const directory = parseFileDirectory(provider.spec.options.directory);
  if (directory.ok) return directory.segments;
  switch (directory.problem) {
    case 'missing':
      throw new ConnectorError(
        `${where} has no spec.options.directory; set it to the directory, relative to the file root, that the audit events are written to.`,
        { reason: 'ConfigurationInvalid' },
      );
    case 'absolute':
      throw new ConnectorError(
        `${where}: spec.options.directory is an absolute path; file providers write only under the file root (--file-root), so make it relative to that root.`,
        { reason: 'DirectoryOutsideFileRoot' },
      );
    case 'escapes':
      throw new ConnectorError(
        `${where}: spec.options.directory climbs out of the file root with ".."; file providers write only under the file root (--file-root), so remove the "..".`,
        { reason: 'DirectoryOutsideFileRoot' },
      );
  }
}

/** Create a file connector for `provider`. */
export function createFileConnector(provider: Provider, context: ConnectorContext): Connector {
  const segments = resolveFileDirectory(provider, context.fileRoot);
  const shown = segments.length === 0 ? '.' : segments.join('/');

  return {
    type: 'file',
    idempotent: true,
    async deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<CallOutcome> {
      if (!SAFE_FILE_KEY.test(request.idempotencyKey)) {
        return failure(
          `idempotency key "${request.idempotencyKey}" is not a safe file name (letters, digits, ".", "_", "-"; no leading dot)`,
          false,
          0,
        );
      }
      if (signal?.aborted) return failure('file write aborted by shutdown before it started', true, 0);
      const event = buildAuditEvent(request);
      const content = `${JSON.stringify(event, null, 2)}\n`;
      // Paths in errors are relative to the root: the root is the operator's, records are public.
      const where = `${describeProvider(provider)} file ${shown}/${request.idempotencyKey}.json`;
      try {
        const directory = await enterConfined(context.fileRoot, segments);
        if (directory === null) {
          return failure(
            `${where} lies behind a symbolic link that leads out of the file root (or nowhere); it was not written (replace the link under the file root with a directory)`,
            false,
            0,
          );
        }
        const path = join(directory, `${request.idempotencyKey}.json`);
        const existing = await readExisting(path);
        if (existing.kind === 'symlink') {
          return failure(
            `${where} is a symbolic link; it is never written through (remove the link)`,
            false,
            0,
          );
        }
        if (existing.kind === 'file') {
          if (sameEvent(existing.content, event)) return delivered();
          return failure(
            `${where} already exists with a different event for this idempotency key; it is never overwritten (move it away if it is stale)`,
            false,
            1,
          );
        }
        await writeAtomically(directory, path, content);
        return delivered();
      } catch (error) {
        const code = errorCode(error);
        // Permission and path problems need an operator; a full disk or a busy file may clear.
        const permanent = [
          'EACCES',
          'EPERM',
          'EROFS',
          'ENOTDIR',
          'EISDIR',
          'EEXIST',
          'ENAMETOOLONG',
          'ELOOP',
        ].includes(code);
        return failure(`could not write ${where}${code ? ` (${code})` : ''}`, !permanent, 1);
      }
    },
  };
}

/**
 * The real path of `root/segments...`, creating what is missing one directory at a time; null
 * when a component resolves (through a symbolic link) outside the root. The root itself is
 * created when missing and may be a link: it is the operator's choice, everything below is not.
 */
async function enterConfined(root: string, segments: readonly string[]): Promise<string | null> {
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  let current = realRoot;
  for (const segment of segments) {
    const next = join(current, segment);
    let real: string;
    try {
      real = await realpath(next);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // Missing, or a dangling link: mkdir does not follow a dangling link (EEXIST), so nothing
      // is ever created at a link's target.
      try {
        await mkdir(next);
      } catch (mkdirError) {
        if (errorCode(mkdirError) !== 'EEXIST') throw mkdirError;
        // A dangling link: where it leads is unknown, so it is refused like one leading out.
        if ((await lstat(next)).isSymbolicLink()) return null;
      }
      real = await realpath(next);
    }
    if (!isInside(realRoot, real)) return null;
    current = real;
  }
  return current;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

function delivered(): CallOutcome {
  return { success: true, statusCode: null, error: '', retryable: false, attempts: 1 };
}

function failure(error: string, retryable: boolean, attempts: number): CallOutcome {
  return { success: false, statusCode: null, error, retryable, attempts };
}

/** What is at the event file's path: nothing, a symbolic link (never followed), or a file's content. */
type ExistingEvent = { kind: 'absent' } | { kind: 'symlink' } | { kind: 'file'; content: string };

async function readExisting(path: string): Promise<ExistingEvent> {
  try {
    if ((await lstat(path)).isSymbolicLink()) return { kind: 'symlink' };
    return { kind: 'file', content: await readFile(path, 'utf8') };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
}

/** Same event as `event` apart from its `timestamp` (a re-send in a later run has a later one). */
function sameEvent(existing: string, event: object): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(existing);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null) return false;
  const strip = (value: object): string => {
    const { timestamp: _timestamp, ...rest } = value as Record<string, unknown>;
    return JSON.stringify(rest);
  };
  return strip(parsed) === strip(event);
}

async function writeAtomically(directory: string, path: string, content: string): Promise<void> {
  const temp = join(directory, `.${randomBytes(8).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

/** Make the rename durable; some platforms (Windows) cannot open a directory, which is fine. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error ? String((error as { code: unknown }).code) : '';
}
