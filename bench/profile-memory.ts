/**
 * The peak RSS of the reconcile suite's large first run (10,000 manifests, 100,000 records) of the
 * built CLI, for profiling memory: `npx tsx bench/profile-memory.ts [dir] [node flags...]`, e.g.
 * `--heapsnapshot-near-heap-limit=1 --max-old-space-size=256` or `--heap-prof`. The seeded bare
 * repository is kept in `dir` (default: a temp dir) so repeated runs skip the seeding; the child
 * runs in `dir`, so snapshots and profiles land there. The run pushes its report to the bare
 * repository, so each run first resets `main` to the seed: every run is a replica's first run.
 * `BENCH_MEMORY_RUN=retries` measures the suite's other run instead: 1,000 approved retries.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from './build-cli.js';
import { measureCliRun, measureRetriesRun, seedLargeRepository } from './reconcile.js';

const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'cavra-bench-memory-')));
const flags = process.argv.slice(3);
mkdirSync(dir, { recursive: true });
await buildCli();
if (process.env.BENCH_MEMORY_RUN === 'retries') {
  process.chdir(dir);
  console.log(JSON.stringify(await measureRetriesRun(dir, flags)));
  process.exit(0);
}
const bare = join(dir, 'large.git');
const SEED_REF = 'refs/bench/seed';
if (!existsSync(bare)) {
  seedLargeRepository(bare, 10_000, 100_000);
  execFileSync('git', ['-C', bare, 'update-ref', SEED_REF, 'refs/heads/main']);
}
execFileSync('git', ['-C', bare, 'update-ref', 'refs/heads/main', SEED_REF]);
process.chdir(dir);
console.log(JSON.stringify(await measureCliRun(bare, {}, flags)));
