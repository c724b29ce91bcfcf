/**
 * The package as users get it: `npm pack` of a fresh copy of the sources (so the test proves a
 * clean checkout builds on pack, and never rewrites this worktree's dist/ under other tests), and
 * `npm install <tarball>` into an empty project. Installs prefer npm's local cache (the
 * dependencies are there after `npm ci`), so they only ask the registry for what is missing.
 */
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from './run-process.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What `npm pack` needs from the sources: package files, the build, what `files` ships. */
const PACK_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/build.js',
  'README.md',
  'src',
  'schemas',
  'manifests',
  'console',
];

/** A clean environment for npm and the installed CLI: no CAVRA_GITOPS_* or npm_* of the test run. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

/** `npm pack` a copy of the sources into `workDir`; returns the tarball's path. */
export async function packPackage(workDir: string): Promise<string> {
  const copy = join(workDir, 'source');
  await mkdir(copy, { recursive: true });
  for (const input of PACK_INPUTS)
    await cp(join(PROJECT_ROOT, input), join(copy, input), { recursive: true });
  // The build needs the compiler; the copy borrows this checkout's installed dependencies.
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
  const packed = await runProcess('npm', ['pack', '--json', '--pack-destination', workDir], {
    cwd: copy,
    env: cleanEnv(),
  });
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
  const [result] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[];
  return join(workDir, result!.filename);
}

/** `npm install <spec>` into a new empty project at `dir`; returns the installed bin's path. */
export async function installPackage(dir: string, spec: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), '{"name":"adopter","version":"1.0.0","private":true}\n');
  const installed = await runProcess('npm', ['install', '--no-audit', '--no-fund', spec], {
    cwd: dir,
    env: cleanEnv(),
  });
  if (installed.code !== 0) throw new Error(`npm install failed:\n${installed.stdout}\n${installed.stderr}`);
  return join(dir, 'node_modules', '.bin', 'cavra-gitops');
}
