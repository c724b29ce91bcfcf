/**
 * `npm run bench -- history` (issue 16): reading an ops repository's history costs what one
 * `git log --raw` over it costs, not commits × files.
 *
 * Repositories of 1,000, 3,000 and 10,000 commits are generated with `git fast-import`: every
 * commit adds an AuditDelivery; every second a RetryApproval; every third appends a
 * RetryAcknowledgement to a multi-document file (ten per file); every 25th a RecoveryClosure;
 * one commit every half hour, files in monthly folders (as records are: `records/<kind>/<YYYY-MM>/`);
 * every 10th is a reconciler commit (replica trailer) with records from a run over the commits
 * before it: a run record naming the previous commit as `source_revision`, a delivery record per
 * new delivery, an execution record (approval evidence: manifest, blob, commit) per new approval,
 * a playbook and, with each closure, a closure record. Each is then cloned (`git clone --bare
 * --no-local`, a fresh clone as a PR check or a new replica has) and timed there:
 *
 * - baseline: one `git log --raw --no-renames -z --no-abbrev` over the whole history, read to
 *   the end, plus reading the tip's manifests (ls-tree + cat-file) and parsing them with `yaml`;
 * - gate: `readManifests` + `readGateFacts` with a fresh reader and a fresh history cache (what
 *   `plan` reads from history on a fresh clone);
 * - validate: the `validate` command in-process (`runValidate`, json output).
 *
 * Printed: each time, the ratios to the baseline (target ≤ 2×) and the growth from 1,000 to 10,000
 * commits (target ≤ 12×, i.e. linear). `BENCH_HISTORY_SIZES=1000,3000` and `BENCH_ROUNDS=n`
 * change the sizes and rounds.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { runValidate } from '../src/cli/validate.js';
import type { CliContext } from '../src/cli/context.js';
import { createGitReader } from '../src/git/index.js';
import { readManifests } from '../src/read-model/read-manifests.js';
import { createHistoryCache } from '../src/read-model/history-cache.js';
import { readGateFacts } from '../src/read-model/read-gate-facts.js';

export interface BenchResult {
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}

const DEFAULT_SIZES = [1_000, 3_000, 10_000];
const RATIO_TARGET = 2;
const GROWTH_TARGET = 12;
const BASE_TIME = Date.parse('2026-01-01T00:00:00Z') / 1000;

const gitEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'))),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  LC_ALL: 'C',
});

function runGit(cwd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`git ${args[0]} failed: ${Buffer.concat(err).toString('utf8')}`)),
    );
  });
}

/** git's blob id of `content` (sha1), so generated records can name the blobs they came from. */
function blobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');
const isoAt = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const monthAt = (seconds: number): string => isoAt(seconds).slice(0, 7);
/** One commit every half hour: 10,000 commits span seven months of folders. */
const COMMIT_INTERVAL_SECONDS = 1800;

const header = (kind: string, name: string): string =>
  `apiVersion: cavra.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n`;

const PROVIDERS = `${header('Provider', 'ops-webhook')}  type: webhook\n  url_env: CAVRA_DEMO_WEBHOOK_URL\n---\n${header('Provider', 'ops-file')}  type: file\n  options: {directory: outbox}\n`;
const POLICY = `${header('ReconcilerPolicy', 'default')}  approvers: [bob@example.com, carol@example.com]\n  require_retry_ack: true\n`;

function deliveryYaml(i: number): string {
  return `${header('AuditDelivery', `delivery-${i}`)}  audit_id: audit-${i}
  providers: [ops-webhook]
  package:
    route_count: 1
    acknowledgement_count: 2
    acknowledged_count: 1
    resolved_count: 0
    escalated_count: 0
    dismissed_count: 0
    outstanding_count: 1
    routes:
      - {route_id: route-${i}, provider: ops-webhook, state: acknowledged, owner: payments-sre}
`;
}

