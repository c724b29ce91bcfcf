/**
 * One reconcile run, exactly once across crashes and replicas (SPEC §6):
 *
 *   1. flush outcomes a previous, interrupted run journaled but did not push;
 *   2. read the tips, plan;
 *   3. commit claims for every call on top of the tip read, push without force — git's atomic
 *      ref update lets exactly one replica's claim land; a rejection means fetch and re-plan;
 *   4. call the connectors (the execution id is the idempotency key);
 *   5. journal the outcomes in the state dir, then commit them with the claims' removal (plus
 *      closures, playbooks, report, status) and push, rebuilding the commit on a newer tip when
 *      the push is rejected. Network failures keep the journal; the next run pushes it.
 *
 * Reconciler commits touch only records/ and reports/, and calls are planned only from manifests,
 * so a reconciler commit never causes an execution by itself.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, Connector, DeliveryOutcome, TreeChange } from '../domain/ports.js';
import {
  buildClaim,
  buildDeliveryRecord,
  buildExecutionRecord,
  buildUnknownDeliveryFromClaim,
  buildUnknownOutcome,
  type ExecutionOutcome,
} from '../domain/record-builders.js';
import type { PlannedCall } from '../domain/retry-plan.js';
import type { ReportEnvelope } from '../domain/report.js';
import type { ClaimRecord, IsoTime, Provider } from '../domain/types.js';
import { ConnectorError, GitError } from '../errors.js';
import type { CavraGitStore } from '../git/store.js';
import { runId as computeRunId } from '../records/ids.js';
import { claimPath, serializeRecord } from '../records/layout.js';
import { redactText } from '../redact.js';
import { clearJournal, readJournal, writeJournal } from './journal.js';
import {
  buildOutcomeChange,
  emptyPending,
  earliest,
  isEmptyChange,
  REPORT_JSON_PATH,
  type OutcomeChange,
  type PendingOutcomes,
} from './outcome-change.js';
import { planFromSnapshot, type ReconcilePlan } from './plan-reconcile.js';
import { readCommittedJson, readSnapshot, type Snapshot, type SnapshotCache } from './read-snapshot.js';
import { STATUS_PATH, type StatusDocument } from './status.js';

export interface ReconcilerMetrics {
  observeRun(seconds: number, outcome: RunOutcome): void;
  countExecution(status: string): void;
  countPushConflict(): void;
}

export interface Shard {
  index: number;
  count: number;
}

export interface ReconcilerOptions {
  store: CavraGitStore;
  branch: string;
  /** Records go to this branch instead of `branch` (forges that protect the tracked branch). */
  ledgerBranch: string | null;
  replicaId: string;
  clock: Clock;
  leaseMinutes: number;
  /** False (`--no-push`): commit locally only and make no connector call (claims cannot be published). */
  push: boolean;
  shard: Shard | null;
  /** Builds the connector of a provider; throws ConnectorError when it is misconfigured. */
  connectorFor: (provider: Provider) => Connector;
  logger: Logger;
  metrics?: ReconcilerMetrics;
  /** Parsed manifests and records kept between runs (the loop passes one for its lifetime). */
  cache?: SnapshotCache;
  /** Connector calls in flight at once. */
  concurrency?: number;
  /** Pushes tried per commit before giving up for this run (each rejection re-reads the tip). */
  maxPushAttempts?: number;
  /** Waits between rejected pushes; injected so tests never sleep. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type RunOutcome = 'ok' | 'noop' | 'failed';

export interface RunResult {
  outcome: RunOutcome;
  /** The tracked branch tip that was read. */
  revision: string | null;
  /** Commits this run pushed (or made locally with --no-push). */
  commits: string[];
  calls: number;
  delivered: number;
  failed: number;
  resent: number;
  unknown: number;
  /** When time alone will change the plan; the loop wakes then at the latest. */
  nextDueAt: IsoTime | null;
  message: string;
}

const DEFAULT_MAX_PUSH_ATTEMPTS = 8;
const DEFAULT_CONCURRENCY = 8;

