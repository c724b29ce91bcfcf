/**
 * One committed revision as every command sees it: the valid manifests (with findings for the
 * rest) and every record. Manifests come from the tracked branch's commit; records from the same
 * commit, or from the ledger branch's commit when records live on a separate branch.
 */
import type { GitReader } from '../domain/ports.js';
import { emptyRecordSet, type Finding, type RecordSet } from '../domain/types.js';
import type { ManifestCache, ManifestLoadResult } from '../manifests/validate-manifests.js';
import { readManifests } from './read-manifests.js';
import { indexRecords, readRecords, type RecordCache } from '../records/read-records.js';
import { createHistoryCache, prefetchBranch, type HistoryCache } from './history-cache.js';
import { noteParsedRecord } from './ledger-facts.js';
import { objectPathOf } from './object-path.js';

export interface Snapshot {
  /** Commit the manifests were read from. */
  revision: string;
  /** Commit the records were read from (equal to `revision` without a ledger branch; '' for a new ledger). */
  ledgerRevision: string;
  manifests: ManifestLoadResult;
  records: RecordSet;
  /** Unreadable or tampered record files (a record is never silently dropped). */
  recordFindings: Finding[];
  /** The history walk the manifests were read with, so the gate facts reuse it (history is walked once). */
  history?: HistoryCache;
}

/** Parsed files kept between runs of one process, keyed by blob: only changed files are parsed. */
export interface SnapshotCache {
  manifests: ManifestCache;
  records: RecordCache;
  /** The history walk (provenance by content): later reads walk only the commits since the last tip. */
  history: HistoryCache;
}

export function createSnapshotCache(): SnapshotCache {
  return { manifests: new Map(), records: new Map(), history: createHistoryCache() };
}

export interface ReadSnapshotOptions {
  cache?: SnapshotCache;
  /**
   * Read records from this commit instead of `revision` (ledger branch); null when the ledger
   * branch does not exist yet, so there are no records.
   */
  ledgerRevision?: string | null;
  /** Told as record files are read (the CLI draws a progress bar on a terminal). */
  onProgress?: (done: number, total: number) => void;
}

/** Read manifests and records of a revision in batch, at the same time (see below). */
export async function readSnapshot(
  reader: GitReader,
  revision: string,
  options: ReadSnapshotOptions = {},
): Promise<Snapshot> {
  const ledgerRevision = options.ledgerRevision === undefined ? revision : options.ledgerRevision;
  const history = options.cache?.history ?? createHistoryCache();
  // git walks the history (for provenance) while the records are read and checked.
  prefetchBranch(reader, history, 'tracked', revision);
  const recordsRead =
    ledgerRevision === null
      ? Promise.resolve({ records: emptyRecordSet(), findings: [] })
      : readRecords(reader, ledgerRevision, {
          ...(options.cache ? { cache: options.cache.records } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          // The gate's ledger fold reads the same blobs (executions, runs...): it takes these.
          onParsed: (blob, outcome) => {
            if (outcome.kind !== null) noteParsedRecord(history, outcome.kind, blob, outcome.record);
          },
        });
  // The manifests are read and parsed while the records are; only their validation waits for the
  // records (closure rules check references against them).
  const targets = recordsRead.then((read) => indexRecords(read.records));
  targets.catch(() => {}); // a failed read of the records is reported by awaiting them below
  const [{ records, findings }, manifests] = await Promise.all([
    recordsRead,
    readManifests(reader, revision, {
      records: targets,
      history,
      ...(options.cache ? { cache: options.cache.manifests } : {}),
    }),
  ]);
  return {
    revision,
    ledgerRevision: ledgerRevision ?? '',
    manifests,
    records,
    recordFindings: findings,
    history,
  };
}

/**
 * One file of a commit, or null when it is absent, not a file or larger than `maxBytes` (checked
 * before reading): one request to the long-lived `cat-file --batch` (`<commit>:<path>`), so a run
 * that reads its report and status spawns no process for them; a path that cannot be named so is
 * looked up with one `ls-tree`.
 */
export async function readCommittedFile(
  reader: GitReader,
  commit: string,
  path: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Buffer | null> {
  const clean = objectPathOf(path);
  if (clean !== null) {
    const name = `${commit}:${clean}`;
    return (await reader.readObjects([name], { maxBytes })).get(name)?.content ?? null;
  }
  const entry = (await reader.listTree(commit, [path])).find((candidate) => candidate.path === path);
  if (entry === undefined || entry.size > maxBytes) return null;
  return (await reader.readBlobs([entry.blob])).get(entry.blob) ?? null;
}

/**
 * A committed JSON file, or null when it is absent, too large or not JSON: the report and status
 * files are ours to rewrite, and a broken one must never stop a run or the API.
 */
export async function readCommittedJson(
  reader: GitReader,
  commit: string,
  path: string,
  maxBytes?: number,
): Promise<unknown> {
  const content = await readCommittedFile(reader, commit, path, maxBytes);
  if (content === null) return null;
  try {
    return JSON.parse(content.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
