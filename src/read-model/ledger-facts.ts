/**
 * The ledger's whole history, from the walk: every record ever added under `records/` (also ones
 * deleted later), the revisions reconcilers recorded, and what has been consumed (docs/reference.md
 * §4: one approval one execution for good; a closure recorded at most once).
 *
 * Records name the manifest blob they came from but not the document's name, so the name is
 * found in that blob: the document whose recomputed id (decision id, closure id) equals the
 * record's, or else every document of that kind in the blob for the same key.
 */
import type { GitReader } from '../domain/ports.js';
import { closureIdOf } from '../domain/closures.js';
import { compareStrings } from '../domain/recovery-state.js';
import type { Manifest, ManifestKind, RecoveryClosure, RetryApproval } from '../domain/types.js';
import type { ConsumptionFacts } from '../domain/gate-facts.js';
import { ConsumedNames } from './consumed-names.js';
import type { DocumentSummary } from '../manifests/document-identity.js';
import type { YamlLimits } from '../manifests/limits.js';
import { normalizeManifest } from '../manifests/normalize.js';
import { approvalDecisionId } from '../domain/ids.js';
import { MAX_RECORD_BYTES } from '../records/read-records.js';
import { validateDocument } from '../schemas/index.js';
import { readManifestDocuments } from './document-provenance.js';
import { commitInfoAt, type BranchHistory, type HistoryCache } from './history-cache.js';
import type { IndexedCommit } from './history-index.js';
import {
  recordKindOf,
  summarizeRecord,
  summarizeRecordValue,
  type ManifestEvidence,
  type RecordSummary,
} from './record-summary.js';

const READ_CHUNK = 2000;

/**
 * Fold the ledger branch's walked commits not folded yet: read and summarise each record blob of
 * a kind the gate reads that they add (once, cached by kind and blob). What each commit then adds
 * to the gate's facts is {@link visitLedgerFacts} over those summaries.
 */
export async function foldLedgerHistory(
  reader: GitReader,
  cache: HistoryCache,
  branch: BranchHistory,
): Promise<void> {
  const { commits } = branch.index;
  const ledger = branch.ledger;
  if (ledger.done >= commits.length) return;
  const pending = commits.slice(ledger.done);
  const toRead = new Map<string, { kind: string; blob: string }>();
  for (const commit of pending) {
    for (const change of commit.changes) {
      const kind = recordChangeKind(change);
      if (kind === null) continue;
      const key = `${kind}:${change.blob}`;
      if (!cache.records.has(key)) toRead.set(key, { kind, blob: change.blob });
    }
  }
  const wanted = [...toRead];
  for (let start = 0; start < wanted.length; start += READ_CHUNK) {
    const chunk = wanted.slice(start, start + READ_CHUNK);
    const objects = await reader.readObjects([...new Set(chunk.map(([, item]) => item.blob))], {
      maxBytes: MAX_RECORD_BYTES,
    });
    for (const [key, item] of chunk) {
      const content = objects.get(item.blob)?.content ?? null;
      cache.records.set(key, content === null ? null : summarizeRecord(item.kind, content));
    }
  }
  ledger.done = commits.length;
}

/** What a ledger commit adds to the gate's facts: an execution or closure record (by blob), a recorded revision. */
export type LedgerFact = 'execution' | 'closure' | 'recorded';

/**
 * The gate's facts one folded ledger commit adds, from the record summaries the fold read (see
 * {@link foldLedgerHistory}): its execution and closure records, and the `source_revision`s of
 * its records when it is a reconciler commit (replica trailer). A record an operator commits does
 * not make a revision "recorded": the base of a change must be what a reconciler saw.
 */