/** Run one reconcile. Never throws for push races; throws GitError when the remote is unreachable. */
export async function reconcileOnce(options: ReconcilerOptions): Promise<RunResult> {
  const started = process.hrtime.bigint();
  const result = emptyRunResult();
  try {
    await flushJournal(options, result);
    await runPlanned(options, result);
    options.metrics?.observeRun(Number(process.hrtime.bigint() - started) / 1e9, result.outcome);
    return result;
  } catch (error) {
    options.metrics?.observeRun(Number(process.hrtime.bigint() - started) / 1e9, 'failed');
    throw error;
  }
}

/** The result of a run that did nothing (yet). */
export function emptyRunResult(): RunResult {
  return {
    outcome: 'noop',
    revision: null,
    commits: [],
    calls: 0,
    delivered: 0,
    failed: 0,
    resent: 0,
    unknown: 0,
    nextDueAt: null,
    message: 'nothing to do',
  };
}

interface Tips {
  revision: string;
  /** Where records are read and committed: the ledger tip, or `revision`; null for a new ledger. */
  ledger: string | null;
  targetBranch: string;
}

async function fetchTips(options: ReconcilerOptions): Promise<Tips> {
  const revision = await options.store.fetch(options.branch);
  if (revision === null) {
    throw new GitError(
      `branch ${options.branch} does not exist on ${options.store.remoteLabel}; push it first or pass --branch.`,
    );
  }
  if (options.ledgerBranch === null) return { revision, ledger: revision, targetBranch: options.branch };
  const ledger = await options.store.fetch(options.ledgerBranch);
  return { revision, ledger, targetBranch: options.ledgerBranch };
}

async function readTips(options: ReconcilerOptions, tips: Tips): Promise<Snapshot> {
  return readSnapshot(options.store, tips.revision, {
    ledgerRevision: tips.ledger,
    ...(options.cache ? { cache: options.cache } : {}),
  });
}

/** Outcomes of a run that crashed or lost its network after the calls: push them first. */
async function flushJournal(options: ReconcilerOptions, result: RunResult): Promise<void> {
  const pending = await readJournal(options.store.stateDir);
  if (!pending) return;
  options.logger.info({ claims: pending.claimIds.length }, 'pushing outcomes journaled by an earlier run');
  const now = options.clock.now();
  const commit = await commitOutcomes(options, pending, null, now, result);
  await clearJournal(options.store.stateDir);
  if (commit) result.outcome = 'ok';
}

async function runPlanned(options: ReconcilerOptions, result: RunResult): Promise<void> {
  const maxAttempts = options.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const tips = await fetchTips(options);
    const snapshot = await readTips(options, tips);
    const now = options.clock.now();
    const plan = await planFromSnapshot(options.store, snapshot, now, {
      leaseMinutes: options.leaseMinutes,
      ...(options.cache ? { policyCache: options.cache.policies } : {}),
    });
    result.revision = tips.revision;
    const calls = selectCalls(plan, options.shard);
    const unknown = unknownOutcomes(plan, options, now);

    if (calls.length === 0 || !options.push) {
      if (calls.length > 0) {
        options.logger.warn(
          { calls: calls.length },
          'connector calls need a pushed claim; skipped with --no-push',
        );
      }
      const commit = await commitOutcomes(options, unknown, plan, now, result, { tips, snapshot });
      // One unknown outcome per resolved claim (each writes a delivery and, for retries, an execution).
      result.unknown += unknown.claimIds.length;
      if (commit && result.outcome === 'noop') {
        result.outcome = 'ok';
        result.message = 'recorded what was due (no connector call)';
      }
      return;
    }

    const claimed = await pushClaims(options, tips, calls, plan, now);
    if (claimed === null) {
      options.metrics?.countPushConflict();
      await backoff(options, attempt);
      continue; // another replica moved the tip: fetch and re-plan
    }
    result.commits.push(claimed.commit);
    options.logger.info({ commit: claimed.commit, calls: calls.length }, 'claims pushed');

    const outcomes = await performCalls(options, calls, plan, now);
    const pending: PendingOutcomes = {
      deliveries: [...unknown.deliveries, ...outcomes.deliveries],
      executions: [...unknown.executions, ...outcomes.executions],
      claimIds: [...unknown.claimIds, ...outcomes.claimIds],
    };
    // Durable before the push: a crash or an unreachable remote now loses no outcome.
    await writeJournal(options.store.stateDir, pending);
    await commitOutcomes(
      options,
      pending,
      plan,
      options.clock.now(),
      result,
      afterClaims(tips, snapshot, claimed, options.ledgerBranch !== null),
    );
    await clearJournal(options.store.stateDir);
    result.calls += calls.length;
    result.unknown += unknown.claimIds.length;
    result.resent += calls.filter((c) =>
      plan.retry.expiredClaims.some((e) => e.claim.claim_id === c.claimId),
    ).length;
    for (const r of outcomes.deliveries) {
      if (r.delivery_success) result.delivered++;
      else result.failed++;
    }
    result.outcome = 'ok';
    result.message = `${calls.length} call(s): ${result.delivered} delivered, ${result.failed} failed`;
    return;
  }
  result.outcome = 'failed';
  result.message = `gave up after ${maxAttempts} rejected claim pushes; will retry next run`;
  options.logger.warn(result.message);
}

