/**
 * The built CLI the benches run as a child process (`node dist/cli/main.js …`): the product as a
 * replica or `serve` runs it, with no tsx loader or bench code in its process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `BENCH_CLI=<path to another build's dist/cli/main.js>` times that build instead (A/B runs). */
export const BUILT_CLI = process.env.BENCH_CLI ?? join(ROOT, 'dist', 'cli', 'main.js');

/** Build dist/ (what the CLI benches run) unless `BENCH_NO_BUILD=1` or another build is timed. */
export async function buildCli(): Promise<void> {
  if (process.env.BENCH_NO_BUILD === '1' || process.env.BENCH_CLI !== undefined) return;
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'build.js')], { cwd: ROOT, stdio: 'inherit' });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`the build exited ${code}`);
}
