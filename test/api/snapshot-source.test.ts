/**
 * The snapshot source reads each revision once (cached by commit, coalesced while loading),
 * resolves `?at=` safely, reuses the tip answer for its TTL, and never caches a failed read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitReader } from '../../src/domain/ports.js';
import { HttpError } from '../../src/api/http-error.js';
import { GitError } from '../../src/errors.js';
import { MEMO_MAX_BYTES, createRevisionView, createSnapshotSource } from '../../src/api/snapshot-source.js';
import { emptyRecordSet } from '../../src/domain/types.js';
import type { Snapshot } from '../../src/read-model/read-snapshot.js';
import { createGitReader, type LocalGitReader } from '../../src/git/index.js';
import { COMMITTED_STATUS, createFixtureRepo, type FixtureRepo } from './fixtures.js';

let repo: FixtureRepo;
let reader: LocalGitReader;

beforeAll(async () => {
  repo = await createFixtureRepo();
  reader = createGitReader(repo.dir);
});
afterAll(async () => {
  await reader.close();
  await repo.cleanup();
});

/** The real reader, counting tree listings per commit (one snapshot read lists each commit's trees). */
function countingReader(inner: GitReader, options: { failNext?: { value: boolean } } = {}) {
  const listings = new Map<string, number>();
  const counting: GitReader = {
    resolve: (rev) => inner.resolve(rev),
    async listTree(commit, prefixes) {
      if (options.failNext?.value) {
        options.failNext.value = false;
        throw new Error('simulated git failure');
      }
      listings.set(commit, (listings.get(commit) ?? 0) + 1);
      return inner.listTree(commit, prefixes);
    },
    readBlobs: (blobs) => inner.readBlobs(blobs),
    walkHistory: (request) => inner.walkHistory(request),
    isAncestor: (ancestor, descendant) => inner.isAncestor(ancestor, descendant),
    readObjects: (names, opts) => inner.readObjects(names, opts),
    verifySignatures: (commits, signers) => inner.verifySignatures(commits, signers),
  };
  return { reader: counting, listings };
}

describe('createSnapshotSource', () => {
  it('reads a revision once however many requests ask, concurrently or not', async () => {
    const { reader: counting, listings } = countingReader(reader);
    const source = createSnapshotSource(counting, { tip: async () => repo.second, tipCacheMs: 0 });
    expect(source.isReady()).toBe(false);
    const views = await Promise.all(Array.from({ length: 10 }, () => source.current()));
    const once = listings.get(repo.second);
    await source.current();
    await source.at(repo.second);
    expect(listings.get(repo.second)).toBe(once);
    expect(new Set(views).size).toBe(1);
    expect(views[0]?.revision).toBe(repo.second);
    expect(views[0]?.committedStatus).toEqual(COMMITTED_STATUS);
    expect(source.isReady()).toBe(true);
  });

  it('evicts the least recently used view beyond its capacity', async () => {
    const { reader: counting, listings } = countingReader(reader);
    const source = createSnapshotSource(counting, { tip: async () => repo.second, capacity: 1 });
    await source.at(repo.first);
    await source.at(repo.second);
    const before = listings.get(repo.first) ?? 0;
    await source.at(repo.first);
    expect(listings.get(repo.first)).toBeGreaterThan(before);
  });

  it('drops the time-bucketed memos of the tip view once the tip moves on, and keeps its other memos', async () => {
    let tip = repo.first;
    const source = createSnapshotSource(reader, { tip: async () => tip, tipCacheMs: 0 });
    const old = await source.current();
    const timed = old.memoAt('plan', { at: 1_000, until: 2_000 }, () => ({ plan: 'first' }));
    const index = old.memo('index', () => ({ index: 'first' }));
    expect(old.memoAt('plan', { at: 1_000, until: 2_000 }, () => ({ plan: 'again' }))).toBe(timed);
    tip = repo.second;
    expect((await source.current()).revision).toBe(repo.second);
    expect(old.memoAt('plan', { at: 1_000, until: 2_000 }, () => ({ plan: 'again' }))).toEqual({
      plan: 'again',
    });
    expect(old.memo('index', () => ({ index: 'again' }))).toBe(index);
  });

  it('reuses the tip answer for tipCacheMs on the injected clock', async () => {
    let calls = 0;
    let nowMs = 0;
    const source = createSnapshotSource(reader, {
      tip: async () => {
        calls += 1;
        return repo.second;
      },
      tipCacheMs: 1000,
      nowMs: () => nowMs,
    });
    await source.current();
    nowMs = 999;
    await source.current();
    expect(calls).toBe(1);
    nowMs = 1000;
    await source.current();
    expect(calls).toBe(2);
  });

  it('does not cache a failed read', async () => {
    const failNext = { value: true };
    const { reader: counting } = countingReader(reader, { failNext });
    const source = createSnapshotSource(counting, { tip: async () => repo.first, tipCacheMs: 0 });
    await expect(source.current()).rejects.toThrow('simulated git failure');
    expect(source.isReady()).toBe(false);
    await expect(source.current()).resolves.toMatchObject({ revision: repo.first });
  });

  it.each([
    ['main', 400, 'invalid_revision'],
    ['HEAD~1', 400, 'invalid_revision'],
    ['--output=/tmp/x', 400, 'invalid_revision'],
    ['abc', 400, 'invalid_revision'],
    ['0123456789abcdef0123456789abcdef01234567', 404, 'unknown_revision'],
  ])('at(%s) is HttpError %i %s', async (rev, status, code) => {
    const source = createSnapshotSource(reader, { tip: async () => repo.second });
    const error = await source.at(rev).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status, code });
  });

  it('a repository that fails to answer is not a 404: at() passes the GitError on (the API answers 503)', async () => {
    const broken: GitReader = {
      ...reader,
      resolve: () => createGitReader(`${repo.dir}-gone`).resolve('0123456789abcdef0123456789abcdef01234567'),
    };
    const source = createSnapshotSource(broken, { tip: async () => repo.second });
    const error = await source
      .at('0123456789abcdef0123456789abcdef01234567')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitError);
    expect(error).not.toBeInstanceOf(HttpError);
  });

  it('with a ledger branch, at() reads records of the ledger commit beside the tracked tip manifests', async () => {
    const source = createSnapshotSource(reader, {
      tip: async () => repo.second,
      ledgerTip: async () => repo.second,
    });
    const view = await source.at(repo.first);
    expect(view.revision).toBe(repo.second);
    expect(view.ledgerRevision).toBe(repo.first);
    expect(view.snapshot.records.playbooks).toHaveLength(1);
  });
});

