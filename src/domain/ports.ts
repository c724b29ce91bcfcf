/**
 * The small interfaces the core depends on. Implementations live in git/, connectors/ and cli/;
 * tests may substitute real-but-local ones (temp repositories, local HTTP servers).
 */
import type { AuditPackage, IsoTime, Provider, SignatureInfo } from './types.js';

/** Source of `now`. Honour `CAVRA_GITOPS_NOW` by constructing it from the env (see cli/context). */
export interface Clock {
  now(): Date;
}

// ---------------------------------------------------------------------------------------------
// Git
// ---------------------------------------------------------------------------------------------

/** A file of a listing without sizes (`listTree` with `sizes: false`). */
export interface ListedFile {
  /** Repository-relative path with forward slashes. */
  path: string;
  /** Blob id. */
  blob: string;
  /** True for a symbolic link (mode 120000; its blob holds the target); listed only when asked for. */
  symlink?: true;
}

export interface TreeEntry extends ListedFile {
  /** Size in bytes (from `ls-tree --long`), so oversized files are refused before reading. */
  size: number;
}

export interface ListTreeOptions {
  /** Also list symbolic links (marked `symlink: true`), e.g. to report them; default false. */
  symlinks?: boolean;
}

/** One path a walked commit changed (against every parent, for a merge), with its new blob. */
export interface WalkedChange {
  /** Repository-relative path with forward slashes. */
  path: string;
  /** `added` (no parent had the path), `modified`, or `deleted` (the commit's tree lacks it). */
  status: 'added' | 'modified' | 'deleted';
  /** The blob at the path in the commit's tree; '' when deleted. */
  blob: string;
  /** Git file mode in the commit's tree (`100644`, `100755`, `120000` symlink, `160000` submodule; `000000` when deleted). */
  mode: string;
}

/** A commit as a history walk reports it. */
export interface WalkedCommit {
  commit: string;
  /** Parent ids in order (first parent first); empty for a root (or a shallow boundary). */
  parents: string[];
  /** Committer time, epoch seconds. */
  time: number;
  /** `Name <email>` of the author. */
  author: string;
  /** Value of the commit message's `Cavra-Gitops-Replica` trailer ('' when absent). */
  replica: string;
  /**
   * Paths under the walked prefixes whose blob differs from every parent's (a merge lists only
   * paths that differ from all parents, so a path it took unchanged from one parent is absent).
   */
  changes: WalkedChange[];
}

export interface HistoryWalkRequest {
  /** The commit to walk from. */
  tip: string;
  /** Leave out commits reachable from these (incremental walks: the previously walked tip). */
  exclude?: string[];
  /** Directory prefixes (`manifests/`, `records/`) whose changes are listed; other paths are not. */
  prefixes: string[];
}

/** An object read by name; `content` is null when it is larger than the size asked for. */
export interface StoredObject {
  /** The object id (for `<commit>:<path>` names, the blob's id). */
  id: string;
  size: number;
  content: Buffer | null;
}

/** Read-only access to committed content, in batch. */
export interface GitReader {
  /** Resolve a revision (branch, tag, sha, `HEAD~1`) to a full commit id; GitError when unknown. */
  resolve(rev: string): Promise<string>;
  /**
   * All blobs under the given directory prefixes (e.g. `['manifests/']`) at a commit, with their
   * sizes: one `ls-tree`. Symbolic links are left out unless `options.symlinks` asks for them.
   * With `sizes: false`, the listing without sizes: for a size git reads each object's header
   * (`--long`), which at 100,000 records takes several times what the listing itself takes, and a
   * reader that refuses large files as `cat-file` announces them (`readObjects` with `maxBytes`)
   * needs none.
   */
  listTree(
    commit: string,
    prefixes: string[],
    options: ListTreeOptions & { sizes: false },
  ): Promise<ListedFile[]>;
  listTree(commit: string, prefixes: string[], options?: ListTreeOptions): Promise<TreeEntry[]>;
  /** Read many blobs through one long-lived `git cat-file --batch`. */
  readBlobs(blobs: string[]): Promise<Map<string, Buffer>>;
  /**
   * Every commit reachable from `tip` (minus those reachable from `exclude`), newest first in a
   * topological order (children before parents), each with the changes under `prefixes`. One
   * `git log` process whatever the length of the history; commits that change nothing under
   * `prefixes` are listed too, so parents always name walked commits.
   */
  walkHistory(request: HistoryWalkRequest): Promise<WalkedCommit[]>;
  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
  /**
   * Blobs by name through the long-lived `cat-file --batch`: blob ids or `<commit>:<path>`. Null
   * for a name that is missing or not a blob; content over `maxBytes` is skipped, not read.
   */
  readObjects(names: string[], options?: { maxBytes?: number }): Promise<Map<string, StoredObject | null>>;
  /**
   * Signature status of each commit as verified against `allowedSigners` (the content of an ssh
   * allowed-signers file; '' trusts nobody). One `git log --no-walk` for all commits.
   */
  verifySignatures(commits: string[], allowedSigners: string): Promise<Map<string, SignatureInfo>>;
}

