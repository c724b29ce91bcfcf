import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitError } from '../../src/errors.js';
import { defaultReplicaId, isLocalRemote, resolveStateDir } from '../../src/git/state-dir.js';
import { acquireStateLock } from '../../src/git/state-lock.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';

describe('resolveStateDir', () => {
  const base = '/var/lib/cavra';

  it('uses an explicit dir as given, relative to cwd', () => {
    expect(resolveStateDir({ remote: 'x', replicaId: 'a', explicit: 'state', cwd: '/srv' })).toBe(
      '/srv/state',
    );
    expect(resolveStateDir({ remote: 'x', replicaId: 'a', explicit: '/abs' })).toBe('/abs');
  });

  it('differs per replica and per remote, and is stable', () => {
    const a = resolveStateDir({ remote: 'https://git.example/ops.git', replicaId: 'a', baseDir: base });
    expect(a).toBe(resolveStateDir({ remote: 'https://git.example/ops.git', replicaId: 'a', baseDir: base }));
    expect(a).not.toBe(
      resolveStateDir({ remote: 'https://git.example/ops.git', replicaId: 'b', baseDir: base }),
    );
    expect(a).not.toBe(
      resolveStateDir({ remote: 'https://git.example/other.git', replicaId: 'a', baseDir: base }),
    );
    expect(a.startsWith(`${base}/ops-a-`)).toBe(true);
  });

  it('ignores credentials in the URL (rotating a token keeps the clone) and never embeds them', () => {
    const one = resolveStateDir({
      remote: 'https://bot:tok1@git.example/ops.git',
      replicaId: 'a',
      baseDir: base,
    });
    const two = resolveStateDir({
      remote: 'https://bot:tok2@git.example/ops.git',
      replicaId: 'a',
      baseDir: base,
    });
    expect(one).toBe(two);
    expect(one).not.toContain('tok1');
  });

  it('treats a relative and an absolute local path alike', () => {
    expect(resolveStateDir({ remote: './ops', replicaId: 'a', baseDir: base, cwd: '/srv' })).toBe(
      resolveStateDir({ remote: '/srv/ops', replicaId: 'a', baseDir: base }),
    );
  });

  it('defaults under XDG_STATE_HOME, else ~/.cache', () => {
    expect(resolveStateDir({ remote: '/r', replicaId: 'a', env: { XDG_STATE_HOME: '/xdg' } })).toMatch(
      /^\/xdg\/cavra-gitops\//,
    );
    expect(resolveStateDir({ remote: '/r', replicaId: 'a', env: { HOME: '/home/u' } })).toMatch(
      /^\/home\/u\/\.cache\/cavra-gitops\//,
    );
  });

  it('defaults the replica id to the host name', () => {
    expect(defaultReplicaId()).toBe(hostname());
  });

  it.each([
    ['/srv/ops.git', true],
    ['./ops', true],
    ['ops', true],
    ['file:///srv/ops.git', false],
    ['https://git.example/ops.git', false],
    ['ssh://git@git.example/ops.git', false],
    ['git@git.example:org/ops.git', false],
  ])('isLocalRemote(%j) is %s', (remote, expected) => {
    expect(isLocalRemote(remote)).toBe(expected);
  });
});

describe('acquireStateLock', () => {
  let dir: TempDir;
  afterEach(async () => dir.cleanup());

  it('writes pid, host and start time, and refuses a second holder', async () => {
    dir = await createTempDir();
    const lock = await acquireStateLock(dir.dir, { now: () => new Date('2026-06-28T10:00:00Z') });
    const content = JSON.parse(await readFile(join(dir.dir, 'lock'), 'utf8')) as Record<string, unknown>;
    expect(content).toMatchObject({
      pid: process.pid,
      host: hostname(),
      started: '2026-06-28T10:00:00.000Z',
    });
    await expect(acquireStateLock(dir.dir)).rejects.toThrow(ExitError);
    await lock.release();
    const again = await acquireStateLock(dir.dir);
    await again.release();
  });

  it('takes over the lock of a dead process on this host', async () => {
    dir = await createTempDir();
    await writeFile(
      join(dir.dir, 'lock'),
      JSON.stringify({ pid: 424242, host: hostname(), started: 'x', token: 't' }),
    );
    const lock = await acquireStateLock(dir.dir, { isAlive: () => false });
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('never takes over a lock held on another host', async () => {
    dir = await createTempDir();
    await writeFile(
      join(dir.dir, 'lock'),
      JSON.stringify({ pid: 7, host: 'other-host', started: 'x', token: 't' }),
    );
    await expect(acquireStateLock(dir.dir, { isAlive: () => false })).rejects.toThrow(
      /in use by pid 7 on host other-host.*stop it or pass --state-dir/,
    );
  });

  it('treats an unreadable lock as stale', async () => {
    dir = await createTempDir();
    await writeFile(join(dir.dir, 'lock'), '');
    const lock = await acquireStateLock(dir.dir);
    await lock.release();
  });

  it('does not remove a lock that another holder took after ours was broken', async () => {
    dir = await createTempDir();
    const lock = await acquireStateLock(dir.dir);
    await writeFile(
      join(dir.dir, 'lock'),
      JSON.stringify({ pid: 1, host: hostname(), started: 'x', token: 'other' }),
    );
    await lock.release();
    expect(await readFile(join(dir.dir, 'lock'), 'utf8')).toContain('"token":"other"');
  });
});
