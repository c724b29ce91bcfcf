/**
 * What the history walk has learnt, kept between runs of one process (the loop, the API): the
 * walked branches and everything parsed from their blobs, keyed by blob id or commit id, which
 * never change meaning. A later read walks only the commits since the last tip it walked, and
 * parses only blobs it has not seen.
 *
 * One cache serves one repository. Pass the same cache to `readManifests` and `readGateFacts`
 * of a run so the history is walked once.
 */
import type { GitReader, WalkedCommit } from '../domain/ports.js';
import { GitError } from '../errors.js';
import type { CommitInfo, ReconcilerPolicySpec, SignatureInfo } from '../domain/types.js';
import type { ChunkCache, DocumentSummary } from '../manifests/document-identity.js';
import type { YamlLimits } from '../manifests/limits.js';
import {
  advanceHistoryIndex,
  appendWalk,
  createHistoryIndex,
  type HistoryIndex,
  type IndexedCommit,
} from './history-index.js';
import type { RecordSummary } from './record-summary.js';

/**
 * The record directories whose changes the history folds read: executions and closures
 * (consumption), runs and claims (recorded revisions; ledger-facts.ts says why). Delivery and
 * playbook records, nearly all of a ledger, are left out of the walked changes the cache keeps
 * (the commits themselves are all listed).
 */
const GATE_RECORD_PREFIXES = [
  'records/executions/',
  'records/closures/',
  'records/runs/',
  'records/claims/',
] as const;
/** Prefixes of the tracked branch's walk: manifests, and records (when they live on the same branch). */
const TRACKED_PREFIXES = ['manifests/', ...GATE_RECORD_PREFIXES] as const;
/** Prefixes of a separate ledger branch's walk. */
const LEDGER_PREFIXES = GATE_RECORD_PREFIXES;

/** Folded manifest facts of a branch (up to `done` commits of its index). */
export interface ManifestHistory {
  done: number;
  /** Document identity → positions of the commits that list a blob holding it. */
  holders: Map<string, number[]>;
  /** Every path that held a ReconcilerPolicy document in some commit. */
  policyPaths: Set<string>;
}

/**
 * How far a branch's ledger is folded (`done` commits of its index): the record blobs those
 * commits added are summarised in `HistoryCache.records`, from which a ledger cursor
 * (ledger-cursor.ts) takes the facts of the commits it stands on.
 */
export interface LedgerHistory {
  done: number;
}

/** One walked branch and what was folded from it. */
export interface BranchHistory {
  index: HistoryIndex;
  manifests: ManifestHistory;
  ledger: LedgerHistory;
  /** CommitInfo by position, built once (shared, never mutate). */
  commitInfos: Map<number, CommitInfo>;
}

export interface HistoryCache {
  tracked: BranchHistory | null;
  /** A separate ledger branch (null when records live on the tracked branch or nowhere). */
  ledger: BranchHistory | null;
  /** Documents of each manifest blob ever parsed (null: too large or not YAML). */
  documents: Map<string, DocumentSummary[] | null>;
  /** Documents of each chunk of a multi-document file, by the chunk's text (appends parse once). */
  chunks: ChunkCache;
  /** What each record blob says, by `<kind>:<blob>` (null: not a usable record). */
  records: Map<string, RecordSummary | null>;
  /** The policy in force at a commit (a commit's tree never changes). */
  policies: Map<string, ReconcilerPolicySpec>;
  /** Allowed-signers content at `<commit>\n<path>` ('' when absent). */
  signers: Map<string, string>;
  /** Verified signatures by `<hash of allowed-signers content>\n<commit>`. */
  signatures: Map<string, SignatureInfo>;
  /** The YAML limits the documents were parsed with (another set starts the documents over). */
  limitsKey: string;
  /** Reads through one cache run one at a time (see {@link withHistoryCache}); settles to nothing. */
  queue: Promise<void>;
}

export function createHistoryCache(): HistoryCache {
  return {
    tracked: null,
    ledger: null,
    documents: new Map(),
    chunks: new Map(),
    records: new Map(),
    policies: new Map(),
    signers: new Map(),
    signatures: new Map(),
    limitsKey: '',
    queue: Promise.resolve(),
  };
}

/**
 * Run `read` alone on `cache`: walks and folds advance shared state across awaits (an index's
 * tip, how many commits are folded), so two reads through one cache (the API answering while the
 * loop reads) take turns rather than interleave.
 */
export function withHistoryCache<T>(cache: HistoryCache, read: () => Promise<T>): Promise<T> {
  const result = cache.queue.then(read, read);
  // Settle the queue to nothing: a queue holding the last result would keep it (e.g. every parsed
  // YAML document of the revision) alive for as long as the cache lives.
  cache.queue = result.then(
    () => undefined,
    () => undefined,
  );
  return result;
}

