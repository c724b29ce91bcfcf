import { readFileSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runInit } from '../../src/cli/init.js';
import { runSchema } from '../../src/cli/schema.js';
import { ExitError } from '../../src/errors.js';
import { readWorktreeManifests } from '../../src/read-model/read-manifests.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import { createTestContext } from './helpers-context.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

let temp: TempDir;
beforeEach(async () => {
  temp = await createTempDir();
});
afterEach(async () => {
  await temp.cleanup();
});

describe('init', () => {
  it('scaffolds manifests, schemas, README, PR workflow and allowed signers; the manifests validate', async () => {
    const t = createTestContext(temp.dir);
    expect(await runInit('ops', t.context)).toBe(0);
    const dir = join(temp.dir, 'ops');
    const listed = t.stdout().trim().split('\n');
    expect(listed).toEqual(
      expect.arrayContaining([
        'README.md',
        '.github/workflows/cavra-gitops.yml',
        '.gitlab-ci.yml',
        '.cavra/allowed_signers',
        'manifests/policy.yaml',
        'manifests/providers.yaml',
        'manifests/retry-approval.yaml',
        'schemas/provider.schema.json',
      ]),
    );
    const workflow = await readFile(join(dir, '.github/workflows/cavra-gitops.yml'), 'utf8');
    expect(workflow).toContain('pull_request');
    expect(workflow).toContain('cavra-gitops validate --format github');
    expect(workflow).toContain('cavra-gitops plan --format markdown');
    expect(workflow).toContain('cavra-gitops pr-comment --file');
    // One pin, the version of the CLI that scaffolded it; nothing runs an unpinned npx.
    expect(workflow).toContain(`CAVRA_GITOPS_PACKAGE: "cavra-gitops@${PACKAGE_VERSION}"`);
    expect(workflow).not.toContain('npx');
    const gitlab = await readFile(join(dir, '.gitlab-ci.yml'), 'utf8');
    expect(gitlab).toContain(`CAVRA_GITOPS_PACKAGE: "cavra-gitops@${PACKAGE_VERSION}"`);
    expect(gitlab).toContain('codequality: gl-code-quality-report.json');
    const result = await readWorktreeManifests(dir);
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.manifests.providers.map((p) => p.name)).toEqual(['ops-file', 'ops-webhook']);
    expect(result.manifests.policy?.name).toBe('default');
    // The yaml-language-server lines resolve inside the scaffolded repository.
    const providers = await readFile(join(dir, 'manifests/providers.yaml'), 'utf8');
    const schemaRef = /\$schema=(\S+)/.exec(providers)?.[1];
    expect(await readdir(join(dir, 'manifests', schemaRef!, '..'))).toContain('provider.schema.json');
  });

  it("the README's advice on multi-document files matches the gate: per document, no re-arming by appending", async () => {
    const t = createTestContext(temp.dir);
    expect(await runInit('ops', t.context)).toBe(0);
    // Unwrapped, so the checks do not depend on where the lines break.
    const readme = (await readFile(join(temp.dir, 'ops', 'README.md'), 'utf8')).replace(/\s+/g, ' ');
    expect(readme).toContain('each document is judged on its own');
    expect(readme).toContain('not by the latest change to its file');
    expect(readme).toContain('does not re-arm one already executed, nor unblock one that is blocked');
    expect(readme).toContain('appending closures to its file records only the new ones');
    expect(readme).toContain('the allowed-signers file is read at the base too');
    // Nothing in it tells operators to keep one approval per file to stay safe.
    expect(readme).not.toMatch(/one (approval|document) per file/i);
  });

  it('--package pins what the scaffolded CI installs, in one place per file', async () => {
    const t = createTestContext(temp.dir);
    expect(await runInit('ops', t.context, { package: '/opt/pkgs/cavra-gitops-0.1.0.tgz' })).toBe(0);
    for (const file of ['.github/workflows/cavra-gitops.yml', '.gitlab-ci.yml']) {
      const text = await readFile(join(temp.dir, 'ops', file), 'utf8');
      expect(text.split('/opt/pkgs/cavra-gitops-0.1.0.tgz')).toHaveLength(2);
      expect(text).not.toContain('cavra-gitops@');
    }
  });

  it('refuses a non-empty directory', async () => {
    await writeFile(join(temp.dir, 'keep.txt'), 'x');
    const t = createTestContext(temp.dir);
    await expect(runInit('.', t.context)).rejects.toBeInstanceOf(ExitError);
    expect(await readdir(temp.dir)).toEqual(['keep.txt']);
  });
});

describe('schema', () => {
  it.each([
    ['RetryApproval', 'https://cavra.dev/schemas/v1/retry-approval.schema.json'],
    ['retry-approval', 'https://cavra.dev/schemas/v1/retry-approval.schema.json'],
    ['provider', 'https://cavra.dev/schemas/v1/provider.schema.json'],
  ])('prints the schema of %s', async (kind, id) => {
    const t = createTestContext(temp.dir);
    expect(await runSchema(kind, t.context)).toBe(0);
    expect((JSON.parse(t.stdout()) as { $id: string }).$id).toBe(id);
  });

  it('prints all schemas keyed by kind', async () => {
    const t = createTestContext(temp.dir);
    expect(await runSchema(undefined, t.context)).toBe(0);
    expect(Object.keys(JSON.parse(t.stdout()) as object)).toEqual([
      'Provider',
      'ReconcilerPolicy',
      'AuditDelivery',
      'RetryAcknowledgement',
      'RetryApproval',
      'RecoveryClosure',
    ]);
  });

  it('--records prints every record schema, keyed by file, each with its $id, as published', async () => {
    const t = createTestContext(temp.dir);
    expect(await runSchema(undefined, t.context, { records: true })).toBe(0);
    const all = JSON.parse(t.stdout()) as Record<string, { $id: string }>;
    const kinds = [
      'connector-recovery-closure',
      'connector-recovery-playbook',
      'delivery-record',
      'retry-execution-claim',
      'retry-execution-record',
      'retry-recovery-report',
      'retry-worker-run',
    ];
    expect(Object.keys(all)).toEqual(
      [
        'defs.schema.json',
        ...kinds.flatMap((kind) => [`${kind}.v1.schema.json`, `${kind}.v2.schema.json`]),
      ].sort(),
    );
    for (const [file, schema] of Object.entries(all)) {
      expect(schema.$id).toBe(`https://cavra.dev/schemas/records/${file}`);
      const published = JSON.parse(
        readFileSync(new URL(`../../schemas/records/${file}`, import.meta.url), 'utf8'),
      ) as unknown;
      expect(schema).toEqual(published);
    }
  });

  it('--records with a kind is a usage error', async () => {
    const t = createTestContext(temp.dir);
    const error = await runSchema('Provider', t.context, { records: true }).catch((e: unknown) => e);
    expect((error as ExitError).exitCode).toBe(2);
    expect(t.stdout()).toBe('');
  });

  it('an unknown kind is a usage error listing the kinds', async () => {
    const t = createTestContext(temp.dir);
    const error = await runSchema('Deployment', t.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).exitCode).toBe(2);
    expect((error as Error).message).toContain('Provider, ReconcilerPolicy, AuditDelivery');
    expect(t.stdout()).toBe('');
  });
});
