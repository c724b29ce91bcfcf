/**
 * Issue 11: `validate` checks a RecoveryClosure's references — its playbook, the provider inside
 * that playbook, its verification refs — against the records at the revision, as `plan` and the
 * reconciler do, so the PR check no longer lets in a closure that a reconcile would skip. With
 * --worktree the records are those of the committed tip; with --ledger-ref, of the ledger branch.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runValidate, type ValidateCommandOptions } from '../../src/cli/validate.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import { makeExecution, makePlaybook } from '../fixtures/report/factories.js';
import { commitFiles, createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';
import { REPO_ROOT } from '../manifests/helpers.js';
import { createTestContext } from './helpers-context.js';

const PLAYBOOK = 'gordackrecovery-00000000000000aa';
const EXECUTION = 'gordackretryexec-00000000000000bb';

function bundled(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(REPO_ROOT, 'manifests'))) {
    files[`manifests/${name}`] = readFileSync(join(REPO_ROOT, 'manifests', name), 'utf8');
  }
  return files;
}

/** The records a reconciler would have committed: a playbook for ops-webhook and an execution. */
function records(): Record<string, string> {
  const playbook = makePlaybook({
    id: PLAYBOOK,
    generatedAt: '2026-06-28T10:00:00Z',
    providers: [{ provider: 'ops-webhook' }],
  });
  const execution = makeExecution({
    id: EXECUTION,
    provider: 'ops-webhook',
    status: 'failed',
    executedAt: '2026-06-28T09:30:00Z',
  });
  return {
    [recordPath('playbooks', PLAYBOOK, playbook.generated_at)]: serializeRecord(playbook),
    [recordPath('executions', EXECUTION, execution.executed_at)]: serializeRecord(execution),
  };
}

function closureYaml(playbook: string, provider: string, ref: string): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: RecoveryClosure',
    'metadata:',
    '  name: close-ops-webhook',
    'spec:',
    `  playbook_id: ${playbook}`,
    `  provider: ${provider}`,
    '  closed_by: carol@example.com',
    '  verification_refs:',
    `    - ${ref}`,
    '',
  ].join('\n');
}

interface ValidateJson {
  valid: boolean;
  findings: { file: string; line: number; column: number; rule: string; message: string; severity: string }[];
}

async function validate(
  cwd: string,
  options: ValidateCommandOptions,
): Promise<{ code: number; report: ValidateJson }> {
  const t = createTestContext(cwd);
  const code = await runValidate({ ...options, format: 'json' }, t.context);
  return { code, report: JSON.parse(t.stdout()) as ValidateJson };
}

const errors = (report: ValidateJson): string[] =>
  report.findings
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`);

let repo: TempDir;
beforeEach(async () => {
  repo = await createTempRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

describe('validate checks closure references against the records of the revision', () => {
  it.each([
    ['resolves', PLAYBOOK, 'ops-webhook', EXECUTION, []],
    [
      'names an unknown playbook',
      'gordackrecovery-00000000000000ff',
      'ops-webhook',
      EXECUTION,
      ['6:16 ref.playbook'],
    ],
    [
      'names a provider outside the playbook',
      PLAYBOOK,
      'ops-file',
      EXECUTION,
      ['7:13 ref.playbook-provider'],
    ],
    [
      'names an unknown verification ref',
      PLAYBOOK,
      'ops-webhook',
      'gordackretryexec-00000000000000cc',
      ['10:7 ref.verification'],
    ],
  ])('a committed closure that %s', async (_name, playbook, provider, ref, expected) => {
    await commitFiles(
      repo.dir,
      { ...bundled(), ...records(), 'manifests/closure.yaml': closureYaml(playbook, provider, ref) },
      'closure',
    );
    const { code, report } = await validate(repo.dir, {});
    expect(errors(report)).toEqual(expected.map((at) => `manifests/closure.yaml:${at}`));
    expect(code).toBe(expected.length === 0 ? 0 : 1);
  });

  it('reads the records at the revision validated (--ref), not at the tip', async () => {
    const early = await commitFiles(
      repo.dir,
      { ...bundled(), 'manifests/closure.yaml': closureYaml(PLAYBOOK, 'ops-webhook', EXECUTION) },
      'a closure before its records exist',
    );
    await commitFiles(repo.dir, records(), 'records');
    expect((await validate(repo.dir, {})).code).toBe(0);
    const { code, report } = await validate(repo.dir, { ref: early });
    expect(errors(report)).toEqual([
      'manifests/closure.yaml:6:16 ref.playbook',
      'manifests/closure.yaml:10:7 ref.verification',
    ]);
    expect(code).toBe(1);
  });

  it('with records on a ledger branch, checks against --ledger-ref', async () => {
    await commitFiles(repo.dir, bundled(), 'manifests');
    await git(repo.dir, ['checkout', '-q', '-b', 'cavra-ledger']);
    await commitFiles(repo.dir, records(), 'records on the ledger');
    await git(repo.dir, ['checkout', '-q', 'main']);
    await commitFiles(
      repo.dir,
      { 'manifests/closure.yaml': closureYaml(PLAYBOOK, 'ops-webhook', EXECUTION) },
      'c',
    );

    expect(errors((await validate(repo.dir, {})).report)).toEqual([
      'manifests/closure.yaml:6:16 ref.playbook',
      'manifests/closure.yaml:10:7 ref.verification',
    ]);
    expect(await validate(repo.dir, { ledgerRef: 'cavra-ledger' })).toMatchObject({
      code: 0,
      report: { valid: true },
    });
  });

  it('--worktree checks a closure on disk against the records of the committed tip only', async () => {
    await commitFiles(repo.dir, { ...bundled(), ...records() }, 'manifests and records');
    await writeFile(
      join(repo.dir, 'manifests', 'closure.yaml'),
      closureYaml(PLAYBOOK, 'ops-webhook', EXECUTION),
    );
    expect(errors((await validate('/', { repo: repo.dir, worktree: true })).report)).toEqual([]);

    const other = 'gordackrecovery-00000000000000ee';
    await writeFile(
      join(repo.dir, 'manifests', 'closure.yaml'),
      closureYaml(other, 'ops-webhook', EXECUTION),
    );
    // A playbook record that exists only on disk does not count: the records are the committed ones.
    const onDisk = makePlaybook({
      id: other,
      generatedAt: '2026-06-28T10:00:00Z',
      providers: [{ provider: 'ops-webhook' }],
    });
    const path = join(repo.dir, recordPath('playbooks', other, onDisk.generated_at));
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, serializeRecord(onDisk));

    const { code, report } = await validate('/', { repo: repo.dir, worktree: true });
    expect(errors(report)).toEqual(['manifests/closure.yaml:6:16 ref.playbook']);
    expect(report.findings.find((f) => f.rule === 'ref.playbook')!.message).toContain(other);
    expect(code).toBe(1);
  });

  it('--worktree without any commit leaves closure references to the reconciler', async () => {
    await mkdir(join(repo.dir, 'manifests'));
    for (const [path, content] of Object.entries(bundled())) await writeFile(join(repo.dir, path), content);
    await writeFile(
      join(repo.dir, 'manifests', 'closure.yaml'),
      closureYaml(PLAYBOOK, 'ops-webhook', EXECUTION),
    );
    expect(await validate('/', { repo: repo.dir, worktree: true })).toMatchObject({ code: 0 });
    // An explicit --ledger-ref that names nothing is an error, not a silent skip.
    await expect(validate('/', { repo: repo.dir, worktree: true, ledgerRef: 'nope' })).rejects.toThrow(
      /nope/,
    );
  });
});
