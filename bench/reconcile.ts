/**
 * `reconcile` benchmarks.
 *
 * 1. Throughput: 1,000 approved retries executed by one reconcile run of a loop that has already
 *    read the repository (the approvals arrive in one merge: they are read, validated and planned,
 *    then claimed, called and recorded in pipelined batches, 2,000 records in all), timed against
 *    a baseline in the same run that only makes the same 1,000 webhook calls (same connector, same
 *    payloads, same concurrency) with no git at all. Ratio = reconcile throughput ÷ baseline
 *    throughput (target ≥ 0.8). The receiver runs in its own process and answers at once, after
 *    25 ms, or after 100 ms; the target is judged at 100 ms (docs/benchmarks.md says why).
 * 2. No-op: a repository of 10,000 manifests and 100,000 records whose tip has not moved since the
 *    last run: the loop's run (fetch, compare tips, nothing due) must take ≤ 50 ms.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_CLI, buildCli } from './build-cli.js';
import { timeNoopPasses } from './noop-passes.js';
import { startReceiver } from './receiver.js';
import { createConnector, createConnectorContext } from '../src/connectors/index.js';
import type { DeliveryRequest } from '../src/domain/ports.js';
import type { DeliveryRecord } from '../src/domain/types.js';
import { openGitStore } from '../src/git/index.js';
import { createLogger, createSilentLogger } from '../src/observability/logger.js';
import { runLoop } from '../src/reconciler/loop.js';
import { createSnapshotCache } from '../src/read-model/read-snapshot.js';
import { reconcileOnce, type ReconcilerOptions } from '../src/reconciler/run-once.js';
import { sealRecord } from '../src/domain/record-format.js';
import { recordPath, serializeRecord } from '../src/records/layout.js';

const NOW = new Date('2026-06-28T12:00:00Z');
const SEEDED_AT = '2026-06-28T10:00:00Z';
const CONCURRENCY = 8;

const PACKAGE = {
  route_count: 1,
  acknowledgement_count: 1,
  acknowledged_count: 1,
  resolved_count: 0,
  escalated_count: 0,
  dismissed_count: 0,
  outstanding_count: 0,
  routes: [{ route_id: 'route-a', provider: 'bench-webhook', state: 'acknowledged', owner: 'sre' }],
};

/**
 * Write each map of files on `branch` of a bare repository, in order, with one `git fast-import`:
 * its manifests as an operator's commit, then its records as a reconciler's (the replica trailer),
 * as a real history has them — a fresh replica checks that every record came from a reconciler.
 * The policy goes in a commit before the approvals: an approval is held to the policy in force
 * before its own commit too.
 */
