/**
 * Start-up loads what a command uses: pino (the logger) and chokidar (file watching) are loaded by
 * the commands that log or watch, not by every command (and a single run watches nothing). A module hook in the CLI's process lists
 * every file it resolves; `validate` must resolve neither package. Before the lazy loads, the
 * command modules' static imports pulled both into every process.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, createTempDir, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { LIST_RESOLVED_MODULES, resolvedModules } from '../helpers/resolved-modules.js';

function resolvedBy(args: string[]): string[] {
  const result = spawnSync(
    process.execPath,
    ['--import', LIST_RESOLVED_MODULES, '--import', 'tsx', 'src/cli/main.ts', ...args],
    { encoding: 'utf8', env: { ...process.env, CAVRA_GITOPS_NOW: '2026-06-28T10:00:00Z' } },
  );
  return resolvedModules(result.stderr);
}

const loads = (urls: string[], pkg: string): boolean =>
  urls.some((url) => url.includes(`/node_modules/${pkg}/`));

describe('start-up', () => {
  let repo: TempDir;
  beforeAll(async () => {
    repo = await createTempRepo();
    await commitFiles(repo.dir, { 'manifests/README.md': 'no manifests yet\n' }, 'empty ops repo');
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  it('validate loads neither the logger nor the file watcher', { timeout: 60_000 }, () => {
    const urls = resolvedBy(['validate', '--repo', repo.dir, '--format', 'json']);
    expect(urls.some((url) => url.endsWith('/src/cli/validate.ts'))).toBe(true); // the hook saw the command
    expect(loads(urls, 'pino')).toBe(false);
    expect(loads(urls, 'chokidar')).toBe(false);
  });

  it(
    'reconcile --once of a local remote loads no file watcher: one run waits for no ref change',
    { timeout: 60_000 },
    async () => {
      const state = await createTempDir('cavra-start-up-state-');
      try {
        const urls = resolvedBy([
          'reconcile',
          '--once',
          '--no-push',
          '--remote',
          repo.dir,
          '--state-dir',
          state.dir,
        ]);
        expect(urls.some((url) => url.endsWith('/src/reconciler/loop.ts'))).toBe(true); // the run started
        expect(loads(urls, 'chokidar')).toBe(false);
      } finally {
        await state.cleanup();
      }
    },
  );
});
