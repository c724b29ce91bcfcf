/**
 * One reconcile run, exactly once across crashes and replicas (docs/reference.md §6):
 *
 *   1. flush outcomes a previous, interrupted run journaled but did not push;
 *   2. read the tips, plan;
 *   3. commit claims for the calls on top of the tip read, push without force — git's atomic
 *      ref update lets exactly one replica's claim land; a rejection means fetch and re-plan;
 *   4. call the connectors (the execution id is the idempotency key), journaling each outcome in
 *      the state dir as the call returns;
 *   5. commit the outcomes with the claims' removal (plus closures, playbooks, report, status) and
 *      push, rebuilding the commit on a newer tip when the push is rejected. Network failures and
 *      kills keep the journal; the next run pushes it.
 *
 * Steps 3–5 run pipelined in batches (call-pipeline.ts): while one batch's calls run, the next
 * batch is claimed and an earlier batch's outcomes are committed, so git work overlaps the calls.
 *
 * Reconciler commits touch only records/ and reports/, and calls are planned only from manifests,
 * so a reconciler commit never causes an execution by itself.
 */
import type { Logger } from 'pino';
import { CONDITION_REASONS } from '../domain/conditions.js';
import type {
  Clock,
  Connector,
  CallOutcome,
  ReconcilerStore,
  TreeChange,
  WalkedChange,
} from '../domain/ports.js';
import {
  buildClaim,
  buildDeliveryRecord,
  buildExecutionRecord,
  type RunAcceptances,
} from '../domain/record-builders.js';
import { executionIdOf, idempotencyKeyOf, type PlannedCall, type RetryWork } from '../domain/retry-plan.js';
import type {
  ClaimRecord,
  DeliveryRecord,
  ExecutionRecord,
  IsoTime,
  Provider,
  RecordKind,
  RecordSet,
} from '../domain/types.js';
import { ConnectorError, GitError, messageOf } from '../errors.js';
import { runId as computeRunId } from '../domain/ids.js';
import {
  planReconcile,
  takesWork,
  type ReconcilePlan as FullPlan,
  type Shard,
} from '../plan/plan-reconcile.js';
import {
  earliest,
  isEmptyChange,
  settleLedger,
  type LedgerSettlement,
  type PendingOutcomes,
  type SettleLedgerInput,
} from '../plan/settle-ledger.js';
import { readCommittedReports, readPlanFacts, type PlanFacts } from '../read-model/read-plan-facts.js';
import { readSnapshot, type Snapshot, type SnapshotCache } from '../read-model/read-snapshot.js';
import { claimPath, recordPath, serializeRecord } from '../records/layout.js';
import { recordedIdsOf } from '../records/ledger-rules.js';
import { redactText } from '../redact.js';
import { runCallPipeline } from './call-pipeline.js';
import { clearJournal, openJournal, readJournal } from './journal.js';
import { seedLedgerBranch } from './seed-ledger.js';
import {
  checkLedgerHistory,
  prefetchLedgerWalk,
  createLedgerCheckCache,
  type AcceptOptions,
  type LedgerCheckCache,
  type LedgerVerdict,
} from './ledger-check.js';

export type { Shard } from '../plan/plan-reconcile.js';
export { emptyRunResult, type RunOutcome, type RunResult } from '../domain/run-result.js';
import { emptyRunResult, type RunOutcome, type RunResult } from '../domain/run-result.js';

/** A run's plan: its retry plan keeps the decisions' counts, not one decision per key (none is printed). */
type ReconcilePlan = FullPlan<RetryWork>;

export interface ReconcilerMetrics {
  /** Every pass of the loop (reconcile/loop.ts), the skipped no-op passes included. */
  observeRun(seconds: number, outcome: RunOutcome): void;
  countExecution(status: string): void;
  countPushConflict(): void;
}

