/**
 * Fixtures for reconciler tests: an ops repository (an operator's working clone pushing to a bare
 * remote, both real git in temp dirs), YAML builders for every manifest kind, a settable clock,
 * and reconciler options built the way `src/cli/reconcile.ts` `createReconciler` builds them,
 * except that connector and push back-off waits are injected (no test ever sleeps).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConnector, createConnectorContext } from '../../src/connectors/index.js';
import type { Clock, Env } from '../../src/domain/ports.js';
import type { DeliveryRecord, ExecutionRecord, RecordSet } from '../../src/domain/types.js';
import { createGitReader, openGitStore } from '../../src/git/index.js';
import type { CavraGitStore } from '../../src/git/store.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import {
  reconcileOnce,
  type ReconcilerMetrics,
  type ReconcilerOptions,
} from '../../src/reconciler/run-once.js';
import { readRecords } from '../../src/records/read-records.js';
import { createSnapshotCache } from '../../src/read-model/read-snapshot.js';
import type { CliContext } from '../../src/cli/context.js';
import { runPlan, type PlanView } from '../../src/cli/plan.js';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import {
  commitFiles,
  createBareRemote,
  createTempDir,
  createTempRepo,
  git,
  pushBranch,
  readBranch,
  type CommitOptions,
  type TempDir,
} from './git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from './http-receiver.js';

/** A 32-byte Standard Webhooks secret, fixed so signatures are reproducible. */
export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

export interface SettableClock extends Clock {
  set(iso: string): void;
  advanceMinutes(minutes: number): void;
}

