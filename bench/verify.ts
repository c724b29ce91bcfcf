/**
 * `npm run bench -- verify` (issue 12): `verify` audits a ledger of 100,000 records added in 1,000
 * reconciler commits, against a baseline in the same run that reads the same history once:
 * `git log --raw` over it, `git cat-file --batch` of every record blob, `JSON.parse` of each.
 * Target: verify ≤ 3× the baseline.
 *
 * The repository is generated with `git fast-import`: 100 webhook providers and, per round of two
 * commits, an operator commit adding one AuditDelivery to all of them and a reconciler commit
 * (replica trailer) with its 100 delivery records (attempt 1, every 10th failed) and a run record,
 * all with correct ids and hashes, naming the operator commit as `source_revision`. So the audit
 * finds nothing and does all its work: the append-only rules over every commit, every blob's hash
 * and ids, every source revision in the tracked history, every delivery's AuditDelivery, the
 * tip's attempt rules. It is timed in a fresh bare clone (`git clone --bare --no-local`), as a CI
 * job of an auditor has it. `BENCH_VERIFY_COMMITS=n` (record commits) and `BENCH_ROUNDS=n` change
 * the size and rounds.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { auditLedger } from '../src/audit/audit-ledger.js';
import { withHash } from '../src/domain/hash.js';
import { runId } from '../src/domain/ids.js';
import type { DeliveryRecord, RunRecord } from '../src/domain/types.js';
import { createGitReader } from '../src/git/index.js';
import { recordPath, serializeRecord } from '../src/records/layout.js';

export interface BenchResult {
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}

const RATIO_TARGET = 3;
const PROVIDERS = 100;
const BASE_TIME = Date.parse('2026-01-01T00:00:00Z') / 1000;
const READ_CHUNK = 2000;

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

const isoAt = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const header = (kind: string, name: string): string =>
  `apiVersion: cavra.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n`;
const providerName = (p: number): string => `hook-${String(p).padStart(3, '0')}`;

function providersYaml(): string {
  const documents: string[] = [];
  for (let p = 0; p < PROVIDERS; p++) {
    documents.push(`${header('Provider', providerName(p))}  type: webhook\n  url_env: HOOK_URL\n`);
  }
  return documents.join('---\n');
}

function deliveryYaml(i: number): string {
  return `${header('AuditDelivery', `drill-${i}`)}  audit_id: audit-${i}
  providers: all
  package:
    route_count: 1
    acknowledgement_count: 2
    acknowledged_count: 1
    resolved_count: 0
    escalated_count: 0
    dismissed_count: 0
    outstanding_count: 1
    routes:
      - {route_id: route-${i}, provider: ${providerName(0)}, state: acknowledged, owner: payments-sre}
`;
}

/** A fast-import session that answers `get-mark` on stdout (records name earlier commits). */
class FastImport {
  private readonly child;
  private buffered = '';
  private readonly waiting: ((line: string) => void)[] = [];
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
        this.waiting.shift()?.(line);
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
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    await this.write(`get-mark :${mark}\n`);
    return answer;
  }

  async finish(): Promise<void> {
    await this.write('done\n');
    this.child.stdin.end();
    await this.exited;
  }
}