function seedBare(bare: string, commits: Map<string, string>[], branch = 'main'): void {
  const chunks: string[] = [];
  let mark = 0;
  let parent: string | null = null;
  try {
    parent = execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], {
      cwd: bare,
      encoding: 'utf8',
    }).trim();
  } catch {
    parent = null; // a new branch
  }
  const split = commits.flatMap((files) => {
    const manifests = new Map([...files].filter(([path]) => !path.startsWith('records/')));
    const records = new Map([...files].filter(([path]) => path.startsWith('records/')));
    return [
      ...(manifests.size > 0 ? [{ files: manifests, trailer: '' }] : []),
      ...(records.size > 0 ? [{ files: records, trailer: '\n\nCavra-Gitops-Replica: bench-seed' }] : []),
    ];
  });
  split.forEach(({ files, trailer }, index) => {
    const marks = new Map<string, number>();
    for (const [path, content] of files) {
      mark++;
      marks.set(path, mark);
      chunks.push(`blob\nmark :${mark}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    const message = `bench seed ${index + 1}${trailer}`;
    const time = Math.floor(Date.parse(SEEDED_AT) / 1000) + index;
    chunks.push(
      `commit refs/heads/${branch}\ncommitter Bench <bench@example.test> ${time} +0000\ndata ${message.length}\n${message}\n`,
    );
    if (index === 0 && parent) chunks.push(`from ${parent}\n`);
    for (const [path, m] of marks) chunks.push(`M 100644 :${m} ${path}\n`);
    chunks.push('\n');
  });
  execFileSync('git', ['fast-import', '--quiet'], { cwd: bare, input: chunks.join(''), maxBuffer: 1 << 30 });
}

function delivery(name: string, provider: string): string {
  return `apiVersion: cavra.dev/v1
kind: AuditDelivery
metadata:
  name: ${name}
spec:
  audit_id: audit-${name}
  providers: [${provider}]
  package: ${JSON.stringify(PACKAGE)}
`;
}

function approval(name: string, deliveryName: string, provider: string): string {
  return `apiVersion: cavra.dev/v1
kind: RetryApproval
metadata:
  name: ${name}
spec:
  delivery: ${deliveryName}
  provider: ${provider}
  decided_by: bench@example.com
  retry_policy:
    allow_immediate_retry: true
`;
}

/** A delivery record as the reconciler writes it (the current format, controls included). */
function deliveryRecord(deliveryId: string, provider: string, success: boolean): DeliveryRecord {
  return sealRecord<DeliveryRecord>(
    'deliveries',
    {
      record_id: `${deliveryId}.${provider}.1`,
      delivery_id: deliveryId,
      audit_id: `audit-${deliveryId}`,
      provider,
      attempt: 1,
      delivery_success: success,
      status_code: success ? 200 : 503,
      error: success ? '' : 'HTTP 503',
      execution_id: '',
      idempotency_key: deliveryId,
      attempted_at: SEEDED_AT,
      completed_at: SEEDED_AT,
      run_id: 'gordackworker-0000000000000000',
      source_revision: '0'.repeat(40),
    },
    'record_hash',
  );
}

const PROVIDERS = `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: bench-webhook
spec:
  type: webhook
  url_env: BENCH_WEBHOOK_URL
`;

function policy(maxPerRun: number): string {
  return `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  require_retry_ack: false
  max_retry_deliveries_per_run: ${maxPerRun}
  recovery:
    auto_playbooks: false
`;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * A bare remote for `retries` approved retries: `setup` (providers, policy, deliveries and their
 * failed first attempts) and `approvals`, one commit each.
 */
function retryRepository(
  bare: string,
  retries: number,
): { setup: Map<string, string>; approvals: Map<string, string> } {
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  // A git server keeps each push as one pack. Git's default explodes pushes of under 100 objects
  // into loose files, which on this machine's disk costs ~2.5 ms an object: a server's cost, not
  // the reconciler's.
  execFileSync('git', ['config', 'receive.unpackLimit', '1'], { cwd: bare });
  const setup = new Map<string, string>([
    ['manifests/providers.yaml', PROVIDERS],
    ['manifests/policy.yaml', policy(retries)],
  ]);
  const approvals = new Map<string, string>();
  for (let i = 0; i < retries; i++) {
    setup.set(`manifests/deliveries/bench-${i}.yaml`, delivery(`bench-${i}`, 'bench-webhook'));
    approvals.set(
      `manifests/approvals/approve-bench-${i}.yaml`,
      approval(`approve-bench-${i}`, `bench-${i}`, 'bench-webhook'),
    );
    const record = deliveryRecord(`bench-${i}`, 'bench-webhook', false);
    setup.set(recordPath('deliveries', record.record_id, record.attempted_at), serializeRecord(record));
  }
  return { setup, approvals };
}

async function throughput(retries: number, latencyMs: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-bench-reconcile-'));
  const receiver = await startReceiver(latencyMs);
  try {
    const bare = join(dir, 'remote.git');
    const { setup, approvals } = retryRepository(bare, retries);
    seedBare(bare, [setup]);

    const env = { BENCH_WEBHOOK_URL: receiver.url };
    const connectorContext = createConnectorContext({ env, fileRoot: dir });
    const store = await openGitStore({
      remote: bare,
      stateDir: join(dir, 'state'),
      branch: 'main',
      replicaId: 'bench',
      env: process.env,
      clock: { now: () => NOW },
    });
    const options: ReconcilerOptions = {
      store,
      branch: 'main',
      ledgerBranch: null,
      replicaId: 'bench',
      clock: { now: () => NOW },
      leaseMinutes: 10,
      push: true,
      shard: null,
      connectorFor: (provider) => createConnector(provider, connectorContext),
      // BENCH_LOG=1 shows the run's steps with timestamps, to see where the time goes.
      logger: process.env.BENCH_LOG
        ? await createLogger({ write: (t) => process.stderr.write(t), isTTY: false, level: 'info' })
        : await createSilentLogger(),
      concurrency: CONCURRENCY,
      cache: createSnapshotCache(),
    };
    // Steady state of a long-running loop: it has already read the repository (deliveries and
    // their failed attempts) when the pull request with the 1,000 approvals is merged.
    await reconcileOnce(options);
    seedBare(bare, [approvals]);
    // The seed's writes are the setup's, not the run's: flush them before the clock starts.
    execFileSync('sync');
    const started = performance.now();
    const result = await reconcileOnce(options);
    const reconcileMs = performance.now() - started;
    await store.close();
    const seen = await receiver.count();
    if (result.calls !== retries || seen !== retries) {
      throw new Error(
        `expected ${retries} calls, reconcile made ${result.calls} and the receiver saw ${seen}`,
      );
    }

    // Baseline: the same calls through the same connector, no git.
    const connector = createConnector(
      {
        apiVersion: 'cavra.dev/v1',
        kind: 'Provider',
        name: 'bench-webhook',
        labels: {},
        spec: {
          type: 'webhook',
          url_env: 'BENCH_WEBHOOK_URL',
          token_env: null,
          signing_secret_env: null,
          enabled: true,
          timeout_seconds: 10,
          category: 'webhook',
          idempotent: true,
          options: {},
        },
        source: { path: '', document: 0, line: 1, column: 1, blob: '', introduced: null },
      },
      connectorContext,
    );
    const requests: DeliveryRequest[] = Array.from({ length: retries }, (_, i) => ({
      idempotencyKey: `gordackretryexec-${i.toString(16).padStart(16, '0')}`,
      deliveryId: `bench-${i}`,
      auditId: `audit-bench-${i}`,
      provider: 'bench-webhook',
      attempt: 2,
      executionId: `gordackretryexec-${i.toString(16).padStart(16, '0')}`,
      package: PACKAGE,
      at: NOW.toISOString(),
    }));
    const baselineStarted = performance.now();
    await mapLimit(requests, CONCURRENCY, (request) => connector.deliver(request));
    const baselineMs = performance.now() - baselineStarted;
    return {
      retries,
      receiver_latency_ms: latencyMs,
      reconcile_ms: Math.round(reconcileMs),
      baseline_ms: Math.round(baselineMs),
      // What the git bookkeeping adds per retry: about the same whatever the receiver's latency.
      overhead_ms_per_retry: Number(((reconcileMs - baselineMs) / retries).toFixed(2)),
      ratio: Number((baselineMs / reconcileMs).toFixed(3)),
    };
  } finally {
    receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bare remote of `manifestCount` manifests and `recordCount` delivery records, all delivered. */
export function seedLargeRepository(bare: string, manifestCount: number, recordCount: number): void {
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const files = new Map<string, string>([
    ['manifests/providers.yaml', PROVIDERS],
    ['manifests/policy.yaml', policy(25)],
  ]);
  const live = manifestCount - 2;
  for (let i = 0; i < live; i++)
    files.set(`manifests/deliveries/d-${i}.yaml`, delivery(`live-${i}`, 'bench-webhook'));
  for (let i = 0; i < recordCount; i++) {
    const record =
      i < live
        ? deliveryRecord(`live-${i}`, 'bench-webhook', true)
        : deliveryRecord(`archived-${i}`, 'bench-webhook', true);
    files.set(recordPath('deliveries', record.record_id, record.attempted_at), serializeRecord(record));
  }
  seedBare(bare, [files]);
}

/** Loaded into the child with `--import`: prints the process's peak resident set as it exits. */
const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(2, `\\npeak_rss_kb=${process.resourceUsage().maxRSS}\\n`));",
)}`;

/**
 * One `cavra-gitops reconcile --once` of the real CLI in a process of its own, on a fresh state
 * dir: its wall time and peak RSS (what a replica's container must allow for one run).
 */
export async function measureCliRun(
  bare: string,
  env: Record<string, string>,
  nodeOptions: readonly string[] = [],
): Promise<Record<string, number>> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cavra-bench-rss-'));
  try {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...nodeOptions,
        '--import',
        PEAK_RSS_HOOK,
        BUILT_CLI,
        'reconcile',
        '--once',
        '--remote',
        bare,
        '--state-dir',
        stateDir,
        '--replica-id',
        'bench',
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...env, CAVRA_GITOPS_NOW: NOW.toISOString() },
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ms = performance.now() - started;
    const peak = /peak_rss_kb=(\d+)/.exec(stderr);
    if (code !== 0 || !peak)
      throw new Error(`reconcile --once exited with ${code}: ${stderr.slice(0, 2000)}`);
    return { run_ms: Math.round(ms), peak_rss_mb: Math.round(Number(peak[1]) / 1024) };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * Peak RSS of single runs, each in its own process: 1,000 approved retries against the instant
 * receiver (first run of a fresh replica: read, plan, claim, call, record), and the first run over
 * 10,000 manifests and 100,000 records (reads everything, commits the first report).
 */
async function peakRssPerRun(): Promise<Record<string, Record<string, number>>> {
  await buildCli();
  const dir = await mkdtemp(join(tmpdir(), 'cavra-bench-rss-repos-'));
  try {
    const retries = await measureRetriesRun(dir);
    const largeBare = join(dir, 'large.git');
    seedLargeRepository(largeBare, 10_000, 100_000);
    const large = await measureCliRun(largeBare, {});
    return { retries_1000: retries, first_run_10k_manifests_100k_records: large };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The first run of a fresh replica over 1,000 approved retries against the instant receiver, as
 * one CLI process (its repository is seeded in `dir`): wall time and peak RSS.
 */
export async function measureRetriesRun(
  dir: string,
  nodeOptions: readonly string[] = [],
): Promise<Record<string, number>> {
  const receiver = await startReceiver(0);
  try {
    const retryBare = join(dir, `retries-${Date.now()}.git`);
    const { setup, approvals } = retryRepository(retryBare, 1000);
    seedBare(retryBare, [setup, approvals]);
    const retries = await measureCliRun(retryBare, { BENCH_WEBHOOK_URL: receiver.url }, nodeOptions);
    if ((await receiver.count()) !== 1000) throw new Error('expected 1,000 calls from the CLI run');
    await rm(retryBare, { recursive: true, force: true });
    return retries;
  } finally {
    receiver.close();
  }
}

async function noop(manifestCount: number, recordCount: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-bench-noop-'));
  try {
    const bare = join(dir, 'remote.git');
    seedLargeRepository(bare, manifestCount, recordCount);
    const store = await openGitStore({
      remote: bare,
      stateDir: join(dir, 'state'),
      branch: 'main',
      replicaId: 'bench',
      env: process.env,
      clock: { now: () => NOW },
    });
    const options = {
      store,
      branch: 'main',
      ledgerBranch: null,
      replicaId: 'bench',
      clock: { now: () => NOW },
      leaseMinutes: 10,
      push: true,
      shard: null,
      connectorFor: () => {
        throw new Error('the no-op bench must make no call');
      },
      logger: await createSilentLogger(),
      intervalMs: 1000,
      signal: new AbortController().signal,
      once: true,
    };
    const firstStarted = performance.now();
    await runLoop(options); // the first run reads everything and commits the first report
    const firstMs = performance.now() - firstStarted;
    const fullStarted = performance.now();
    const full = await reconcileOnce(options); // reads and plans everything, finds nothing to do
    const fullMs = performance.now() - fullStarted;
    if (full.commits.length > 0) throw new Error('expected the full read to commit nothing');
    const samples = await timeNoopPasses(options);
    await store.close();
    return {
      manifests: manifestCount,
      records: recordCount,
      first_run_ms: Math.round(firstMs),
      full_read_noop_ms: Math.round(fullMs),
      noop_median_ms: Number(samples[3]!.toFixed(1)),
      noop_max_ms: Number(samples[6]!.toFixed(1)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Receiver latencies measured; the ratio is judged at `HEADLINE_LATENCY_MS` (see docs/benchmarks.md). */
const LATENCIES_MS = [0, 25, 100];
const HEADLINE_LATENCY_MS = 100;

/** Run the reconcile suite; `ratio` = reconcile ÷ baseline throughput with the 100 ms receiver. */
export async function runReconcileBench(): Promise<{
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}> {
  const byLatency: Record<string, Record<string, number>> = {};
  for (const latency of LATENCIES_MS) byLatency[`receiver_${latency}ms`] = await throughput(1000, latency);
  const idle = await noop(10_000, 100_000);
  const perRun = await peakRssPerRun();
  return {
    name: 'reconcile',
    ratio: byLatency[`receiver_${HEADLINE_LATENCY_MS}ms`]!.ratio!,
    details: {
      ...byLatency,
      noop: idle,
      // Each run in a process of its own (the real CLI), so one run's peak is not the harness's.
      per_run: perRun,
      targets: `ratio >= 0.8 with a receiver answering in ${HEADLINE_LATENCY_MS} ms, noop <= 50 ms, peak RSS per run <= 300 MB`,
    },
  };
}

/** One throughput run, for profiling (`node --cpu-prof`). */
export async function profileThroughput(retries = 1000, latencyMs = 0): Promise<Record<string, number>> {
  return throughput(retries, latencyMs);
}