export interface ReconcilerOptions {
  store: ReconcilerStore;
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
  /**
   * Called when a pass has calls to make, once, while its first claims are being pushed: the
   * thread waits for git there anyway, so what the first call would load is loaded then (the CLI
   * passes `loadHttpClient`, ~50 ms of compiling; during the claim commit's `fast-import`, a few
   * milliseconds, it held the push back instead).
   */
  prepareCalls?: () => void;
  /** Told after each call of a pass how many of its calls are done (the CLI draws a progress bar on a TTY). */
  onProgress?: (done: number, total: number) => void;
  /** Waits between rejected pushes; injected so tests never sleep. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Ledger changes and rewritten histories the operator accepts (`--accept-ledger-change`, `--accept-history`). */
  accept?: AcceptOptions;
  /** What the ledger check keeps between runs (the loop passes one for its lifetime). */
  checkCache?: LedgerCheckCache;
}

const DEFAULT_MAX_PUSH_ATTEMPTS = 8;
const DEFAULT_CONCURRENCY = 8;
/** The largest claim batch of a pipelined run: bounds the claims a crash leaves to lease expiry. */
const MAX_CLAIM_BATCH = 256;

/** Records committed so far in this reconcile, by run id: a run record counts its whole run. */
type RunCounts = Map<string, Record<RecordKind, number>>;

/**
 * The run a commit belongs to: the revision it planned on and when it started, which make the run
 * id its records carry. Not the tip a commit is built on: a rejected push rebuilds it on a newer one.
 */
interface RunIdentity {
  revision: string;
  startedAt: Date;
}

/** Run one reconcile. Never throws for push races; throws GitError when the remote is unreachable. */
export async function reconcileOnce(options: ReconcilerOptions): Promise<RunResult> {
  const context: RunContext = {
    options,
    result: emptyRunResult(),
    runCounts: new Map(),
    connectors: new Map(),
    recordedIds: [],
  };
  await flushJournal(context);
  const passes = await retryOnRejection(options, 'claim', (attempt) => runPass(context, attempt));
  finishResult(context, passes === 'rejected');
  // The checked tips are remembered once the run is through (and has recorded what it accepted).
  if (context.check && context.result.outcome !== 'failed') {
    await context.check.persist({
      // Pushed commits are tips this run built on: a later tip must descend from them. Local
      // ones (--no-push) are not on the remote.
      lastCommit: options.push ? (context.result.commits.at(-1) ?? null) : null,
      recordedIds: context.recordedIds,
    });
  }
  return context.result;
}

/** A ledger commit as this run knows it; `committed` once known without reading it back. */
interface LedgerView {
  tips: Tips;
  snapshot: Snapshot;
  committed?: LedgerSettlement['committed'];
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
  let ledger = await options.store.fetch(options.ledgerBranch);
  if (ledger === null) {
    ledger = await seedLedgerBranch(options.store, {
      branch: options.branch,
      ledgerBranch: options.ledgerBranch,
      revision,
      push: options.push,
      time: options.clock.now(),
      logger: options.logger,
    });
  }
  return { revision, ledger, targetBranch: options.ledgerBranch };
}

async function readTips(options: ReconcilerOptions, tips: Tips): Promise<Snapshot> {
  return readSnapshot(options.store, tips.revision, {
    ledgerRevision: tips.ledger,
    ...(options.cache ? { cache: options.cache } : {}),
  });
}

/** What the steps of one run share. */
interface RunContext {
  options: ReconcilerOptions;
  result: RunResult;
  runCounts: RunCounts;
  /** Connectors built for this run, by provider; a build error is kept as the reason it is not ready. */
  connectors: Map<string, Connector | ConnectorError>;
  /** The plan of the latest pass. */
  plan?: ReconcilePlan;
  /** The ledger check of the latest pass, when it passed. */
  check?: Extract<LedgerVerdict, { status: 'clean' }>;
  /** Set once a commit landed the run record naming what the check accepted. */
  acceptanceRecorded?: boolean;
  /** Why the run stopped before planning (the ledger check). */
  stall?: { reason: string; message: string };
  /** Delivery and execution ids this run's landed commits recorded (never called again). */
  recordedIds: string[];
}

/**
 * One pass of the run's fixed steps on the tip as it is now: read → check → plan → claim and
 * call → commit the ledger. 'rejected' when a push lost a race: the caller re-runs the pass on the
 * new tip (what landed is not planned again).
 */
