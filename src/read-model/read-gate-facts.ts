/**
 * readGateFacts: the history facts of the approval gate (src/domain/gate-facts.ts) for one
 * revision, from the one walk of history `readManifests` already made (same cache):
 * - provenance: each approval's introducing commit by content (readManifests put it in
 *   `source.introduced`);
 * - the base of each approval (docs/reference.md §4): the newest proper ancestor of its introducing
 *   commit that a reconciler recorded as a `source_revision`, else its first parent — computed for
 *   every commit in one pass over the walk;
 * - the policy at each distinct base and the allowed-signers file at each base and at the tip,
 *   read as `<commit>:<path>` objects through the long-lived `cat-file --batch` (only the paths
 *   that ever held a ReconcilerPolicy, known from the walk);
 * - signatures: one `git log --no-walk` per distinct allowed-signers content;
 * - consumption over the ledger's whole history.
 * The ledger facts (consumption, recorded revisions) come from the ledger branch's cursor
 * (ledger-cursor.ts): a read at a descendant of the last ledger commit read adds only the ledger
 * commits in between, so reading run after run in ledger order (verify, the loop) costs the
 * history once.
 * No git call per file, per commit or per approval. `ApprovalFacts.introduced.signature` is the
 * signature as verified at the tip (readManifests leaves it unverified).
 *
 * The gate facts cover the approvals of `manifests`; an approval without provenance (not possible
 * for a committed revision) has no entry, and the gate must treat a missing entry as blocking.
 */
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { ApprovalFacts, GateFacts, PolicyAt } from '../domain/gate-facts.js';
import type { GitReader, StoredObject } from '../domain/ports.js';
import type { ManifestSet, ReconcilerPolicySpec, SignatureInfo } from '../domain/types.js';
import { GitError } from '../errors.js';
import { resolveLimits, type YamlLimits } from '../manifests/limits.js';
import { validateManifests, type ManifestFileInput } from '../manifests/validate-manifests.js';
import { sha256Hex } from '../domain/hash.js';
import { foldManifestHistory } from './document-provenance.js';
import {
  createHistoryCache,
  readBranchAt,
  useLimits,
  withHistoryCache,
  type BranchAt,
  type BranchHistory,
  type HistoryCache,
} from './history-cache.js';
import {
  consumptionAt,
  ledgerCursorAt,
  newestRecordedAncestorAt,
  type LedgerCursor,
} from './ledger-cursor.js';
import type { HistoryIndex } from './history-index.js';
import { foldLedgerHistory } from './ledger-facts.js';
import { objectPathOf } from './object-path.js';

/** Allowed-signers files larger than this are treated as absent (they trust nobody). */
const MAX_ALLOWED_SIGNERS_BYTES = 1024 * 1024;

export interface ReadGateFactsOptions {
  /** The tracked branch's commit the manifests were read at. */
  revision: string;
  /** The ledger's commit: `revision` when records live on the tracked branch; null or '' when there is no ledger yet. */
  ledgerRevision: string | null;
  /** The valid manifests of `revision`, as `readManifests` read them (with the same `cache`). */
  manifests: ManifestSet;
  /** The walk's cache; pass the one `readManifests` used so history is walked once. */
  cache?: HistoryCache;
  limits?: Partial<YamlLimits>;
  /**
   * Commits to verify along with the approvals' own, against the same allowed-signers contents,
   * into the cache: a caller about to read the facts of many revisions one approval at a time
   * (verify's gate recompute) names every approval commit once, so git verifies them in one call
   * instead of one call per read.
   */
  prefetchSignatures?: readonly string[];
}

/** Read every history fact the gate needs at `revision` (see the file comment for the cost). */
export async function readGateFacts(reader: GitReader, options: ReadGateFactsOptions): Promise<GateFacts> {
  const cache = options.cache ?? createHistoryCache();
  return withHistoryCache(cache, () => readGateFactsAlone(reader, options, cache));
}

