/**
 * The peak RSS of the real `serve` over about 100,000 records after the api suite's load, for
 * profiling memory: `npx tsx bench/profile-serve-memory.ts [dir] [node flags...]`, e.g.
 * `--heapsnapshot-signal=SIGUSR2` (a heap snapshot of the server after the load lands in `dir`),
 * `--heap-prof` or `--max-old-space-size=256`. The generated bare repository is kept in `dir`
 * (default: a temp dir) so repeated runs skip generating it. `BENCH_SERVE_RECORDS=n` sizes it,
 * `BENCH_SERVE_MS=n` sets each report measurement (default 5,000 ms).
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchOnce } from './http-load.js';
import { buildCli } from './build-cli.js';
import { measureServeMemory } from './serve-memory.js';
import { seedServeRepository } from './seed-serve-repository.js';

const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'cavra-bench-serve-memory-')));
const flags = process.argv.slice(3);
const records = Number(process.env.BENCH_SERVE_RECORDS ?? 100_000);
mkdirSync(dir, { recursive: true });
const repo = join(dir, `serve-${records}.git`);
if (!existsSync(repo)) renameSync((await seedServeRepository(records)).dir, repo);
await buildCli();
const snapshotting = flags.some((flag) => flag.startsWith('--heapsnapshot-signal'));
const figures = await measureServeMemory(repo, {
  nodeOptions: flags,
  cwd: dir,
  durationMs: Number(process.env.BENCH_SERVE_MS ?? 5_000),
  ...(snapshotting
    ? {
        afterLoad: async (pid: number, base: string) => {
          const before = new Set(readdirSync(dir));
          process.kill(pid, 'SIGUSR2');
          // V8 writes the snapshot on the server's main thread: once the file is there and the
          // server answers again, it is complete.
          while (!readdirSync(dir).some((name) => name.endsWith('.heapsnapshot') && !before.has(name)))
            await new Promise((resolve) => setTimeout(resolve, 200));
          await fetchOnce(`${base}/healthz`);
        },
      }
    : {}),
});
console.log(JSON.stringify({ repo, records, ...figures }));