/** Generate the ledger (see the file comment); returns the bare repository and its record count. */
async function generateLedger(recordCommits: number): Promise<{ dir: string; records: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-bench-verify-'));
  await runGit(dir, ['init', '-q', '--bare', '-b', 'main']);
  const importer = new FastImport(dir);
  let mark = 0;
  let records = 0;
  const commit = async (
    message: string,
    time: number,
    author: string,
    files: [string, string][],
  ): Promise<void> => {
    mark += 1;
    const who = `${author} ${time} +0000`;
    const parts = [`commit refs/heads/main\nmark :${mark}\nauthor ${who}\ncommitter ${who}\n`];
    parts.push(`data ${Buffer.byteLength(message)}\n${message}\n`);
    if (mark > 1) parts.push(`from :${mark - 1}\n`);
    for (const [path, content] of files) {
      parts.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    await importer.write(`${parts.join('')}\n`);
  };
  for (let i = 0; i < recordCommits; i++) {
    const time = BASE_TIME + i * 1800;
    const files: [string, string][] = [[`manifests/deliveries/drill-${i}.yaml`, deliveryYaml(i)]];
    if (i === 0) files.push(['manifests/providers.yaml', providersYaml()]);
    await commit(`deliver drill-${i}`, time, 'Operator <ops@example.com>', files);
    const revision = await importer.markId(mark);
    const at = isoAt(time + 60);
    const run = runId(revision, at, 'bench');
    const ledger: [string, string][] = [];
    for (let p = 0; p < PROVIDERS; p++) {
      const failed = p % 10 === 9;
      const delivery = withHash<DeliveryRecord, 'record_hash'>(
        {
          record_id: `drill-${i}.${providerName(p)}.1`,
          delivery_id: `drill-${i}`,
          audit_id: `audit-${i}`,
          provider: providerName(p),
          attempt: 1,
          delivery_success: !failed,
          status_code: failed ? 503 : 200,
          error: failed ? 'HTTP 503' : '',
          execution_id: '',
          idempotency_key: `drill-${i}`,
          attempted_at: at,
          completed_at: at,
          run_id: run,
          source_revision: revision,
        },
        'record_hash',
      );
      ledger.push([recordPath('deliveries', delivery.record_id, at), serializeRecord(delivery)]);
    }
    const runRecord = withHash<RunRecord, 'run_hash'>(
      {
        run_id: run,
        replica_id: 'bench',
        started_at: at,
        source_revision: revision,
        delivery_count: PROVIDERS,
        execution_count: 0,
        playbook_count: 0,
        closure_count: 0,
      },
      'run_hash',
    );
    ledger.push([recordPath('runs', run, at), serializeRecord(runRecord)]);
    records += ledger.length;
    await commit(
      `cavra-gitops: record ${PROVIDERS} deliveries, 1 runs\n\nCavra-Gitops-Replica: bench\n`,
      time + 60,
      'cavra-gitops <bench>',
      ledger,
    );
  }
  await importer.finish();
  return { dir, records };
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

/** Run the benchmark; the ratio is verify's median time over the baseline's. */
export async function runVerifyBench(): Promise<BenchResult> {
  const recordCommits = Math.max(10, Number(process.env.BENCH_VERIFY_COMMITS ?? 1000) || 1000);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
  const generated = await generateLedger(recordCommits);
  const clone = await mkdtemp(join(tmpdir(), 'cavra-bench-verify-clone-'));
  try {
    await runGit(clone, ['clone', '-q', '--bare', '--no-local', generated.dir, '.']);
    let parsed = 0;
    const baseline = async (): Promise<void> => {
      const log = await runGit(clone, [
        'log',
        '--raw',
        '--no-renames',
        '-z',
        '--no-abbrev',
        '--format=%H',
        'main',
      ]);
      // The blob of every record file the history added (`:old new mode… status\0path\0`).
      const blobs: string[] = [];
      const parts = log.toString('latin1').split('\0');
      for (let k = 0; k + 1 < parts.length; k++) {
        const raw = parts[k]!;
        const colon = raw.lastIndexOf(':');
        if (colon === -1) continue;
        const fields = raw.slice(colon + 1).split(' ');
        if (fields[4] === 'A' && parts[k + 1]!.startsWith('records/')) blobs.push(fields[3]!);
      }
      const reader = createGitReader(clone, { gitDir: true });
      parsed = 0;
      try {
        for (let start = 0; start < blobs.length; start += READ_CHUNK) {
          const contents = await reader.readBlobs(blobs.slice(start, start + READ_CHUNK));
          for (const content of contents.values()) {
            JSON.parse(content.toString('utf8'));
            parsed++;
          }
        }
      } finally {
        await reader.close();
      }
    };
    let findings = -1;
    let audited = 0;
    const verify = async (): Promise<void> => {
      const reader = createGitReader(clone, { gitDir: true });
      try {
        const tip = await reader.resolve('main');
        const result = await auditLedger(reader, { revision: tip, ledgerRevision: tip });
        findings = result.findings.length;
        audited = result.records;
      } finally {
        await reader.close();
      }
    };
    // Warm up (JIT, the page cache of the clone), then alternate timed rounds.
    await baseline();
    await verify();
    const times = { baseline: [] as number[], verify: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      times.baseline.push(await time(baseline));
      times.verify.push(await time(verify));
    }
    const ratio = Number((median(times.verify) / median(times.baseline)).toFixed(2));
    const details = {
      record_commits: recordCommits,
      commits: recordCommits * 2,
      records: generated.records,
      baseline_records_parsed: parsed,
      verify_records_audited: audited,
      verify_findings: findings,
      baseline_ms: Math.round(median(times.baseline)),
      verify_ms: Math.round(median(times.verify)),
      ratio,
      target: RATIO_TARGET,
      meets_target: ratio <= RATIO_TARGET && findings === 0,
    };
    console.log(
      `verify ${generated.records} records in ${recordCommits} record commits: baseline ${details.baseline_ms} ms, verify ${details.verify_ms} ms (${ratio}x, target ≤ ${RATIO_TARGET}x), ${findings} findings`,
    );
    return { name: 'verify', ratio, details };
  } finally {
    await rm(clone, { recursive: true, force: true });
    if (process.env.BENCH_KEEP) console.log(`kept ${generated.dir}`);
    else await rm(generated.dir, { recursive: true, force: true });
  }
}
