/**
 * `npm run bench -- history` (issue 16): on a fresh clone, `validate`, `plan`, the first
 * `reconcile` and `verify` cost what one `git log --raw` over the history costs, not commits × files.
 *
 * Repositories of 1,000, 3,000 and 10,000 commits are generated with `git fast-import` by
 * bench/generate-history.ts: every commit adds an AuditDelivery, every second a RetryApproval,
 * every third appends a RetryAcknowledgement to a multi-document file, every 25th a
 * RecoveryClosure, and every 10th is a reconciler commit with the records of a run over the
 * commits before it (deliveries, executions, playbooks, closures, the run), all with the product's
 * ids and hashes; the last five commits are operator commits no run has seen yet.
 *
 * Each command runs as the real CLI (`node dist/cli/main.js …`, a child process; `dist` is built
 * first unless BENCH_NO_BUILD=1), on a fresh clone per round (`git clone --bare --no-local`, as a
 * pull-request check or a new replica has it):
 * - `validate --format json`, `plan --format json`, `verify --format json` with `--repo CLONE`;
 * - the first `reconcile --once` of a new replica: its state dir holds a fresh clone of a fresh
 *   copy of the remote, and the calls go to a receiver on 127.0.0.1 (a process of its own).
 * Baseline, in the same round and also a Node process of its own: one `git log --raw --no-renames
 * -z --no-abbrev` over the whole history read to the end, plus the tip's manifests (`ls-tree`,
 * `cat-file --batch`) parsed with `yaml`. Also measured: the CLI's start-up (`--version`) and,
 * after the last round, the no-op pass of the loop on the replica's state (tips unmoved, nothing
 * due; target < 10 ms), in a replica process that has read the history (bench/noop-replica.ts).
 *
 * Printed: medians per command and size, ratios to the baseline (target ≤ 2×), growth 1,000 →
 * 10,000 (target ≤ 12×). `BENCH_HISTORY_SIZES=1000,3000` and `BENCH_ROUNDS=n` change the sizes and
 * the rounds (median of 3 by default).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BUILT_CLI, buildCli } from './build-cli.js';
import { startReceiver, type Receiver } from './receiver.js';
import {
  commitTime,
  generateHistory,
  gitEnv,
  isoAt,
  median,
  providerName,
  runGit,
  timeIt,
  type GeneratedHistory,
} from './generate-history.js';

export interface BenchResult {
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}

const DEFAULT_SIZES = [1_000, 3_000, 10_000];
const RATIO_TARGET = 2;
const GROWTH_TARGET = 12;
const NOOP_TARGET_MS = 10;
const COMMANDS = ['validate', 'plan', 'reconcile', 'verify'] as const;
type Command = (typeof COMMANDS)[number];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPLICA = 'bench-replica';

interface CliRun {
  ms: number;
  code: number;
  stdout: string;
}

/** Run `node ...args` to its exit, timed from spawn; rejects when it exits with a code not in `ok`. */
function runNode(args: string[], env: NodeJS.ProcessEnv, what: string, ok: number[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === null || !ok.includes(code))
        reject(new Error(`${what} exited ${code}: ${Buffer.concat(err).toString('utf8')}`));
      else resolve({ ms, code, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Run the built CLI in a child process and time it (exit 1, findings, is an answer too). */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runNode([BUILT_CLI, ...args], env, `cavra-gitops ${args[0]}`, [0, 1]);
}

interface SizeResult {
  commits: number;
  approvals: number;
  acks: number;
  closures: number;
  records: number;
  baseline_ms: number;
  startup_ms: number;
  clone_ms: number;
  ms: Record<Command, number>;
  ratio: Record<Command, number>;
  reconcile_calls: number;
  verify_findings: number;
  noop_median_ms: number;
  noop_max_ms: number;
}

const cliEnv = (now: string, hookUrl: string): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(gitEnv()).filter(([key]) => !key.startsWith('CAVRA_GITOPS_'))),
  CAVRA_GITOPS_NOW: now,
  HOOK_URL: hookUrl,
});

/**
 * The baseline, as a process of its own like the CLI (so both pay a Node start-up): one
 * `git log --raw` over the history read to the end, then the tip's manifests listed (`ls-tree`),
 * read (`cat-file --batch`) and parsed with `yaml`.
 */