/** Forget parsed documents parsed with other limits (identities depend on what parses). */
/** Whether the cache's documents were parsed with `limits`. */
export function hasLimits(cache: HistoryCache, limits: YamlLimits): boolean {
  return cache.limitsKey === JSON.stringify(limits);
}

export function useLimits(cache: HistoryCache, limits: YamlLimits): void {
  const key = JSON.stringify(limits);
  if (cache.limitsKey === key) return;
  cache.limitsKey = key;
  cache.documents.clear();
  cache.chunks.clear();
  cache.policies.clear();
  if (cache.tracked) cache.tracked.manifests = emptyManifestHistory();
}

function emptyManifestHistory(): ManifestHistory {
  return { done: 0, holders: new Map(), policyPaths: new Set() };
}

function emptyLedgerHistory(): LedgerHistory {
  return { done: 0 };
}

function createBranchHistory(index: HistoryIndex): BranchHistory {
  return {
    index,
    manifests: emptyManifestHistory(),
    ledger: emptyLedgerHistory(),
    commitInfos: new Map(),
  };
}

/** A branch's history as of `commit`: the branch, and the position of `commit` in its index. */
export interface BranchAt {
  branch: BranchHistory;
  position: number;
  /** True when `commit` is the walked tip (else only its ancestors count). */
  atTip: boolean;
}

/**
 * The walked history of `slot` as of `commit`. A commit the cached walk already holds (its tip
 * or an ancestor) costs no git call; a descendant of the cached tip is walked incrementally;
 * anything else is walked afresh and replaces the cached branch.
 */
export async function readBranchAt(
  reader: GitReader,
  cache: HistoryCache,
  slot: 'tracked' | 'ledger',
  commit: string,
): Promise<BranchAt> {
  const prefixes = slot === 'tracked' ? TRACKED_PREFIXES : LEDGER_PREFIXES;
  let branch = cache[slot];
  const known = branch?.index.byId.get(commit);
  if (branch && known !== undefined) return { branch, position: known, atTip: branch.index.tip === commit };
  const advanced = await advanceHistoryIndex(reader, branch?.index ?? null, commit, prefixes);
  if (advanced.rebuilt || branch === null) {
    branch = createBranchHistory(advanced.index);
    cache[slot] = branch;
  }
  const position = branch.index.byId.get(commit);
  if (position === undefined) {
    // The walk always lists its tip; a missing tip means git answered with something else.
    throw new GitError(
      `The history walk of ${commit} did not list ${commit} itself; check that it is a commit.`,
    );
  }
  return { branch, position, atTip: true };
}

/**
 * Start walking `commit`'s history into the cache now, without waiting for it. `git log
 * --topo-order` prints nothing until it has walked every commit (half a second at 10,000), so a
 * read that lists and verifies records first gets the walk for free on git's side while it does.
 * A later read of the same commit finds it walked, or waits for this walk in the cache's queue; a
 * failed walk is left for that read to make again and report.
 */
export function prefetchBranch(
  reader: GitReader,
  cache: HistoryCache,
  slot: 'tracked' | 'ledger',
  commit: string,
): void {
  withHistoryCache(cache, () => readBranchAt(reader, cache, slot, commit)).catch(() => undefined);
}

/**
 * Take a walk of `tip`'s whole history that lists at least the slot's prefixes (e.g. every path:
 * the ledger check's walk) as the slot's walked branch, so that history is not walked again. Only
 * the changes under the slot's prefixes are kept, as its own walk would have listed. Does nothing
 * when the slot holds a branch already.
 */
export function adoptWalk(
  cache: HistoryCache,
  slot: 'tracked' | 'ledger',
  walked: readonly WalkedCommit[],
  tip: string,
): void {
  if (cache[slot] !== null) return;
  const prefixes: readonly string[] = slot === 'tracked' ? TRACKED_PREFIXES : LEDGER_PREFIXES;
  const index = createHistoryIndex(prefixes);
  // Keep only the changes a walk of the slot's prefixes would have listed (what the folds read).
  const kept = walked.map((commit) => ({
    ...commit,
    changes: commit.changes.filter((change) => prefixes.some((prefix) => change.path.startsWith(prefix))),
  }));
  appendWalk(index, kept, tip);
  cache[slot] = createBranchHistory(index);
}

/**
 * The evidence form of a walked commit. Its signature is not verified here (that costs a process
 * per signed commit): `readGateFacts` verifies the approvals' commits against the allowed-signers
 * files; elsewhere the signature reads `none`.
 */
export function commitInfoAt(branch: BranchHistory, position: number): CommitInfo {
  let info = branch.commitInfos.get(position);
  if (info === undefined) {
    const commit: IndexedCommit = branch.index.commits[position]!;
    info = {
      commit: commit.commit,
      time: new Date(commit.time * 1000).toISOString().replace('.000Z', 'Z'),
      author: commit.author,
      signature: { status: 'none', principal: '' },
    };
    branch.commitInfos.set(position, info);
  }
  return info;
}