/** Calls of this run: initial deliveries, approved executions, re-sends of idempotent unknown outcomes. */
function selectCalls(plan: ReconcilePlan, shard: Shard | null): PlannedCall[] {
  const resends = plan.retry.expiredClaims.filter((e) => e.resend).map((e) => e.call);
  const all = [...plan.retry.deliveries, ...plan.retry.executions, ...resends];
  return all.filter((call) => takesCall(call.claimId, shard));
}

/** True when the work of `claimId` belongs to this replica's shard (always, without sharding). */
function takesCall(claimId: string, shard: Shard | null): boolean {
  if (shard === null) return true;
  return createHash('sha256').update(claimId).digest().readUInt32BE(0) % shard.count === shard.index;
}

/** Records for expired claims that must not be re-sent (non-idempotent) and orphaned claims. */
function unknownOutcomes(plan: ReconcilePlan, options: ReconcilerOptions, now: Date): PendingOutcomes {
  const pending = emptyPending();
  const common = {
    runId: computeRunId(plan.revision, now.toISOString(), options.replicaId),
    recordedAt: now.toISOString(),
    recordedBy: options.replicaId,
    revision: plan.revision,
  };
  for (const expired of plan.retry.expiredClaims) {
    if (expired.resend || !takesCall(expired.claim.claim_id, options.shard)) continue;
    const records = buildUnknownOutcome(expired, common);
    pending.deliveries.push(records.delivery);
    if (records.execution) pending.executions.push(records.execution);
    pending.claimIds.push(expired.claim.claim_id);
    options.logger.warn(
      { claim: expired.claim.claim_id },
      'claim lease expired without outcome; recorded as unknown, not re-sent',
    );
  }
  for (const claim of plan.retry.orphanedClaims) {
    if (!takesCall(claim.claim_id, options.shard)) continue;
    pending.deliveries.push(buildUnknownDeliveryFromClaim(claim, common));
    pending.claimIds.push(claim.claim_id);
  }
  return pending;
}

/** A claim commit that landed on the remote, with the claims it added. */
interface PushedClaims {
  commit: string;
  claims: ClaimRecord[];
}

/** Commit the claims on the tip read and push; null when the push was rejected (tip moved). */
async function pushClaims(
  options: ReconcilerOptions,
  tips: Tips,
  calls: PlannedCall[],
  plan: ReconcilePlan,
  now: Date,
): Promise<PushedClaims | null> {
  const claims = calls.map((call) =>
    buildClaim(call, {
      holder: options.replicaId,
      now,
      leaseMinutes: options.leaseMinutes,
      revision: plan.revision,
    }),
  );
  const change: TreeChange = {
    put: claims.map((claim) => ({ path: claimPath(claim.claim_id), content: serializeRecord(claim) })),
    remove: [],
  };
  const message = `cavra-gitops: claim ${calls.length} call(s) at ${plan.revision.slice(0, 12)}`;
  const commit = await options.store.createCommit(tips.ledger, change, message, { time: now });
  const pushed = await options.store.push(commit, tips.targetBranch);
  if (pushed.status === 'rejected') {
    options.logger.info({ reason: pushed.reason }, 'claim push rejected; re-planning on the new tip');
    return null;
  }
  return { commit, claims };
}

