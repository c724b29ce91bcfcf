/**
 * Issue 12 acceptance, signed reconciler commits with real ssh keys: with `--signing-key` every
 * reconciler commit is ssh-signed (git verifies it against the allowed-signers file); with the
 * policy's `require_signed_records` and `reconciler_signers`, a record commit that is unsigned (a
 * replica without the key) or signed by someone else (a forged trailer) is tampering: `verify`
 * exits 1 naming it and the signing replica stalls with 0 calls until the change is accepted.
 * Without the requirement, signed and unsigned reconciler commits mixed verify clean.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { withHash } from '../../src/domain/hash.js';
import { deliveryRecordId } from '../../src/domain/ids.js';
import type { DeliveryRecord } from '../../src/domain/types.js';
import { createGitReader } from '../../src/git/index.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import { reconcileOnce, type RunResult } from '../../src/reconciler/run-once.js';
import { createSshSigningKey, createTempDir, git, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  providerYaml,
  reconcilerEnv,
  remoteLog,
  type OpsRepo,
  type SettableClock,
} from '../helpers/reconciler-fixtures.js';

const BOT = 'cavra-bot@example.com';

function policy(requireSigned: boolean): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: ReconcilerPolicy',
    'metadata:',
    '  name: default',
    'spec:',
    '  allowed_signers_file: .cavra/allowed_signers',
    `  reconciler_signers: [${BOT}]`,
    `  require_signed_records: ${requireSigned}`,
    '',
  ].join('\n');
}

describe('signed reconciler commits', () => {
  let ops: OpsRepo;
  let receiver: HttpReceiver;
  let keys: TempDir;
  let clock: SettableClock;
  let bot: Awaited<ReturnType<typeof createSshSigningKey>>;
  let mallory: Awaited<ReturnType<typeof createSshSigningKey>>;
  const states: TempDir[] = [];

  beforeEach(async () => {
    ops = await createOpsRepo();
    receiver = await startHttpReceiver();
    keys = await createTempDir('cavra-keys-');
    bot = await createSshSigningKey(keys.dir, BOT, 'bot');
    mallory = await createSshSigningKey(keys.dir, 'mallory@example.com', 'mallory');
    clock = createSettableClock('2026-06-28T10:00:00Z');
  });
  afterEach(async () => {
    await receiver.close();
    for (const state of states.splice(0)) await state.cleanup();
    await keys.cleanup();
    await ops.cleanup();
  });

  const env = (): ReturnType<typeof reconcilerEnv> => reconcilerEnv({ HOOK_URL: `${receiver.origin}/hook` });

  async function stateDir(): Promise<string> {
    const state = await createStateDir();
    states.push(state);
    return state.dir;
  }

  async function reconcile(
    state: string,
    options: { signingKey?: string; acceptLedgerChanges?: string[]; replicaId?: string } = {},
  ): Promise<RunResult> {
    const replica = await openTestReconciler({
      remote: ops.remote,
      stateDir: state,
      replicaId: options.replicaId ?? 'signed',
      clock,
      env: env(),
      ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    });
    try {
      return await reconcileOnce({
        ...replica.options,
        accept: { ledgerChanges: options.acceptLedgerChanges ?? [], history: [] },
      });
    } finally {
      await replica.close();
    }
  }

  async function verify(): Promise<{
    code: number;
    findings: { rule: string; file: string; commit: string; message: string }[];
  }> {
    const cli = createCliContext(ops.work, env(), clock);
    const code = await runCli(['verify', '--remote', ops.remote, '--format', 'json'], cli.context);
    return { code, findings: (JSON.parse(cli.stdout()) as { findings: [] }).findings };
  }

  /** Signature status and principal of each reconciler commit on the remote, as git verifies it. */
  async function signatures(): Promise<string[]> {
    const reader = createGitReader(ops.remote);
    try {
      const commits = (await remoteLog(ops.remote))
        .filter((c) => c.subject.startsWith('cavra-gitops:'))
        .map((c) => c.commit);
      const verified = await reader.verifySignatures(
        commits,
        `${bot.allowedSignersLine}${mallory.allowedSignersLine}`,
      );
      return commits.map((commit) => {
        const signature = verified.get(commit);
        return `${signature?.status}:${signature?.principal}`;
      });
    } finally {
      await reader.close();
    }
  }

  async function seedRepository(requireSigned: boolean): Promise<void> {
    await ops.commit(
      {
        'manifests/policy.yaml': policy(requireSigned),
        'manifests/provider.yaml': providerYaml('hook'),
        'manifests/deliveries/drill-1.yaml': deliveryYaml('drill-1', ['hook']),
        '.cavra/allowed_signers': `${bot.allowedSignersLine}${mallory.allowedSignersLine}`,
      },
      'providers, a policy requiring signed records, a delivery',
      { date: '2026-06-28T09:00:00Z' },
    );
  }

  it('--signing-key signs every reconciler commit; unsigned or foreign record commits stall it until accepted', async () => {
    await seedRepository(true);
    const signedState = await stateDir();
    const first = await reconcile(signedState, { signingKey: bot.keyPath });
    expect(first.delivered).toBe(1);
    expect(await signatures()).toEqual(first.commits.map(() => `good:${BOT}`));
    expect((await verify()).code).toBe(0);

    // A replica without the key delivers new work with unsigned commits.
    await ops.commit({ 'manifests/deliveries/drill-2.yaml': deliveryYaml('drill-2', ['hook']) }, 'drill-2');
    const unsigned = await reconcile(await stateDir(), { replicaId: 'unsigned' });
    expect(unsigned.delivered).toBe(1);
    await ops.commit({ 'manifests/deliveries/drill-3.yaml': deliveryYaml('drill-3', ['hook']) }, 'drill-3');

    const audit = await verify();
    expect(audit.code).toBe(1);
    const finding = audit.findings.find((f) => f.rule === 'verify.record-not-by-reconciler');
    expect(finding?.file).toMatch(/^records\/deliveries\/2026-06\/drill-2\.hook\.1\.json$/);
    expect(unsigned.commits).toContain(finding?.commit);
    expect(finding?.message).toMatch(/not signed/);

    receiver.reset();
    const stalled = await reconcile(signedState, { signingKey: bot.keyPath });
    expect(stalled.reason).toBe('LedgerTampered');
    expect(stalled.calls).toBe(0);
    expect(receiver.requests).toEqual([]);

    // The operator accepts the unsigned replica's commits: drill-3 is delivered, drill-2 not again.
    const accepted = await reconcile(signedState, {
      signingKey: bot.keyPath,
      acceptLedgerChanges: unsigned.commits,
    });
    expect(accepted.outcome, accepted.message).toBe('ok');
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual(['drill-3']);
    expect((await verify()).code).toBe(0);

    // A record slipped in with a forged trailer, signed by a key that is not a reconciler signer.
    const existing = JSON.parse(
      await git(ops.remote, ['show', 'main:records/deliveries/2026-06/drill-1.hook.1.json']),
    ) as DeliveryRecord;
    const key = { ...existing, delivery_id: 'drill-9' };
    const { record_hash: _hash, ...rest } = { ...key, record_id: deliveryRecordId(key, 1) };
    const forged = withHash<DeliveryRecord, 'record_hash'>(rest, 'record_hash');
    const file = recordPath('deliveries', forged.record_id, forged.attempted_at);
    const forgery = await ops.commit(
      { [file]: serializeRecord(forged) },
      'cavra-gitops: record 1 deliveries\n\nCavra-Gitops-Replica: signed',
      { signWith: mallory.keyPath },
    );
    const second = await verify();
    expect(second.code).toBe(1);
    expect(second.findings).toContainEqual(
      expect.objectContaining({ rule: 'verify.record-not-by-reconciler', file, commit: forgery }),
    );
    expect(
      second.findings.find((f) => f.commit === forgery && f.rule === 'verify.record-not-by-reconciler')
        ?.message,
    ).toMatch(/mallory@example\.com/);
    receiver.reset();
    expect((await reconcile(signedState, { signingKey: bot.keyPath })).reason).toBe('LedgerTampered');
    expect(receiver.requests).toEqual([]);

    // git revert restores the ledger: the replica proceeds, and nothing is called again.
    await git(ops.work, ['revert', '--no-edit', forgery]);
    await git(ops.work, ['push', '-q', ops.remote, 'main']);
    const resumed = await reconcile(signedState, { signingKey: bot.keyPath });
    expect(resumed.outcome, resumed.message).not.toBe('stalled');
    expect(resumed.calls).toBe(0);
    expect(receiver.requests).toEqual([]);
    expect((await verify()).code).toBe(0);
  });

  it('without require_signed_records, signed and unsigned reconciler commits mixed verify clean', async () => {
    await seedRepository(false);
    const first = await reconcile(await stateDir(), { signingKey: bot.keyPath });
    expect(first.delivered).toBe(1);
    await ops.commit({ 'manifests/deliveries/drill-2.yaml': deliveryYaml('drill-2', ['hook']) }, 'drill-2');
    const second = await reconcile(await stateDir(), { replicaId: 'unsigned' });
    expect(second.delivered).toBe(1);
    const statuses = await signatures();
    expect(statuses).toContain(`good:${BOT}`);
    expect(statuses.some((status) => status.startsWith('none'))).toBe(true);
    const audit = await verify();
    expect(audit.findings).toEqual([]);
    expect(audit.code).toBe(0);
  });

  it('--signing-key that cannot be read is a usage error', async () => {
    await seedRepository(false);
    const cli = createCliContext(ops.work, env(), clock);
    const code = await runCli(
      [
        'reconcile',
        '--remote',
        ops.remote,
        '--once',
        '--state-dir',
        await stateDir(),
        '--signing-key',
        'no-such-key',
      ],
      cli.context,
    );
    expect(code).toBe(2);
    expect(cli.stderr()).toMatch(/--signing-key no-such-key cannot be read/);
  });
});
