/**
 * A `--repo` that does not exist, is a file, or is not a git repository is a usage error (exit 2)
 * naming it, for every command that takes `--repo` (it used to be "spawn git ENOENT", exit 3).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import { createTestContext } from './helpers-context.js';

let temp: TempDir;
beforeEach(async () => {
  temp = await createTempDir();
  await mkdir(join(temp.dir, 'plain'));
  await writeFile(join(temp.dir, 'file.txt'), 'x');
});
afterEach(async () => {
  await temp.cleanup();
});

const COMMANDS: string[][] = [
  ['validate'],
  ['validate', '--worktree'],
  ['plan'],
  ['report'],
  ['verify'],
  ['reconcile', '--once', '--state-dir', 'state'],
  ['serve', '--port', '0'],
  ['start', '--port', '0', '--state-dir', 'state'],
];

describe('--repo that is not a repository', () => {
  it.each(COMMANDS)('%s: a missing directory is exit 2 naming it', async (...command) => {
    const t = createTestContext(temp.dir);
    expect(await runCli([...command, '--repo', 'missing'], t.context)).toBe(2);
    expect(t.stderr()).toBe(
      'cavra-gitops: --repo missing does not exist; pass --repo with the directory of your ops repository, or --remote URL.\n',
    );
    expect(t.stdout()).toBe('');
  });

  it.each(COMMANDS)('%s: a file is exit 2 naming it', async (...command) => {
    const t = createTestContext(temp.dir);
    expect(await runCli([...command, '--repo', 'file.txt'], t.context)).toBe(2);
    expect(t.stderr()).toMatch(/^cavra-gitops: --repo file\.txt is a file, not a directory;/);
  });

  it.each(COMMANDS.filter((c) => !c.includes('--worktree')))(
    '%s: a directory outside any repository is exit 2 naming it',
    async (...command) => {
      const t = createTestContext(temp.dir);
      expect(await runCli([...command, '--repo', 'plain'], t.context)).toBe(2);
      expect(t.stderr()).toMatch(/^cavra-gitops: --repo plain is not a git repository; run git init there/);
    },
  );

  it('the default (the current directory) is named as such', async () => {
    const t = createTestContext(join(temp.dir, 'plain'));
    expect(await runCli(['plan'], t.context)).toBe(2);
    expect(t.stderr()).toContain(`The current directory ${join(temp.dir, 'plain')} is not a git repository`);
  });
});