const BASELINE_SCRIPT = `
const { spawnSync } = require('node:child_process');
const { parseAllDocuments } = require(process.argv[2]);
const dir = process.argv[1];
const git = (args, input) => {
  const result = spawnSync('git', args, { cwd: dir, input, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error('git ' + args[0] + ' failed: ' + result.stderr);
  return result.stdout;
};
git(['log', '--raw', '--no-renames', '-z', '--no-abbrev', 'main']);
const blobs = git(['ls-tree', '-r', '-z', 'main', 'manifests'])
  .toString('utf8').split('\\0').filter(Boolean).map((line) => line.split(' ')[2].split('\\t')[0]);
const out = git(['cat-file', '--batch'], blobs.join('\\n') + '\\n');
let offset = 0;
for (let i = 0; i < blobs.length; i++) {
  const newline = out.indexOf(10, offset);
  const size = Number(out.subarray(offset, newline).toString('latin1').split(' ')[2]);
  const text = out.subarray(newline + 1, newline + 1 + size).toString('utf8');
  offset = newline + 2 + size;
  for (const document of parseAllDocuments(text)) document.toJS();
}
`;
const YAML_MODULE = join(ROOT, 'node_modules', 'yaml', 'dist', 'index.js');

function baseline(clone: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', BASELINE_SCRIPT, clone, YAML_MODULE], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const err: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`the baseline failed: ${Buffer.concat(err).toString('utf8')}`)),
    );
  });
}

/**
 * The loop's no-op pass on a replica's state (tips unmoved since its last run, nothing due), in a
 * replica process of its own that has read the history first (bench/noop-replica.ts).
 */
async function measureNoop(
  stateDir: string,
  remote: string,
  now: string,
  env: NodeJS.ProcessEnv,
): Promise<number[]> {
  const script = join(ROOT, 'bench', 'noop-replica.ts');
  const args = [...process.execArgv, script, stateDir, remote, now, REPLICA];
  const run = await runNode(args, env, 'the no-op replica', [0]);
  return (JSON.parse(run.stdout) as { samples: number[] }).samples;
}

