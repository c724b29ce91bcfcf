/** withConfigEnv: settings every git of an env sees, added after the ones the env already has. */
import { describe, expect, it } from 'vitest';
import { createGitEnv, runGit, withConfigEnv } from '../../src/git/run-git.js';
import { createTempRepo } from '../helpers/git-fixtures.js';

describe('withConfigEnv', () => {
  it('adds settings after those of the given env, and git sees both over the repository config', async () => {
    const repo = await createTempRepo();
    try {
      await runGit(['config', 'gc.auto', '7'], { cwd: repo.dir, env: createGitEnv(process.env) });
      const given = {
        ...createGitEnv(process.env),
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'user.name',
        GIT_CONFIG_VALUE_0: 'CI',
      };
      const env = withConfigEnv(given, [['gc.auto', '0']]);
      expect([env.GIT_CONFIG_COUNT, env.GIT_CONFIG_KEY_1, env.GIT_CONFIG_VALUE_1]).toEqual([
        '2',
        'gc.auto',
        '0',
      ]);
      const read = async (key: string): Promise<string> =>
        (await runGit(['config', key], { cwd: repo.dir, env })).stdout.toString('utf8').trim();
      expect(await read('gc.auto')).toBe('0');
      expect(await read('user.name')).toBe('CI');
    } finally {
      await repo.cleanup();
    }
  });
});
