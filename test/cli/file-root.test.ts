/**
 * Issue 11: `reconcile --file-root DIR` (or `CAVRA_GITOPS_FILE_ROOT`; default `files/` in the state
 * dir) is the only place `file` providers write. A real reconcile run per case, with the audit
 * events looked for on disk; a provider whose directory would leave the root is skipped by
 * validation and writes nothing anywhere.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import {
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('reconcile --file-root', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let scratch: TempDir;
  const clock = createSettableClock('2026-06-28T10:00:00Z');

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    scratch = await createTempDir('cavra-file-root-');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': [
          providerYaml('ops-file', { type: 'file', options: { directory: 'outbox/audit' } }),
          providerYaml('ops-escape', { type: 'file', options: { directory: '../../escaped' } }),
        ].join('---\n'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-file']),
      },
      'a file provider',
      { date: '2026-06-28T09:00:00Z' },
    );
  });
  afterEach(async () => {
    await scratch.cleanup();
    await state.cleanup();
    await ops.cleanup();
  });

  async function reconcile(args: string[], env: Record<string, string> = {}): Promise<string> {
    const cli = createCliContext(scratch.dir, reconcilerEnv(env), clock);
    const code = await runCli(
      ['reconcile', '--once', '--remote', ops.remote, '--state-dir', join(state.dir, 'replica'), ...args],
      cli.context,
    );
    expect(code, cli.stderr()).toBe(0);
    return cli.stderr();
  }

  it('writes under files/ in the state dir by default, and nowhere else', async () => {
    await reconcile([]);
    expect(await filesUnder(join(state.dir, 'replica', 'files'))).toEqual([
      'outbox',
      'outbox/audit',
      'outbox/audit/drill-1.json',
    ]);
    // Not in the cwd, and the escaping provider wrote nothing anywhere near.
    expect(await filesUnder(scratch.dir)).toEqual([]);
    expect(existsSync(join(state.dir, 'escaped'))).toBe(false);
    expect(existsSync(join(state.dir, 'replica', 'escaped'))).toBe(false);
  });

  it('writes under --file-root, which wins over CAVRA_GITOPS_FILE_ROOT; a relative root is taken from the cwd', async () => {
    await reconcile(['--file-root', 'chosen'], { CAVRA_GITOPS_FILE_ROOT: join(scratch.dir, 'from-env') });
    expect(await filesUnder(join(scratch.dir, 'chosen'))).toContain('outbox/audit/drill-1.json');
    expect(existsSync(join(scratch.dir, 'from-env'))).toBe(false);
    expect(existsSync(join(state.dir, 'replica', 'files'))).toBe(false);
  });

  it('writes under CAVRA_GITOPS_FILE_ROOT without the flag', async () => {
    await reconcile([], { CAVRA_GITOPS_FILE_ROOT: join(scratch.dir, 'from-env') });
    expect(await filesUnder(join(scratch.dir, 'from-env'))).toContain('outbox/audit/drill-1.json');
  });

  it('reports the escaping provider as a validation finding with its line', async () => {
    const cli = createCliContext(scratch.dir, reconcilerEnv(), clock);
    await runCli(['validate', '--remote', ops.remote, '--format', 'json'], cli.context);
    const report = JSON.parse(cli.stdout()) as { findings: { rule: string; name: string; line: number }[] };
    expect(report.findings).toEqual([
      expect.objectContaining({ rule: 'provider.file-directory-escapes', name: 'ops-escape', line: 17 }),
    ]);
  });
});