export function visitLedgerFacts(
  cache: HistoryCache,
  commit: IndexedCommit,
  visit: (fact: LedgerFact, key: string) => void,
): void {
  for (const change of commit.changes) {
    const kind = recordChangeKind(change);
    if (kind === null) continue;
    const summary: RecordSummary | null = cache.records.get(`${kind}:${change.blob}`) ?? null;
    if (summary === null) continue;
    if (summary.execution !== null) visit('execution', change.blob);
    if (summary.closure !== null) visit('closure', change.blob);
    if (commit.replica !== '' && summary.sourceRevision !== '') visit('recorded', summary.sourceRevision);
  }
}

/**
 * Note the summary of a record blob another read parsed (the snapshot parses every record at the
 * tip), so the fold finds it and does not read and parse the blob again.
 */
export function noteParsedRecord(cache: HistoryCache, kind: string, blob: string, record: unknown): void {
  if (GATE_RECORD_KINDS.has(kind)) cache.records.set(`${kind}:${blob}`, summarizeRecordValue(kind, record));
}

/**
 * Record kinds the gate reads: executions and closures (consumption), runs and claims (the
 * revisions a reconciler read: every run that records anything adds its run record, and claims
 * before it). Delivery and playbook records add nothing here, so their blobs are not read; a
 * revision missed that way could only make a base older, i.e. stricter.
 */
const GATE_RECORD_KINDS: ReadonlySet<string> = new Set(['executions', 'closures', 'runs', 'claims']);

function recordChangeKind(change: {
  path: string;
  blob: string;
  mode: string;
  status: string;
}): string | null {
  if (change.blob === '' || (change.mode !== '100644' && change.mode !== '100755')) return null;
  const kind = recordKindOf(change.path);
  return kind !== null && GATE_RECORD_KINDS.has(kind) ? kind : null;
}

/**
 * What the ledger has consumed — RetryApproval name → execution ids, RecoveryClosure name →
 * closure ids — tallied record by record, so a reader that moves along the ledger (verify, one
 * run after another) adds only the records since its last position instead of recounting from
 * the root. Names and ids are kept sorted (compareStrings) and each id list is replaced, never
 * changed, when it grows, so facts handed out earlier stay as they were.
 *
 * Which name a record consumes depends on the tracked branch's walk (an id recomputed at the
 * evidence commit) and the YAML limits the blobs were parsed with: the tally is only extended
 * while both are as they were (see {@link isTallyFor}).
 */
export interface ConsumptionTally {
  tracked: BranchHistory;
  commits: number;
  limitsKey: string;
  approvals: ConsumedNames;
  closures: ConsumedNames;
}

export function createConsumptionTally(cache: HistoryCache, tracked: BranchHistory): ConsumptionTally {
  return {
    tracked,
    commits: tracked.index.commits.length,
    limitsKey: cache.limitsKey,
    approvals: new ConsumedNames(),
    closures: new ConsumedNames(),
  };
}

/** Whether `tally` was counted against this tracked walk and these parses (else start a new one). */
export function isTallyFor(tally: ConsumptionTally, cache: HistoryCache, tracked: BranchHistory): boolean {
  return (
    tally.tracked === tracked &&
    tally.commits === tracked.index.commits.length &&
    tally.limitsKey === cache.limitsKey
  );
}

/**
 * Add execution and closure record blobs (as the ledger's commits added them; a blob given twice
 * counts once, as a set of ids does) to the tally. Reads (once, cached) the manifest blobs the
 * records name.
 */
