/**
 * A ledger with every kind of record, written by real reconcile runs against a real bare remote,
 * for the append-only tests: deliveries that failed and succeeded, executions of approved retries
 * (one failed, one delivered), a playbook for the provider that failed twice, a closure of it, run
 * records, the report and status. Built once (`buildLedgerSeed`), then copied per test
 * (`copyLedgerSeed`), so each tamper starts from the same history without re-running it.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { Env } from '../../src/domain/ports.js';
import { reconcileOnce, type RunResult } from '../../src/reconciler/run-once.js';
import { createTempDir, createTempRepo, git, type TempDir } from './git-fixtures.js';
import { reply, type HttpReceiver } from './http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  openTestReconciler,
  opsRepoOf,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
  type SettableClock,
} from './reconciler-fixtures.js';

export const SEED_TIMES = {
  fail: '2026-06-28T10:00:00Z',
  approve: '2026-06-28T10:05:00Z',
  retry: '2026-06-28T10:10:00Z',
  close: '2026-06-28T10:20:00Z',
  closeRun: '2026-06-28T10:25:00Z',
  /** Runs of the tests happen after the seed. */
  later: '2026-06-28T11:00:00Z',
} as const;

export interface LedgerSeed {
  /** The bare remote holding the seeded history (copy it, never change it). */
  dir: string;
  cleanup(): Promise<void>;
}

export function seedEnv(receiver: HttpReceiver): Env {
  return reconcilerEnv({
    URL_HOOK_A: `${receiver.origin}/hook-a`,
    URL_HOOK_B: `${receiver.origin}/hook-b`,
  });
}

/**
 * Seed: hook-a (idempotent) and hook-b (not idempotent) both fail attempt 1; acks and approvals
 * are merged; the retry to hook-a fails again (its second failure: a playbook), the retry to hook-b
 * is delivered; a closure of the playbook is merged and recorded.
 */
export async function buildLedgerSeed(receiver: HttpReceiver): Promise<LedgerSeed> {
  const bare = await createTempDir('cavra-ledger-seed-');
  await git(bare.dir, ['init', '-q', '--bare', '-b', 'main']);
  const work = await createTempRepo();
  const ops = opsRepoOf(bare, work);
  const env = seedEnv(receiver);
  const state = await createStateDir();
  const clock = createSettableClock(SEED_TIMES.fail);
  const run = async (): Promise<RunResult> => {
    const replica = await openTestReconciler({
      remote: bare.dir,
      stateDir: state.dir,
      replicaId: 'seed',
      clock,
      env,
    });
    try {
      return await reconcileOnce(replica.options);
    } finally {
      await replica.close();
    }
  };
  try {
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers/hook-a.yaml': providerYaml('hook-a', {
          urlEnv: 'URL_HOOK_A',
          signingSecretEnv: 'HOOK_SECRET',
        }),
        'manifests/providers/hook-b.yaml': providerYaml('hook-b', {
          urlEnv: 'URL_HOOK_B',
          signingSecretEnv: 'HOOK_SECRET',
          idempotent: false,
        }),
        'manifests/deliveries/drill-1.yaml': deliveryYaml('drill-1', ['hook-a', 'hook-b']),
      },
      'providers, policy and a delivery',
      { date: '2026-06-28T09:00:00Z' },
    );
    receiver.respond('/hook-a', reply.status(500));
    receiver.respond('/hook-b', reply.status(500));
    expectRun(await run(), { failed: 2 });
    const approvals: Record<string, string> = {};
    for (const provider of ['hook-a', 'hook-b']) {
      approvals[`manifests/acks/drill-1-${provider}.yaml`] = ackYaml(
        `ack-drill-1-${provider}`,
        'drill-1',
        provider,
      );
      approvals[`manifests/approvals/drill-1-${provider}.yaml`] = approvalYaml(
        `approve-drill-1-${provider}`,
        'drill-1',
        provider,
      );
    }
    await ops.commit(approvals, 'acknowledge and approve the retries', { date: SEED_TIMES.approve });
    receiver.reset();
    receiver.respond('/hook-a', reply.status(500));
    clock.set(SEED_TIMES.retry);
    expectRun(await run(), { delivered: 1, failed: 1 });
    const playbook = (
      await git(bare.dir, ['ls-tree', '-r', '--name-only', 'main', '--', 'records/playbooks'])
    ).split('\n')[0]!;
    const playbookId = playbook
      .split('/')
      .pop()!
      .replace(/\.json$/, '');
    await ops.commit(
      {
        'manifests/closures/close-hook-a.yaml': [
          'apiVersion: cavra.dev/v1',
          'kind: RecoveryClosure',
          'metadata:',
          '  name: close-hook-a',
          'spec:',
          `  playbook_id: ${playbookId}`,
          '  provider: hook-a',
          '  state: resolved',
          '  closed_by: carol@example.com',
          '',
        ].join('\n'),
      },
      'close the recovery of hook-a',
      { date: SEED_TIMES.close },
    );
    receiver.reset();
    clock.set(SEED_TIMES.closeRun);
    const closed = await run();
    if (closed.outcome !== 'ok' || closed.calls !== 0)
      throw new Error(`closure run: ${JSON.stringify(closed)}`);
    receiver.reset();
    return { dir: bare.dir, cleanup: () => bare.cleanup() };
  } finally {
    await state.cleanup();
    await work.cleanup();
  }
}

