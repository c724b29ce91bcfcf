/**
 * `verify` on a real ledger: clean records verify (text and json), a tampered record is found and
 * named, and an approval removed by the operator after its execution still verifies (the
 * execution's approval evidence points into history).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Finding } from '../../src/domain/types.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { git } from '../helpers/git-fixtures.js';
import { reply, startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryName,
  openTestReconciler,
  reconcilerEnv,
  seedApprovedRetries,
  urlEnvOf,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';

describe('verify', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  let executedTip: string;
  let executionFile: string;
  const clock = createSettableClock('2026-06-28T10:10:00Z');

  beforeAll(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    const env = reconcilerEnv({ [urlEnvOf('hook-a')]: `${receiver.origin}/hook-a` });
    receiver.respond('*', reply.status(500));
    await seedApprovedRetries({
      ops,
      receiverOrigin: receiver.origin,
      deliveries: 1,
      providers: ['hook-a'],
      failAt: '2026-06-28T10:00:00Z',
      approveAt: '2026-06-28T10:05:00Z',
      env,
    });
    receiver.reset();
    const state = await createStateDir();
    const reconciler = await openTestReconciler({
      remote: ops.remote,
      stateDir: state.dir,
      replicaId: 'a',
      clock,
      env,
    });
    try {
      expect((await reconcileOnce(reconciler.options)).delivered).toBe(1);
    } finally {
      await reconciler.close();
      await state.cleanup();
    }
    executedTip = (await ops.tip())!;
    executionFile = (
      await git(ops.remote, ['ls-tree', '-r', '--name-only', executedTip, '--', 'records/executions'])
    ).split('\n')[0]!;
  });
  afterAll(async () => {
    await receiver.close();
    await ops.cleanup();
  });

  async function verify(args: string[]): Promise<{ code: number; stdout: string }> {
    const cli = createCliContext(ops.work, reconcilerEnv(), clock);
    const code = await runCli(['verify', '--remote', ops.remote, ...args], cli.context);
    return { code, stdout: cli.stdout() };
  }

  it('clean records verify: exit 0, text and json', async () => {
    const text = await verify(['--ref', executedTip]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^verified \d+ record\(s\) and \d+ commit\(s\) at [0-9a-f]{12}: append-only, every hash, id, approval and report recomputes\n$/,
    );
    const json = await verify(['--ref', executedTip, '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ revision: executedTip, findings: [] });
  });

  it('a record edited after it was written is found and named: exit 1', async () => {
    const original = await git(ops.remote, ['show', `${executedTip}:${executionFile}`]);
    const tampered = original.replace('"executed_by": "a"', '"executed_by": "mallory"');
    expect(tampered).not.toBe(original);
    const tamperedTip = await ops.commit({ [executionFile]: `${tampered}\n` }, 'edit a record by hand');
    const json = await verify(['--ref', tamperedTip, '--format', 'json']);
    expect(json.code).toBe(1);
    const findings = (JSON.parse(json.stdout) as { findings: Finding[] }).findings;
    expect(findings.map((f) => [f.file, f.rule])).toContainEqual([
      executionFile,
      expect.stringMatching(/hash/),
    ]);
    // Restore the record for the next test.
    await ops.commit({ [executionFile]: `${original}\n` }, 'restore the record');
  });

  it('an approval removed after its execution still verifies', async () => {
    const removedTip = await ops.commit(
      {
        [`manifests/approvals/${deliveryName(0)}-hook-a.yaml`]: null,
        [`manifests/acks/${deliveryName(0)}-hook-a.yaml`]: null,
      },
      'clean up the used approval',
    );
    const text = await verify(['--ref', removedTip]);
    expect(text.stdout).not.toMatch(/verify\.unknown-approval/);
    expect(text.code).toBe(0);
  });
});
