/**
 * Moving to a ledger branch (docs/reference.md §6a): when `--ledger-branch` names a branch the
 * remote does not have yet and the tracked branch already holds records, the ledger branch is
 * created from them — one commit on top of the tracked tip that keeps `records/` and `reports/`
 * byte-identical and drops everything else — so every delivery and execution already recorded
 * stays recorded (nothing is delivered again), and the ledger's history still holds each record's
 * origin for the append-only check and `verify`. Pushed without force: when another replica seeded
 * it first, its seed is used.
 */
import type { Logger } from 'pino';
import type { ReconcilerStore } from '../domain/ports.js';
import { RECORDS_DIR } from '../records/layout.js';

export interface SeedLedgerOptions {
  branch: string;
  ledgerBranch: string;
  /** The tracked tip just fetched. */
  revision: string;
  /** False (`--no-push`): the seed stays a local commit. */
  push: boolean;
  time: Date;
  logger: Logger;
}

/** The new ledger tip, or null when the tracked branch holds no records (the ledger starts empty). */
export async function seedLedgerBranch(
  store: ReconcilerStore,
  options: SeedLedgerOptions,
): Promise<string | null> {
  const records = await store.listTree(options.revision, [RECORDS_DIR], { sizes: false });
  if (records.length === 0) return null;
  const files = await store.listTree(options.revision, [], { symlinks: true, sizes: false });
  const dropped = [...new Set(files.map((file) => file.path.split('/')[0]!))]
    .filter((name) => name !== 'records' && name !== 'reports')
    .sort();
  const commit = await store.createCommit(
    options.revision,
    { put: [], remove: dropped },
    `cavra-gitops: seed ledger branch ${options.ledgerBranch} from ${options.branch} at ${options.revision.slice(0, 12)} (${records.length} record files)`,
    { time: options.time },
  );
  if (!options.push) return commit;
  const pushed = await store.push(commit, options.ledgerBranch);
  if (pushed.status === 'rejected') return store.fetch(options.ledgerBranch);
  options.logger.info(
    { ledgerBranch: options.ledgerBranch, commit, records: records.length },
    'ledger branch seeded from the tracked branch’s records',
  );
  return commit;
}
