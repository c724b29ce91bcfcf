/**
 * The audit's recomputations over the records at the ledger tip (docs/reference.md §6a), each with
 * the code the reconciler itself runs, so the audit and the reconciler cannot disagree:
 * - `verify.unknown-approval`: each approval an execution names is a RetryApproval for its key in
 *   the named blob, at the named path of the named commit, an ancestor of its source revision;
 * - `verify.approval-not-allowed`: the gate recomputed at the execution's source revision — the
 *   manifests there, the ledger as it stood before its claim, its time — with `planRetryWork` (the
 *   retry step of `planReconcile`), which must plan this very execution (base and current policy,
 *   signatures, quorum included);
 * - `verify.approval-reused`: an approval (by name) that more than one execution carries;
 * - `verify.orphan-record`: a delivery whose AuditDelivery never existed in its source revision's
 *   history, a closure whose RecoveryClosure is not at its source commit, a closure's playbook or
 *   verification ref that resolves to no record;
 * - `verify.playbook-mismatch`: a playbook that `planPlaybooks` over the failures as they stood
 *   does not recompute byte-identical;
 * - `verify.report-mismatch`: the committed report does not recompute byte-identical from the
 *   records at the tip with its own `generated_at`, `generated_by` and SLO.
 */
import { canonicalJson } from '../domain/canonical-json.js';
import { collectRecordIds } from '../domain/closures.js';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import { lowerBound } from '../domain/lower-bound.js';
import { compareStrings, timeOf } from '../domain/recovery-state.js';
import {
  deliveryFailureTime,
  lookbackWindow,
  planPlaybooks,
  playbookAtVersion,
} from '../domain/playbooks.js';
import type { GitReader, StoredObject, WalkedCommit } from '../domain/ports.js';
import { computeRetryRecoveryReport, reportAtVersion, type ReportEnvelope } from '../domain/report.js';
import { keyString } from '../domain/retry-rules.js';
import type {
  ApprovalEvidence,
  ClosureRecord,
  DeliveryRecord,
  ExecutionRecord,
  PlaybookRecord,
  RecordSet,
} from '../domain/types.js';
import { planRetryWork } from '../domain/retry-plan.js';
import { readManifestDocuments } from '../read-model/document-provenance.js';
import type { BranchHistory } from '../read-model/history-cache.js';
import { isAncestorPosition, marksCursorAt, type MarksCursor } from '../read-model/history-index.js';
import type { LedgerFiles } from '../read-model/read-ledger-range.js';
import { readManifests } from '../read-model/read-manifests.js';
import { prefetchBaseFiles, readGateFacts } from '../read-model/read-gate-facts.js';
import { readPlanFacts } from '../read-model/read-plan-facts.js';
import { withReadObjects, withWalkedPaths } from '../read-model/walked-paths.js';
import type { Snapshot, SnapshotCache } from '../read-model/read-snapshot.js';
import type { ManifestCache } from '../manifests/validate-manifests.js';
import { resolveLimits } from '../manifests/limits.js';
import { indexRecords, assembleRecords, type ParsedRecordFile } from '../records/read-records.js';
import { recordPath, REPORT_JSON_PATH } from '../records/layout.js';
import { short } from '../records/ledger-rules.js';
import type { AuditFinding, AuditProgress } from './audit-finding.js';
import { documentsNamed, indexKeyPaths, scopeManifestsToKeys, type KeyPaths } from './key-scope.js';

export interface RecomputeInput {
  snapshot: Snapshot;
  cache: SnapshotCache;
  tipFiles: LedgerFiles;
  /** The ledger walk (newest first): from the root, or since the baseline. */
  commits: readonly WalkedCommit[];
  /** Record outcomes (by `<blob>:<path>`) present at the baseline of a `--since` audit. */
  baselineKeys: readonly string[];
  /** The outcome of every record file the walk added and of those at the baseline, by `<blob>:<path>`. */
  outcomes: ReadonlyMap<string, ParsedRecordFile>;
  /** The tracked branch's walk. */
  history: BranchHistory;
  revision: string;
  ledgerRevision: string;
  progress: AuditProgress;
}

/** Run every recomputation (see the file comment). */
export async function recomputeRecords(git: GitReader, input: RecomputeInput): Promise<AuditFinding[]> {
  // The files of each execution's key at its revision, the policy at each base: read by blob id
  // where the tracked walk tells which blob a path holds at a commit.
  const reader = withWalkedPaths(git, input.history.index);
  const ledger = indexLedger(input.commits, input.baselineKeys, input.outcomes, input.tipFiles);
  const findings: AuditFinding[] = [];
  const { records } = input.snapshot;
  const addedAt = (kind: Parameters<typeof recordPath>[0], id: string, at: string): string =>
    ledger.commitOfPath.get(safePath(kind, id, at)) ?? '';
  const tracked = createAncestry(input.history);
  const paths = indexKeyPaths(input.history, input.cache.history.documents);

  input.progress('checking approvals', 0, records.executions.length);
  findings.push(...(await checkApprovalEvidence(reader, input, tracked, addedAt)));
  findings.push(...(await checkGate(reader, input, ledger, paths, addedAt)));
  findings.push(...(await checkReuse(reader, input, addedAt)));
  input.progress('checking references', 0, 0);
  findings.push(...checkDeliveries(input, tracked, addedAt));
  findings.push(...(await checkClosures(reader, input, addedAt)));
  input.progress('recomputing playbooks and the report', 0, 0);
  findings.push(...(await checkPlaybooks(reader, input, ledger, paths)));
  findings.push(...(await checkReport(reader, input, ledger.reportCommit || input.ledgerRevision)));
  return findings;
}