async function runPass(context: RunContext, _attempt: number): Promise<'done' | 'rejected'> {
  const view = await readStep(context);
  if ((await checkStep(context, view)) === 'stalled') return 'done';
  const plan = planStep(context, view);
  const { options, result } = context;
  result.revision = plan.revision;
  if (plan.calls.length === 0) {
    if (plan.retry.deliveries.length + plan.retry.executions.length > 0 && !options.push) {
      options.logger.warn('connector calls need a pushed claim; skipped with --no-push');
    }
    const commit = await commitLedger(context, plan.unknown, { plan, now: view.now, start: view });
    // One unknown outcome per resolved claim (each writes a delivery and, for retries, an execution).
    result.unknown += plan.unknown.claimIds.length;
    if (commit) result.recorded = true;
    return 'done';
  }
  return claimAndCallStep(context, view, plan);
}

/** Step 1 (before the passes): outcomes of a run that crashed or lost its network after the calls. */
async function flushJournal(context: RunContext): Promise<void> {
  const { options, result } = context;
  const pending = await readJournal(options.store.stateDir);
  if (pending) {
    options.logger.info({ claims: pending.claimIds.length }, 'pushing outcomes journaled by an earlier run');
    const commit = await commitLedger(context, pending, { plan: null, now: options.clock.now() });
    if (commit) result.recorded = true;
  }
  // Also a journal whose outcomes all landed (a run killed while its calls were in flight) goes:
  // this run's journal starts empty, so no old `landed` line hides the outcome of a claim planned
  // again under the same id (a released one), and no line cut short by a crash comes before its lines.
  await clearJournal(options.store.stateDir);
}

/** The tips, their snapshot and the facts the planner needs, read at one moment. */
interface PassView extends LedgerView {
  facts: PlanFacts;
  now: Date;
}

/** Step 2: read the tips and every fact the plan needs. */
async function readStep(context: RunContext): Promise<PassView> {
  const { options } = context;
  const tips = await fetchTips(options);
  options.checkCache ??= createLedgerCheckCache();
  await prefetchLedgerWalk(
    options.store,
    options.store.stateDir,
    options.checkCache,
    tips,
    options.cache?.history,
  );
  const snapshot = await readTips(options, tips);
  const facts = await readPlanFacts(options.store, snapshot, {
    checkProvider: (provider) => {
      const connector = connectorOf(context, provider);
      return connector instanceof ConnectorError
        ? { reason: connector.reason ?? 'ConfigurationInvalid', message: connector.message }
        : null;
    },
  });
  return { tips, snapshot, facts, committed: facts.committed, now: options.clock.now() };
}

/**
 * Step 3: the ledger's history is append-only and both tips descend from the last checked ones
 * (ledger-check.ts); else the run stops here, having called nothing.
 */
async function checkStep(context: RunContext, view: PassView): Promise<'clean' | 'stalled'> {
  const { options } = context;
  options.checkCache ??= createLedgerCheckCache();
  const outcome = await checkLedgerHistory({
    reader: options.store,
    stateDir: options.store.stateDir,
    tips: { revision: view.tips.revision, ledger: view.tips.ledger },
    ledgerBranch: options.ledgerBranch,
    snapshot: view.snapshot,
    accept: options.accept ?? { ledgerChanges: [], history: [] },
    cache: options.checkCache,
  });
  if (outcome.status === 'stalled') {
    for (const finding of outcome.findings.slice(0, 50)) {
      options.logger.warn(
        { file: finding.file, rule: finding.rule, commit: finding.commit },
        `ledger tampered: ${finding.message}`,
      );
    }
    options.logger.warn({ reason: outcome.reason }, outcome.message);
    context.stall = { reason: outcome.reason, message: outcome.message };
    context.result.revision = view.tips.revision;
    return 'stalled';
  }
  context.stall = undefined;
  context.check = outcome;
  view.facts = { ...view.facts, recorded: outcome.recorded };
  return 'clean';
}

/** What the check accepted, for the run's last commit until a commit has recorded it. */
function acceptancesToRecord(context: RunContext): RunAcceptances | undefined {
  const accepted = context.check?.accepted;
  if (!accepted || context.acceptanceRecorded) return undefined;
  return accepted.ledgerChanges.length + accepted.history.length > 0 ? accepted : undefined;
}

