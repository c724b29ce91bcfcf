import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WalkedCommit } from '../../src/domain/ports.js';
import { createGitReader, REPLICA_TRAILER, type LocalGitReader } from '../../src/git/index.js';
import {
  buildWalkArgs,
  HistoryLogParser,
  readReplicaTrailer,
  REPLICA_TRAILER_KEY,
} from '../../src/git/history-walk.js';
import {
  commitFiles,
  createSshSigningKey,
  createTempDir,
  createTempRepo,
  fixtureGitEnv,
  git,
  type TempDir,
} from '../helpers/git-fixtures.js';

/**
 * History:   root ─ other ─────── merge(side) ─ evil merge(side2) ─ records ─ delete
 *               └─ side1 (b.yaml) ─┘                 │
 *            other ─ side2 (a.yaml = c) ─────────────┘
 */
let repo: TempDir;
let reader: LocalGitReader;
const ids: Record<string, string> = {};

beforeAll(async () => {
  repo = await createTempRepo();
  const at = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, '0')}:00Z`;
  ids.root = await commitFiles(repo.dir, { 'manifests/a.yaml': 'a\n', 'other/o.txt': 'o\n' }, 'root', {
    date: at(0),
  });
  await git(repo.dir, ['checkout', '-q', '-b', 'side']);
  ids.side1 = await commitFiles(repo.dir, { 'manifests/b.yaml': 'b\n' }, 'side1', { date: at(1) });
  await git(repo.dir, ['checkout', '-q', 'main']);
  ids.other = await commitFiles(repo.dir, { 'other/o.txt': 'o2\n' }, 'outside the prefixes', {
    date: at(2),
    author: 'Olga <olga@example.test>',
  });
  const dated = {
    GIT_AUTHOR_DATE: `@${Date.parse(at(3)) / 1000} +0000`,
    GIT_COMMITTER_DATE: `@${Date.parse(at(3)) / 1000} +0000`,
  };
  await git(repo.dir, ['merge', '-q', '--no-ff', '--no-edit', 'side'], dated);
  ids.merge = await git(repo.dir, ['rev-parse', 'HEAD']);
  await git(repo.dir, ['checkout', '-q', '-b', 'side2', ids.other]);
  ids.side2 = await commitFiles(repo.dir, { 'manifests/a.yaml': 'c\n' }, 'side2', { date: at(4) });
  await git(repo.dir, ['checkout', '-q', 'main']);
  // An "evil" merge: a.yaml is neither main's (a) nor side2's (c).
  await git(repo.dir, ['merge', '-q', '--no-commit', '-s', 'ours', 'side2'], dated);
  ids.evil = await commitFiles(repo.dir, { 'manifests/a.yaml': 'evil\n' }, 'evil merge', { date: at(5) });
  ids.records = await commitFiles(
    repo.dir,
    { 'records/runs/2026-03/r.json': '{}\n' },
    `records\n\n${REPLICA_TRAILER}: replica-7\n`,
    { date: at(6) },
  );
  ids.deleted = await commitFiles(repo.dir, { 'records/runs/2026-03/r.json': null }, 'delete', {
    date: at(7),
  });
  reader = createGitReader(repo.dir);
});

afterAll(async () => {
  await reader.close();
  await repo.cleanup();
});

const blobOf = (commit: string, path: string) => git(repo.dir, ['rev-parse', `${commit}:${path}`]);

describe('walkHistory', () => {
  it('lists every commit, children before parents, with real parents, author, time and trailer', async () => {
    const commits = await reader.walkHistory({ tip: ids.deleted!, prefixes: ['manifests/', 'records/'] });
    expect(commits.map((c) => c.commit).sort()).toEqual(Object.values(ids).sort());
    const position = new Map(commits.map((c, i) => [c.commit, i]));
    for (const commit of commits) {
      for (const parent of commit.parents)
        expect(position.get(parent)!).toBeGreaterThan(position.get(commit.commit)!);
    }
    const byId = new Map(commits.map((c) => [c.commit, c]));
    expect(byId.get(ids.merge!)!.parents).toEqual([ids.other, ids.side1]);
    expect(byId.get(ids.other!)).toMatchObject({
      author: 'Olga <olga@example.test>',
      time: Date.parse('2026-03-01T10:02:00Z') / 1000,
      replica: '',
      changes: [],
    });
    expect(byId.get(ids.records!)!.replica).toBe('replica-7');
    expect(byId.get(ids.root!)!.parents).toEqual([]);
  });

  it('lists what each commit changed under the prefixes; a merge only what differs from every parent', async () => {
    const commits = await reader.walkHistory({ tip: ids.deleted!, prefixes: ['manifests/', 'records/'] });
    const byId = new Map(commits.map((c) => [c.commit, c]));
    expect(byId.get(ids.root!)!.changes).toEqual([
      {
        path: 'manifests/a.yaml',
        status: 'added',
        blob: await blobOf(ids.root!, 'manifests/a.yaml'),
        mode: '100644',
      },
    ]);
    expect(byId.get(ids.side2!)!.changes).toEqual([
      {
        path: 'manifests/a.yaml',
        status: 'modified',
        blob: await blobOf(ids.side2!, 'manifests/a.yaml'),
        mode: '100644',
      },
    ]);
    // The clean merge took b.yaml unchanged from side1: nothing listed.
    expect(byId.get(ids.merge!)!.changes).toEqual([]);
    expect(byId.get(ids.evil!)!.changes).toEqual([
      {
        path: 'manifests/a.yaml',
        status: 'modified',
        blob: await blobOf(ids.evil!, 'manifests/a.yaml'),
        mode: '100644',
      },
    ]);
    expect(byId.get(ids.deleted!)!.changes).toEqual([
      { path: 'records/runs/2026-03/r.json', status: 'deleted', blob: '', mode: '000000' },
    ]);
  });

  it('walks incrementally: only commits not reachable from the excluded tip', async () => {
    const commits = await reader.walkHistory({
      tip: ids.deleted!,
      exclude: [ids.merge!],
      prefixes: ['manifests/'],
    });
    expect(commits.map((c) => c.commit).sort()).toEqual(
      [ids.side2, ids.evil, ids.records, ids.deleted].sort(),
    );
    // records/ is not walked here: the records commit is listed, with no change.
    expect(commits.find((c) => c.commit === ids.records)!.changes).toEqual([]);
  });

  it('parses the same output identically however it is cut into chunks', () => {
    const output = execFileSync(
      'git',
      buildWalkArgs({ tip: ids.deleted!, prefixes: ['manifests/', 'records/'] }),
      {
        cwd: repo.dir,
        env: fixtureGitEnv(),
      },
    );
    const parse = (chunkSize: number): WalkedCommit[] => {
      const commits: WalkedCommit[] = [];
      const parser = new HistoryLogParser((commit) => commits.push(commit), ['manifests/', 'records/']);
      for (let i = 0; i < output.length; i += chunkSize) parser.feed(output.subarray(i, i + chunkSize));
      parser.end();
      return commits;
    };
    const whole = parse(output.length);
    expect(whole).toHaveLength(Object.keys(ids).length);
    expect(parse(1)).toEqual(whole);
    expect(parse(7)).toEqual(whole);
  });

  it('refuses a tip that git would read as an option', async () => {
    await expect(reader.walkHistory({ tip: '--all', prefixes: ['manifests/'] })).rejects.toThrow(
      /not a valid revision/,
    );
  });

  it('uses the trailer reconciler commits carry', () => {
    expect(REPLICA_TRAILER_KEY).toBe(REPLICA_TRAILER);
  });

  it.each([
    ['', ''],
    ['Cavra-Gitops-Replica: r1\n', 'r1'],
    ['Some text.\n\nSigned-off-by: A <a@x>\ncavra-gitops-replica:  r2 \n', 'r2'],
    // Only the last paragraph is the trailer block.
    ['Cavra-Gitops-Replica: r3\n\nSee above.\n', ''],
    ['Mentions Cavra-Gitops-Replica: r4 in prose\n', ''],
  ])('reads the replica trailer of %j', (body, value) => {
    expect(readReplicaTrailer(body)).toBe(value);
  });
});

describe('isAncestor and readObjects', () => {
  it('answers ancestry', async () => {
    expect(await reader.isAncestor(ids.root!, ids.deleted!)).toBe(true);
    expect(await reader.isAncestor(ids.deleted!, ids.deleted!)).toBe(true);
    expect(await reader.isAncestor(ids.side2!, ids.merge!)).toBe(false);
    // A descendant is not an ancestor (their best common ancestor is the other one).
    expect(await reader.isAncestor(ids.deleted!, ids.root!)).toBe(false);
    await expect(reader.isAncestor('f'.repeat(40), ids.root!)).rejects.toThrow(/is an ancestor of/);
  });

  it('reads <commit>:<path> objects with their blob ids; missing paths are null; large ones are skipped unread', async () => {
    const name = `${ids.evil}:manifests/a.yaml`;
    const objects = await reader.readObjects([name, `${ids.root}:manifests/b.yaml`, `${ids.evil}:manifests`]);
    expect(objects.get(name)).toEqual({
      id: await blobOf(ids.evil!, 'manifests/a.yaml'),
      size: 5,
      content: Buffer.from('evil\n'),
    });
    expect(objects.get(`${ids.root}:manifests/b.yaml`)).toBeNull();
    expect(objects.get(`${ids.evil}:manifests`)).toBeNull(); // a tree, not a blob
    const skipped = await reader.readObjects([name, `${ids.root}:manifests/a.yaml`], { maxBytes: 3 });
    expect(skipped.get(name)).toMatchObject({ size: 5, content: null });
    expect(skipped.get(`${ids.root}:manifests/a.yaml`)?.content?.toString()).toBe('a\n');
    // The process is still in step after skipping.
    expect((await reader.readObjects([name])).get(name)?.content?.toString()).toBe('evil\n');
  });

  it('refuses names that could inject batch syntax', async () => {
    await expect(reader.readObjects([`${ids.root}:a\nHEAD`])).rejects.toThrow(/not an object id/);
    await expect(reader.readObjects(['HEAD:manifests/a.yaml'])).rejects.toThrow(/not an object id/);
  });
});

describe('verifySignatures', () => {
  it('verifies many commits in one call against the given allowed signers only', async () => {
    const keys = await createTempDir('cavra-keys-');
    const signed = await createTempRepo();
    try {
      const alice = await createSshSigningKey(keys.dir, 'alice@example.test', 'alice');
      const mallory = await createSshSigningKey(keys.dir, 'mallory@example.test', 'mallory');
      const unsigned = await commitFiles(signed.dir, { 'a.txt': 'a' }, 'unsigned');
      const byAlice = await commitFiles(signed.dir, { 'b.txt': 'b' }, 'alice', { signWith: alice.keyPath });
      const byMallory = await commitFiles(signed.dir, { 'c.txt': 'c' }, 'mallory', {
        signWith: mallory.keyPath,
      });
      const local = createGitReader(signed.dir);
      try {
        const trusted = await local.verifySignatures(
          [unsigned, byAlice, byMallory, byAlice],
          alice.allowedSignersLine + mallory.allowedSignersLine,
        );
        expect(Object.fromEntries(trusted)).toEqual({
          [unsigned]: { status: 'none', principal: '' },
          [byAlice]: { status: 'good', principal: 'alice@example.test' },
          [byMallory]: { status: 'good', principal: 'mallory@example.test' },
        });
        const onlyAlice = await local.verifySignatures([byMallory], alice.allowedSignersLine);
        expect(onlyAlice.get(byMallory)).toEqual({ status: 'untrusted', principal: '' });
        const nobody = await local.verifySignatures([byAlice], '');
        expect(nobody.get(byAlice)).toEqual({ status: 'untrusted', principal: '' });
        await expect(local.verifySignatures(['HEAD'], '')).rejects.toThrow(/not a commit id/);
      } finally {
        await local.close();
      }
    } finally {
      await signed.cleanup();
      await keys.cleanup();
    }
  });
});
