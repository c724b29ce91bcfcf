/**
 * What the append-only check (records/ledger-rules.ts) needs of a range of the ledger's history, read
 * through the GitReader port in a bounded number of git calls whatever the range's length: one
 * history walk of the commits since the baseline (listing every path, so a record commit that also
 * changes manifests shows), then two lookups per changed path through the long-lived
 * `cat-file --batch` (a linear range since a baseline), nothing more (a chain from the root: its
 * changes replayed are the tip's ledger), or the ledger's listing at the tip (a range with merges,
 * whose `-c` output can hide a path a merge dropped), plus at most one signature verification.
 */
import type { GitReader, StoredObject, WalkedCommit } from '../domain/ports.js';
import type { ReconcilerPolicySpec, SignatureInfo } from '../domain/types.js';
import { isLedgerPath, REPORTS_DIR, type ReconcilerSigning } from '../records/ledger-rules.js';
import { RECORDS_DIR } from '../records/layout.js';
import { readCommittedFile } from './read-snapshot.js';

/** The ledger's files (path → blob) at a commit. */
export type LedgerFiles = Map<string, string>;

export interface LedgerRange {
  /** Newest first, as walked. */
  commits: WalkedCommit[];
  baseline: LedgerFiles;
  tip: LedgerFiles;
  compare: 'changed' | 'all';
}

export interface ReadLedgerRangeOptions {
  tip: string;
  /** The last checked commit (an ancestor of `tip`), or null to check from the root. */
  baseline: string | null;
  /** The ledger's full listing at `baseline`, when the caller kept it (else it is listed if needed). */
  baselineFiles?: LedgerFiles;
  /** The commits of `baseline..tip` walked with every path, when the caller walked them already. */
  commits?: WalkedCommit[] | undefined;
}

/** Read the commits of `baseline..tip` and the ledger files the check compares. */
export async function readLedgerRange(
  reader: GitReader,
  options: ReadLedgerRangeOptions,
): Promise<LedgerRange> {
  const { tip, baseline } = options;
  const commits =
    baseline === tip
      ? []
      : (options.commits ??
        (await reader.walkHistory({ tip, exclude: baseline === null ? [] : [baseline], prefixes: [] })));
  const merges = commits.some((commit) => commit.parents.length > 1);
  if (baseline === null && !merges) {
    // A chain from the root: its changes, replayed, are the tip's ledger (git diffed each commit
    // against its parent, the root against nothing), so a first check lists nothing again.
    return { commits, baseline: new Map(), tip: replayLedger(commits), compare: 'all' };
  }
  if (merges) {
    return {
      commits,
      baseline:
        baseline === null
          ? new Map<string, string>()
          : (options.baselineFiles ?? (await readLedgerFiles(reader, baseline))),
      tip: await readLedgerFiles(reader, tip),
      compare: 'all',
    };
  }
  const paths = new Set<string>();
  for (const commit of commits) {
    for (const change of commit.changes) if (isLedgerPath(change.path)) paths.add(change.path);
  }
  const names = [...paths].flatMap((path) => [`${baseline}:${path}`, `${tip}:${path}`]);
  // maxBytes 0: only the ids are wanted, contents are not read.
  const objects: Map<string, StoredObject | null> =
    names.length === 0
      ? new Map<string, StoredObject | null>()
      : await reader.readObjects(names, { maxBytes: 0 });
  const before: LedgerFiles = new Map();
  const after: LedgerFiles = new Map();
  for (const path of paths) {
    const old = objects.get(`${baseline}:${path}`);
    const current = objects.get(`${tip}:${path}`);
    if (old) before.set(path, old.id);
    if (current) after.set(path, current.id);
  }
  return { commits, baseline: before, tip: after, compare: 'changed' };
}

/** The ledger's files after a chain of commits from the root (newest first), as `ls-tree` would list them. */
export function replayLedger(newestFirst: readonly WalkedCommit[]): LedgerFiles {
  const files: LedgerFiles = new Map();
  for (let at = newestFirst.length - 1; at >= 0; at--) {
    // Index loops: a first check replays 100,000 added records, and an iterator's step allocates.
    const { changes } = newestFirst[at]!;
    for (let index = 0; index < changes.length; index++) {
      const change = changes[index]!;
      if (!isLedgerPath(change.path)) continue;
      // A submodule is not a file of the listing (readLedgerFiles lists blobs and symlinks).
      if (change.status === 'deleted' || change.mode === GITLINK_MODE) files.delete(change.path);
      else files.set(change.path, change.blob);
    }
  }
  return files;
}

const GITLINK_MODE = '160000';

/** Every file under `records/` and `reports/` at a commit (one `ls-tree`). */
export async function readLedgerFiles(reader: GitReader, commit: string): Promise<LedgerFiles> {
  const entries = await reader.listTree(commit, [RECORDS_DIR, REPORTS_DIR], { symlinks: true, sizes: false });
  return new Map(entries.map((entry) => [entry.path, entry.blob]));
}

/** The policy's signing rules for reconciler commits (`require_signed_records`, `reconciler_signers`). */
function signingPolicyOf(policy: ReconcilerPolicySpec): { required: boolean; signers: string[] } {
  return { required: policy.require_signed_records, signers: [...policy.reconciler_signers] };
}

/**
 * The signing rules and, when the policy requires signed record commits, the verified signatures
 * of the commits among `commits` that carry the replica trailer and touch the ledger (one
 * `git log --no-walk` against the allowed-signers file at `revision`).
 */
export async function readReconcilerSigning(
  reader: GitReader,
  commits: readonly WalkedCommit[],
  policy: ReconcilerPolicySpec,
  revision: string,
): Promise<ReconcilerSigning> {
  const { required, signers } = signingPolicyOf(policy);
  if (!required) return { required, signers, signatureOf: () => undefined };
  const wanted = commits
    .filter((commit) => commit.replica !== '' && commit.changes.some((change) => isLedgerPath(change.path)))
    .map((commit) => commit.commit);
  let verified = new Map<string, SignatureInfo>();
  if (wanted.length > 0) {
    const file = await readCommittedFile(reader, revision, policy.allowed_signers_file, 1024 * 1024);
    verified = await reader.verifySignatures(wanted, file?.toString('utf8') ?? '');
  }
  return { required, signers, signatureOf: (commit) => verified.get(commit) };
}