async function readGateFactsAlone(
  reader: GitReader,
  options: ReadGateFactsOptions,
  cache: HistoryCache,
): Promise<GateFacts> {
  const limits = resolveLimits(options.limits);
  useLimits(cache, limits);
  const tracked = await readBranchAt(reader, cache, 'tracked', options.revision);
  await foldManifestHistory(reader, cache, tracked.branch, limits);
  const ledger = await readLedgerAt(reader, cache, options, tracked);

  const current: PolicyAt = {
    commit: options.revision,
    policy: options.manifests.policy?.spec ?? structuredClone(DEFAULT_POLICY_SPEC),
  };
  const newestOf = (position: number): number =>
    ledger === null ? -1 : newestRecordedAncestorAt(ledger, tracked.branch, position);
  const { commits, byId } = tracked.branch.index;

  // Base of each approval, by name.
  const bases = new Map<string, { commit: string | null; recorded: boolean; introduced: number }>();
  for (const approval of options.manifests.approvals) {
    const introduced = approval.source.introduced;
    const position = introduced === null ? undefined : byId.get(introduced.commit);
    if (position === undefined) continue; // no provenance (cannot happen for a committed revision)
    const recordedBase = newestOf(position);
    const base =
      recordedBase >= 0
        ? { commit: commits[recordedBase]!.commit, recorded: true }
        : { commit: commits[position]!.parents[0] ?? null, recorded: false };
    if (base.commit !== null && !byId.has(base.commit)) {
      throw new GitError(
        `The base ${base.commit} of approval ${approval.name} is not in the walked history of ${options.revision}; the clone is incomplete (shallow?), fetch the full history.`,
      );
    }
    bases.set(approval.name, { ...base, introduced: position });
  }

  const baseCommits = [
    ...new Set([...bases.values()].flatMap((base) => (base.commit === null ? [] : [base.commit]))),
  ];
  const policies = await readPoliciesAt(reader, cache, tracked.branch, baseCommits, limits);
  const policyAt = (commit: string | null): ReconcilerPolicySpec =>
    commit === null ? structuredClone(DEFAULT_POLICY_SPEC) : policies.get(commit)!;

  // Allowed-signers content at the tip and at each base, then one verification per content.
  const signerFiles: { commit: string; path: string }[] = [
    { commit: options.revision, path: current.policy.allowed_signers_file },
    ...baseCommits.map((commit) => ({ commit, path: policyAt(commit).allowed_signers_file })),
  ];
  const signers = await readAllowedSigners(reader, cache, signerFiles);
  const tipSigners = signers.get(`${options.revision}\n${current.policy.allowed_signers_file}`) ?? '';
  const baseSigners = (commit: string | null): string =>
    commit === null ? '' : (signers.get(`${commit}\n${policyAt(commit).allowed_signers_file}`) ?? '');
  const wanted = new Map<string, Set<string>>();
  const want = (content: string, commit: string): void => {
    let set = wanted.get(content);
    if (set === undefined) {
      set = new Set();
      wanted.set(content, set);
    }
    set.add(commit);
  };
  for (const base of bases.values()) {
    const commit = commits[base.introduced]!.commit;
    want(tipSigners, commit);
    want(baseSigners(base.commit), commit);
  }
  for (const content of [...wanted.keys()])
    for (const commit of options.prefetchSignatures ?? []) want(content, commit);
  const signatureOf = await verifyGrouped(reader, cache, wanted);

  const approvals = new Map<string, ApprovalFacts>();
  for (const approval of options.manifests.approvals) {
    const base = bases.get(approval.name);
    const introduced = approval.source.introduced;
    if (base === undefined || introduced === null) continue;
    const signatureAtTip = signatureOf(tipSigners, introduced.commit);
    approvals.set(approval.name, {
      introduced: { ...introduced, signature: signatureAtTip },
      base: { commit: base.commit, policy: policyAt(base.commit), recorded: base.recorded },
      signatureAtBase: signatureOf(baseSigners(base.commit), introduced.commit),
      signatureAtTip,
    });
  }
  const consumed =
    ledger === null
      ? { approvals: new Map(), closures: new Map() }
      : await consumptionAt(reader, cache, ledger, tracked.branch, limits);
  const tipRecorded =
    ledger !== null && isTipRecorded(tracked.branch.index, options.revision, ledger.recordedSet);
  return { current, approvals, consumed, tipRecorded };
}

/**
 * Whether the tip, or a commit on its first-parent line down to and including the newest commit
 * without the reconciler trailer, is a recorded revision. Reconciler commits above an operator's
 * change have the change's tree plus records: one of them recorded records the change too, and the
 * commit that records the tip does not ask for a record of its own in the next run.
 */
function isTipRecorded(index: HistoryIndex, revision: string, recorded: ReadonlySet<string>): boolean {
  let position = index.byId.get(revision);
  while (position !== undefined) {
    const commit = index.commits[position]!;
    if (recorded.has(commit.commit)) return true;
    if (commit.replica === '' || commit.parents.length === 0) return false;
    position = index.byId.get(commit.parents[0]!);
  }
  return false;
}

export interface PrefetchBaseFilesOptions {
  /** The tracked branch's commit whose walk the commits are in. */
  revision: string;
  /** Commits that may be bases of the reads to come. */
  commits: readonly string[];
  cache: HistoryCache;
  limits?: Partial<YamlLimits>;
}

/**
 * Read the policy and the allowed-signers file at each of `commits` into the cache, in two batch
 * requests: for a caller about to read the gate facts at many revisions whose bases are among
 * them (verify's gate recompute), so that each read finds its bases' files read instead of asking
 * git for them in a round trip of its own.
 */