function approvalYaml(i: number): string {
  return `${header('RetryApproval', `approve-${i}`)}  delivery: delivery-${i - 1}
  provider: ops-webhook
  decided_by: bob@example.com
  external_ref: CHG-${i}
  retry_policy:
    allow_immediate_retry: true
`;
}

function ackYaml(i: number): string {
  return `${header('RetryAcknowledgement', `ack-${i}`)}  delivery: delivery-${i}
  provider: ops-webhook
  acknowledged_by: alice@example.com
  notes: Receiver redeployed during the drill.
`;
}

function closureYaml(i: number): string {
  return `${header('RecoveryClosure', `closure-${i}`)}  playbook_id: gordackrecovery-${hex16(i)}
  provider: ops-webhook
  closed_by: carol@example.com
`;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/**
 * A fast-import session that can ask for the id of a mark it created (`get-mark`), answered on
 * stdout as soon as the commit is written, so records can name earlier commits.
 */
class FastImport {
  private readonly child;
  private buffered = '';
  private waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];
  private readonly exited: Promise<void>;

  constructor(dir: string) {
    this.child = spawn('git', ['fast-import', '--quiet', '--done'], {
      cwd: dir,
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString('utf8');
      let newline = this.buffered.indexOf('\n');
      while (newline !== -1) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
        newline = this.buffered.indexOf('\n');
      }
    });
    this.exited = new Promise((resolve, reject) =>
      this.child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)),
      ),
    );
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.stdin.write(text)) resolve();
      else this.child.stdin.once('drain', () => resolve());
    });
  }

  async markId(mark: number): Promise<string> {
    await this.write(`get-mark :${mark}\n`);
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async finish(): Promise<void> {
    await this.write('done\n');
    this.child.stdin.end();
    await this.exited;
  }
}

interface Generated {
  dir: string;
  approvals: number;
  records: number;
}