/**
 * The tips and snapshot right after our claim commit landed, derived instead of read again: the
 * claim commit changed nothing but the claims, so the outcome commit can be built on it directly
 * (a rejected outcome push still re-reads the real tip).
 */
function afterClaims(
  tips: Tips,
  snapshot: Snapshot,
  pushed: PushedClaims,
  separateLedger: boolean,
): { tips: Tips; snapshot: Snapshot } {
  const ours = new Set(pushed.claims.map((claim) => claim.claim_id));
  return {
    // Without a ledger branch the claim commit is also the new tracked tip.
    tips: { ...tips, ledger: pushed.commit, revision: separateLedger ? tips.revision : pushed.commit },
    snapshot: {
      ...snapshot,
      ledgerRevision: pushed.commit,
      records: {
        ...snapshot.records,
        claims: [...snapshot.records.claims.filter((claim) => !ours.has(claim.claim_id)), ...pushed.claims],
      },
    },
  };
}

async function performCalls(
  options: ReconcilerOptions,
  calls: PlannedCall[],
  plan: ReconcilePlan,
  now: Date,
): Promise<PendingOutcomes> {
  const out = emptyPending();
  const runId = computeRunId(plan.revision, now.toISOString(), options.replicaId);
  const results = await mapLimit(calls, options.concurrency ?? DEFAULT_CONCURRENCY, (call) =>
    callConnector(options, call, now),
  );
  calls.forEach((call, index) => {
    const { outcome, completedAt } = results[index]!;
    const common = { runId, revision: plan.revision };
    const deliveryOutcome =
      'skipped' in outcome ? { success: false, statusCode: null, error: outcome.skipped } : outcome;
    out.deliveries.push(
      buildDeliveryRecord(call, deliveryOutcome, { ...common, attemptedAt: now.toISOString(), completedAt }),
    );
    if (call.kind === 'execution') {
      const record = buildExecutionRecord(call, outcome, {
        ...common,
        executedAt: now.toISOString(),
        executedBy: options.replicaId,
      });
      out.executions.push(record);
      options.metrics?.countExecution(record.execution_status);
    }
    out.claimIds.push(call.claimId);
    options.logger.info(
      {
        claim: call.claimId,
        provider: call.key.provider,
        attempt: call.attempt,
        success: deliveryOutcome.success,
        status: deliveryOutcome.statusCode,
        error: deliveryOutcome.error || undefined,
      },
      call.kind === 'execution' ? 'retry executed' : 'delivered',
    );
  });
  return out;
}

async function callConnector(
  options: ReconcilerOptions,
  call: PlannedCall,
  now: Date,
): Promise<{ outcome: ExecutionOutcome; completedAt: IsoTime }> {
  let connector: Connector;
  try {
    connector = options.connectorFor(call.provider);
  } catch (error) {
    // A misconfiguration (ConnectorError) or a bug: either way the claim must end in a recorded
    // outcome, or the other calls of the batch would lose theirs with it.
    const reason =
      error instanceof ConnectorError
        ? error.message
        : `connector could not be built: ${redactText(error instanceof Error ? error.message : String(error))}`;
    return { outcome: { skipped: reason }, completedAt: now.toISOString() };
  }
  let outcome: DeliveryOutcome;
  try {
    outcome = await connector.deliver({
      idempotencyKey: call.idempotencyKey,
      deliveryId: call.key.delivery_id,
      auditId: call.key.audit_id,
      provider: call.key.provider,
      attempt: call.attempt,
      executionId: call.executionId,
      package: call.delivery.spec.package,
      at: now.toISOString(),
    });
  } catch (error) {
    // A connector bug must still end in a recorded outcome, never a lost claim.
    const message = error instanceof Error ? error.message : String(error);
    outcome = {
      success: false,
      statusCode: null,
      error: redactText(`connector error: ${message}`),
      retryable: true,
      attempts: 1,
    };
  }
  return { outcome, completedAt: options.clock.now().toISOString() };
}

