/**
 * Issue 11, safe inputs: what used to validate clean (or be silently ignored) and fail or surprise
 * later is a finding with file, line and column — symbolic links under manifests/ (in a commit and
 * on disk), secrets in YAML comments, file providers writing outside the file root, and jira /
 * servicenow basic authentication without its account.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitReader, type LocalGitReader } from '../../src/git/index.js';
import { readManifests, readWorktreeManifests } from '../../src/read-model/read-manifests.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { commitFiles, createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';
import { REPO_ROOT, bundledManifests, fileInput } from './helpers.js';

function bundled(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(REPO_ROOT, 'manifests'))) {
    files[`manifests/${name}`] = readFileSync(join(REPO_ROOT, 'manifests', name), 'utf8');
  }
  return files;
}

const provider = (name: string, spec: string): string =>
  `apiVersion: cavra.dev/v1\nkind: Provider\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

/** `file:line:column rule` of each finding, the way `validate` prints them. */
const located = (findings: readonly { file: string; line: number; column: number; rule: string }[]) =>
  findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`);

describe('symbolic links under manifests/', () => {
  let repo: TempDir;
  let reader: LocalGitReader;
  beforeEach(async () => {
    repo = await createTempRepo();
    reader = createGitReader(repo.dir);
  });
  afterEach(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it('a committed link (mode 120000) to a manifest, or to a directory of them, is a finding naming it', async () => {
    await commitFiles(repo.dir, { ...bundled(), 'shared/extra.yaml': provider('extra', '  type: file\n') }, 'seed');
    await symlink('../shared/extra.yaml', join(repo.dir, 'manifests', 'extra.yaml'));
    await symlink('../shared', join(repo.dir, 'manifests', 'shared'));
    const commit = await commitFiles(repo.dir, {}, 'link a manifest and a directory');
    expect(await git(repo.dir, ['ls-tree', commit, 'manifests/extra.yaml'])).toMatch(/^120000 blob /);

    const result = await readManifests(reader, commit);

    expect(located(result.findings)).toEqual([
      'manifests/extra.yaml:1:1 file.symlink',
      'manifests/shared:1:1 file.symlink',
    ]);
    expect(result.findings[0]!.message).toContain('manifests/extra.yaml is a symbolic link');
    expect(result.conditions.find((c) => c.file === 'manifests/extra.yaml')).toMatchObject({
      ready: false,
      reason: 'SymbolicLink',
    });
    // The link is not followed, and the rest of the repository still loads.
    expect(result.manifests.providers.map((p) => p.name)).toEqual(['ops-file', 'ops-webhook']);
  });

  it('a link on disk is a finding with --worktree, and is not followed', async () => {
    await mkdir(join(repo.dir, 'manifests'), { recursive: true });
    for (const [path, content] of Object.entries(bundled())) await writeFile(join(repo.dir, path), content);
    await mkdir(join(repo.dir, 'outside'));
    await writeFile(join(repo.dir, 'outside', 'p.yaml'), provider('outside', '  type: file\n'));
    await symlink(join(repo.dir, 'outside', 'p.yaml'), join(repo.dir, 'manifests', 'linked.yaml'));
    await symlink(join(repo.dir, 'outside'), join(repo.dir, 'manifests', 'linked-dir'));

    const result = await readWorktreeManifests(repo.dir);

    expect(located(result.findings.filter((f) => f.severity === 'error'))).toEqual([
      'manifests/linked-dir:1:1 file.symlink',
      'manifests/linked.yaml:1:1 file.symlink',
    ]);
    expect(result.manifests.providers.map((p) => p.name)).not.toContain('outside');
  });

  it('manifests/ itself as a link is a finding, and nothing behind it is read', async () => {
    await mkdir(join(repo.dir, 'elsewhere'));
    await writeFile(join(repo.dir, 'elsewhere', 'p.yaml'), provider('elsewhere', '  type: file\n'));
    await symlink('elsewhere', join(repo.dir, 'manifests'));
    const commit = await commitFiles(repo.dir, {}, 'manifests is a link');

    for (const result of [await readManifests(reader, commit), await readWorktreeManifests(repo.dir)]) {
      expect(located(result.findings)).toEqual(['manifests:1:1 file.symlink']);
      expect(result.manifests.providers).toEqual([]);
    }
  });
});

describe('secrets in YAML comments', () => {
  const hook = (comment: string): string =>
    provider('hook', `  type: webhook\n  url_env: HOOK_URL${comment}\n`);

  it.each([
    ['a trailing comment', hook('  # ghp_abcdefghijklmnopqrstuvwxyz0123456789'), 'manifests/p.yaml:7:22 secret.token'],
    [
      'a comment line above the document',
      `# old url https://user:hunter2hunter2@hooks.example.com/x\n${hook('')}`,
      'manifests/p.yaml:1:1 secret.url-credentials',
    ],
    [
      'a commented-out token line',
      `${hook('')}  # token: Zx9qT4mW2vL8rK1pN7sB3yH6\n`,
      'manifests/p.yaml:8:3 secret.high-entropy',
    ],
    [
      'a comment inside a flow collection',
      provider('f', '  type: file\n  options: {directory: out, # xoxb-1234567890-abcdefghij\n    rotate: true}\n'),
      'manifests/p.yaml:7:29 secret.token',
    ],
  ])('%s is a finding with file:line:column', (_name, content, expected) => {
    const result = validateManifests([...bundledManifests(), fileInput('manifests/p.yaml', content)]);
    expect(located(result.findings)).toEqual([expected]);
    expect(result.findings[0]!.message).toContain('This comment holds what looks like');
    // The value is never echoed.
    expect(result.findings[0]!.message).not.toMatch(/ghp_|hunter2|Zx9q|xoxb/);
    expect(result.conditions.find((c) => c.file === 'manifests/p.yaml')).toMatchObject({
      ready: false,
      reason: 'SecretMaterial',
    });
  });

  it('a secret in the comment of a comment-only file or document is found too', () => {
    const onlyComment = fileInput('manifests/notes.yaml', '# whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n');
    const emptyDocument = fileInput(
      'manifests/two.yaml',
      `${provider('two', '  type: file\n')}---\n# AKIAIOSFODNN7EXAMPLE\n`,
    );
    const result = validateManifests([...bundledManifests(), onlyComment, emptyDocument]);
    expect(located(result.findings)).toEqual([
      'manifests/notes.yaml:1:1 secret.token',
      'manifests/two.yaml:8:1 secret.aws-key',
    ]);
    // The secret sits in the second (empty) document: the first document still loads.
    expect(result.manifests.providers.map((p) => p.name)).toContain('two');
  });

  it('a "#" inside a quoted or block scalar is not a comment, and ordinary comments are fine', () => {
    const content = provider(
      'quiet',
      [
        '  type: file',
        '  options:',
        '    directory: "out # token: Zx9qT4mW2vL8rK1pN7sB3yH6"',
        '# yaml-language-server: $schema=../schemas/provider.schema.json',
        '# author: alice.smith-long-handle@example.com, see https://docs.example.com/runbook?page=2',
        '',
      ].join('\n'),
    );
    const block = `${provider('block', '  type: file\n  options:\n    directory: out\n')}`.replace(
      'spec:',
      'metadata2: |\n  # token: Zx9qT4mW2vL8rK1pN7sB3yH6\nspec:',
    );
    const result = validateManifests([fileInput('manifests/a.yaml', content), fileInput('manifests/b.yaml', block)]);
    expect(result.findings.filter((f) => f.rule.startsWith('secret.'))).toEqual([]);
  });
});

