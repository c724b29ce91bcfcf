/**
 * `cavra-gitops reconcile` through `runCli`: usage errors (exit 2), an unreachable remote
 * (exit 3), `--no-push` (a local commit only, no connector call), and a repository whose tracked
 * branch is checked out (refused with a way out).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { readBranch, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
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

describe('reconcile command', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;
  const clock = createSettableClock('2026-06-28T10:00:00Z');

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
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
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  async function reconcile(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const cli = createCliContext(ops.work, reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` }), clock);
    const code = await runCli(
      ['reconcile', '--once', '--state-dir', state.dir, '--replica-id', 't', ...args],
      cli.context,
    );
    return { code, stdout: cli.stdout(), stderr: cli.stderr() };
  }

  it.each([
    [['--repo', 'y'], /either --repo DIR or --remote URL/],
    [['--shard', '2/2'], /--shard "2\/2" must be i\/n/],
    [['--interval', 'soon'], /--interval "soon" is not a duration/],
    [['--claim-lease', '0m'], /--claim-lease must be greater than zero/],
  ])('usage error %j: exit 2 with one clear sentence', async (args, message) => {
    const { code, stderr } = await reconcile(['--remote', ops.remote, ...args]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    expect(receiver.requests).toHaveLength(0);
  });

  it('an unreachable remote exits 3 and names it', async () => {
    const { code, stderr } = await reconcile(['--remote', `${ops.remote}-missing`]);
    expect(code).toBe(3);
    expect(stderr).toContain(`${ops.remote}-missing`);
  });

  it('--no-push commits locally only and calls no connector', async () => {
    const tip = await ops.tip();
    const { code } = await reconcile(['--remote', ops.remote, '--no-push']);
    expect(code).toBe(0);
    expect(receiver.requests).toHaveLength(0);
    expect(await ops.tip()).toBe(tip);
  });

  it('refuses a repository whose tracked branch is checked out, and says what to do', async () => {
    const { code, stderr } = await reconcile(['--repo', ops.work]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/has main checked out.*--remote URL.*--ledger-branch/);
    expect(await readBranch(ops.work)).toBe(await ops.tip());
  });

  it('delivers attempt 1 and exits 0; a second --once run is a no-op', async () => {
    expect((await reconcile(['--remote', ops.remote])).code).toBe(0);
    expect(receiver.countByHeader('webhook-id')).toEqual(new Map([['drill-1', 1]]));
    const tip = await ops.tip();
    expect((await reconcile(['--remote', ops.remote])).code).toBe(0);
    expect(await ops.tip()).toBe(tip);
    expect(receiver.requests).toHaveLength(1);
  });
});