async function measure(commits: number, rounds: number, receiver: Receiver): Promise<SizeResult> {
  const generated: GeneratedHistory = await generateHistory({
    commits,
    runEvery: 10,
    runOffset: 5,
    providers: 1,
    deliveryProviders: [providerName(0)],
    fails: (delivery) => delivery % 2 === 1,
    approvals: true,
    acks: true,
    closures: true,
  });
  const now = isoAt(commitTime(commits) + 3600);
  const env = cliEnv(now, receiver.url);
  const work = await mkdtemp(join(tmpdir(), `cavra-bench-history-run-${commits}-`));
  const times: Record<Command | 'baseline' | 'startup' | 'clone', number[]> = {
    baseline: [],
    startup: [],
    clone: [],
    validate: [],
    plan: [],
    reconcile: [],
    verify: [],
  };
  let calls = 0;
  let findings = -1;
  let noop: number[] = [];
  try {
    for (let round = 0; round <= rounds; round++) {
      // Round 0 warms up (page cache, JIT); its times are not kept.
      const keep = round > 0;
      const dir = join(work, `round-${round}`);
      await mkdir(dir);
      const clone = join(dir, 'clone.git');
      const cloneMs = await timeIt(() =>
        runGit(work, ['clone', '-q', '--bare', '--no-local', generated.dir, clone]),
      );
      const remote = join(dir, 'remote.git');
      await runGit(work, ['clone', '-q', '--bare', '--no-local', generated.dir, remote]);
      // Pushes stay packs, as a git server keeps them (as in bench/reconcile.ts).
      await runGit(remote, ['config', 'receive.unpackLimit', '1']);
      const stateDir = join(dir, 'state');
      await mkdir(stateDir);
      await runGit(work, ['clone', '-q', '--bare', '--no-local', remote, join(stateDir, 'repo.git')]);

      const baselineMs = await baseline(clone, env);
      const startup = await runCli(['--version'], env);
      const read = ['--repo', clone, '--ref', 'main', '--format', 'json'];
      const validate = await runCli(['validate', ...read], env);
      if (validate.code !== 0) throw new Error(`validate found errors: ${validate.stdout.slice(0, 500)}`);
      const plan = await runCli(['plan', ...read], env);
      const verify = await runCli(['verify', ...read], env);
      findings = (JSON.parse(verify.stdout) as { findings: unknown[] }).findings.length;
      const before = await receiver.count();
      const reconcile = await runCli(
        ['reconcile', '--remote', remote, '--state-dir', stateDir, '--once', '--replica-id', REPLICA],
        env,
      );
      if (reconcile.code !== 0) throw new Error(`reconcile exited ${reconcile.code}`);
      calls = (await receiver.count()) - before;
      if (keep) {
        times.baseline.push(baselineMs);
        times.startup.push(startup.ms);
        times.clone.push(cloneMs);
        times.validate.push(validate.ms);
        times.plan.push(plan.ms);
        times.verify.push(verify.ms);
        times.reconcile.push(reconcile.ms);
      }
      if (round === rounds) noop = await measureNoop(stateDir, remote, now, env);
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(generated.dir, { recursive: true, force: true });
  }
  const base = median(times.baseline);
  const ms = {} as Record<Command, number>;
  const ratio = {} as Record<Command, number>;
  for (const command of COMMANDS) {
    ms[command] = Math.round(median(times[command]));
    ratio[command] = Number((median(times[command]) / base).toFixed(2));
  }
  const result: SizeResult = {
    commits,
    approvals: generated.approvals,
    acks: generated.acks,
    closures: generated.closures,
    records: generated.records,
    baseline_ms: Math.round(base),
    startup_ms: Math.round(median(times.startup)),
    clone_ms: Math.round(median(times.clone)),
    ms,
    ratio,
    reconcile_calls: calls,
    verify_findings: findings,
    noop_median_ms: Number(median(noop).toFixed(1)),
    noop_max_ms: Number(noop[noop.length - 1]!.toFixed(1)),
  };
  console.log(
    `history ${commits} commits (${result.approvals} approvals, ${result.acks} acks, ${result.closures} closures, ${result.records} records): baseline ${result.baseline_ms} ms, CLI start-up ${result.startup_ms} ms; ` +
      COMMANDS.map((command) => `${command} ${ms[command]} ms (${ratio[command]}x)`).join(', ') +
      `; first reconcile made ${calls} calls; verify ${findings} findings; no-op pass ${result.noop_median_ms} ms median, ${result.noop_max_ms} ms max`,
  );
  return result;
}

/** Run the benchmark; the ratio is the worst of every command's ratio to its baseline. */
export async function runHistoryBench(): Promise<BenchResult> {
  const sizes = (process.env.BENCH_HISTORY_SIZES ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 30);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
  await buildCli();
  const receiver = await startReceiver();
  const results: SizeResult[] = [];
  try {
    for (const commits of sizes.length > 0 ? sizes : DEFAULT_SIZES)
      results.push(await measure(commits, rounds, receiver));
  } finally {
    receiver.close();
  }
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const growth: Record<string, number> = {
    baseline: Number((last.baseline_ms / first.baseline_ms).toFixed(2)),
  };
  for (const command of COMMANDS) growth[command] = Number((last.ms[command] / first.ms[command]).toFixed(2));
  const ratio = Math.max(...results.flatMap((r) => COMMANDS.map((command) => r.ratio[command])));
  const noop = Math.max(...results.map((r) => r.noop_median_ms));
  console.log(
    `history growth ${first.commits} → ${last.commits} commits: ` +
      Object.entries(growth)
        .map(([name, value]) => `${name} ${value}x`)
        .join(', ') +
      ` (target <= ${GROWTH_TARGET}x); worst ratio ${ratio}x (target <= ${RATIO_TARGET}x); worst no-op median ${noop} ms (target < ${NOOP_TARGET_MS} ms)`,
  );
  return {
    name: 'history',
    ratio,
    details: {
      sizes: results,
      growth,
      rounds,
      targets: {
        ratio: `<= ${RATIO_TARGET}`,
        growth: `<= ${GROWTH_TARGET}`,
        noop_ms: `< ${NOOP_TARGET_MS}`,
      },
    },
  };
}
