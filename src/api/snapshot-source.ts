/**
 * Where the API gets its data: one committed revision at a time, read once and cached.
 *
 * Every response is computed from exactly one {@link RevisionView}. Views are cached by commit id
 * in a small LRU, and loads of the same revision are coalesced, so a burst of requests reads git
 * once per revision however many arrive together, and repositories with 100,000 records are read
 * only when the tip moves. Values derived from a view (report bodies, sorted lists) are memoised on
 * the view itself, so they die with it.
 */
import type { GitReader } from '../domain/ports.js';
import { NotACommitError, UnknownRevisionError } from '../errors.js';
import {
  createSnapshotCache,
  readCommittedJson,
  readSnapshot,
  type Snapshot,
} from '../read-model/read-snapshot.js';
import { STATUS_PATH } from '../records/layout.js';
import { HttpError } from './http-error.js';
import { LruCache } from './lru.js';

/** Refuse to parse a status file larger than this (it is small; a huge one is not ours). */
const MAX_STATUS_BYTES = 8 * 1024 * 1024;

/** What one request sees: one committed revision and everything derived from it. */
export interface RevisionView {
  /** Commit the manifests were read from (the `X-Cavra-Revision` header). */
  readonly revision: string;
  /** Commit the records and reports were read from (equal to `revision` without a ledger branch). */
  readonly ledgerRevision: string;
  readonly snapshot: Snapshot;
  /** Parsed `reports/status.json` of the ledger revision; null when absent or unreadable. */
  readonly committedStatus: unknown;
  /** Memoise a value derived from this view (bounded; evicted least recently used first). */
  memo<T>(key: string, compute: () => T): T;
  /**
   * Memoise a value derived from this view for the time bucket starting at `at` and ending at
   * `until` (ms; e.g. the report of a minute): only the newest bucket's value of `key` is kept,
   * since time only moves on and an older bucket is never asked for again. A request for an older
   * bucket than the one kept (a request that was slow to arrive) is computed and not kept.
   */
  memoAt<T>(key: string, bucket: { at: number; until: number }, compute: () => T): T;
  /**
   * Say what the memoised `value` of `key` weighs in bytes (a serialised body, once known), so
   * the memo is bounded by bytes too; no effect when `key` holds another value by now.
   */
  weigh(key: string, value: unknown, bytes: number): void;
  /** Drop a memoised value (e.g. a promise that failed for a reason that may not last). */
  forget(key: string): void;
  /**
   * Drop the values memoised with {@link memoAt} whose bucket ended by `nowMs` (the app does at
   * every request: a retry plan of 100,000 records holds ~150 MB, and its second is soon over).
   */
  expireBefore(nowMs: number): void;
  /**
   * Drop every value memoised with {@link memoAt} (the source does when the view stops being the
   * tip's: nothing asks an old tip about now again but the odd `?at=`, which computes it anew).
   */
  dropTimedMemos(): void;
}

/** The API's only data dependency. Tests and benches may implement it with in-memory views. */
export interface SnapshotSource {
  /** The view of the tracked branch's current tip. */
  current(): Promise<RevisionView>;
  /**
   * The view of an older commit (`?at=`). Throws {@link HttpError} 400 for a malformed commit id
   * or one that names a tree or a blob, and 404 for one the repository does not have.
   */
  at(rev: string): Promise<RevisionView>;
  /** True once any revision has been read successfully (`/readyz`). */
  isReady(): boolean;
}

export interface SnapshotSourceOptions {
  /** The tracked branch's tip commit id (e.g. `reader.resolve('refs/heads/main')`). */
  tip: () => Promise<string>;
  /** The ledger branch's tip when records live on a separate branch (docs/reference.md §2). */
  ledgerTip?: () => Promise<string>;
  /**
   * How long a tip answer is reused, in ms (default 500). Resolving a branch spawns git; under load
   * this turns one spawn per request into one per interval. 0 asks on every request.
   */
  tipCacheMs?: number;
  /** Views kept in memory (default 8: the tip, a few `?at=` revisions, and the previous tip). */
  capacity?: number;
  /** Clock for the tip cache, injectable for tests. */
  nowMs?: () => number;
}

/** Commit ids accepted by `?at=`: abbreviated or full hex. Refs and rev syntax are not accepted. */
const COMMIT_ID = /^[0-9a-f]{7,64}$/i;

/** Derived values memoised per view; bounded because query parameters are client-chosen. */
const MEMO_CAPACITY = 256;
/**
 * Bytes of weighed memos (response bodies) kept per view. A page of 500 deliveries is ~340 KB, the
 * report at 100,000 records ~140 KB; the retry plan of 97,000 keys is ~80 MB and is kept alone
 * (only requests of the same second share it anyway).
 */
export const MEMO_MAX_BYTES = 32 * 1024 * 1024;

/** One memoised value, with the time bucket it was computed for (null: time-independent). */
interface Held {
  at: number | null;
  value: unknown;
}

