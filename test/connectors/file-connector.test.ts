import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPE } from '../../src/connectors/audit-event.js';
import { createFileConnector } from '../../src/connectors/file-connector.js';
import { ConnectorError } from '../../src/errors.js';
import { makeContext, makeProvider, makeRequest } from './connector-fixtures.js';

describe('file connector', () => {
  let baseDir: string;
  beforeEach(async () => {
    baseDir = await mkdtemp(join(tmpdir(), 'cavra-file-connector-'));
  });
  afterEach(async () => {
    await rm(baseDir, { recursive: true, force: true });
  });

  const provider = makeProvider('file', { options: { directory: 'out/audit' } }, 'local-file');

  it('writes the event as <key>.json under a directory relative to the base directory', async () => {
    const { context } = makeContext({}, { baseDir });
    const connector = createFileConnector(provider, context);
    const request = makeRequest({ provider: 'local-file' });

    const outcome = await connector.deliver(request);

    expect(outcome).toEqual({ success: true, statusCode: null, error: '', retryable: false, attempts: 1 });
    expect(connector.idempotent).toBe(true);
    const written = await readFile(join(baseDir, 'out/audit', `${request.idempotencyKey}.json`), 'utf8');
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
    expect(await readdir(join(baseDir, 'out/audit'))).toEqual([`${request.idempotencyKey}.json`]);
  });

  it('accepts an absolute directory', async () => {
    const absolute = makeProvider('file', { options: { directory: join(baseDir, 'abs') } });
    const { context } = makeContext({}, { baseDir: '/nonexistent' });
    expect((await createFileConnector(absolute, context).deliver(makeRequest())).success).toBe(true);
    expect(await readdir(join(baseDir, 'abs'))).toHaveLength(1);
  });

  it('treats a re-send of the same event (even from a later run) as delivered and does not rewrite it', async () => {
    const { context } = makeContext({}, { baseDir });
    const connector = createFileConnector(provider, context);
    const request = makeRequest();
    await connector.deliver(request);
    const path = join(baseDir, 'out/audit', `${request.idempotencyKey}.json`);
    const before = await readFile(path, 'utf8');

    const again = await connector.deliver({ ...request, at: '2026-06-28T11:30:00Z' });

    expect(again).toMatchObject({ success: true });
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('never overwrites a different event stored under the same key', async () => {
    const { context } = makeContext({}, { baseDir });
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
      const { context } = makeContext({}, { baseDir });
      const outcome = await createFileConnector(provider, context).deliver(
        makeRequest({ idempotencyKey: key }),
      );
      expect(outcome).toMatchObject({ success: false, retryable: false, attempts: 0 });
      expect(await readdir(baseDir)).toEqual([]);
    },
  );

  it('reports a directory that cannot be created as a permanent failure', async () => {
    await writeFile(join(baseDir, 'out'), 'a file where a directory should be');
    const { context } = makeContext({}, { baseDir });

    const outcome = await createFileConnector(provider, context).deliver(makeRequest());

    expect(outcome).toMatchObject({ success: false, retryable: false });
    expect(outcome.error).toMatch(
      /could not write provider "local-file" \(file\) file out\/audit\/.*\.json \((ENOTDIR|EEXIST)\)/,
    );
  });

  it('throws ConnectorError at creation without options.directory', () => {
    const { context } = makeContext({}, { baseDir });
    expect(() => createFileConnector(makeProvider('file'), context)).toThrow(ConnectorError);
    expect(() => createFileConnector(makeProvider('file'), context)).toThrow(/spec\.options\.directory/);
  });
});