export async function prefetchBaseFiles(reader: GitReader, options: PrefetchBaseFilesOptions): Promise<void> {
  const { cache } = options;
  await withHistoryCache(cache, async () => {
    const limits = resolveLimits(options.limits);
    useLimits(cache, limits);
    const tracked = await readBranchAt(reader, cache, 'tracked', options.revision);
    await foldManifestHistory(reader, cache, tracked.branch, limits);
    const commits = options.commits.filter((commit) => tracked.branch.index.byId.has(commit));
    const policies = await readPoliciesAt(reader, cache, tracked.branch, commits, limits);
    await readAllowedSigners(
      reader,
      cache,
      commits.map((commit) => ({ commit, path: policies.get(commit)!.allowed_signers_file })),
    );
  });
}

/** The ledger's cursor at `ledgerRevision`, or null when there is no ledger yet. */
async function readLedgerAt(
  reader: GitReader,
  cache: HistoryCache,
  options: ReadGateFactsOptions,
  tracked: BranchAt,
): Promise<LedgerCursor | null> {
  const ledgerRevision = options.ledgerRevision;
  if (ledgerRevision === null || ledgerRevision === '') return null;
  const at =
    ledgerRevision === options.revision
      ? tracked
      : await readBranchAt(reader, cache, 'ledger', ledgerRevision);
  await foldLedgerHistory(reader, cache, at.branch);
  // An older ledger commit than the walked tip (the API's `?at=`, verify): only records added by
  // its ancestors count, which the cursor at that commit holds.
  return ledgerCursorAt(cache, at.branch, at.position);
}

/**
 * The ReconcilerPolicy in force at each commit: the policy documents of the files at the paths
 * that ever held one (validated on their own: schema, rules, normalise), defaults when there is
 * none or no valid one. One `cat-file` request for all commits and paths.
 */
async function readPoliciesAt(
  reader: GitReader,
  cache: HistoryCache,
  branch: BranchHistory,
  commits: readonly string[],
  limits: YamlLimits,
): Promise<Map<string, ReconcilerPolicySpec>> {
  const result = new Map<string, ReconcilerPolicySpec>();
  const uncached = commits.filter((commit) => !cache.policies.has(commit));
  const paths = [...branch.manifests.policyPaths].sort();
  const names = uncached.flatMap((commit) => paths.map((path) => `${commit}:${path}`));
  const objects =
    names.length === 0
      ? new Map<string, StoredObject | null>()
      : await reader.readObjects(names, { maxBytes: limits.maxFileBytes });
  // Most bases share their policy files: validate each distinct set of (path, blob) once.
  const bySet = new Map<string, ReconcilerPolicySpec>();
  for (const commit of uncached) {
    const files: ManifestFileInput[] = [];
    for (const path of paths) {
      const object = objects.get(`${commit}:${path}`);
      if (object?.content) files.push({ path, blob: object.id, content: object.content, introduced: null });
    }
    const key = files.map((file) => `${file.path}\n${file.blob}`).join('\n');
    let spec = bySet.get(key);
    if (spec === undefined) {
      const policy = validateManifests(files, { limits }).manifests.policy;
      spec = policy === null ? structuredClone(DEFAULT_POLICY_SPEC) : policy.spec;
      bySet.set(key, spec);
    }
    cache.policies.set(commit, spec);
  }
  for (const commit of commits) result.set(commit, cache.policies.get(commit)!);
  return result;
}

/** Allowed-signers content by `<commit>\n<path>` ('' when absent, not a file, or too large). */
async function readAllowedSigners(
  reader: GitReader,
  cache: HistoryCache,
  files: readonly { commit: string; path: string }[],
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const names = new Map<string, string>();
  for (const { commit, path } of files) {
    const key = `${commit}\n${path}`;
    if (cache.signers.has(key)) continue;
    const clean = objectPathOf(path);
    if (clean === null) cache.signers.set(key, '');
    else names.set(`${commit}:${clean}`, key);
  }
  if (names.size > 0) {
    const objects = await reader.readObjects([...names.keys()], { maxBytes: MAX_ALLOWED_SIGNERS_BYTES });
    for (const [name, key] of names)
      cache.signers.set(key, objects.get(name)?.content?.toString('utf8') ?? '');
  }
  for (const { commit, path } of files)
    result.set(`${commit}\n${path}`, cache.signers.get(`${commit}\n${path}`)!);
  return result;
}

/** Verify each group of commits against its allowed-signers content: one git call per content. */
async function verifyGrouped(
  reader: GitReader,
  cache: HistoryCache,
  wanted: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<(content: string, commit: string) => SignatureInfo> {
  const keyOf = (content: string, commit: string): string => `${sha256Hex(content)}\n${commit}`;
  for (const [content, commits] of wanted) {
    const missing = [...commits].filter((commit) => !cache.signatures.has(keyOf(content, commit)));
    if (missing.length === 0) continue;
    const verified = await reader.verifySignatures(missing, content);
    for (const commit of missing) {
      cache.signatures.set(
        keyOf(content, commit),
        verified.get(commit) ?? { status: 'error', principal: '' },
      );
    }
  }
  return (content, commit) =>
    cache.signatures.get(keyOf(content, commit)) ?? { status: 'error', principal: '' };
}
