/**
 * Every option from a CAVRA_GITOPS_* env var (documented in --help), flags winning over env,
 * strict booleans; --version from package.json; --author on the reconciler's commits.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProgram, runCli } from '../../src/cli/main.js';
import { envNameOf } from '../../src/cli/env-options.js';
import { git } from '../helpers/git-fixtures.js';
import { startHttpReceiver } from '../helpers/http-receiver.js';
import {
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';
import { createTestContext } from './helpers-context.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('--version and --help', () => {
  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const t = createTestContext('/');
    expect(await runCli([flag], t.context)).toBe(0);
    expect(t.stdout()).toBe(`${VERSION}\n`);
  });

  it('every option of every command names its CAVRA_GITOPS_* variable in --help', async () => {
    const t = createTestContext('/');
    const program = createProgram(t.context);
    let checked = 0;
    for (const command of program.commands) {
      const help = command.helpInformation();
      for (const option of command.options) {
        const name = envNameOf(option);
        expect(name, `${command.name()} ${option.long}`).toMatch(/^CAVRA_GITOPS_[A-Z_]+$/);
        expect(help.replace(/\s+/g, ' '), `${command.name()} --help`).toContain(`env: ${name}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
    const reconcile = program.commands.find((c) => c.name() === 'reconcile')!;
    expect(envNameOf(reconcile.options.find((o) => o.long === '--no-push')!)).toBe('CAVRA_GITOPS_NO_PUSH');
    expect(envNameOf(program.options.find((o) => o.long === '--version')!)).toBeNull();
  });
});

describe('options from the environment', () => {
  let ops: OpsRepo;
  let state: TempDir;
  const clock = createSettableClock('2026-06-28T10:00:00Z');

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook']),
      },
      'seed',
      { date: '2026-06-28T09:00:00Z' },
    );
  });
  afterEach(async () => {
    await state.cleanup();
    await ops.cleanup();
  });

  const run = async (
    args: string[],
    env: Record<string, string>,
  ): Promise<{ code: number; out: string; err: string }> => {
    const cli = createCliContext(
      ops.work,
      reconcilerEnv({ HOOK_URL: 'http://127.0.0.1:1/hook', ...env }),
      clock,
    );
    const code = await runCli(args, cli.context);
    return { code, out: cli.stdout(), err: cli.stderr() };
  };

  it('CAVRA_GITOPS_FORMAT and CAVRA_GITOPS_REMOTE configure validate; a flag wins over its variable', async () => {
    const fromEnv = await run(['validate'], { CAVRA_GITOPS_FORMAT: 'json', CAVRA_GITOPS_REMOTE: ops.remote });
    expect(fromEnv.code).toBe(0);
    expect((JSON.parse(fromEnv.out) as { valid: boolean }).valid).toBe(true);
    const flagWins = await run(['validate', '--format', 'text'], { CAVRA_GITOPS_FORMAT: 'json' });
    expect(flagWins.out).toMatch(/^OK: 3 valid manifest/);
  });

  it('--repo on the command line sets aside CAVRA_GITOPS_REMOTE instead of conflicting with it', async () => {
    const result = await run(['validate', '--repo', ops.work], {
      CAVRA_GITOPS_REMOTE: '/nonexistent/remote',
    });
    expect(result.code).toBe(0);
  });

  it('configures reconcile entirely from env: remote, once, no-push, state dir, replica id, log level', async () => {
    const tip = await ops.tip();
    const result = await run(['reconcile'], {
      CAVRA_GITOPS_REMOTE: ops.remote,
      CAVRA_GITOPS_ONCE: 'true',
      CAVRA_GITOPS_NO_PUSH: 'true',
      CAVRA_GITOPS_STATE_DIR: state.dir,
      CAVRA_GITOPS_REPLICA_ID: 'env-replica',
      CAVRA_GITOPS_LOG_LEVEL: 'warn',
    });
    expect(result.code).toBe(0);
    // --no-push from env: the remote did not move; warn level: no info lines.
    expect(await ops.tip()).toBe(tip);
    expect(result.err).not.toContain('"level":"info"');
  });

  it.each([
    [{ CAVRA_GITOPS_ONCE: 'maybe' }, /CAVRA_GITOPS_ONCE="maybe" is not a boolean/],
    [{ CAVRA_GITOPS_LOG_LEVEL: 'loud' }, /CAVRA_GITOPS_LOG_LEVEL="loud" is not one of fatal, error/],
    [{ CAVRA_GITOPS_SHARD: '3/2' }, /--shard "3\/2" must be i\/n/],
  ])('a bad value from env is a usage error naming the variable: %j', async (env, message) => {
    const result = await run(['reconcile', '--remote', ops.remote, '--state-dir', state.dir], env);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
  });

  it('CAVRA_GITOPS_ONCE=false is not --once (commander alone would treat any value as set)', async () => {
    const controller = new AbortController();
    const cli = createCliContext(ops.work, reconcilerEnv({ CAVRA_GITOPS_ONCE: 'false' }), clock);
    let log = '';
    const code = await runCli(['reconcile', '--remote', ops.remote, '--state-dir', state.dir], {
      ...cli.context,
      signal: controller.signal,
      stderr: (text) => {
        log += text;
        // The loop's first line: stop it before its first run.
        controller.abort();
      },
    });
    expect(code).toBe(0);
    expect(log).toContain('reconcile loop started');
    expect(log).not.toContain('reconciling once');
  });

  it('--author names the reconciler’s commits; a malformed identity is a usage error', async () => {
    const receiver = await startHttpReceiver();
    try {
      const author = 'Ops Bot <ops-bot@example.com>';
      const cli = createCliContext(ops.work, reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }), clock);
      const args = [
        'reconcile',
        '--remote',
        ops.remote,
        '--state-dir',
        state.dir,
        '--once',
        '--author',
        author,
      ];
      expect(await runCli(args, cli.context)).toBe(0);
      expect(receiver.requests).toHaveLength(1);
      const identity = await git(ops.remote, [
        'log',
        '-1',
        '--format=%an <%ae>|%cn <%ce>',
        'refs/heads/main',
      ]);
      expect(identity).toBe(`${author}|${author}`);
    } finally {
      await receiver.close();
    }
    const bad = await run(['reconcile', '--remote', ops.remote, '--once', '--author', 'no email'], {});
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--author "no email" is not an identity; use the form "NAME <EMAIL>"/);
  });
});