/** Step 4: the pure plan. */
function planStep(context: RunContext, view: PassView): ReconcilePlan {
  const { options } = context;
  const plan = planReconcile(view.facts, view.now, {
    leaseMinutes: options.leaseMinutes,
    replicaId: options.replicaId,
    shard: options.shard,
    push: options.push,
    keepDecisions: false,
  });
  for (const claim of plan.unknown.claimIds) {
    options.logger.warn({ claim }, 'claim lease expired without outcome; recorded as unknown, not re-sent');
  }
  for (const provider of view.facts.notReady) {
    options.logger.warn(
      { provider: provider.provider, reason: provider.message },
      'provider not ready; nothing is called for it',
    );
  }
  context.plan = plan;
  return plan;
}

/** Step 5 and 6: claim, call and record the plan's calls (pipelined), then the run's last commit. */
async function claimAndCallStep(
  context: RunContext,
  view: PassView,
  plan: ReconcilePlan,
): Promise<'done' | 'rejected'> {
  return executeCalls(context, view, plan, view.now);
}

/** Sum the run up into its typed outcome (ok, noop, waiting, stalled, failed) once, at the end. */
function finishResult(context: RunContext, gaveUp: boolean): void {
  const { result } = context;
  if (context.stall && result.calls + result.released === 0 && !result.recorded) {
    result.outcome = 'stalled';
    result.reason = context.stall.reason;
    result.message = context.stall.message;
    return;
  }
  if (gaveUp) {
    result.outcome = result.calls > 0 ? 'ok' : 'failed';
    result.reason = 'PushRejected';
    result.message = `gave up after ${context.options.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS} rejected claim pushes; will retry next run`;
    context.options.logger.warn(result.message);
    return;
  }
  const status = context.plan?.ledger.committed.status ?? null;
  const stalled = status?.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (result.calls + result.released > 0) {
    result.outcome = 'ok';
    result.reason =
      result.failed > 0 ? CONDITION_REASONS.DeliveryFailed : CONDITION_REASONS.ReconciliationSucceeded;
    const released = result.released > 0 ? `, ${result.released} released uncalled` : '';
    result.message = `${result.calls} call(s): ${result.delivered} delivered, ${result.failed} failed${released}`;
  } else if (result.recorded) {
    result.outcome = 'ok';
    result.reason = CONDITION_REASONS.ReconciliationSucceeded;
    result.message = 'recorded what was due (no connector call)';
  } else if (stalled) {
    result.outcome = 'stalled';
    result.reason = stalled.reason;
    result.message = stalled.message;
  } else if (result.nextDueAt !== null) {
    result.outcome = 'waiting';
    result.reason = CONDITION_REASONS.WaitingForOperators;
    result.message = `nothing to do until ${result.nextDueAt}`;
  }
}

/**
 * The one push-retry loop: run `attemptOnce` until it is not rejected, with jittered backoff
 * between rejections; `GitError` after `maxPushAttempts` rejections of a commit that must land.
 */
async function retryOnRejection<T>(
  options: ReconcilerOptions,
  what: 'claim' | 'records',
  attemptOnce: (attempt: number) => Promise<T | 'rejected'>,
): Promise<T | 'rejected'> {
  const maxAttempts = options.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const outcome = await attemptOnce(attempt);
    if (outcome !== 'rejected') return outcome;
    options.metrics?.countPushConflict();
    await backoff(options, attempt);
  }
  if (what === 'records') {
    throw new GitError(
      `records could not be pushed to ${options.store.remoteLabel} after ${maxAttempts} rejected attempts; they stay journaled in ${options.store.stateDir} and are pushed by the next run.`,
    );
  }
  return 'rejected';
}

/**
 * One call's records: the attempt's delivery record and, for a retry, its execution record; none
 * when the claim was released uncalled (its removal is then all that is committed).
 */
interface RecordedCall {
  claimId: string;
  delivery: DeliveryRecord | null;
  execution: ExecutionRecord | null;
  /**
   * The records' files, serialized right after the call: small steps between calls rather than
   * one long one in the commit, which would hold up every response in flight meanwhile.
   */
  files: [path: string, content: string][];
}