describe('provider options a connector would refuse', () => {
  let repo: TempDir;
  let reader: LocalGitReader;
  beforeEach(async () => {
    repo = await createTempRepo();
    reader = createGitReader(repo.dir);
  });
  afterEach(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it('file directories outside the root, and basic auth without its account, are findings with file:line', async () => {
    const commit = await commitFiles(
      repo.dir,
      {
        ...bundled(),
        'manifests/bad-providers.yaml': [
          provider('abs', '  type: file\n  options:\n    directory: /srv/elsewhere\n'),
          provider('up', '  type: file\n  options:\n    directory: ../../elsewhere\n'),
          provider('itsm-jira', '  type: jira\n  url_env: JIRA_URL\n  token_env: JIRA_TOKEN\n  options:\n    project_key: OPS\n'),
          provider('itsm-snow', '  type: servicenow\n  url_env: SNOW_URL\n  token_env: SNOW_PASSWORD\n'),
          provider('itsm-bearer', '  type: servicenow\n  url_env: SNOW_URL\n  token_env: SNOW_TOKEN\n  options:\n    auth: bearer\n'),
        ].join('---\n'),
      },
      'providers',
    );

    const result = await readManifests(reader, commit);

    expect(located(result.findings)).toEqual([
      'manifests/bad-providers.yaml:8:16 provider.file-directory-absolute',
      'manifests/bad-providers.yaml:17:16 provider.file-directory-escapes',
      'manifests/bad-providers.yaml:24:9 provider.basic-auth-account',
      'manifests/bad-providers.yaml:35:9 provider.basic-auth-account',
    ]);
    const messages = result.findings.map((f) => f.message);
    expect(messages[0]).toContain('relative to that root');
    expect(messages[2]).toContain('spec.options.email');
    expect(messages[3]).toContain('spec.options.username');
    expect(result.manifests.providers.map((p) => p.name)).toEqual(['itsm-bearer', 'ops-file', 'ops-webhook']);
  });
});