/** A change to commit on top of a base: files to add or replace, files to remove. */
export interface TreeChange {
  put: { path: string; content: string }[];
  remove: string[];
}

export type PushResult = { status: 'pushed'; commit: string } | { status: 'rejected'; reason: string };

/**
 * The reconciler's own clone of the ops remote. Never touches an operator's working tree.
 * Network or remote failures throw GitError (the caller keeps the pending work and retries).
 */
export interface GitStore extends GitReader {
  /** Fetch the tracked (and ledger) branch; returns the remote tip of `branch`, null if it does not exist. */
  fetch(branch: string): Promise<string | null>;
  /** Create a commit on `base` with `change` applied, without a checkout. Returns its id (not pushed). */
  createCommit(base: string | null, change: TreeChange, message: string): Promise<string>;
  /** Push `commit` to `branch` without force; a non-fast-forward answer is `rejected`, not an error. */
  push(commit: string, branch: string): Promise<PushResult>;
  /** Release processes (the cat-file batch) and locks. */
  close(): Promise<void>;
}

/**
 * What the reconciler needs of its clone: the GitStore port, commits at an injected time, the
 * remote's tips without a fetch (the no-op path), and housekeeping between runs.
 */
export interface ReconcilerStore extends GitStore {
  /** The replica's state directory (journal, last run, lock). */
  readonly stateDir: string;
  /** The remote, redacted for messages. */
  readonly remoteLabel: string;
  createCommit(
    base: string | null,
    change: TreeChange,
    message: string,
    options?: { time?: Date },
  ): Promise<string>;
  /** The last fetched (or pushed) tip of `branch`, without network; null when unknown. */
  readRemoteTip(branch: string): Promise<string | null>;
  /** The remote's current tips without fetching objects (one `ls-remote`); null for a missing branch. */
  peekRemoteTips(branches: string[]): Promise<Map<string, string | null>>;
  /** Roll the clone's packs up between runs. */
  maintain(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Connectors
// ---------------------------------------------------------------------------------------------

export interface DeliveryRequest {
  /** Idempotency key: execution id for retries, delivery record id's delivery id for attempt 1. */
  idempotencyKey: string;
  deliveryId: string;
  auditId: string;
  /** Provider manifest name. */
  provider: string;
  attempt: number;
  /** '' for attempt 1. */
  executionId: string;
  package: AuditPackage;
  /** The run's `now`, used for signatures and payload timestamps. */
  at: IsoTime;
}

/** Outcome of one connector call after its own bounded attempts. Never contains secrets. */
export interface CallOutcome {
  success: boolean;
  /** Status of the final HTTP answer, null when no answer (timeout, refused, file). */
  statusCode: number | null;
  /** Public-safe, redacted reason; '' on success. */
  error: string;
  /** True when a later retry may succeed (429, 5xx, timeout); false for permanent 4xx / 410. */
  retryable: boolean;
  /** How many HTTP attempts the connector made (for logs and metrics). */
  attempts: number;
}

export interface Connector {
  readonly type: Provider['spec']['type'];
  /** Whether a re-send with the same idempotency key is deduplicated by the receiver. */
  readonly idempotent: boolean;
  /** Deliver; resolves with an outcome for every failure it can classify, rejects only on bugs. */
  deliver(request: DeliveryRequest, signal?: AbortSignal): Promise<CallOutcome>;
}

/** Environment variables, injected (never read `process.env` below the CLI). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ConnectorContext {
  env: Env;
  /** Injected so tests never sleep: waits between attempts (Retry-After, backoff). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected fetch (defaults to global fetch). */
  fetch: typeof fetch;
  /** Attempts per call including the first (default 3). */
  maxAttempts: number;
  /** Longest single wait honoured for Retry-After, in ms (default 60 s). */
  maxRetryAfterMs: number;
  /**
   * The file root (`--file-root`): the absolute directory `file` providers write under. Their
   * `options.directory` is relative to it and never leaves it, symbolic links included.
   */
  fileRoot: string;
}