function preparedFiles(outcomes: RecordedCall[]): ReadonlyMap<string, string> {
  return new Map(outcomes.flatMap((outcome) => outcome.files));
}

function toPending(outcomes: RecordedCall[]): PendingOutcomes {
  return {
    deliveries: outcomes.flatMap((outcome) => (outcome.delivery ? [outcome.delivery] : [])),
    executions: outcomes.flatMap((outcome) => (outcome.execution ? [outcome.execution] : [])),
    claimIds: outcomes.map((outcome) => outcome.claimId),
  };
}

function mergePending(a: PendingOutcomes, b: PendingOutcomes): PendingOutcomes {
  return {
    deliveries: [...a.deliveries, ...b.deliveries],
    executions: [...a.executions, ...b.executions],
    claimIds: [...a.claimIds, ...b.claimIds],
  };
}

/**
 * Claim, call and record `calls` (pipelined), then make the run's last commit with what is left
 * plus the unknown outcomes. 'rejected' when a push lost a race: the calls whose claims landed
 * are made and recorded, the rest must be re-planned on the new tip.
 */
async function executeCalls(
  context: RunContext,
  start: LedgerView,
  plan: ReconcilePlan,
  now: Date,
): Promise<'done' | 'rejected'> {
  const { options, result, runCounts } = context;
  const { calls, unknown } = plan;
  const run: RunIdentity = { revision: plan.revision, startedAt: now };
  const common = { runId: plan.runId, revision: plan.revision };
  const resent = new Set(plan.retry.expiredClaims.filter((e) => e.resend).map((e) => e.claim.claim_id));
  // Our view of the ledger after our last landed commit, derived rather than read again: our
  // commits changed nothing else (a rejected push means re-reading the real tip).
  let ledger = start;
  // A call is made only while at least half its claim's lease is left, so it never runs when
  // another replica may already take the claim for an unknown outcome (a batch can wait behind a
  // slow one).
  const callBy = new Map<string, number>();
  const halfLeaseMs = (options.leaseMinutes * 60_000) / 2;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const journal = await openJournal(options.store.stateDir);
  let finished = 0;
  // Run once, while the first claims are pushed (the longest wait before the first call).
  let prepare = options.prepareCalls;
  const whilePushing = (): void => {
    if (prepare !== undefined) setImmediate(prepare);
    prepare = undefined;
  };
  const pipeline = await runCallPipeline<PlannedCall, RecordedCall>(
    calls,
    { concurrency, firstBatch: 8 * concurrency, maxBatch: MAX_CLAIM_BATCH },
    {
      call: async (call) => {
        let outcome: RecordedCall;
        const connector = connectorOf(context, call.provider);
        if (options.clock.now().getTime() > callBy.get(call.claimId)!) {
          options.logger.warn(
            { claim: call.claimId },
            'half the claim lease passed before the call; released uncalled, re-planned next run',
          );
          result.released++;
          outcome = { claimId: call.claimId, delivery: null, execution: null, files: [] };
        } else if (connector instanceof ConnectorError) {
          // The plan only calls providers whose connector was built; this one failed to build since
          // (the plan is the one place that decides a call is not made): release it, re-plan next run.
          options.logger.warn(
            { claim: call.claimId, err: connector.message },
            'connector not ready; released uncalled',
          );
          result.released++;
          outcome = { claimId: call.claimId, delivery: null, execution: null, files: [] };
        } else {
          outcome = await executeCall(context, connector, call, common, now);
          result.calls++;
          if (resent.has(call.claimId)) result.resent++;
          if (outcome.delivery?.delivery_success) result.delivered++;
          else result.failed++;
        }
        options.onProgress?.(++finished, calls.length);
        // Journaled as the call returns (the worker does not wait for the line to be written).
        journal.outcomes(toPending([outcome]));
        return outcome;
      },
      commit: async (outcomes, claimed) => {
        const landed = await commitBatch(
          options,
          ledger,
          outcomes,
          claimed,
          plan,
          run,
          runCounts,
          whilePushing,
        );
        if (landed === null) return false;
        journal.landed(outcomes.map((outcome) => outcome.claimId));
        for (const claim of landed.claims)
          callBy.set(claim.claim_id, Date.parse(claim.claimed_at) + halfLeaseMs);
        ledger = landed.view;
        result.commits.push(landed.view.snapshot.ledgerRevision);
        context.recordedIds.push(...recordedIdsOf(landed.change.put.map(asAdded)));
        return true;
      },
    },
  );
  // The unknown outcomes join the calls' in the journal; every line is written before the push.
  journal.outcomes(unknown);
  await journal.close().catch((error: unknown) => {
    // The commit below still records them; only a crash before it would lose them now.
    options.logger.warn({ err: messageOf(error) }, 'the outcome journal could not be written');
  });
  if (pipeline.stopped && 'error' in pipeline.stopped) throw pipeline.stopped.error;
  const pending = mergePending(unknown, toPending(pipeline.uncommitted));
  const rejected = pipeline.stopped !== null;
  // After a rejection the re-planned pass makes the run's last commit; this one only records
  // outcomes already made (on the real tip, read again).
  if (!rejected || pending.claimIds.length > 0) {
    await commitLedger(context, pending, {
      plan,
      now: options.clock.now(), // the calls took time: closures and playbooks are due as of now
      runStartedAt: now,
      prepared: preparedFiles(pipeline.uncommitted),
      ...(rejected ? {} : { start: ledger }),
    });
  }
  await clearJournal(options.store.stateDir); // everything journaled has landed
  result.unknown += unknown.claimIds.length;
  return rejected ? 'rejected' : 'done';
}

