import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitReader } from '../../src/domain/ports.js';
import { createGitReader, type LocalGitReader } from '../../src/git/index.js';
import { readManifests, readWorktreeManifests } from '../../src/read-model/read-manifests.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { REPO_ROOT } from './helpers.js';

function bundled(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(REPO_ROOT, 'manifests'))) {
    files[`manifests/${name}`] = readFileSync(join(REPO_ROOT, 'manifests', name), 'utf8');
  }
  return files;
}

/** The real reader, counting calls so the batch contract (one of each per read) is checked. */
function countingReader(inner: GitReader) {
  const calls = {
    listTree: 0,
    readBlobs: 0,
    walkHistory: 0,
    readObjects: 0,
    blobsRead: [] as string[],
    /** Objects whose content a read returned (an object skipped for its size is not in here). */
    contentsRead: [] as string[],
  };
  const reader: GitReader = {
    resolve: (rev) => inner.resolve(rev),
    listTree: (commit, prefixes) => {
      calls.listTree++;
      return inner.listTree(commit, prefixes);
    },
    readBlobs: (blobs) => {
      calls.readBlobs++;
      calls.blobsRead.push(...blobs);
      return inner.readBlobs(blobs);
    },
    walkHistory: (request) => {
      calls.walkHistory++;
      return inner.walkHistory(request);
    },
    isAncestor: (ancestor, descendant) => inner.isAncestor(ancestor, descendant),
    readObjects: async (names, options) => {
      calls.readObjects++;
      const objects = await inner.readObjects(names, options);
      for (const object of objects.values()) if (object?.content) calls.contentsRead.push(object.id);
      return objects;
    },
    verifySignatures: (commits, signers) => inner.verifySignatures(commits, signers),
  };
  return { reader, calls };
}

let repo: TempDir;
let git: LocalGitReader;

beforeEach(async () => {
  repo = await createTempRepo();
  git = createGitReader(repo.dir);
});
afterEach(async () => {
  await git.close();
  await repo.cleanup();
});

describe('readManifests', () => {
  it('reads a revision in one listing, one history walk and one blob stream; commit-time defaults come from the introducing commit', async () => {
    await commitFiles(repo.dir, bundled(), 'bundled', { date: '2026-06-28T09:00:00Z' });
    const ack = readFileSync(join(REPO_ROOT, 'manifests', 'retry-acknowledgement.yaml'), 'utf8');
    const second = await commitFiles(
      repo.dir,
      { 'manifests/retry-acknowledgement.yaml': ack.replace('OPS-1234', 'OPS-9999'), 'README.md': 'not a manifest' },
      'ack update',
      { date: '2026-06-29T11:30:00Z' },
    );
    const { reader, calls } = countingReader(git);
    const result = await readManifests(reader, second);
    // Each blob is read once and parsed once, in two requests to the one cat-file: the revision's
    // files while git walks the history, then the blobs only history holds (the older ack). The
    // revision's files are validated from that parse, so no second blob read is needed.
    expect(calls).toMatchObject({ listTree: 1, walkHistory: 1, readObjects: 2, readBlobs: 0 });
    expect(new Set(calls.contentsRead).size).toBe(calls.contentsRead.length);
    expect(result.findings).toEqual([]);
    expect(result.manifests.acknowledgements[0]!.spec.acknowledged_at).toBe('2026-06-29T11:30:00Z');
    expect(result.manifests.acknowledgements[0]!.source).toMatchObject({
      path: 'manifests/retry-acknowledgement.yaml',
      introduced: { commit: second, time: '2026-06-29T11:30:00Z' },
    });
    expect(result.manifests.acknowledgements[0]!.source.blob).toMatch(/^[0-9a-f]{40}$/);
    expect(result.manifests.approvals[0]!.spec.decided_at).toBe('2026-06-28T09:00:00Z');
  });

  it('refuses an oversized file by its size without reading its blob; the rest still load', async () => {
    const commit = await commitFiles(
      repo.dir,
      { ...bundled(), 'manifests/huge.yaml': `notes: "${'x'.repeat(2 * 1024 * 1024)}"\n` },
      'huge',
    );
    const { reader, calls } = countingReader(git);
    const entries = await git.listTree(commit, ['manifests/']);
    const hugeBlob = entries.find((e) => e.path === 'manifests/huge.yaml')!.blob;
    const result = await readManifests(reader, commit);
    expect(calls.blobsRead).not.toContain(hugeBlob);
    expect(calls.contentsRead).not.toContain(hugeBlob);
    expect(result.findings.map((f) => [f.file, f.rule])).toEqual([['manifests/huge.yaml', 'yaml.too-large']]);
    expect(result.conditions.find((c) => c.file === 'manifests/huge.yaml')).toMatchObject({ ready: false, reason: 'TooLarge' });
    expect(result.manifests.providers).toHaveLength(2);
  });

  it('an empty manifests directory gives an empty set', async () => {
    const commit = await commitFiles(repo.dir, { 'README.md': 'x' }, 'empty');
    const result = await readManifests(git, commit);
    expect(result).toEqual({
      manifests: { providers: [], policy: null, deliveries: [], acknowledgements: [], approvals: [], closures: [] },
      findings: [],
      conditions: [],
    });
  });
});

describe('readWorktreeManifests', () => {
  it('reads nested files on disk, ignores other extensions, and warns about the commit-time fallback', async () => {
    await mkdir(join(repo.dir, 'manifests', 'team-a'), { recursive: true });
    for (const [path, content] of Object.entries(bundled())) {
      await writeFile(join(repo.dir, path.replace('manifests/', 'manifests/team-a/')), content);
    }
    await writeFile(join(repo.dir, 'manifests', 'notes.txt'), 'kind: [');
    const result = await readWorktreeManifests(repo.dir);
    expect(result.findings.map((f) => [f.file, f.rule, f.severity])).toEqual([
      ['manifests/team-a/retry-acknowledgement.yaml', 'time.commit-time-unknown', 'warning'],
      ['manifests/team-a/retry-approval.yaml', 'time.commit-time-unknown', 'warning'],
    ]);
    expect(result.manifests.approvals[0]!.spec.decided_at).toBe('1970-01-01T00:00:00Z');
    expect(result.manifests.approvals[0]!.source.introduced).toBeNull();
  });
});