function safePath(kind: Parameters<typeof recordPath>[0], id: string, at: string): string {
  try {
    return recordPath(kind, id, at);
  } catch {
    return `records/${kind}/${id}.json`;
  }
}

// ---------------------------------------------------------------------------------------------
// The ledger's walk as an index: which records each commit added, ancestors, records at a commit
// ---------------------------------------------------------------------------------------------

interface LedgerIndex {
  commits: WalkedCommit[];
  position: Map<string, number>;
  parents: number[][];
  /** Record outcome keys (`<blob>:<path>`) each position added. */
  added: string[][];
  baselineKeys: readonly string[];
  /** Record path → the first commit that added the blob the tip holds there. */
  commitOfPath: Map<string, string>;
  /** Claim id → position of the first commit that wrote its claim. */
  firstClaim: Map<string, number>;
  /** The newest commit that wrote the report ('' when none in the walk). */
  reportCommit: string;
  outcomes: ReadonlyMap<string, ParsedRecordFile>;
  /**
   * Delivery and execution outcome keys by delivery key, with the positions that added each
   * (-1: present at the baseline); built on first use, so the records of a few keys at a
   * position cost those keys' records, not the ledger's.
   */
  byDeliveryKey?: Map<string, Map<string, number[]>>;
  /** Every outcome key with the positions that added it (-1: the baseline); built on first use. */
  positionsOf?: Map<string, number[]>;
  /**
   * The ancestors of the last position {@link recordsOfKeysAt} read at: the gate recompute reads in
   * ledger order, so each read marks the commits since the last, not the whole ledger again.
   */
  keyMarks?: MarksCursor;
}

function indexLedger(
  newestFirst: readonly WalkedCommit[],
  baselineKeys: readonly string[],
  outcomes: ReadonlyMap<string, ParsedRecordFile>,
  tipFiles: LedgerFiles,
): LedgerIndex {
  const commits = [...newestFirst].reverse();
  const position = new Map(commits.map((commit, index) => [commit.commit, index]));
  const index: LedgerIndex = {
    commits,
    position,
    parents: commits.map((commit) => commit.parents.flatMap((parent) => position.get(parent) ?? [])),
    added: commits.map(() => []),
    baselineKeys,
    commitOfPath: new Map(),
    firstClaim: new Map(),
    reportCommit: '',
    outcomes,
  };
  commits.forEach((commit, at) => {
    for (const change of commit.changes) {
      if (change.path === REPORT_JSON_PATH) index.reportCommit = commit.commit;
      if (change.status === 'deleted' || !change.path.startsWith('records/')) continue;
      const claim = /^records\/claims\/([^/]+)\.json$/.exec(change.path);
      if (claim) {
        if (!index.firstClaim.has(claim[1]!)) index.firstClaim.set(claim[1]!, at);
        continue;
      }
      const key = `${change.blob}:${change.path}`;
      if (!outcomes.has(key)) continue;
      index.added[at]!.push(key);
      // A blob restored by a revert was first added by the commit that wrote it.
      if (tipFiles.get(change.path) === change.blob && !index.commitOfPath.has(change.path))
        index.commitOfPath.set(change.path, commit.commit);
    }
  });
  return index;
}

function ancestorsOf(index: LedgerIndex, position: number): Uint8Array {
  const marks = new Uint8Array(index.commits.length);
  const pending = [position];
  marks[position] = 1;
  while (pending.length > 0) {
    for (const parent of index.parents[pending.pop()!]!) {
      if (marks[parent] === 0) {
        marks[parent] = 1;
        pending.push(parent);
      }
    }
  }
  return marks;
}

/** The positions that added each outcome key (-1: present at the baseline), built once. */
function positionsOfKeys(index: LedgerIndex): Map<string, number[]> {
  if (index.positionsOf !== undefined) return index.positionsOf;
  const positions = new Map<string, number[]>();
  const note = (key: string, at: number): void => {
    const list = positions.get(key);
    if (list === undefined) positions.set(key, [at]);
    else list.push(at);
  };
  for (const key of index.baselineKeys) note(key, -1);
  index.added.forEach((keys, at) => {
    for (const key of keys) note(key, at);
  });
  index.positionsOf = positions;
  return positions;
}

/** {@link ancestorsOf}, from the marks of the last position asked when it is an ancestor (see LedgerIndex.keyMarks). */
function ancestorMarksAt(index: LedgerIndex, position: number): Uint8Array {
  const parentsOf = { parentsOf: (at: number) => index.parents[at]! };
  index.keyMarks = marksCursorAt(parentsOf, index.keyMarks, index.commits.length, position);
  return index.keyMarks.marks;
}

