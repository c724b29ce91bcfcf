/**
 * Peak RSS of the product's own `serve` (issue 10: `serve` over 100,000 records, target ≤ 300 MB):
 * the built CLI, `node dist/cli/main.js serve --repo <bare repo>`, in a process of its own — no
 * tsx, no bench code in it — over a generated ops repository (bench/seed-serve-repository.ts).
 * The load is the api suite's: the report endpoint (plain and conditional), then the list
 * endpoints the console pages through; the figure is the server's `VmHWM` after it. Then, apart,
 * what the console's once-a-minute retry plan adds (`peak_rss_after_plans_mb`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BUILT_CLI } from './build-cli.js';
import { fetchOnce, load, procStatusMb, type LoadResult } from './http-load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const FLOW = '/runtime/go-pilot/rollback-drill-notifications';
const AUDIT = `${FLOW}/acknowledgements/audit-delivery`;

/** What is loaded after the report, each for `listMs` at 4 clients: the console's list pages. */
const LIST_PATHS = [
  FLOW,
  `${FLOW}?limit=500&offset=1000`,
  `${FLOW}/dashboard`,
  `${AUDIT}/retry-executions`,
  `${AUDIT}/retry-executions?limit=500`,
  `${AUDIT}/connector-recovery-playbooks`,
  `${AUDIT}/routes`,
  `${AUDIT}/retry-execution-trends`,
  '/status',
];

/** Rounds of the console's once-a-minute plan requests measured after the load. */
const PLAN_ROUNDS = 3;

export interface ServeMemoryOptions {
  /** Node flags for the server (e.g. `--heapsnapshot-signal=SIGUSR2`). */
  nodeOptions?: readonly string[];
  /** The server's working directory (heap snapshots and profiles land there). */
  cwd?: string;
  /** Each report measurement (default 5 s; the list pages get a fifth of it each). */
  durationMs?: number;
  /** Called with the server's pid after the load, before the figures are read (e.g. to snapshot). */
  afterLoad?: (pid: number, base: string) => Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Poll until the server answers (it listens before it reads the repository). */
async function waitForServer(base: string, exited: () => string | null): Promise<void> {
  for (;;) {
    const failure = exited();
    if (failure !== null) throw new Error(failure);
    try {
      if ((await fetchOnce(`${base}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Start `serve` over `repo`, drive the load, and return its figures (see the file comment). */
export async function measureServeMemory(
  repo: string,
  options: ServeMemoryOptions = {},
): Promise<Record<string, unknown>> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeOptions ?? []),
      BUILT_CLI,
      'serve',
      '--repo',
      repo,
      '--port',
      String(port),
      '--log-level',
      'warn',
    ],
    { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let exit: string | null = null;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.once('exit', (code) => (exit = `serve exited with ${code}: ${stderr.slice(0, 2000)}`));
  const duration = options.durationMs ?? 5_000;
  try {
    await waitForServer(base, () => exit);
    const pid = child.pid!;
    const started = performance.now();
    const ready = await fetchOnce(`${base}/readyz`);
    if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}: ${stderr.slice(0, 2000)}`);
    const firstReadMs = Math.round(performance.now() - started);
    const rssAfterRead = procStatusMb(pid, 'VmRSS');
    const report = `${base}${AUDIT}/retry-recovery-report`;
    await load(report, {}, 1_000, 16);
    const reportLoad = await load(report, {}, duration, 16);
    const { etag } = await fetchOnce(report);
    const conditional = await load(report, { 'If-None-Match': etag }, duration, 16);
    const reportLatency = await load(report, {}, duration, 4);
    const lists: Record<string, LoadResult> = {};
    for (const path of LIST_PATHS) lists[path] = await load(`${base}${path}`, {}, duration / 5, 4);
    const failed = Object.entries({ reportLoad, conditional, reportLatency, ...lists }).filter(([, result]) =>
      Object.keys(result.statuses).some((status) => status !== '200' && status !== '304'),
    );
    if (failed.length > 0) throw new Error(`serve answered errors: ${JSON.stringify(failed).slice(0, 2000)}`);
    await options.afterLoad?.(pid, base);
    const peak = procStatusMb(pid, 'VmHWM');
    const afterLoad = procStatusMb(pid, 'VmRSS');
    // Then what the console adds once a minute: the retry plan's first page, as the console asks
    // for it (a plan per second, tens of MB for 100,000 records), and the suppressions read from
    // the same plan; three rounds, each at a new second.
    const planStarted = performance.now();
    for (let round = 0; round < PLAN_ROUNDS; round++) {
      for (const path of [`${AUDIT}/retry-plan?limit=500`, `${AUDIT}/suppressions`]) {
        const answer = await fetchOnce(`${base}${path}`);
        if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}`);
      }
    }
    const planMs = Math.round((performance.now() - planStarted) / PLAN_ROUNDS);
    return {
      first_read_ms: firstReadMs,
      rss_after_first_read_mb: rssAfterRead,
      peak_rss_mb: peak,
      rss_after_load_mb: afterLoad,
      plan_round_ms: planMs,
      peak_rss_after_plans_mb: procStatusMb(pid, 'VmHWM'),
      rss_after_plans_mb: procStatusMb(pid, 'VmRSS'),
      report: reportLoad,
      report_conditional_304: conditional,
      report_latency: reportLatency,
      list_requests: Object.values(lists).reduce((sum, result) => sum + result.requests, 0),
    };
  } finally {
    if (exit === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}