/** Generate a repository of `commits` commits (see the file comment). */
async function generateRepository(commits: number): Promise<Generated> {
  const dir = await mkdtemp(join(tmpdir(), `cavra-bench-history-${commits}-`));
  await runGit(dir, ['init', '-q', '--bare', '-b', 'main']);
  const importer = new FastImport(dir);
  let mark = 0;
  let approvals = 0;
  let records = 0;
  let ackFile = '';
  let ackFileName = '';
  let pendingDeliveries: number[] = [];
  let pendingApprovals: { i: number; path: string; blob: string; mark: number }[] = [];
  let pendingClosures: { i: number; path: string; blob: string; mark: number }[] = [];
  const commit = async (message: string, time: number, files: [string, string][]): Promise<number> => {
    mark += 1;
    const who = `Operator <ops@example.com> ${time} +0000`;
    const parts = [`commit refs/heads/main\nmark :${mark}\nauthor ${who}\ncommitter ${who}\n`];
    const body = Buffer.from(message, 'utf8');
    parts.push(`data ${body.length}\n${message}\n`);
    if (mark > 1) parts.push(`from :${mark - 1}\n`);
    for (const [path, content] of files) {
      parts.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    await importer.write(`${parts.join('')}\n`);
    return mark;
  };
  for (let i = 1; i <= commits; i++) {
    const time = BASE_TIME + i * COMMIT_INTERVAL_SECONDS;
    const month = monthAt(time);
    if (i % 10 === 0 && i > 1) {
      // A reconciler run over what the previous commits brought.
      const revision = await importer.markId(mark);
      const files: [string, string][] = [];
      const runId = `gordackworker-${hex16(i)}`;
      files.push([
        `records/runs/${month}/${runId}.json`,
        json({ run_id: runId, source_revision: revision, started_at: isoAt(time) }),
      ]);
      for (const d of pendingDeliveries) {
        const id = `delivery-${d}.ops-webhook.1`;
        files.push([
          `records/deliveries/${month}/${id}.json`,
          json({
            record_id: id,
            delivery_id: `delivery-${d}`,
            attempt: 1,
            delivery_success: false,
            run_id: runId,
            source_revision: revision,
          }),
        ]);
      }
      for (const approval of pendingApprovals) {
        const id = `gordackretryexec-${hex16(approval.i)}`;
        files.push([
          `records/executions/${month}/${id}.json`,
          json({
            execution_id: id,
            approval_decision_id: `gordackretryapprovaldecision-${hex16(approval.i)}`,
            delivery_id: `delivery-${approval.i - 1}`,
            audit_id: `audit-${approval.i - 1}`,
            provider: 'ops-webhook',
            approval: {
              manifest: approval.path,
              blob: approval.blob,
              commit: await importer.markId(approval.mark),
              author: 'Operator <ops@example.com>',
              signature: { status: 'none', principal: '' },
            },
            run_id: runId,
            source_revision: revision,
          }),
        ]);
      }
      for (const closure of pendingClosures) {
        const id = `gordackrecoveryclosure-${hex16(closure.i)}`;
        files.push([
          `records/closures/${month}/${id}.json`,
          json({
            closure_id: id,
            playbook_id: `gordackrecovery-${hex16(closure.i)}`,
            provider: 'ops-webhook',
            source: {
              manifest: closure.path,
              blob: closure.blob,
              commit: await importer.markId(closure.mark),
            },
            source_revision: revision,
          }),
        ]);
      }
      records += files.length;
      pendingDeliveries = [];
      pendingApprovals = [];
      pendingClosures = [];
      await commit(`cavra-gitops: run\n\nCavra-Gitops-Replica: bench\n`, time, files);
      continue;
    }
    const files: [string, string][] = [];
    if (i === 1) files.push(['manifests/providers.yaml', PROVIDERS], ['manifests/policy.yaml', POLICY]);
    files.push([`manifests/deliveries/${month}/delivery-${i}.yaml`, deliveryYaml(i)]);
    pendingDeliveries.push(i);
    let approval: string | null = null;
    if (i % 2 === 0) {
      approval = approvalYaml(i);
      files.push([`manifests/approvals/${month}/approve-${i}.yaml`, approval]);
      approvals += 1;
    }
    if (i % 3 === 0) {
      const name = `manifests/acks/${month}/acks-${Math.floor(i / 30)}.yaml`;
      if (name !== ackFileName) {
        ackFileName = name;
        ackFile = '';
      }
      ackFile = ackFile === '' ? ackYaml(i) : `${ackFile}---\n${ackYaml(i)}`;
      files.push([name, ackFile]);
    }
    let closure: string | null = null;
    if (i % 25 === 0) {
      closure = closureYaml(i);
      files.push([`manifests/closures/${month}/closure-${i}.yaml`, closure]);
    }
    const created = await commit(`operator change ${i}`, time, files);
    if (approval !== null) {
      pendingApprovals.push({
        i,
        path: `manifests/approvals/${month}/approve-${i}.yaml`,
        blob: blobId(approval),
        mark: created,
      });
    }
    if (closure !== null) {
      pendingClosures.push({
        i,
        path: `manifests/closures/${month}/closure-${i}.yaml`,
        blob: blobId(closure),
        mark: created,
      });
    }
  }
  await importer.finish();
  return { dir, approvals, records };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

interface SizeResult {
  commits: number;
  approvals: number;
  records: number;
  baseline_ms: number;
  gate_ms: number;
  validate_ms: number;
  gate_ratio: number;
  validate_ratio: number;
  approvals_with_facts: number;
}

async function measure(commits: number, rounds: number): Promise<SizeResult> {
  const generated = await generateRepository(commits);
  const clone = await mkdtemp(join(tmpdir(), `cavra-bench-history-clone-${commits}-`));
  try {
    await runGit(clone, ['clone', '-q', '--bare', '--no-local', generated.dir, '.']);

    const baseline = async (): Promise<void> => {
      await runGit(clone, ['log', '--raw', '--no-renames', '-z', '--no-abbrev', 'main']);
      const reader = createGitReader(clone, { gitDir: true });
      try {
        const tip = await reader.resolve('main');
        const entries = await reader.listTree(tip, ['manifests/']);
        const blobs = await reader.readBlobs(entries.map((entry) => entry.blob));
        for (const entry of entries) {
          for (const document of parseAllDocuments(blobs.get(entry.blob)!.toString('utf8'))) document.toJS();
        }
      } finally {
        await reader.close();
      }
    };
    let withFacts = 0;
    const gate = async (): Promise<void> => {
      const reader = createGitReader(clone, { gitDir: true });
      try {
        const tip = await reader.resolve('main');
        const history = createHistoryCache();
        const loaded = await readManifests(reader, tip, { history });
        const facts = await readGateFacts(reader, {
          revision: tip,
          ledgerRevision: tip,
          manifests: loaded.manifests,
          cache: history,
        });
        withFacts = facts.approvals.size;
      } finally {
        await reader.close();
      }
    };
    const controller = new AbortController();
    const context: CliContext = {
      stdout: () => undefined,
      stderr: () => undefined,
      env: process.env,
      cwd: clone,
      clock: { now: () => new Date('2026-06-28T12:00:00Z') },
      isTTY: false,
      signal: controller.signal,
    };
    const validate = async (): Promise<void> => {
      await runValidate({ repo: clone, ref: 'main', format: 'json' }, context);
    };

    // Warm up (JIT, ajv, the page cache of the clone), then alternate timed rounds.
    await baseline();
    await gate();
    const times = { baseline: [] as number[], gate: [] as number[], validate: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      times.baseline.push(await time(baseline));
      times.gate.push(await time(gate));
      times.validate.push(await time(validate));
    }
    const result: SizeResult = {
      commits,
      approvals: generated.approvals,
      records: generated.records,
      baseline_ms: Math.round(median(times.baseline)),
      gate_ms: Math.round(median(times.gate)),
      validate_ms: Math.round(median(times.validate)),
      gate_ratio: Number((median(times.gate) / median(times.baseline)).toFixed(2)),
      validate_ratio: Number((median(times.validate) / median(times.baseline)).toFixed(2)),
      approvals_with_facts: withFacts,
    };
    console.log(
      `history ${commits} commits (${generated.approvals} approvals, ${generated.records} record files): baseline ${result.baseline_ms} ms, readManifests+readGateFacts ${result.gate_ms} ms (${result.gate_ratio}x), validate ${result.validate_ms} ms (${result.validate_ratio}x)`,
    );
    return result;
  } finally {
    await rm(clone, { recursive: true, force: true });
    await rm(generated.dir, { recursive: true, force: true });
  }
}

/** Run the benchmark; the ratio is the worst of every command's ratio to its baseline. */
export async function runHistoryBench(): Promise<BenchResult> {
  const sizes = (process.env.BENCH_HISTORY_SIZES ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 20);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
  const results: SizeResult[] = [];
  for (const commits of sizes.length > 0 ? sizes : DEFAULT_SIZES)
    results.push(await measure(commits, rounds));
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const growth = (pick: (r: SizeResult) => number): number => Number((pick(last) / pick(first)).toFixed(2));
  const growths = {
    baseline: growth((r) => r.baseline_ms),
    gate: growth((r) => r.gate_ms),
    validate: growth((r) => r.validate_ms),
  };
  const ratio = Math.max(...results.flatMap((r) => [r.gate_ratio, r.validate_ratio]));
  console.log(
    `history growth ${first.commits} → ${last.commits} commits: baseline ${growths.baseline}x, readManifests+readGateFacts ${growths.gate}x, validate ${growths.validate}x (target <= ${GROWTH_TARGET}x); worst ratio ${ratio}x (target <= ${RATIO_TARGET}x)`,
  );
  return {
    name: 'history',
    ratio,
    details: {
      sizes: results,
      growth: growths,
      rounds,
      targets: { ratio: `<= ${RATIO_TARGET}`, growth: `<= ${GROWTH_TARGET}` },
    },
  };
}