/**
 * Commit outcomes (and whatever else is due) on the current tip; on a rejected push, rebuild the
 * commit on the new tip. Returns the commit, or null when nothing needed committing.
 */
async function commitOutcomes(
  options: ReconcilerOptions,
  pending: PendingOutcomes,
  plan: ReconcilePlan | null,
  now: Date,
  result: RunResult,
  first?: { tips: Tips; snapshot: Snapshot },
): Promise<string | null> {
  const maxAttempts = options.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS;
  let current = first;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const tips = current?.tips ?? (await fetchTips(options));
    const snapshot = current?.snapshot ?? (await readTips(options, tips));
    current = undefined;
    const outcome = await buildChange(options, snapshot, tips, pending, plan, now);
    result.nextDueAt = earliest(result.nextDueAt, outcome.nextDueAt);
    for (const id of outcome.superseded) {
      options.logger.warn(
        { claim: id },
        'claim no longer held on the remote (lease expired and resolved elsewhere); outcome not recorded twice',
      );
    }
    if (isEmptyChange(outcome.change)) return null;
    const message = describeChange(outcome, snapshot.revision);
    const commit = await options.store.createCommit(tips.ledger, outcome.change, message, { time: now });
    if (!options.push) {
      result.commits.push(commit);
      return commit;
    }
    const pushed = await options.store.push(commit, tips.targetBranch);
    if (pushed.status === 'pushed') {
      result.commits.push(commit);
      options.logger.info({ commit, ...outcome.counts }, 'records pushed');
      return commit;
    }
    options.metrics?.countPushConflict();
    options.logger.info({ reason: pushed.reason }, 'record push rejected; rebuilding on the new tip');
    await backoff(options, attempt);
  }
  throw new GitError(
    `records could not be pushed to ${options.store.remoteLabel} after ${maxAttempts} rejected attempts; they stay journaled in ${options.store.stateDir} and are pushed by the next run.`,
  );
}

async function buildChange(
  options: ReconcilerOptions,
  snapshot: Snapshot,
  tips: Tips,
  pending: PendingOutcomes,
  plan: ReconcilePlan | null,
  now: Date,
): Promise<OutcomeChange> {
  const [committedReport, committedStatus] = tips.ledger
    ? await Promise.all([
        readCommittedJson(options.store, tips.ledger, REPORT_JSON_PATH) as Promise<ReportEnvelope | null>,
        readCommittedJson(options.store, tips.ledger, STATUS_PATH) as Promise<StatusDocument | null>,
      ])
    : [null, null];
  return buildOutcomeChange({
    snapshot,
    pending,
    retryInput: plan ? { ...plan.retryInput, records: snapshot.records } : null,
    committedReport,
    committedStatus,
    now,
    replicaId: options.replicaId,
    runStartedAt: now.toISOString(),
    takesWork: (claimId) => options.push && takesCall(claimId, options.shard),
  });
}

function describeChange(outcome: OutcomeChange, revision: string): string {
  const parts = Object.entries(outcome.counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  const what = parts.length > 0 ? `record ${parts.join(', ')}` : 'update reports';
  return `cavra-gitops: ${what} for ${revision.slice(0, 12)}`;
}

async function backoff(options: ReconcilerOptions, attempt: number): Promise<void> {
  const random = options.random ?? Math.random;
  // Full jitter, capped: replicas that collided spread out instead of colliding again.
  const ms = Math.min(5_000, 100 * 2 ** (attempt - 1)) * random();
  await (options.sleep ?? ((t: number) => new Promise((resolve) => setTimeout(resolve, t))))(ms);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