/** The records (no claims) at a position of the walk: the baseline's and those its ancestors added. */
function recordsAt(
  index: LedgerIndex,
  position: number | null,
  keep: (key: string) => boolean = () => true,
): RecordSet {
  const keys = [...index.baselineKeys];
  if (position !== null) {
    const marks = ancestorsOf(index, position);
    marks.forEach((marked, at) => {
      if (marked === 1) keys.push(...index.added[at]!);
    });
  }
  const outcomes: ParsedRecordFile[] = [];
  for (const key of keys) {
    if (!keep(key)) continue;
    const outcome = index.outcomes.get(key);
    if (outcome !== undefined && outcome.kind !== null && outcome.kind !== 'claims') outcomes.push(outcome);
  }
  return assembleRecords(outcomes).records;
}

/** The delivery and execution records of `keys` at a position of the walk (see {@link recordsAt}). */
function recordsOfKeysAt(index: LedgerIndex, position: number | null, keys: ReadonlySet<string>): RecordSet {
  if (index.byDeliveryKey === undefined) {
    const byKey = new Map<string, Map<string, number[]>>();
    for (const [outcomeKey, positions] of positionsOfKeys(index)) {
      const outcome = index.outcomes.get(outcomeKey);
      if (outcome === undefined || (outcome.kind !== 'deliveries' && outcome.kind !== 'executions')) continue;
      const key = keyString(outcome.record as unknown as DeliveryRecord);
      let outcomes = byKey.get(key);
      if (outcomes === undefined) {
        outcomes = new Map<string, number[]>();
        byKey.set(key, outcomes);
      }
      outcomes.set(outcomeKey, positions);
    }
    index.byDeliveryKey = byKey;
  }
  const marks = position === null ? null : ancestorMarksAt(index, position);
  const outcomes: ParsedRecordFile[] = [];
  for (const key of keys) {
    for (const [outcomeKey, positions] of index.byDeliveryKey.get(key) ?? []) {
      if (positions.some((at) => at === -1 || (marks !== null && marks[at] === 1)))
        outcomes.push(index.outcomes.get(outcomeKey)!);
    }
  }
  return assembleRecords(outcomes).records;
}

// ---------------------------------------------------------------------------------------------
// The tracked branch's ancestry (from its walk, cached per commit)
// ---------------------------------------------------------------------------------------------

interface Ancestry {
  /** Whether `ancestor` is `commit` or one of its ancestors (false when either is not in the walk). */
  isAncestor(ancestor: string, commit: string): boolean;
  has(commit: string): boolean;
}

