/**
 * Writes the audit event as pretty JSON to `options.directory` (relative paths resolve against
 * the repository-local base directory), one file per delivery named `<idempotency key>.json`.
 * The write is atomic: a temp file in the same directory, fsync, rename, fsync of the directory,
 * so a reader never sees half a file and a crash leaves either nothing or the whole event.
 *
 * Idempotent: a re-send with the same key finds the file. If it holds the same event (ignoring
 * `timestamp`, which a re-send in a later run changes) it is success without writing; a
 * different event under the same key is a permanent failure, never an overwrite.
 *
 * Configuration errors (no `options.directory`) throw `ConnectorError` at creation.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Connector, ConnectorContext, DeliveryOutcome, DeliveryRequest } from '../domain/ports.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { buildAuditEvent } from './audit-event.js';
import { describeProvider } from './env.js';

/** A key that is one plain file name on every platform: no separators, no leading dot. */
const SAFE_FILE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Create a file connector for `provider`. */
export function createFileConnector(provider: Provider, context: ConnectorContext): Connector {
  const option = provider.spec.options.directory;
  if (typeof option !== 'string' || option.trim() === '') {
    throw new ConnectorError(
      `${describeProvider(provider)} has no spec.options.directory; set it to the directory the audit events are written to (relative paths resolve against the repository).`,
    );
  }
  const directory = isAbsolute(option) ? option : resolve(context.baseDir, option);

  return {
    type: 'file',
    idempotent: true,
    async deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<DeliveryOutcome> {
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
      const path = join(directory, `${request.idempotencyKey}.json`);
      const where = `${describeProvider(provider)} file ${option}/${request.idempotencyKey}.json`;
      try {
        const existing = await readExisting(path);
        if (existing !== null) {
          if (sameEvent(existing, event)) return delivered();
          return failure(
            `${where} already exists with a different event for this idempotency key; it is never overwritten (move it away if it is stale)`,
            false,
            1,
          );
        }
        await mkdir(directory, { recursive: true });
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
        ].includes(code);
        return failure(`could not write ${where}${code ? ` (${code})` : ''}`, !permanent, 1);
      }
    },
  };
}

function delivered(): DeliveryOutcome {
  return { success: true, statusCode: null, error: '', retryable: false, attempts: 1 };
}

function failure(error: string, retryable: boolean, attempts: number): DeliveryOutcome {
  return { success: false, statusCode: null, error, retryable, attempts };
}

async function readExisting(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
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