/**
 * One commit of a pipelined run on our last landed commit: the outcomes of an earlier batch with
 * their claims' removal, and the claims of the next batch. Pushed without force; null when
 * rejected. The outcomes are journaled already, so a crash during the push loses none.
 */
async function commitBatch(
  options: ReconcilerOptions,
  ledger: LedgerView,
  made: RecordedCall[],
  calls: PlannedCall[],
  plan: ReconcilePlan,
  run: RunIdentity,
  runCounts: RunCounts,
  whilePushing: () => void,
): Promise<{ view: LedgerView; claims: ClaimRecord[]; change: TreeChange } | null> {
  // Later batches are claimed well after the run started: their leases run from now.
  const evaluatedAt = options.clock.now();
  const claims = calls.map((call) =>
    buildClaim(call, {
      holder: options.replicaId,
      now: evaluatedAt,
      leaseMinutes: options.leaseMinutes,
      revision: plan.revision,
    }),
  );
  const outcomes = toPending(made);
  let change: TreeChange;
  let records: RecordSet;
  let committed = ledger.committed;
  let counts: Record<RecordKind, number> | null = null;
  if (made.length === 0) {
    // Claims only: the first calls wait for this commit, so it computes nothing else.
    change = {
      put: claims.map((claim) => ({ path: claimPath(claim.claim_id), content: serializeRecord(claim) })),
      remove: [],
    };
    records = { ...ledger.snapshot.records, claims: [...ledger.snapshot.records.claims, ...claims] };
  } else {
    const built = await buildChange(options, ledger, outcomes, {
      plan: null,
      now: evaluatedAt,
      run,
      runCounts,
      newClaims: claims,
      intermediate: true,
      prepared: preparedFiles(made),
    });
    change = built.change;
    records = built.records;
    committed = built.committed;
    counts = built.counts;
  }
  const what = [
    claims.length > 0 ? `claim ${claims.length} call(s)` : '',
    counts ? `record ${outcomes.claimIds.length} outcome(s)` : '',
  ].filter(Boolean);
  const message = `cavra-gitops: ${what.join(', ')} at ${plan.revision.slice(0, 12)}`;
  const commit = await options.store.createCommit(ledger.tips.ledger, change, message, {
    time: evaluatedAt,
  });
  const pushing = options.store.push(commit, ledger.tips.targetBranch);
  // Queued as an immediate: it runs once the push has started git and the thread waits for it.
  whilePushing();
  const pushed = await pushing;
  if (pushed.status === 'rejected') {
    options.logger.info({ reason: pushed.reason }, 'push rejected; re-planning on the new tip');
    return null;
  }
  options.logger.info({ commit, claims: claims.length, outcomes: outcomes.claimIds.length }, 'batch pushed');
  if (counts) addRunCounts(runCounts, runIdOf(options, run), counts);
  const separateLedger = options.ledgerBranch !== null;
  const view: LedgerView = {
    // Without a ledger branch our commit is also the new tracked tip.
    tips: { ...ledger.tips, ledger: commit, revision: separateLedger ? ledger.tips.revision : commit },
    snapshot: { ...ledger.snapshot, ledgerRevision: commit, records },
    ...(committed ? { committed } : {}),
  };
  return { view, claims, change };
}