export async function tallyConsumption(
  reader: GitReader,
  cache: HistoryCache,
  tally: ConsumptionTally,
  added: { executions: readonly string[]; closures: readonly string[] },
  limits: YamlLimits,
): Promise<void> {
  const executions = summariesOf(cache, 'executions', added.executions);
  const closureRecords = summariesOf(cache, 'closures', added.closures);
  if (executions.length === 0 && closureRecords.length === 0) return;
  const tracked = tally.tracked;
  const blobs = new Map<string, string>();
  for (const summary of executions) {
    for (const evidence of summary.execution!.evidence) blobs.set(evidence.blob, evidence.manifest);
  }
  for (const summary of closureRecords)
    blobs.set(summary.closure!.source.blob, summary.closure!.source.manifest);
  await readManifestDocuments(
    reader,
    cache,
    [...blobs].map(([blob, path]) => ({ blob, path: path === '' ? 'manifests/unknown.yaml' : path })),
    limits,
  );
  for (const summary of executions) {
    const execution = summary.execution!;
    for (const evidence of execution.evidence) {
      const names = matchDocuments(
        cache,
        tracked,
        'RetryApproval',
        evidence,
        execution.approvalDecisionId,
        (spec) => spec.delivery === execution.key.delivery_id && spec.provider === execution.key.provider,
      );
      for (const name of names) tally.approvals.add(name, execution.executionId);
    }
  }
  for (const summary of closureRecords) {
    const closure = summary.closure!;
    const names = matchDocuments(
      cache,
      tracked,
      'RecoveryClosure',
      closure.source,
      closure.closureId,
      (spec) => spec.playbook_id === closure.playbookId && spec.provider === closure.provider,
    );
    for (const name of names) tally.closures.add(name, closure.closureId);
  }
}

/** The consumption the tally holds now, names and ids in compareStrings order (later tallies do not change it). */
export function consumptionOf(tally: ConsumptionTally): ConsumptionFacts {
  return { approvals: tally.approvals.view(), closures: tally.closures.view() };
}

function summariesOf(cache: HistoryCache, kind: string, blobs: readonly string[]): RecordSummary[] {
  const result: RecordSummary[] = [];
  for (const blob of blobs) {
    const summary = cache.records.get(`${kind}:${blob}`);
    if (summary) result.push(summary);
  }
  return result;
}

/**
 * Names of the documents of `kind` in the evidence blob that a record stands for. Candidates are
 * those for the record's key (`sameKey` on the written spec); with more than one, the one whose id
 * recomputed as it was at the evidence commit equals the record's (`expectedId`) decides; when
 * none recomputes (an id scheme of an older version), every candidate counts as consumed.
 */
function matchDocuments(
  cache: HistoryCache,
  tracked: BranchHistory,
  kind: Extract<ManifestKind, 'RetryApproval' | 'RecoveryClosure'>,
  evidence: ManifestEvidence,
  expectedId: string,
  sameKey: (spec: Record<string, unknown>) => boolean,
): string[] {
  const documents = (cache.documents.get(evidence.blob) ?? []).filter((document) => document.kind === kind);
  const candidates = documents.filter((document) => sameKey(specOf(document)));
  if (candidates.length === 1) return [candidates[0]!.name];
  const pool = candidates.length > 0 ? candidates : documents;
  const matching = pool.filter((document) => recomputeId(tracked, kind, document, evidence) === expectedId);
  if (matching.length > 0) return unique(matching.map((document) => document.name));
  return unique(candidates.map((document) => document.name));
}

function specOf(document: DocumentSummary): Record<string, unknown> {
  const spec = document.value?.spec;
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec)
    ? (spec as Record<string, unknown>)
    : {};
}

function unique(names: string[]): string[] {
  return [...new Set(names)].sort(compareStrings);
}

/** The id the document had when the evidence commit introduced it; null when it cannot be recomputed. */
function recomputeId(
  tracked: BranchHistory,
  kind: 'RetryApproval' | 'RecoveryClosure',
  document: DocumentSummary,
  evidence: ManifestEvidence,
): string | null {
  const position = tracked.index.byId.get(evidence.commit);
  if (position === undefined || document.value === null) return null;
  if (validateDocument(kind, document.value).length > 0) return null;
  const manifest: Manifest = normalizeManifest(kind, document.value, {
    path: evidence.manifest,
    document: document.index,
    line: 1,
    column: 1,
    blob: evidence.blob,
    introduced: commitInfoAt(tracked, position),
  });
  return kind === 'RetryApproval'
    ? approvalDecisionId(manifest as RetryApproval)
    : closureIdOf(manifest as RecoveryClosure);
}