describe('createRevisionView memos', () => {
  const snapshot = (): Snapshot => ({
    revision: 'a'.repeat(40),
    ledgerRevision: 'a'.repeat(40),
    manifests: {
      manifests: {
        providers: [],
        policy: null,
        deliveries: [],
        acknowledgements: [],
        approvals: [],
        closures: [],
      },
      findings: [],
      conditions: [],
    },
    records: emptyRecordSet(),
    recordFindings: [],
  });

  it('keeps only the newest time bucket of a key, and does not keep an older one asked for late', () => {
    const view = createRevisionView(snapshot());
    const computed: number[] = [];
    const at = (bucket: number): number =>
      view.memoAt('answer', { at: bucket, until: bucket + 60 }, () => {
        computed.push(bucket);
        return bucket;
      });
    expect([at(60), at(60), at(120), at(120)]).toEqual([60, 60, 120, 120]);
    expect(at(60)).toBe(60); // a late request for the older minute is computed, not served from 120
    expect(at(120)).toBe(120);
    expect(at(60)).toBe(60);
    expect(computed).toEqual([60, 120, 60, 60]);
  });

  it('lets a time bucket go once it is over, and keeps it until then', () => {
    const view = createRevisionView(snapshot());
    let plans = 0;
    const plan = (): unknown =>
      view.memoAt('plan', { at: 5_000, until: 6_000 }, () => {
        plans++;
        return { plans };
      });
    const index = view.memo('index', () => ({}));
    const first = plan();
    view.expireBefore(5_999);
    expect(plan()).toBe(first);
    view.expireBefore(6_000);
    expect(plan()).not.toBe(first);
    expect(plans).toBe(2);
    expect(view.memo('index', () => ({}))).toBe(index);
  });

  it('is bounded by the bytes of weighed values: an old body goes, indexes stay', () => {
    const view = createRevisionView(snapshot());
    let builds = 0;
    const index = (): unknown =>
      view.memo('index', () => {
        builds++;
        return new Map();
      });
    index();
    const bodies = ['first', 'second'].map((name) => {
      const body = view.memo(name, () => ({ name }));
      view.weigh(name, body, MEMO_MAX_BYTES * 0.6);
      return body;
    });
    expect(view.memo('second', () => ({ name: 'recomputed' }))).toBe(bodies[1]);
    expect(view.memo('first', () => ({ name: 'recomputed' }))).toEqual({ name: 'recomputed' });
    index();
    expect(builds).toBe(1);
  });
});