/** A file a commit puts, as the walk would list it (for the ids it records). */
function asAdded(file: { path: string }): WalkedChange {
  return { path: file.path, status: 'added', blob: '', mode: '100644' };
}

/** The run id the records of `run` carry. */
function runIdOf(options: ReconcilerOptions, run: RunIdentity): string {
  return computeRunId(run.revision, run.startedAt.toISOString(), options.replicaId);
}

function addRunCounts(runCounts: RunCounts, runId: string, counts: Record<RecordKind, number>): void {
  const total = runCounts.get(runId) ?? { deliveries: 0, executions: 0, playbooks: 0, closures: 0, runs: 0 };
  for (const kind of Object.keys(counts) as RecordKind[]) total[kind] += counts[kind];
  runCounts.set(runId, total);
}

/** Make one claimed call and build its records (a failure, even a connector bug, is an outcome). */
async function executeCall(
  context: RunContext,
  connector: Connector,
  call: PlannedCall,
  common: { runId: string; revision: string },
  now: Date,
): Promise<RecordedCall> {
  const { options } = context;
  const { outcome: deliveryOutcome, completedAt } = await callConnector(context, connector, call, now);
  const delivery = buildDeliveryRecord(call, deliveryOutcome, {
    ...common,
    attemptedAt: now.toISOString(),
    completedAt,
  });
  let execution: ExecutionRecord | null = null;
  if (call.kind === 'execution') {
    execution = buildExecutionRecord(call, deliveryOutcome, {
      ...common,
      executedAt: now.toISOString(),
      executedBy: options.replicaId,
    });
    options.metrics?.countExecution(execution.execution_status);
  }
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
  const files: RecordedCall['files'] = [
    [recordPath('deliveries', delivery.record_id, delivery.attempted_at), serializeRecord(delivery)],
  ];
  if (execution) {
    files.push([
      recordPath('executions', execution.execution_id, execution.executed_at),
      serializeRecord(execution),
    ]);
  }
  return { claimId: call.claimId, delivery, execution, files };
}

/** The connector of a provider, built once per run (a build error is kept as the reason). */
function connectorOf(context: RunContext, provider: Provider): Connector | ConnectorError {
  const { options, connectors } = context;
  let connector = connectors.get(provider.name);
  if (connector === undefined) {
    try {
      connector = options.connectorFor(provider);
    } catch (error) {
      // A misconfiguration (ConnectorError) or a bug: either way the provider is not ready, and the
      // plan calls nothing for it.
      connector =
        error instanceof ConnectorError
          ? error
          : new ConnectorError(`connector could not be built: ${redactText(messageOf(error))}`);
    }
    connectors.set(provider.name, connector);
  }
  return connector;
}

