/**
 * Issue 5 acceptance, the `npm start` demo as a process: from an empty directory it creates the
 * demo ops repository, serves the console, and within a minute the API shows the failed delivery,
 * the approved retry (executed, failed again), a playbook and an open recovery row. SIGINT stops
 * it cleanly (exit 0, lock released) and a second start reuses the demo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// The demo runs in a temp dir, where `--import tsx` would not resolve: name tsx's loader by URL.
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const REPORT =
  '/runtime/go-pilot/rollback-drill-notifications/acknowledgements/audit-delivery/retry-recovery-report';

interface Started {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function startDemo(cwd: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, 'start', '--port', '0'], {
    cwd,
    env: { ...process.env, CAVRA_GITOPS_NOW: '', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no console URL within 60 s:\n${err}`)), 60_000);
    const check = (): void => {
      const match = /Evidence Console: (http:\/\/127\.0\.0\.1:\d+)\/console\//.exec(err);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`start exited with ${code}:\n${err}`)));
  });
  return { child, url, stderr: () => err };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

/** Poll the report until `done` holds (the demo's runs take a few seconds), at most 60 s. */
async function waitForReport(
  url: string,
  done: (report: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 60_000;
  let last: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    const response = await fetch(`${url}${REPORT}`);
    if (response.ok) {
      last = ((await response.json()) as { report: Record<string, unknown> }).report;
      if (done(last)) return last;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the demo did not reach the expected state: ${JSON.stringify(last)}`);
}

describe('npm start (the demo)', () => {
  let dir: TempDir;
  let running: ChildProcess | null = null;

  beforeEach(async () => {
    dir = await createTempDir('cavra-demo-');
  });
  afterEach(async () => {
    if (running) await stop(running);
    running = null;
    await dir.cleanup();
  });

  it('shows a failed delivery, the executed retry, a playbook and an open recovery; stops and restarts cleanly', async () => {
    const first = await startDemo(dir.dir);
    running = first.child;
    expect(first.stderr()).toContain('Created the demo ops repository');
    const console = await fetch(`${first.url}/console/`);
    expect(console.status).toBe(200);

    const report = await waitForReport(
      first.url,
      (r) => r.recovery_playbook_provider_count === 1 && r.execution_count === 1,
    );
    expect(report).toMatchObject({
      execution_count: 1,
      execution_failed_count: 1,
      recovery_playbook_provider_count: 1,
      recovery_open_count: 1,
      alert_level: 'critical',
    });
    const history = (await (
      await fetch(`${first.url}/runtime/go-pilot/rollback-drill-notifications`)
    ).json()) as {
      items: { provider?: string; delivery_success?: boolean }[];
    };
    expect(
      history.items.some((item) => item.provider === 'ops-webhook' && item.delivery_success === false),
    ).toBe(true);
    expect(existsSync(join(dir.dir, '.demo', 'files', 'outbox'))).toBe(true);

    expect(await stop(first.child)).toBe(0);
    running = null;
    expect(existsSync(join(dir.dir, '.demo', 'state', 'lock'))).toBe(false);

    const second = await startDemo(dir.dir);
    running = second.child;
    expect(second.stderr()).toContain('Reusing the demo');
    const again = await waitForReport(second.url, (r) => r.recovery_playbook_provider_count === 1);
    expect(again.execution_count).toBe(1);
  }, 180_000);
});