export function createSettableClock(iso: string): SettableClock {
  let current = new Date(iso);
  return {
    now: () => new Date(current.getTime()),
    set(next) {
      current = new Date(next);
    },
    advanceMinutes(minutes) {
      current = new Date(current.getTime() + minutes * 60_000);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Manifests as YAML
// ---------------------------------------------------------------------------------------------

const header = (kind: string, name: string): string =>
  `apiVersion: cavra.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n`;

export interface ProviderYamlOptions {
  type?: string;
  urlEnv?: string;
  signingSecretEnv?: string;
  idempotent?: boolean;
  timeoutSeconds?: number;
  options?: Record<string, string>;
}

export function providerYaml(name: string, options: ProviderYamlOptions = {}): string {
  const lines = [`  type: ${options.type ?? 'webhook'}`];
  if ((options.type ?? 'webhook') !== 'file') lines.push(`  url_env: ${options.urlEnv ?? 'HOOK_URL'}`);
  if (options.signingSecretEnv) lines.push(`  signing_secret_env: ${options.signingSecretEnv}`);
  if (options.idempotent !== undefined) lines.push(`  idempotent: ${options.idempotent}`);
  if (options.timeoutSeconds !== undefined) lines.push(`  timeout_seconds: ${options.timeoutSeconds}`);
  if (options.options) {
    lines.push('  options:');
    for (const [key, value] of Object.entries(options.options)) lines.push(`    ${key}: ${value}`);
  }
  return `${header('Provider', name)}${lines.join('\n')}\n`;
}

export interface PolicyYamlOptions {
  approvers?: string[];
  requireRetryAck?: boolean;
  maxRetryAttempts?: number;
  retryDelayMinutes?: number;
  maxPerRun?: number;
  autoPlaybooks?: boolean;
}

export function policyYaml(options: PolicyYamlOptions = {}): string {
  const lines = [
    '  retry_defaults:',
    `    max_retry_attempts: ${options.maxRetryAttempts ?? 3}`,
    `    retry_delay_minutes: ${options.retryDelayMinutes ?? 15}`,
    '    backoff_multiplier: 2.0',
    `  require_retry_ack: ${options.requireRetryAck ?? true}`,
    `  approvers: [${(options.approvers ?? []).join(', ')}]`,
    `  max_retry_deliveries_per_run: ${options.maxPerRun ?? 25}`,
    '  recovery:',
    `    auto_playbooks: ${options.autoPlaybooks ?? false}`,
  ];
  return `${header('ReconcilerPolicy', 'default')}${lines.join('\n')}\n`;
}

export function deliveryYaml(name: string, providers: string[], auditId = `audit-${name}`): string {
  return (
    header('AuditDelivery', name) +
    [
      `  audit_id: ${auditId}`,
      `  providers: [${providers.join(', ')}]`,
      '  package:',
      '    route_count: 1',
      '    acknowledgement_count: 2',
      '    acknowledged_count: 1',
      '    resolved_count: 0',
      '    escalated_count: 0',
      '    dismissed_count: 0',
      '    outstanding_count: 1',
      '    routes:',
      '      - route_id: route-payments',
      `        provider: ${providers[0] ?? 'none'}`,
      '        state: acknowledged',
      '        owner: payments-sre',
    ].join('\n') +
    '\n'
  );
}

export function ackYaml(name: string, delivery: string, provider: string, state = 'accepted'): string {
  return (
    header('RetryAcknowledgement', name) +
    `  delivery: ${delivery}\n  provider: ${provider}\n  state: ${state}\n  acknowledged_by: alice@example.com\n`
  );
}

export interface ApprovalYamlOptions {
  state?: string;
  decidedBy?: string;
  expiresAt?: string;
  allowImmediateRetry?: boolean;
  maxRetryAttempts?: number;
}

export function approvalYaml(
  name: string,
  delivery: string,
  provider: string,
  options: ApprovalYamlOptions = {},
): string {
  const lines = [
    `  delivery: ${delivery}`,
    `  provider: ${provider}`,
    `  state: ${options.state ?? 'approved'}`,
    `  decided_by: ${options.decidedBy ?? 'bob@example.com'}`,
  ];
  if (options.expiresAt) lines.push(`  expires_at: "${options.expiresAt}"`);
  lines.push('  retry_policy:', `    allow_immediate_retry: ${options.allowImmediateRetry ?? true}`);
  if (options.maxRetryAttempts !== undefined)
    lines.push(`    max_retry_attempts: ${options.maxRetryAttempts}`);
  return `${header('RetryApproval', name)}${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Ops repository: a working clone that pushes to a bare remote
// ---------------------------------------------------------------------------------------------

export interface OpsRepo {
  /** The bare remote the reconciler reads and pushes. */
  remote: string;
  /** The operator's working clone. */
  work: string;
  /** Commit files in the working clone (pulling the remote first) and push. Returns the commit. */
  commit(files: Record<string, string | null>, message: string, options?: CommitOptions): Promise<string>;
  /** The remote's tip of main. */
  tip(): Promise<string | null>;
  cleanup(): Promise<void>;
}

export async function createOpsRepo(): Promise<OpsRepo> {
  const bare = await createBareRemote();
  const work = await createTempRepo();
  return opsRepoOf(bare, work);
}

/** Wrap an existing bare remote and working clone (e.g. after copying a seed). */
export function opsRepoOf(bare: TempDir, work: TempDir): OpsRepo {
  return {
    remote: bare.dir,
    work: work.dir,
    async commit(files, message, options) {
      const remoteTip = await readBranch(bare.dir);
      if (remoteTip) {
        await git(work.dir, ['fetch', '-q', bare.dir, 'main']);
        await git(work.dir, ['reset', '-q', '--hard', 'FETCH_HEAD']);
      }
      const commit = await commitFiles(work.dir, files, message, options);
      await pushBranch(work.dir, bare.dir);
      return commit;
    },
    tip: () => readBranch(bare.dir),
    async cleanup() {
      await bare.cleanup();
      await work.cleanup();
    },
  };
}

/** Every record (and claim) on the remote's tip of main, read straight from the bare repository. */
export async function readRemoteRecords(remote: string, branch = 'main'): Promise<RecordSet> {
  const reader = createGitReader(remote, { gitDir: true });
  try {
    const tip = await reader.resolve(`refs/heads/${branch}`);
    const { records, findings } = await readRecords(reader, tip);
    if (findings.length > 0) throw new Error(`record findings: ${JSON.stringify(findings)}`);
    return records;
  } finally {
    await reader.close();
  }
}

/** File paths under `prefix` at the remote's tip. */
export async function listRemoteFiles(remote: string, prefix: string): Promise<string[]> {
  const out = await git(remote, ['ls-tree', '-r', '--name-only', 'refs/heads/main', '--', prefix]);
  return out === '' ? [] : out.split('\n');
}

/** Commits on the remote's main, newest first, with their messages' first lines. */
export async function remoteLog(remote: string): Promise<{ commit: string; subject: string }[]> {
  const out = await git(remote, ['log', '--format=%H %s', 'refs/heads/main']);
  return out.split('\n').map((line) => ({ commit: line.slice(0, 40), subject: line.slice(41) }));
}

// ---------------------------------------------------------------------------------------------
// Reconciler options
// ---------------------------------------------------------------------------------------------

export interface CountingMetrics extends ReconcilerMetrics {
  runs: number;
  executions: Map<string, number>;
  pushConflicts: number;
}

export function createCountingMetrics(): CountingMetrics {
  const metrics: CountingMetrics = {
    runs: 0,
    executions: new Map(),
    pushConflicts: 0,
    observeRun: () => {
      metrics.runs++;
    },
    countExecution: (status) => {
      metrics.executions.set(status, (metrics.executions.get(status) ?? 0) + 1);
    },
    countPushConflict: () => {
      metrics.pushConflicts++;
    },
  };
  return metrics;
}

export interface TestReconcilerOptions {
  remote: string;
  stateDir: string;
  replicaId: string;
  clock: Clock;
  env: Env;
  leaseMinutes?: number;
  push?: boolean;
  maxPushAttempts?: number;
  /** Connector HTTP attempts per call (default 1: a 500 is one failed attempt). */
  connectorAttempts?: number;
  metrics?: ReconcilerMetrics;
  /** Recorded push back-off waits (never slept). */
  sleeps?: number[];
  /** The file root of `file` providers (default: the state dir). */
  fileRoot?: string;
  /** Connector calls in flight at once (the first claim batch is 8 times this). */
  concurrency?: number;
  /** Records go to this branch (`--ledger-branch`). */
  ledgerBranch?: string;
  /** An ssh private key: the replica's commits are signed (`--signing-key`). */
  signingKey?: string;
}

export interface TestReconciler {
  options: ReconcilerOptions;
  store: CavraGitStore;
  close(): Promise<void>;
}

/** Open a replica's store and build its ReconcilerOptions like `createReconciler` does. */
export async function openTestReconciler(options: TestReconcilerOptions): Promise<TestReconciler> {
  const store = await openGitStore({
    remote: options.remote,
    stateDir: options.stateDir,
    branch: 'main',
    ...(options.ledgerBranch ? { ledgerBranch: options.ledgerBranch } : {}),
    ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    replicaId: options.replicaId,
    env: options.env,
    clock: options.clock,
  });
  const connectorContext = createConnectorContext({
    env: options.env,
    fileRoot: options.fileRoot ?? options.stateDir,
    maxAttempts: options.connectorAttempts ?? 1,
    sleep: async () => {},
  });
  const sleeps = options.sleeps;
  const reconcilerOptions: ReconcilerOptions = {
    store,
    branch: 'main',
    ledgerBranch: options.ledgerBranch ?? null,
    replicaId: options.replicaId,
    clock: options.clock,
    leaseMinutes: options.leaseMinutes ?? 10,
    push: options.push ?? true,
    shard: null,
    connectorFor: (provider) => createConnector(provider, connectorContext),
    logger: await createSilentLogger(),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.maxPushAttempts ? { maxPushAttempts: options.maxPushAttempts } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    sleep: async (ms) => {
      sleeps?.push(ms);
    },
    random: () => 0.5,
    // A read cache for the replica's life, as the loop keeps one (incremental walks, a first run's single walk).
    cache: createSnapshotCache(),
  };
  return { options: reconcilerOptions, store, close: () => store.close() };
}

/** A fresh state dir for one replica. */
export async function createStateDir(): Promise<TempDir> {
  return createTempDir('cavra-state-');
}

/** The env a test replica needs: git isolation, the webhook URL and secret. */
export function reconcilerEnv(extra: Record<string, string> = {}): Env {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOOK_SECRET: WEBHOOK_SECRET,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI context
// ---------------------------------------------------------------------------------------------

export interface TestCli {
  context: CliContext;
  stdout(): string;
  stderr(): string;
  reset(): void;
}

/** A CliContext with captured output, the given env and clock. */
export function createCliContext(cwd: string, env: Env, clock: Clock): TestCli {
  let out = '';
  let err = '';
  return {
    context: {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
      env,
      cwd,
      clock,
      isTTY: false,
      signal: new AbortController().signal,
    },
    stdout: () => out,
    stderr: () => err,
    reset() {
      out = '';
      err = '';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks verification (independent of the connector's code)
// ---------------------------------------------------------------------------------------------

/** True when `signature` is `v1,<base64 HMAC-SHA256(id.timestamp.body)>` keyed with `secret`. */
export function verifyStandardWebhook(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  signature: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  return signature.split(' ').includes(expected);
}

export function executionsById(records: RecordSet): Map<string, ExecutionRecord[]> {
  const byId = new Map<string, ExecutionRecord[]>();
  for (const record of records.executions)
    byId.set(record.execution_id, [...(byId.get(record.execution_id) ?? []), record]);
  return byId;
}

export function deliveriesOfKey(records: RecordSet, deliveryId: string, provider: string): DeliveryRecord[] {
  return records.deliveries
    .filter((r) => r.delivery_id === deliveryId && r.provider === provider)
    .sort((a, b) => a.attempt - b.attempt);
}

/** A random suffix for names that must differ between tests. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

export const repoPath = (...parts: string[]): string => join(...parts);

// ---------------------------------------------------------------------------------------------
// Scenario: failed first attempts, then approvals merged
// ---------------------------------------------------------------------------------------------

export interface ApprovedRetriesOptions {
  ops: OpsRepo;
  /** Answers every request of the seeding run with 500. */
  receiverOrigin: string;
  deliveries: number;
  providers: string[];
  /** Extra provider options per provider name. */
  providerOptions?: Record<string, ProviderYamlOptions>;
  policy?: PolicyYamlOptions;
  /** Time of the seeding run (attempt 1 of every key fails then). */
  failAt: string;
  /** Date of the approval commit. */
  approveAt: string;
  env: Env;
}

export const deliveryName = (index: number): string => `drill-${String(index).padStart(4, '0')}`;

/**
 * Seed an ops repo: providers (webhooks at `<origin>/<provider>`), a policy and N deliveries;
 * run one in-process reconcile at `failAt` while the receiver fails everything; then merge an
 * acknowledgement and an immediate-retry approval for every key in one commit. Returns the
 * number of approvals.
 */
export async function seedApprovedRetries(options: ApprovedRetriesOptions): Promise<number> {
  const { ops, providers } = options;
  const files: Record<string, string> = { 'manifests/policy.yaml': policyYaml(options.policy) };
  for (const name of providers) {
    files[`manifests/providers/${name}.yaml`] = providerYaml(name, {
      urlEnv: urlEnvOf(name),
      signingSecretEnv: 'HOOK_SECRET',
      ...options.providerOptions?.[name],
    });
  }
  for (let i = 0; i < options.deliveries; i++) {
    files[`manifests/deliveries/${deliveryName(i)}.yaml`] = deliveryYaml(deliveryName(i), providers);
  }
  await ops.commit(files, 'seed providers, policy and deliveries', { date: '2026-06-28T09:00:00Z' });

  const state = await createStateDir();
  const reconciler = await openTestReconciler({
    remote: ops.remote,
    stateDir: state.dir,
    replicaId: 'seed',
    clock: createSettableClock(options.failAt),
    env: options.env,
  });
  try {
    const result = await reconcileOnce(reconciler.options);
    if (result.failed !== options.deliveries * providers.length) {
      throw new Error(
        `seeding expected ${options.deliveries * providers.length} failed attempts, got ${result.failed}`,
      );
    }
  } finally {
    await reconciler.close();
    await state.cleanup();
  }

  const approvals: Record<string, string> = {};
  for (let i = 0; i < options.deliveries; i++) {
    for (const name of providers) {
      approvals[`manifests/acks/${deliveryName(i)}-${name}.yaml`] = ackYaml(
        `ack-${deliveryName(i)}-${name}`,
        deliveryName(i),
        name,
      );
      approvals[`manifests/approvals/${deliveryName(i)}-${name}.yaml`] = approvalYaml(
        `approve-${deliveryName(i)}-${name}`,
        deliveryName(i),
        name,
      );
    }
  }
  await ops.commit(approvals, 'acknowledge and approve every retry', { date: options.approveAt });
  return options.deliveries * providers.length;
}

/** The env var holding a provider's URL in these scenarios. */
export function urlEnvOf(provider: string): string {
  return `URL_${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * The gate tests' set-up: an ops repository, a receiver whose `/hook` fails every call (503), and
 * one replica `r` on the ops remote with the given clock.
 */
export interface FailingHookReplica {
  ops: OpsRepo;
  receiver: HttpReceiver;
  env: Env;
  replica: TestReconciler;
  /** One reconcile a minute after the clock's time; the connector calls it made. */
  reconcile(): Promise<number>;
  /** The calls the receiver got that name `delivery`. */
  callsFor(delivery: string): number;
  /** `plan --format json`'s decision for `delivery` (throws when it has none). */
  decisionOf(delivery: string): Promise<RetryDecision>;
  close(): Promise<void>;
}

export async function openFailingHookReplica(clock: SettableClock): Promise<FailingHookReplica> {
  const ops = await createOpsRepo();
  const state = await createStateDir();
  const receiver = await startHttpReceiver();
  receiver.respond('/hook', reply.status(503, 'down'));
  const env = reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });
  const replica = await openTestReconciler({
    remote: ops.remote,
    stateDir: state.dir,
    replicaId: 'r',
    clock,
    env,
  });
  return {
    ops,
    receiver,
    env,
    replica,
    async reconcile() {
      clock.advanceMinutes(1);
      const before = receiver.requests.length;
      await reconcileOnce(replica.options);
      return receiver.requests.length - before;
    },
    callsFor: (delivery) => receiver.requests.filter((r) => r.body.includes(`"${delivery}"`)).length,
    async decisionOf(delivery) {
      const cli = createCliContext(ops.work, env, clock);
      if ((await runPlan({ remote: ops.remote, format: 'json' }, cli.context)) !== 0) {
        throw new Error(`plan failed: ${cli.stderr()}`);
      }
      const view = JSON.parse(cli.stdout()) as PlanView;
      const decision = view.decisions.find((d) => d.key.delivery_id === delivery);
      if (!decision) throw new Error(`no decision for ${delivery}: ${JSON.stringify(view.decisions)}`);
      return decision;
    },
    async close() {
      await replica.close();
      await receiver.close();
      await state.cleanup();
      await ops.cleanup();
    },
  };
}

/**
 * A pre-receive hook on a bare `remote` that rejects the pushes whose 1-based number is listed
 * (counted in a file beside the hook): push races made deterministic, as Flux's tests make them.
 */
export async function installRejectingHook(remote: string, reject: readonly number[]): Promise<void> {
  const counter = join(remote, 'push-counter');
  await writeFile(counter, '0');
  const hook = join(remote, 'hooks', 'pre-receive');
  await writeFile(
    hook,
    [
      '#!/bin/sh',
      `n=$(($(cat '${counter}') + 1))`,
      `echo "$n" > '${counter}'`,
      `for r in ${reject.join(' ')}; do`,
      '  if [ "$n" -eq "$r" ]; then echo "push $n rejected by test hook" >&2; exit 1; fi',
      'done',
      'exit 0',
      '',
    ].join('\n'),
  );
  await chmod(hook, 0o755);
}
