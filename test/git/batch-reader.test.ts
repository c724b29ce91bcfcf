import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchReader } from '../../src/git/batch-reader.js';
import { createGitEnv } from '../../src/git/run-git.js';
import { createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';

/** Write a blob into the repository's object store and return its id. */
function writeBlob(repoDir: string, content: Buffer): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repoDir, input: content })
    .toString()
    .trim();
}

describe('BatchReader', () => {
  let repo: TempDir;
  let reader: BatchReader;
  const blobs = new Map<string, Buffer>();

  beforeAll(async () => {
    repo = await createTempRepo();
    reader = new BatchReader({ repoDir: repo.dir, env: createGitEnv(process.env) });
    const contents: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('hello\n'),
      Buffer.from('no trailing newline'),
      Buffer.from([0, 10, 0, 10, 13, 255, 254, 10]), // binary with NULs and LFs
      randomBytes(200 * 1024), // spans many 64 KiB pipe chunks
      Buffer.from('x\n'.repeat(70_000)),
    ];
    for (const content of contents) blobs.set(writeBlob(repo.dir, content), content);
  });

  afterAll(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it('reads empty, text, binary and large blobs byte for byte', async () => {
    const result = await reader.read([...blobs.keys()]);
    expect(result.size).toBe(blobs.size);
    for (const [id, content] of blobs) {
      const object = result.get(id);
      expect(object?.type).toBe('blob');
      expect(object?.content.equals(content)).toBe(true);
    }
  });

  it('answers null for missing ids and keeps the framing for the ids after them', async () => {
    const missing = 'deadbeef'.repeat(5);
    const ids = [...blobs.keys()];
    const result = await reader.read([missing, ...ids, 'ffffffffffffffffffffffffffffffffffffffff']);
    expect(result.get(missing)).toBeNull();
    expect(result.get('ffffffffffffffffffffffffffffffffffffffff')).toBeNull();
    for (const id of ids) expect(result.get(id)?.content.equals(blobs.get(id) ?? Buffer.alloc(1))).toBe(true);
  });

  it('serves concurrent callers each their own answers', async () => {
    const ids = [...blobs.keys()];
    const calls = Array.from({ length: 20 }, (_, index) => reader.read(index % 2 ? ids : [...ids].reverse()));
    const results = await Promise.all(calls);
    for (const result of results) {
      for (const id of ids)
        expect(result.get(id)?.content.equals(blobs.get(id) ?? Buffer.alloc(1))).toBe(true);
    }
  });

  it('reads many small blobs in one call', async () => {
    const many = new Map<string, string>();
    const input = Array.from({ length: 2000 }, (_, index) => `blob number ${index}\n`).join('\0');
    const dir = await mkdtemp(`${repo.dir}/many-`);
    const paths = input.split('\0').map((text, index) => ({ text, path: `${dir}/${index}` }));
    await Promise.all(paths.map(({ text, path }) => writeFile(path, text)));
    const ids = execFileSync('git', ['hash-object', '-w', '--stdin-paths'], {
      cwd: repo.dir,
      input: paths.map(({ path }) => path).join('\n'),
    })
      .toString()
      .trim()
      .split('\n');
    ids.forEach((id, index) => many.set(id, paths[index]?.text ?? ''));
    const result = await reader.read(ids);
    expect(result.size).toBe(2000);
    for (const [id, text] of many) expect(result.get(id)?.content.toString()).toBe(text);
  });

  it('restarts the process after it dies', async () => {
    const [first] = blobs.keys();
    await reader.read([first ?? '']);
    const pid = (reader as unknown as { child: { pid: number } | null }).child?.pid;
    expect(pid).toBeTypeOf('number');
    process.kill(pid ?? 0, 'SIGKILL');
    await new Promise((resolve) => setImmediate(resolve));
    const result = await reader.read([...blobs.keys()]);
    expect(result.size).toBe(blobs.size);
    expect((reader as unknown as { child: { pid: number } | null }).child?.pid).not.toBe(pid);
  });

  it('re-sends a read that was in flight when the process was killed', async () => {
    const ids = [...blobs.keys()];
    const pending = reader.read(ids);
    const child = (reader as unknown as { child: { kill: (signal: string) => void } | null }).child;
    child?.kill('SIGKILL');
    const result = await pending;
    expect(result.size).toBe(ids.length);
  });

  it.each([['--batch-all-objects'], ['HEAD'], ['abc def'], ['a\nb']])('refuses the non-id %j', async (id) => {
    await expect(reader.read([id])).rejects.toThrow(/not an object id/);
  });

  it('rejects reads after close', async () => {
    const other = new BatchReader({ repoDir: repo.dir, env: createGitEnv(process.env) });
    await other.read([...blobs.keys()]);
    await other.close();
    await expect(other.read([...blobs.keys()])).rejects.toThrow(/closed/);
    expect(await git(repo.dir, ['rev-parse', '--is-inside-work-tree'])).toBe('true');
  });
});
