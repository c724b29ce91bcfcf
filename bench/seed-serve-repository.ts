/**
 * The ops repository the `serve` memory figure is measured over: a history written by the shared
 * generator (bench/generate-history.ts) whose reconciler commits hold about 100,000 records of
 * every kind the API serves, each with the product's own ids and hashes, so the server reads them
 * as its own (no record findings):
 *
 * - 16 webhook providers; every operator commit adds one AuditDelivery to all of them, and every
 *   third commit is a reconciler run recording attempt 1 of each new delivery per provider (a
 *   quarter of them failed) and a run record;
 * - RetryApprovals of failed deliveries (each an execution record and its attempt 2),
 *   RetryAcknowledgements, RecoveryClosures of the playbooks the runs plan.
 *
 * The records live on the tracked branch (no ledger branch), as in a single-branch ops repo.
 */
import { generateHistory, type GeneratedHistory } from './generate-history.js';

/** Commits for about `records` records with the shape above (≈ 33 records per 3 commits). */
export function commitsFor(records: number): number {
  return Math.max(30, Math.round((records / 33) * 3));
}

export function seedServeRepository(records: number): Promise<GeneratedHistory> {
  return generateHistory({
    commits: commitsFor(records),
    runEvery: 3,
    runOffset: 2,
    providers: 16,
    deliveryProviders: 'all',
    fails: (delivery, provider) => (delivery + provider) % 4 === 1,
    approvals: true,
    acks: true,
    closures: true,
  });
}