/** Build a view around an already-read snapshot (also what in-memory sources and benches use). */
export function createRevisionView(snapshot: Snapshot, committedStatus: unknown = null): RevisionView {
  const memos = new LruCache<string, Held>(MEMO_CAPACITY, MEMO_MAX_BYTES);
  // Keys memoised with memoAt, and when their bucket ends.
  const timed = new Map<string, number>();
  const expireBefore = (nowMs: number): void => {
    for (const [key, until] of timed) {
      if (until > nowMs) continue;
      memos.delete(key);
      timed.delete(key);
    }
  };
  return {
    revision: snapshot.revision,
    ledgerRevision: snapshot.ledgerRevision,
    snapshot,
    committedStatus,
    memo<T>(key: string, compute: () => T): T {
      return memos.getOrCompute(key, () => ({ at: null, value: compute() })).value as T;
    },
    memoAt<T>(key: string, bucket: { at: number; until: number }, compute: () => T): T {
      const held = memos.get(key);
      if (held !== undefined && held.at === bucket.at) return held.value as T;
      const value = compute();
      if (held === undefined || held.at === null || held.at < bucket.at) {
        memos.set(key, { at: bucket.at, value });
        timed.set(key, bucket.until);
      }
      return value;
    },
    weigh(key: string, value: unknown, bytes: number): void {
      const held = memos.get(key);
      if (held !== undefined && held.value === value) memos.setWeight(key, held, bytes);
    },
    forget(key: string): void {
      memos.delete(key);
    },
    expireBefore,
    dropTimedMemos(): void {
      expireBefore(Number.POSITIVE_INFINITY);
    },
  };
}

/** Read and parse `reports/status.json` at a commit; null when the file is absent or not JSON. */
async function readCommittedStatus(reader: GitReader, commit: string): Promise<unknown> {
  // A broken status file must not take the API down; /status says it is unreadable.
  return readCommittedJson(reader, commit, STATUS_PATH, MAX_STATUS_BYTES);
}

/** Reuse one answer of `fetch` for `ttlMs`, and share one in-flight call among concurrent callers. */
function cacheAnswer(
  fetch: () => Promise<string>,
  ttlMs: number,
  nowMs: () => number,
): () => Promise<string> {
  let last: { value: string; at: number } | null = null;
  let inFlight: Promise<string> | null = null;
  return () => {
    if (last !== null && nowMs() - last.at < ttlMs) return Promise.resolve(last.value);
    if (inFlight !== null) return inFlight;
    inFlight = fetch()
      .then((value) => {
        last = { value, at: nowMs() };
        return value;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}

/**
 * A {@link SnapshotSource} over a git reader. `?at=` views read manifests, records and status from
 * the named commit. With a ledger branch, `?at=` names a ledger commit: its records and reports are
 * served beside the manifests of the current tracked tip, because ledger commits carry no manifests.
 */
export function createSnapshotSource(reader: GitReader, options: SnapshotSourceOptions): SnapshotSource {
  const nowMs = options.nowMs ?? Date.now;
  const ttl = options.tipCacheMs ?? 500;
  const tip = cacheAnswer(options.tip, ttl, nowMs);
  const ledgerTip = options.ledgerTip === undefined ? undefined : cacheAnswer(options.ledgerTip, ttl, nowMs);
  const views = new LruCache<string, Promise<RevisionView>>(options.capacity ?? 8);
  // Parsed manifest and record files shared by every view: a new tip re-parses only what changed.
  const parsed = createSnapshotCache();
  let ready = false;
  // The view of the tip last served: when the tip moves on, its time-bucketed memos are dropped.
  let tipView: RevisionView | null = null;

  function load(revision: string, ledgerRevision: string): Promise<RevisionView> {
    const key = `${revision}:${ledgerRevision}`;
    const cached = views.get(key);
    if (cached !== undefined) return cached;
    const loading = (async () => {
      const snapshot = await readSnapshot(reader, revision, { ledgerRevision, cache: parsed });
      const status = await readCommittedStatus(reader, ledgerRevision);
      ready = true;
      return createRevisionView(snapshot, status);
    })();
    // A failed read is not cached: the next request tries again.
    loading.catch(() => views.delete(key));
    views.set(key, loading);
    return loading;
  }

  async function resolveCommit(rev: string): Promise<string> {
    if (!COMMIT_ID.test(rev)) {
      throw new HttpError(
        400,
        'invalid_revision',
        `at="${rev.slice(0, 80)}" is not a commit id; pass 7 to 64 hex characters.`,
      );
    }
    try {
      return await reader.resolve(rev);
    } catch (error) {
      if (error instanceof NotACommitError) {
        throw new HttpError(
          400,
          'not_a_commit',
          `at="${rev.slice(0, 80)}" names a ${error.found}, not a commit; pass a commit id of the tracked or ledger branch.`,
          {},
          { cause: error },
        );
      }
      // Only a commit that is not there is the client's 404; a failing repository stays a 503.
      if (!(error instanceof UnknownRevisionError)) throw error;
      throw new HttpError(
        404,
        'unknown_revision',
        `Commit ${rev} is not in the repository; pass a commit of the tracked or ledger branch.`,
        {},
        { cause: error },
      );
    }
  }

  return {
    async current() {
      const revision = await tip();
      const ledgerRevision = ledgerTip === undefined ? revision : await ledgerTip();
      const view = await load(revision, ledgerRevision);
      if (view !== tipView) {
        tipView?.dropTimedMemos();
        tipView = view;
      }
      return view;
    },
    async at(rev) {
      const commit = await resolveCommit(rev);
      if (ledgerTip === undefined) return load(commit, commit);
      return load(await tip(), commit);
    },
    isReady: () => ready,
  };
}