function createAncestry(history: BranchHistory): Ancestry {
  // Verdicts by pair; each walk goes back only as far as the ancestor's position (evidence and
  // deliveries are usually a few commits before the revision that read them), not the history.
  const verdicts = new Map<string, boolean>();
  const { byId } = history.index;
  return {
    has: (commit) => byId.has(commit),
    isAncestor(ancestor, commit) {
      const a = byId.get(ancestor);
      const c = byId.get(commit);
      if (a === undefined || c === undefined) return false;
      const key = `${a}\n${c}`;
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        verdict = isAncestorPosition(history.index, a, c);
        verdicts.set(key, verdict);
      }
      return verdict;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Approvals: the evidence exists in history, the gate admits the execution, no approval twice
// ---------------------------------------------------------------------------------------------

function evidenceOf(execution: ExecutionRecord): ApprovalEvidence[] {
  const listed = (execution as { approvals?: ApprovalEvidence[] }).approvals ?? [];
  const all = [execution.approval, ...listed];
  const seen = new Set<string>();
  return all.filter((evidence) => {
    const key = `${evidence.blob}\n${evidence.commit}\n${evidence.manifest}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function checkApprovalEvidence(
  reader: GitReader,
  input: RecomputeInput,
  tracked: Ancestry,
  addedAt: (kind: 'executions', id: string, at: string) => string,
): Promise<AuditFinding[]> {
  const { executions } = input.snapshot.records;
  const names = new Set<string>();
  for (const execution of executions) {
    for (const evidence of evidenceOf(execution)) {
      if (isObjectPath(evidence.manifest) && isCommit(evidence.commit))
        names.add(`${evidence.commit}:${evidence.manifest}`);
    }
  }
  const objects =
    names.size === 0
      ? new Map<string, StoredObject | null>()
      : await reader.readObjects([...names], { maxBytes: 0 });
  const limits = resolveLimits();
  await readManifestDocuments(
    reader,
    input.cache.history,
    executions.flatMap((execution) =>
      evidenceOf(execution)
        .filter((evidence) => isCommit(evidence.blob))
        .map((evidence) => ({ blob: evidence.blob, path: evidence.manifest || 'manifests/unknown.yaml' })),
    ),
    limits,
  );
  const findings: AuditFinding[] = [];
  for (const execution of executions) {
    const file = safePath('executions', execution.execution_id, execution.executed_at);
    const commit = addedAt('executions', execution.execution_id, execution.executed_at);
    for (const evidence of evidenceOf(execution)) {
      const problem = evidenceProblem(execution, evidence, objects, input, tracked);
      if (problem !== null) {
        findings.push({
          rule: 'verify.unknown-approval',
          file,
          commit,
          message: `the approval it names (${evidence.manifest || 'no manifest'} at ${short(evidence.commit) || 'no commit'}) ${problem}; an execution must name the approval that authorised it, as it is in history.`,
        });
      }
    }
  }
  return findings;
}

function evidenceProblem(
  execution: ExecutionRecord,
  evidence: ApprovalEvidence,
  objects: ReadonlyMap<string, { id: string } | null>,
  input: RecomputeInput,
  tracked: Ancestry,
): string | null {
  if (!isCommit(evidence.commit) || !tracked.has(evidence.commit)) {
    return 'names a commit that is not in the tracked branch’s history';
  }
  if (
    isCommit(execution.source_revision) &&
    !tracked.isAncestor(evidence.commit, execution.source_revision)
  ) {
    return `names commit ${short(evidence.commit)}, which is not an ancestor of the execution's source revision ${short(execution.source_revision)}`;
  }
  const object = objects.get(`${evidence.commit}:${evidence.manifest}`);
  if (!object || object.id !== evidence.blob) {
    return `is not at that path in that commit (the blob there is ${object ? short(object.id) : 'absent'}, the record names ${short(evidence.blob)})`;
  }
  const documents = input.cache.history.documents.get(evidence.blob) ?? [];
  const approval = documents.find((document) => {
    if (document.kind !== 'RetryApproval') return false;
    if (evidence.name !== undefined && document.name !== evidence.name) return false;
    const spec = document.value?.spec as Record<string, unknown> | undefined;
    return spec?.delivery === execution.delivery_id && spec?.provider === execution.provider;
  });
  return approval === undefined
    ? `holds no RetryApproval for ${execution.delivery_id}/${execution.provider}`
    : null;
}

/**
 * Recompute the gate for each execution: the manifests at its source revision, the records of its
 * key as the ledger stood before its claim (its own commit's parent when there is no claim), at
 * the time it was executed; `planRetryWork` (the retry step of `planReconcile`) over the documents
 * of its key must plan it, with its very execution id.
 */
async function checkGate(
  reader: GitReader,
  input: RecomputeInput,
  ledger: LedgerIndex,
  paths: KeyPaths,
  addedAt: (kind: 'executions', id: string, at: string) => string,
): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  const closureTargets = indexRecords(input.snapshot.records);
  const pathsOf = paths.ofKey;
  // In ledger order, so the ledger's walk for the gate facts only ever moves forward.
  const claimOf = (execution: ExecutionRecord): number =>
    ledger.firstClaim.get(execution.execution_id) ??
    ledger.position.get(addedAt('executions', execution.execution_id, execution.executed_at)) ??
    -1;
  const executions = [...input.snapshot.records.executions].sort((a, b) => claimOf(a) - claimOf(b));
  // Every approval commit the executions name, verified with the first read (one git call).
  let prefetch: string[] | undefined = [
    ...new Set(
      executions.flatMap((execution) =>
        evidenceOf(execution).flatMap((evidence) =>
          isCommit(evidence.commit) && input.history.index.byId.has(evidence.commit) ? [evidence.commit] : [],
        ),
      ),
    ),
  ];
  // The executions one run read at one source revision and one ledger commit share a read of
  // the manifests there and the gate facts (over the union of their keys' documents).
  interface Item {
    execution: ExecutionRecord;
    revision: string;
    before: number | null;
    ledgerRevision: string | null;
    key: string;
  }
  const groups: Item[][] = [];
  let done = 0;
  for (const execution of executions) {
    if (execution.execution_status === 'skipped') continue;
    const revision = execution.source_revision;
    if (!isCommit(revision) || !input.history.index.byId.has(revision)) continue; // history-rewritten says it
    const claimed = claimOf(execution);
    if (claimed < 0) continue; // added before a --since baseline
    // The ledger as the run read it: what the commit of its claim was built on (consumption
    // included: an approval an earlier execution carried is consumed there).
    const before = ledger.parents[claimed]![0] ?? null;
    const ledgerRevision = before === null ? null : ledger.commits[before]!.commit;
    const item = { execution, revision, before, ledgerRevision, key: keyString(execution) };
    const last = groups[groups.length - 1]?.[0];
    if (last !== undefined && last.revision === revision && last.ledgerRevision === ledgerRevision)
      groups[groups.length - 1]!.push(item);
    else groups.push([item]);
  }
  // Seeded with the tip's validated files: a file a revision shares with the tip (same path, blob
  // and provenance) is validated once, not once per run that reads it (a local copy, so what the
  // runs' revisions add is dropped with the audit).
  const manifestCache: ManifestCache = new Map(input.cache.manifests);
  // Only the files that ever held a document of a group's keys (or a provider or the policy) are
  // read at its revision: the rest of the tree cannot change what is decided for the keys. Where
  // they are at every group's revision is asked in a few requests up front, not one per group.
  const keyPathsOf = (group: readonly Item[]): string[] =>
    [...new Set(group.flatMap((item) => pathsOf(item.execution)))].sort(compareStrings);
  const located = await readObjectsInChunks(
    reader,
    groups.flatMap((group) => keyPathsOf(group).map((path) => `${group[0]!.revision}:${path}`)),
  );
  const groupReader = withLocatedPaths(reader, located);
  if (groups.length > 0) {
    await prefetchBaseFiles(reader, {
      revision: input.revision,
      commits: candidateBases(input),
      cache: input.cache.history,
    });
  }
  for (const group of groups) {
    const { revision, before, ledgerRevision } = group[0]!;
    const keys = new Set(group.map((item) => item.key));
    const grouped = recordsOfKeysAt(ledger, before, keys);
    const keyPaths = keyPathsOf(group);
    const names = paths.namesOf(group.map((item) => item.execution));
    const manifests = await readManifests(groupReader, revision, {
      records: closureTargets,
      history: input.cache.history,
      cache: manifestCache,
      paths: keyPaths,
      selectDocuments: (_path, documents) => documentsNamed(documents, names),
    });
    // Only the executions' keys are decided here: the gate facts and the retry plan are computed
    // over the keys' own documents (AuditDelivery, approvals and acknowledgements), so each
    // execution costs what its key holds, not what the whole revision holds (the plan's
    // decisions for one key never depend on another key's documents or records).
    const gate = await readGateFacts(reader, {
      revision,
      ledgerRevision,
      manifests: scopeManifestsToKeys(
        manifests.manifests,
        group.map((item) => item.execution),
      ),
      cache: input.cache.history,
      ...(prefetch !== undefined && prefetch.length > 0 ? { prefetchSignatures: prefetch } : {}),
    });
    prefetch = undefined;
    for (const { execution, key } of group) {
      input.progress('recomputing the gate', done++, executions.length);
      const scoped = scopeManifestsToKeys(manifests.manifests, [execution]);
      const records: RecordSet = {
        ...grouped,
        deliveries: grouped.deliveries.filter((record) => keyString(record) === key),
        executions: grouped.executions.filter((record) => keyString(record) === key),
      };
      const plan = {
        retry: planRetryWork({
          revision,
          manifests: scoped,
          policy: scoped.policy?.spec ?? DEFAULT_POLICY_SPEC,
          gateFacts: gate,
          records,
          now: new Date(execution.executed_at),
          leaseMinutes: 10,
          notReady: new Set(),
        }),
      };
      if (plan.retry.executions.some((call) => call.claimId === execution.execution_id)) continue;
      const decision = plan.retry.decisions.find((candidate) => keyString(candidate.key) === key);
      const reason = decision
        ? `${decision.reason}${(decision as { message?: string }).message ? `: ${(decision as { message?: string }).message}` : ''}`
        : 'no retry decision for its key';
      findings.push({
        rule: 'verify.approval-not-allowed',
        file: safePath('executions', execution.execution_id, execution.executed_at),
        commit: addedAt('executions', execution.execution_id, execution.executed_at),
        message: `the gate recomputed at source revision ${short(revision)} (ledger ${ledgerRevision ? short(ledgerRevision) : 'empty'}) at ${execution.executed_at} does not execute ${execution.execution_id} (${reason}); the execution was not authorised as recorded.`,
      });
    }
  }
  return findings;
}

/**
 * Every commit that can be the base of an approval (docs/reference.md §4): a revision a record
 * names, or the first parent of a commit that put a RetryApproval in place. A base outside them
 * (a revision only a deleted record named) is still read, by the gate facts' own request.
 */
function candidateBases(input: RecomputeInput): string[] {
  const bases = new Set<string>();
  const { records } = input.snapshot;
  for (const list of [
    records.deliveries,
    records.executions,
    records.playbooks,
    records.closures,
    records.runs,
  ]) {
    for (const record of list as readonly { source_revision?: unknown }[]) {
      if (typeof record.source_revision === 'string') bases.add(record.source_revision);
    }
  }
  const documents = input.cache.history.documents;
  for (const commit of input.history.index.commits) {
    const parent = commit.parents[0];
    if (parent === undefined) continue;
    if (commit.changes.some((change) => documents.get(change.blob)?.some((d) => d.kind === 'RetryApproval')))
      bases.add(parent);
  }
  return [...bases];
}

/** `readObjects` sizes only (no content) of many names, a few thousand per request. */
async function readObjectsInChunks(
  reader: GitReader,
  names: readonly string[],
): Promise<Map<string, StoredObject | null>> {
  const result = new Map<string, StoredObject | null>();
  const unique = [...new Set(names)];
  for (let start = 0; start < unique.length; start += 2000) {
    const objects = await reader.readObjects(unique.slice(start, start + 2000), { maxBytes: 0 });
    for (const [name, object] of objects) result.set(name, object);
  }
  return result;
}

/**
 * `reader`, with the size-only lookups (`readObjects`, maxBytes 0) of names in `located`
 * answered from it (what the same request gave up front); everything else goes to git.
 */
function withLocatedPaths(reader: GitReader, located: ReadonlyMap<string, StoredObject | null>): GitReader {
  return withReadObjects(reader, (names, options) => {
    if (options?.maxBytes !== 0 || !names.every((name) => located.has(name)))
      return reader.readObjects(names, options);
    return Promise.resolve(new Map(names.map((name) => [name, located.get(name) ?? null])));
  });
}

/** An approval (by name) carried by more than one execution. */
async function checkReuse(
  reader: GitReader,
  input: RecomputeInput,
  addedAt: (kind: 'executions', id: string, at: string) => string,
): Promise<AuditFinding[]> {
  const facts = await readPlanFacts(reader, input.snapshot);
  const byId = new Map(
    input.snapshot.records.executions.map((execution) => [execution.execution_id, execution]),
  );
  const findings: AuditFinding[] = [];
  for (const [name, ids] of facts.gate.consumed.approvals) {
    const present = ids.filter((id) => byId.has(id));
    if (present.length < 2) continue;
    for (const id of present.slice(1)) {
      const execution = byId.get(id)!;
      findings.push({
        rule: 'verify.approval-reused',
        file: safePath('executions', id, execution.executed_at),
        commit: addedAt('executions', id, execution.executed_at),
        message: `RetryApproval ${name} is carried by ${present.length} executions (${present.join(', ')}); one approval authorises one execution, for good.`,
      });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Orphans
// ---------------------------------------------------------------------------------------------

function checkDeliveries(
  input: RecomputeInput,
  tracked: Ancestry,
  addedAt: (kind: 'deliveries', id: string, at: string) => string,
): AuditFinding[] {
  // AuditDelivery name → commits (positions) that listed a blob holding one of that name.
  const holders = new Map<string, number[]>();
  for (const [identity, positions] of input.history.manifests.holders) {
    if (!identity.startsWith('AuditDelivery\u0000')) continue;
    const name = identity.split('\u0000')[1]!;
    holders.set(name, [...(holders.get(name) ?? []), ...positions]);
  }
  const { commits } = input.history.index;
  const findings: AuditFinding[] = [];
  const verdicts = new Map<string, boolean>();
  for (const delivery of input.snapshot.records.deliveries) {
    const revision = delivery.source_revision;
    if (!tracked.has(revision)) continue; // history-rewritten says it
    const cacheKey = `${delivery.delivery_id}\n${revision}`;
    let known = verdicts.get(cacheKey);
    if (known === undefined) {
      known = (holders.get(delivery.delivery_id) ?? []).some((position) =>
        tracked.isAncestor(commits[position]!.commit, revision),
      );
      verdicts.set(cacheKey, known);
    }
    if (known) continue;
    findings.push({
      rule: 'verify.orphan-record',
      file: safePath('deliveries', delivery.record_id, delivery.attempted_at),
      commit: addedAt('deliveries', delivery.record_id, delivery.attempted_at),
      message: `delivery ${delivery.record_id} names AuditDelivery ${delivery.delivery_id}, which no commit up to its source revision ${short(revision)} holds; a delivery is made only for a committed AuditDelivery.`,
    });
  }
  return findings;
}

async function checkClosures(
  reader: GitReader,
  input: RecomputeInput,
  addedAt: (kind: 'closures', id: string, at: string) => string,
): Promise<AuditFinding[]> {
  const { closures } = input.snapshot.records;
  if (closures.length === 0) return [];
  const ids = collectRecordIds(input.snapshot.records);
  const playbooks = new Map(
    input.snapshot.records.playbooks.map((playbook) => [playbook.playbook_id, playbook]),
  );
  const names = closures
    .filter(
      (closure) => isCommit(closure.source?.commit ?? '') && isObjectPath(closure.source?.manifest ?? ''),
    )
    .map((closure) => `${closure.source.commit}:${closure.source.manifest}`);
  const objects =
    names.length === 0
      ? new Map<string, StoredObject | null>()
      : await reader.readObjects([...new Set(names)], { maxBytes: 0 });
  await readManifestDocuments(
    reader,
    input.cache.history,
    closures
      .filter((closure) => isCommit(closure.source?.blob ?? ''))
      .map((closure) => ({
        blob: closure.source.blob,
        path: closure.source.manifest || 'manifests/unknown.yaml',
      })),
    resolveLimits(),
  );
  const findings: AuditFinding[] = [];
  for (const closure of closures) {
    const problems = closureProblems(closure, objects, input, ids, playbooks);
    for (const problem of problems) {
      findings.push({
        rule: 'verify.orphan-record',
        file: safePath('closures', closure.closure_id, closure.recorded_at),
        commit: addedAt('closures', closure.closure_id, closure.recorded_at),
        message: `closure ${closure.closure_id}: ${problem}.`,
      });
    }
  }
  return findings;
}

function closureProblems(
  closure: ClosureRecord,
  objects: ReadonlyMap<string, { id: string } | null>,
  input: RecomputeInput,
  ids: ReadonlySet<string>,
  playbooks: ReadonlyMap<string, PlaybookRecord>,
): string[] {
  const problems: string[] = [];
  const playbook = playbooks.get(closure.playbook_id);
  if (playbook === undefined) problems.push(`its playbook ${closure.playbook_id} is no record of the ledger`);
  else if (!playbook.provider_playbooks.some((row) => row.provider === closure.provider)) {
    problems.push(`its playbook ${closure.playbook_id} has no row for provider ${closure.provider}`);
  }
  for (const ref of closure.verification_refs) {
    if (!ids.has(ref)) problems.push(`its verification ref ${ref} is no record of the ledger`);
  }
  const source = closure.source;
  const object = source ? objects.get(`${source.commit}:${source.manifest}`) : undefined;
  if (!source || !object || object.id !== source.blob) {
    problems.push(
      `its RecoveryClosure is not at ${source?.manifest ?? 'its manifest'} in its source commit ${short(source?.commit ?? '')}`,
    );
    return problems;
  }
  const documents = input.cache.history.documents.get(source.blob) ?? [];
  const manifest = documents.find((document) => {
    if (document.kind !== 'RecoveryClosure') return false;
    if (source.name !== undefined && document.name !== source.name) return false;
    const spec = document.value?.spec as Record<string, unknown> | undefined;
    return spec?.playbook_id === closure.playbook_id && spec?.provider === closure.provider;
  });
  if (manifest === undefined) {
    problems.push(
      `${source.manifest} at ${short(source.commit)} holds no RecoveryClosure for ${closure.playbook_id}/${closure.provider}`,
    );
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Playbooks and the report
// ---------------------------------------------------------------------------------------------

/**
 * Each playbook recomputed by planPlaybooks over the failures as they stood when it was generated:
 * the records of the commit that added it (it was generated there, after that commit's outcomes),
 * or of a commit before it in its run (it was planned at the run's start).
 */
async function checkPlaybooks(
  reader: GitReader,
  input: RecomputeInput,
  ledger: LedgerIndex,
  paths: KeyPaths,
): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  // A playbook is planned from the providers and the policy alone: only their files are read at
  // its revision (a full read at every playbook's revision would cost playbooks × files).
  const manifestCache: ManifestCache = new Map(input.cache.manifests);
  // In ledger order, so the records at each playbook's commit come from the previous one's.
  const positionOf = (playbook: PlaybookRecord): number => {
    const commit = ledger.commitOfPath.get(
      safePath('playbooks', playbook.playbook_id, playbook.generated_at),
    );
    return commit === undefined ? -1 : (ledger.position.get(commit) ?? -1);
  };
  const playbooks = [...input.snapshot.records.playbooks].sort((a, b) => positionOf(a) - positionOf(b));
  const inputs = indexPlaybookInputs(ledger);
  // The records at a position but `own`, as planPlaybooks at `now` reads them.
  const recordsBefore = (
    position: number,
    own: ReadonlySet<string>,
    window: { from: number; to: number },
  ): RecordSet =>
    recordsForPlaybooks(ledger, inputs, position, own, window) ??
    recordsAt(ledger, position, (key) => !own.has(key));
  for (const playbook of playbooks) {
    const path = safePath('playbooks', playbook.playbook_id, playbook.generated_at);
    const commit = ledger.commitOfPath.get(path);
    const position = commit === undefined ? undefined : ledger.position.get(commit);
    if (position === undefined) continue; // added before a --since baseline
    const revision = playbook.source_revision;
    if (!isCommit(revision) || !input.history.index.byId.has(revision)) continue;
    const manifests = (
      await readManifests(reader, revision, {
        history: input.cache.history,
        cache: manifestCache,
        paths: paths.shared,
      })
    ).manifests;
    const policy = manifests.policy?.spec ?? DEFAULT_POLICY_SPEC;
    const expected = canonicalJson(playbook);
    // A playbook written before format v2 recomputes as v1.
    const version = Object.hasOwn(playbook, 'schema') ? 2 : 1;
    const window = lookbackWindow(policy.recovery, Date.parse(playbook.generated_at));
    const recomputes = (records: RecordSet): boolean =>
      planPlaybooks({
        providers: manifests.providers,
        policy,
        records,
        now: new Date(playbook.generated_at),
        revision,
        generatedBy: playbook.generated_by,
      }).some((candidate) => canonicalJson(playbookAtVersion(candidate, version)) === expected);
    // The playbooks of its own commit (it, and any generated with it) are not their own input.
    const own = new Set(ledger.added[position]!.filter((key) => key.includes(':records/playbooks/')));
    let ok = recomputes(recordsBefore(position, own, window));
    // Planned at the run's start: the records before one of its run's earlier reconciler commits.
    for (
      let at: number | undefined = ledger.parents[position]![0], steps = 0;
      !ok && at !== undefined && steps < 64;
      steps++
    ) {
      ok = recomputes(recordsBefore(at, new Set(), window));
      if (ledger.commits[at]!.replica === '') break;
      at = ledger.parents[at]![0];
    }
    if (ok) continue;
    findings.push({
      rule: 'verify.playbook-mismatch',
      file: path,
      commit: commit!,
      message: `playbook ${playbook.playbook_id} does not recompute from the failures recorded before it (providers and policy at ${short(revision)}, generated_at ${playbook.generated_at}); it was not generated by the reconciler as recorded.`,
    });
  }
  return findings;
}

/**
 * The records of a ledger index as planPlaybooks reads them, found by time: the deliveries and
 * executions in order of the time planPlaybooks counts a failure at, the deliveries that carry
 * each execution's id, the playbooks and closures, and the positions that added each.
 */
interface PlaybookInputs {
  timed: { at: number; key: string }[];
  deliveriesOf: Map<string, string[]>;
  others: string[];
  positions: ReadonlyMap<string, number[]>;
  /** `kind/id` of records more than one file holds (which copy counts depends on paths). */
  duplicated: Set<string>;
}

function indexPlaybookInputs(index: LedgerIndex): PlaybookInputs {
  const positions = positionsOfKeys(index);
  const inputs: PlaybookInputs = {
    timed: [],
    deliveriesOf: new Map(),
    others: [],
    positions,
    duplicated: new Set(),
  };
  const files = new Set<string>();
  for (const key of positions.keys()) {
    const outcome = index.outcomes.get(key);
    if (
      outcome === undefined ||
      outcome.kind === null ||
      outcome.kind === 'claims' ||
      outcome.kind === 'runs'
    )
      continue;
    const identity = `${outcome.kind}/${outcome.id}`;
    if (files.has(identity)) inputs.duplicated.add(identity);
    files.add(identity);
    if (outcome.kind === 'deliveries') {
      const delivery = outcome.record as unknown as DeliveryRecord;
      inputs.timed.push({ at: timeOf(deliveryFailureTime(delivery)), key });
      if (delivery.execution_id !== '') {
        const list = inputs.deliveriesOf.get(delivery.execution_id);
        if (list === undefined) inputs.deliveriesOf.set(delivery.execution_id, [key]);
        else list.push(key);
      }
    } else if (outcome.kind === 'executions') {
      inputs.timed.push({ at: timeOf((outcome.record as unknown as ExecutionRecord).executed_at), key });
    } else inputs.others.push(key);
  }
  inputs.timed.sort((a, b) => a.at - b.at);
  return inputs;
}

/**
 * The records at a position of the walk but `own` (see {@link recordsAt}) that planPlaybooks can
 * count within `window` (its `lookbackWindow`): every playbook and closure, the deliveries and
 * executions whose failure time is within it, and the deliveries that carry those executions'
 * ids. planPlaybooks counts only failures within its lookback window, so it decides
 * the same from these as from every record, at the cost of what the window holds, not of the
 * ledger. Null when one of them is a record more than one file holds (read them all then).
 */
function recordsForPlaybooks(
  index: LedgerIndex,
  inputs: PlaybookInputs,
  position: number,
  own: ReadonlySet<string>,
  window: { from: number; to: number },
): RecordSet | null {
  const marks = ancestorMarksAt(index, position);
  const keys = new Set<string>();
  const take = (key: string): void => {
    if (!own.has(key) && (inputs.positions.get(key) ?? []).some((at) => at === -1 || marks[at] === 1))
      keys.add(key);
  };
  for (
    let i = lowerBound(inputs.timed, (item) => item.at < window.from);
    i < inputs.timed.length && inputs.timed[i]!.at <= window.to;
    i++
  )
    take(inputs.timed[i]!.key);
  for (const key of [...keys]) {
    const outcome = index.outcomes.get(key)!;
    if (outcome.kind === 'executions')
      for (const delivery of inputs.deliveriesOf.get(outcome.id) ?? []) take(delivery);
  }
  for (const key of inputs.others) take(key);
  const outcomes: ParsedRecordFile[] = [];
  for (const key of keys) {
    const outcome = index.outcomes.get(key)!;
    if (outcome.kind === null || inputs.duplicated.has(`${outcome.kind}/${outcome.id}`)) return null;
    outcomes.push(outcome);
  }
  return assembleRecords(outcomes).records;
}

/** The committed report, recomputed from the tip's records with its own time, author and SLO. */
async function checkReport(
  reader: GitReader,
  input: RecomputeInput,
  commit: string,
): Promise<AuditFinding[]> {
  const blob = input.tipFiles.get(REPORT_JSON_PATH);
  if (blob === undefined) return [];
  const content = (await reader.readBlobs([blob])).get(blob)?.toString('utf8') ?? '';
  let committed: ReportEnvelope;
  try {
    committed = JSON.parse(content) as ReportEnvelope;
  } catch {
    return [reportFinding(input, commit, 'is not JSON')];
  }
  const report = committed?.report as Partial<ReportEnvelope['report']> | undefined;
  if (
    report === undefined ||
    typeof report.generated_at !== 'string' ||
    typeof report.generated_by !== 'string' ||
    typeof report.recovery_slo_minutes !== 'number' ||
    typeof report.revision !== 'string' ||
    Number.isNaN(Date.parse(report.generated_at))
  ) {
    return [
      reportFinding(input, commit, 'lacks its generated_at, generated_by, recovery_slo_minutes or revision'),
    ];
  }
  const recomputed = computeRetryRecoveryReport(input.snapshot.records, {
    sloMinutes: report.recovery_slo_minutes,
    generatedBy: report.generated_by,
    now: new Date(report.generated_at),
    revision: report.revision,
  });
  // A report committed before format v2 has no metadata.schema: it recomputes as v1.
  const version = Object.hasOwn(committed.metadata ?? {}, 'schema') ? 2 : 1;
  if (`${JSON.stringify(reportAtVersion(recomputed, version), null, 2)}\n` === content) return [];
  return [
    reportFinding(
      input,
      commit,
      `does not recompute byte-identical from the ${countRecords(input.snapshot.records)} records at ${short(input.ledgerRevision)} (generated_at ${report.generated_at}, generated_by ${report.generated_by}, SLO ${report.recovery_slo_minutes} minutes)`,
    ),
  ];
}

function reportFinding(input: RecomputeInput, commit: string, what: string): AuditFinding {
  return {
    rule: 'verify.report-mismatch',
    file: REPORT_JSON_PATH,
    commit,
    message: `the committed report ${what}; a reconciler writes it from the records, so it was edited or is stale: restore it (git revert) and let the reconciler rewrite it.`,
  };
}

function countRecords(records: RecordSet): number {
  return (
    records.deliveries.length +
    records.executions.length +
    records.playbooks.length +
    records.closures.length +
    records.runs.length
  );
}

function isCommit(value: string): boolean {
  return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(value);
}

/** A repository-relative path usable in a `<commit>:<path>` name. */
function isObjectPath(path: string): boolean {
  return path !== '' && !path.startsWith('/') && !path.startsWith('-') && !/[\n\0]/.test(path);
}
