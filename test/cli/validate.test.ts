import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.js';
import { ExitError, GitError } from '../../src/errors.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { REPO_ROOT } from '../manifests/helpers.js';
import { createTestContext } from './helpers-context.js';

function bundled(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(REPO_ROOT, 'manifests'))) {
    files[`manifests/${name}`] = readFileSync(join(REPO_ROOT, 'manifests', name), 'utf8');
  }
  return files;
}

// A unique canary, assembled at run time so that only the manifest under test contains it.
const CANARY = ['ghp_', 'CaNaRy', Date.now().toString(36), 'Zq8Xw3Vt6Ys1Ur4Tp7On2Mk5Lj']
  .join('')
  .slice(0, 40);

let repo: TempDir;

beforeEach(async () => {
  repo = await createTempRepo();
  await commitFiles(repo.dir, bundled(), 'bundled manifests', { date: '2026-06-28T09:00:00Z' });
});

afterEach(async () => {
  await repo.cleanup();
});

describe('validate', () => {
  it('exits 0 on the committed bundled manifests and prints a summary naming the revision', async () => {
    const t = createTestContext(repo.dir);
    expect(await runValidate({}, t.context)).toBe(0);
    expect(t.stdout()).toMatch(
      /^OK: 6 valid manifest\(s\), 0 skipped, 0 error\(s\), 0 warning\(s\) at [0-9a-f]{40}\.\n$/,
    );
  });

  it('reads committed content only: an uncommitted broken file does not count without --worktree', async () => {
    await writeFile(join(repo.dir, 'manifests', 'broken.yaml'), 'kind: [\n');
    const committed = createTestContext(repo.dir);
    expect(await runValidate({ repo: repo.dir }, committed.context)).toBe(0);
    const worktree = createTestContext('/');
    expect(await runValidate({ repo: repo.dir, worktree: true, format: 'json' }, worktree.context)).toBe(1);
    const report = JSON.parse(worktree.stdout()) as {
      valid: boolean;
      revision: string;
      findings: { rule: string; file: string }[];
    };
    expect(report.valid).toBe(false);
    expect(report.revision).toBe('worktree');
    expect(report.findings.filter((f) => f.file === 'manifests/broken.yaml').map((f) => f.rule)).toEqual([
      'yaml.syntax',
    ]);
  });

  it('validates an older revision with --ref', async () => {
    await commitFiles(repo.dir, { 'manifests/bad.yaml': 'apiVersion: cavra.dev/v1\nkind: Nope\n' }, 'bad');
    const head = createTestContext(repo.dir);
    expect(await runValidate({ format: 'json' }, head.context)).toBe(1);
    const previous = createTestContext(repo.dir);
    expect(await runValidate({ ref: 'HEAD~1', format: 'json' }, previous.context)).toBe(0);
  });

  it('prints GitHub workflow commands with the rule as title and nothing else', async () => {
    await commitFiles(
      repo.dir,
      {
        'manifests/x.yaml':
          'apiVersion: cavra.dev/v1\nkind: Provider\nmetadata:\n  name: X\nspec:\n  type: file\n',
      },
      'x',
    );
    const t = createTestContext(repo.dir);
    expect(await runValidate({ format: 'github' }, t.context)).toBe(1);
    expect(t.stdout()).toBe(
      '::error file=manifests/x.yaml,line=4,col=9,title=schema.pattern::`/metadata/name` does not have the required format. Expected: Name of the Provider: a DNS-1123 label (lowercase letters%2C digits%2C `-`; at most 63 characters)%2C unique among Provider manifests.\n'.replace(
        /%2C/g,
        ',',
      ),
    );
  });

  it('prints a GitLab code quality report: one issue per finding, stable fingerprints', async () => {
    const bad = 'apiVersion: cavra.dev/v1\nkind: Provider\nmetadata:\n  name: X\nspec:\n  type: file\n';
    await commitFiles(repo.dir, { 'manifests/x.yaml': bad }, 'x');
    const run = async (): Promise<unknown[]> => {
      const t = createTestContext(repo.dir);
      expect(await runValidate({ format: 'codequality' }, t.context)).toBe(1);
      return JSON.parse(t.stdout()) as unknown[];
    };
    const issues = (await run()) as {
      description: string;
      check_name: string;
      fingerprint: string;
      severity: string;
      location: unknown;
    }[];
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(issue!.description).toMatch(
      /^schema\.pattern: `\/metadata\/name` does not have the required format/,
    );
    expect(issue!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect([issue!.check_name, issue!.severity, issue!.location]).toEqual([
      'schema.pattern',
      'major',
      { path: 'manifests/x.yaml', lines: { begin: 4 } },
    ]);
    expect(await run()).toEqual(issues);
    const clean = createTestContext(repo.dir);
    expect(await runValidate({ format: 'codequality', ref: 'HEAD~1' }, clean.context)).toBe(0);
    expect(JSON.parse(clean.stdout())).toEqual([]);
  });

  it.each(['text', 'json', 'github', 'codequality'])(
    'reports a canary secret by rule and location and never prints it (%s)',
    async (format) => {
      const manifest = [
        'apiVersion: cavra.dev/v1',
        'kind: RetryApproval',
        'metadata:',
        '  name: approve-canary',
        'spec:',
        '  delivery: rollback-drill-2026-06-28',
        '  provider: ops-webhook',
        '  decided_by: bob@example.com',
        `  notes: "retry with ${CANARY} please"`,
        '  retry_policy:',
        `    ${CANARY}: 1`,
        '',
      ].join('\n');
      await commitFiles(repo.dir, { 'manifests/canary.yaml': manifest }, 'canary');
      const t = createTestContext(repo.dir);
      expect(await runValidate({ format }, t.context)).toBe(1);
      const output = t.stdout() + t.stderr();
      expect(output).not.toContain(CANARY);
      expect(output).not.toContain(CANARY.slice(4, 20));
      expect(output).toContain('secret.token');
      expect(output).toMatch(/manifests\/canary\.yaml/);
      if (format === 'json') {
        const report = JSON.parse(t.stdout()) as { findings: { rule: string; line: number; path: string }[] };
        expect(report.findings.filter((f) => f.rule === 'secret.token').map((f) => [f.line, f.path])).toEqual(
          [
            [9, '/spec/notes'],
            [11, '/spec/retry_policy'],
          ],
        );
      }
    },
  );

  it.each([
    [{ format: 'xml' }, /--format "xml" is not supported/],
    [{ ref: 'HEAD', worktree: true }, /exclude each other/],
    [{ ref: 'HEAD', watch: true }, /--watch/],
    [{ repo: '.', remote: '/tmp/x' }, /either --repo DIR or --remote URL/],
    [{ remote: '/tmp/x', worktree: true }, /read files on disk/],
  ])('usage errors are ExitError with exit code 2: %o', async (options, message) => {
    const t = createTestContext(repo.dir);
    const error = await runValidate(options, t.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(message);
    expect(t.stdout()).toBe('');
  });

  it('an unknown revision is a GitError (exit 3)', async () => {
    const t = createTestContext(repo.dir);
    const error = await runValidate({ ref: 'no-such-branch' }, t.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
  });

  it('--remote that cannot be reached is a GitError (exit 3), with the URL redacted', async () => {
    const t = createTestContext('/');
    const error = await runValidate(
      { remote: 'file:///nonexistent/ops.git?token=secret-canary' },
      t.context,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as Error).message).not.toContain('secret-canary');
  });

  it('--remote accepts a local repository path', async () => {
    const t = createTestContext('/');
    expect(await runValidate({ remote: repo.dir, format: 'json' }, t.context)).toBe(0);
  });

  it('--watch re-validates on save and stops when the signal aborts', async () => {
    const t = createTestContext(repo.dir);
    const running = runValidate({ watch: true, format: 'json', debounceMs: 0 }, t.context);
    await t.waitForStdoutWrites(1);
    expect((JSON.parse(t.stdout()) as { valid: boolean }).valid).toBe(true);
    await writeFile(
      join(repo.dir, 'manifests', 'policy.yaml'),
      'apiVersion: cavra.dev/v1\nkind: ReconcilerPolicy\nmetadata:\n  name: strict\nspec: {}\n',
    );
    // An editor's save may be seen half-written first; wait for the run that sees the whole file.
    await t.waitForStdout('policy.name');
    t.controller.abort();
    expect(await running).toBe(1);
    expect(t.stderr()).toContain('Watching');
  });
});
