/**
 * readSnapshot with a progress bar over the records, for the read-only commands (report, verify).
 * readSnapshot itself takes no progress callback (the reconciler owns it); on a terminal the
 * records are read once with progress into a fresh snapshot cache, so readSnapshot's own read of
 * them is all cache hits (one more `ls-tree`). Without a terminal it is readSnapshot, unchanged.
 */
import type { GitReader } from '../domain/ports.js';
import { createSnapshotCache, readSnapshot, type Snapshot } from '../read-model/read-snapshot.js';
import { readRecords } from '../records/read-records.js';
import type { ProgressReporter } from './progress.js';

export async function readSnapshotWithProgress(
  reader: GitReader,
  revision: string,
  options: { ledgerRevision?: string },
  progress: ProgressReporter,
): Promise<Snapshot> {
  if (!progress.active) return readSnapshot(reader, revision, options);
  const cache = createSnapshotCache();
  await readRecords(reader, options.ledgerRevision ?? revision, {
    cache: cache.records,
    onProgress: progress.phase('reading records'),
  });
  return readSnapshot(reader, revision, { ...options, cache });
}
