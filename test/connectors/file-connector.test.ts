import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE } from '../../src/connectors/audit-event.js';
import { createFileConnector } from '../../src/connectors/file-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';

/** Every path under `dir`, relative, sorted (links listed, not followed). */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describe('file connector', () => {
  /** Holds the file root and, beside it, a directory that must stay untouched. */
  let sandbox: string;
  let fileRoot: string;
  let elsewhere: string;
  beforeEach(async () => {
    sandbox = await mkdtemp(join(tmpdir(), 'cavra-file-connector-'));
    fileRoot = join(sandbox, 'root');
    elsewhere = join(sandbox, 'elsewhere');
    await mkdir(fileRoot);
    await mkdir(elsewhere);
  });
  afterEach(async () => {
    await rm(sandbox, { recursive: true, force: true });
  });

  const provider = makeProvider('file', { options: { directory: 'out/audit' } }, 'local-file');

  it('writes the event as <key>.json under a directory relative to the file root', async () => {
    const { context } = makeContext({}, { fileRoot });
    const connector = createFileConnector(provider, context);
    const request = makeRequest({ provider: 'local-file' });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: null, error: '', retryable: false, attempts: 1 });
    expect(connector.idempotent).toBe(true);
    const written = await readFile(join(fileRoot, 'out/audit', `${request.idempotencyKey}.json`), 'utf8');
    expect(written.endsWith('}\n')).toBe(true);
    expect(JSON.parse(written)).toMatchObject({
      event_type: AUDIT_EVENT_TYPE,
      delivery_id: request.deliveryId,
      audit_id: request.auditId,
      provider: 'local-file',
      attempt: 2,
      execution_id: request.executionId,
      package: request.package,
    });
    // Atomic write: no temp file is left beside the event.
    expect(await readdir(join(fileRoot, 'out/audit'))).toEqual([`${request.idempotencyKey}.json`]);
  });

  it('creates a missing file root, and writes into the root itself for directory "."', async () => {
    const missingRoot = join(sandbox, 'new-root');
    const here = makeProvider('file', { options: { directory: './a/../.' } });
    const request = makeRequest();
    const outcome = await createFileConnector(
      here,
      makeContext({}, { fileRoot: missingRoot }).context,
    ).deliver(request);
    expect(outcome.success).toBe(true);
    expect(await readdir(missingRoot)).toEqual([`${request.idempotencyKey}.json`]);
  });

  it.each([
    ['/srv/elsewhere', 'DirectoryOutsideFileRoot', /absolute path/],
    ['../../elsewhere', 'DirectoryOutsideFileRoot', /climbs out of the file root/],
    ['a/../../elsewhere', 'DirectoryOutsideFileRoot', /climbs out of the file root/],
    ['..\\elsewhere', 'DirectoryOutsideFileRoot', /climbs out of the file root/],
    ['C:\\elsewhere', 'DirectoryOutsideFileRoot', /absolute path/],
    ['', 'ConfigurationInvalid', /has no spec\.options\.directory/],
  ])('refuses options.directory %j at creation (%s)', (directory, reason, message) => {
    const bad = makeProvider('file', { options: { directory } }, 'local-file');
    let thrown: unknown;
    try {
      createFileConnector(bad, makeContext({}, { fileRoot }).context);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect((thrown as ConnectorError).reason).toBe(reason);
    expect((thrown as Error).message).toMatch(message);
  });

  it('refuses a relative file root (it would depend on the process cwd)', () => {
    expect(() =>
      createFileConnector(provider, makeContext({}, { fileRoot: 'relative/root' }).context),
    ).toThrow(/not an absolute path/);
  });

  it('writes nothing outside the root through a symbolic link inside it', async () => {
    // out -> ../elsewhere: the directory option is innocent, the tree under the root is not.
    await symlink(elsewhere, join(fileRoot, 'out'));
    const { context } = makeContext({}, { fileRoot });

    const outcome = await createFileConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, retryable: false, attempts: 0 });
    expect(outcome.error).toContain('symbolic link that leads out of the file root');
    expect(await listTree(elsewhere)).toEqual([]);
  });

  it('writes nothing outside the root through a link deeper down, nor through a dangling link', async () => {
    await mkdir(join(fileRoot, 'out'));
    await symlink(join(elsewhere, 'not-yet'), join(fileRoot, 'out', 'audit'));
    const { context } = makeContext({}, { fileRoot });

    const outcome = await createFileConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(await listTree(elsewhere)).toEqual([]);
  });

  it('follows a symbolic link that stays inside the root', async () => {
    await mkdir(join(fileRoot, 'real'));
    await symlink(join(fileRoot, 'real'), join(fileRoot, 'out'));
    const request = makeRequest();

    const outcome = await createFileConnector(provider, makeContext({}, { fileRoot }).context).deliver(
      request,
    );

    expect(outcome.success).toBe(true);
    expect(await readdir(join(fileRoot, 'real', 'audit'))).toEqual([`${request.idempotencyKey}.json`]);
  });

  it('never reads or writes through an event file that is a symbolic link', async () => {
    const request = makeRequest();
    await mkdir(join(fileRoot, 'out', 'audit'), { recursive: true });
    const target = join(elsewhere, 'victim.json');
    await writeFile(target, 'precious');
    await symlink(target, join(fileRoot, 'out', 'audit', `${request.idempotencyKey}.json`));

    const outcome = await createFileConnector(provider, makeContext({}, { fileRoot }).context).deliver(
      request,
    );

    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.error).toContain('is a symbolic link');
    expect(await readFile(target, 'utf8')).toBe('precious');
  });

  it('treats a re-send of the same event (even from a later run) as delivered and does not rewrite it', async () => {
    const { context } = makeContext({}, { fileRoot });
    const connector = createFileConnector(provider, context);
    const request = makeRequest();
    await connector.deliver(request);
    const path = join(fileRoot, 'out/audit', `${request.idempotencyKey}.json`);
    const before = await readFile(path, 'utf8');

    const again = await connector.deliver({ ...request, at: '2026-06-28T11:30:00Z' });

    expect(again).toMatchObject({ success: true });
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('never overwrites a different event stored under the same key', async () => {
    const { context } = makeContext({}, { fileRoot });
    const connector = createFileConnector(provider, context);
    const request = makeRequest();
    await connector.deliver(request);

    const outcome = await connector.deliver({ ...request, auditId: 'another-audit' });

    expect(outcome).toMatchObject({ success: false, retryable: false, statusCode: null });
    expect(outcome.error).toContain('already exists with a different event');
  });

  it.each(['../escape', '.hidden', 'a/b', 'a\\b', ''])(
    'refuses the unsafe key %j without writing',
    async (key) => {
      const { context } = makeContext({}, { fileRoot });
      const outcome = await createFileConnector(provider, context).deliver(
        makeRequest({ idempotencyKey: key }),
      );
      expect(outcome).toMatchObject({ success: false, retryable: false, attempts: 0 });
      expect(await readdir(fileRoot)).toEqual([]);
    },
  );

  it('reports a directory that cannot be created as a permanent failure', async () => {
    await writeFile(join(fileRoot, 'out'), 'a file where a directory should be');
    const { context } = makeContext({}, { fileRoot });

    const outcome = await createFileConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.error).toMatch(
      /could not write provider "local-file" \(file\) file out\/audit\/.*\.json \((ENOTDIR|EEXIST)\)/,
    );
    expect(outcome.error).not.toContain(sandbox);
  });

  it('throws ConnectorError at creation without options.directory', () => {
    const { context } = makeContext({}, { fileRoot });
    expect(() => createFileConnector(makeProvider('file'), context)).toThrow(ConnectorError);
    expect(() => createFileConnector(makeProvider('file'), context)).toThrow(/spec\.options\.directory/);
  });
});