async function callConnector(
  context: RunContext,
  connector: Connector,
  call: PlannedCall,
  now: Date,
): Promise<{ outcome: CallOutcome; completedAt: IsoTime }> {
  const { options } = context;
  let outcome: CallOutcome;
  try {
    outcome = await connector.deliver({
      idempotencyKey: idempotencyKeyOf(call),
      deliveryId: call.key.delivery_id,
      auditId: call.key.audit_id,
      provider: call.key.provider,
      attempt: call.attempt,
      executionId: executionIdOf(call),
      package: call.delivery.spec.package,
      at: now.toISOString(),
    });
  } catch (error) {
    // A connector bug must still end in a recorded outcome, never a lost claim.
    const message = messageOf(error);
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
 * Step 6: commit outcomes (and whatever else is due) on the current tip; on a rejected push,
 * rebuild the commit on the new tip. Returns the commit, or null when nothing needed committing.
 */
async function commitLedger(
  context: RunContext,
  pending: PendingOutcomes,
  commitContext: {
    plan: ReconcilePlan | null;
    now: Date;
    /** When the run started (its records' run id); default `now`. */
    runStartedAt?: Date;
    /** Build the first attempt on this view (later attempts read the real tip). */
    start?: LedgerView;
    prepared?: ReadonlyMap<string, string>;
  },
): Promise<string | null> {
  const { options, result, runCounts } = context;
  const { plan, now } = commitContext;
  let current = commitContext.start;
  const landed = await retryOnRejection(options, 'records', async () => {
    const tips = current?.tips ?? (await fetchTips(options));
    const view = current ?? { tips, snapshot: await readTips(options, tips) };
    const { snapshot } = view;
    current = undefined;
    // A run's records carry the revision it planned on, also when this commit is rebuilt on a newer tip.
    const run = {
      revision: plan?.revision ?? snapshot.revision,
      startedAt: commitContext.runStartedAt ?? now,
    };
    const accepted = acceptancesToRecord(context);
    const settled = await buildChange(options, view, pending, {
      plan,
      now,
      run,
      runCounts,
      ...(commitContext.prepared ? { prepared: commitContext.prepared } : {}),
      ...(accepted ? { accepted } : {}),
    });
    result.nextDueAt = earliest(result.nextDueAt, settled.nextDueAt);
    for (const id of settled.superseded) {
      options.logger.warn(
        { claim: id },
        'claim no longer held on the remote (lease expired and resolved elsewhere); outcome not recorded twice',
      );
    }
    if (isEmptyChange(settled.change)) return null;
    const message = describeChange(settled, snapshot.revision);
    const commit = await options.store.createCommit(tips.ledger, settled.change, message, { time: now });
    const pushed = options.push ? await options.store.push(commit, tips.targetBranch) : null;
    if (pushed !== null && pushed.status === 'rejected') {
      options.logger.info({ reason: pushed.reason }, 'record push rejected; rebuilding on the new tip');
      return 'rejected';
    }
    result.commits.push(commit);
    context.recordedIds.push(...recordedIdsOf(settled.change.put.map(asAdded)));
    addRunCounts(runCounts, runIdOf(options, run), settled.counts);
    if (accepted) context.acceptanceRecorded = true;
    if (pushed !== null) options.logger.info({ commit, ...settled.counts }, 'records pushed');
    return commit;
  });
  return landed === 'rejected' ? null : landed;
}

async function buildChange(
  options: ReconcilerOptions,
  view: LedgerView,
  pending: PendingOutcomes,
  context: {
    plan: ReconcilePlan | null;
    now: Date;
    run: RunIdentity;
    runCounts: RunCounts;
  } & Pick<SettleLedgerInput, 'newClaims' | 'intermediate' | 'prepared' | 'accepted'>,
): Promise<LedgerSettlement> {
  const { plan, now, run, runCounts, ...extra } = context;
  const { snapshot, tips } = view;
  const { report: committedReport, status: committedStatus } =
    view.committed ?? (await readCommittedReports(options.store, tips.ledger ?? ''));
  return settleLedger({
    snapshot,
    pending,
    retryInput: plan ? { ...plan.retryInput, records: snapshot.records } : null,
    // The plan's own retry plan is reused where re-planning would give the same (no second copy).
    ...(plan ? { planned: { input: plan.retryInput, plan: plan.retry } } : {}),
    committedReport,
    committedStatus,
    now,
    replicaId: options.replicaId,
    run: { revision: run.revision, startedAt: run.startedAt.toISOString() },
    takesWork: (claimId) => options.push && takesWork(claimId, options.shard),
    earlierCounts: runCounts.get(runIdOf(options, run)),
    notReady: plan?.notReady ?? [],
    ...extra,
  });
}

function describeChange(outcome: LedgerSettlement, revision: string): string {
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