function expectRun(result: RunResult, expected: { delivered?: number; failed?: number }): void {
  if (result.delivered !== (expected.delivered ?? 0) || result.failed !== (expected.failed ?? 0)) {
    throw new Error(`seed run: expected ${JSON.stringify(expected)}, got ${JSON.stringify(result)}`);
  }
}

/** A copy of the seed: a bare remote of its own, an operator's clone, and a replica's state dir. */
export interface LedgerCopy {
  ops: OpsRepo;
  state: TempDir;
  clock: SettableClock;
  env: Env;
  /** One reconcile run of the replica with state (replica id `a`). */
  reconcile(options?: {
    accept?: { ledgerChanges?: string[]; history?: string[] };
    stateDir?: string;
    ledgerBranch?: string;
  }): Promise<RunResult>;
  /** `verify` on the remote with the CLI; the parsed JSON output. */
  verify(args?: string[]): Promise<{ code: number; output: VerifyOutput }>;
  cleanup(): Promise<void>;
}

export interface VerifyOutput {
  findings: { rule: string; file: string; commit: string; message: string }[];
  accepted: { commit: string; files: string[] }[];
}

export async function copyLedgerSeed(seed: LedgerSeed, receiver: HttpReceiver): Promise<LedgerCopy> {
  const bare = await createTempDir('cavra-ledger-remote-');
  await cp(seed.dir, bare.dir, { recursive: true });
  const work = await createTempRepo();
  await git(work.dir, ['fetch', '-q', bare.dir, 'main']);
  await git(work.dir, ['reset', '-q', '--hard', 'FETCH_HEAD']);
  const ops = opsRepoOf(bare, work);
  const state = await createStateDir();
  const clock = createSettableClock(SEED_TIMES.later);
  const env = seedEnv(receiver);
  return {
    ops,
    state,
    clock,
    env,
    async reconcile(options = {}) {
      const replica = await openTestReconciler({
        remote: bare.dir,
        stateDir: options.stateDir ?? state.dir,
        replicaId: 'a',
        clock,
        env,
        ...(options.ledgerBranch ? { ledgerBranch: options.ledgerBranch } : {}),
      });
      try {
        return await reconcileOnce({
          ...replica.options,
          accept: {
            ledgerChanges: options.accept?.ledgerChanges ?? [],
            history: options.accept?.history ?? [],
          },
        });
      } finally {
        await replica.close();
      }
    },
    async verify(args = []) {
      const cli = createCliContext(work.dir, env, clock);
      const code = await runCli(['verify', '--remote', bare.dir, '--format', 'json', ...args], cli.context);
      if (code !== 0 && code !== 1) throw new Error(`verify exited ${code}: ${cli.stderr()}`);
      return { code, output: JSON.parse(cli.stdout()) as VerifyOutput };
    },
    async cleanup() {
      await state.cleanup();
      await ops.cleanup();
    },
  };
}

/** The path of the first file under `prefix` at the remote's tip (ls-tree order), for tampering. */
export async function firstFile(
  remote: string,
  prefix: string,
  match: (path: string) => boolean = () => true,
): Promise<string> {
  const files = (await git(remote, ['ls-tree', '-r', '--name-only', 'main', '--', prefix])).split('\n');
  const file = files.find((path) => path !== '' && match(path));
  if (file === undefined) throw new Error(`no file under ${prefix} at the tip of ${remote}`);
  return file;
}

export async function showFile(remote: string, path: string): Promise<string> {
  return `${await git(remote, ['show', `main:${path}`])}\n`;
}

export const dirOf = (...parts: string[]): string => join(...parts);
