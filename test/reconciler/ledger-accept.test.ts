/**
 * Issue 12 acceptance, resolutions on real git: an operator accepts a ledger change
 * (`--accept-ledger-change`): the run proceeds, writes the acceptance into its run record, which
 * another replica (without state) honours, `verify` lists it as accepted, and the deleted records
 * are not executed again. A force-push that rewrites history stalls a replica with state
 * (`HistoryRewritten`, 0 calls) until `--accept-history`, after which nothing it saw recorded is
 * re-sent, the non-idempotent provider included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { RunRecord } from '../../src/domain/types.js';
import { git } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  buildLedgerSeed,
  copyLedgerSeed,
  firstFile,
  showFile,
  type LedgerSeed,
} from '../helpers/ledger-scenario.js';
import {
  createCliContext,
  createStateDir,
  deliveryYaml,
  readRemoteRecords,
} from '../helpers/reconciler-fixtures.js';

describe('accepting ledger changes and rewritten histories', () => {
  let receiver: HttpReceiver;
  let seed: LedgerSeed;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    seed = await buildLedgerSeed(receiver);
  }, 60_000);
  afterAll(async () => {
    await seed.cleanup();
    await receiver.close();
  });

  it('--accept-ledger-change: recorded in the run record, honoured by another replica, nothing deleted is executed again', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    const fresh = await createStateDir();
    try {
      expect((await copy.reconcile()).calls).toBe(0);
      // The failed retry of hook-a, execution and delivery, deleted: its approval would re-arm.
      const execution = await firstFile(copy.ops.remote, 'records/executions', () => true);
      const executions = (
        await git(copy.ops.remote, ['ls-tree', '-r', '--name-only', 'main', '--', 'records/executions'])
      ).split('\n');
      const failed: string[] = [];
      for (const file of executions) {
        const record = JSON.parse(await showFile(copy.ops.remote, file)) as {
          provider: string;
          execution_id: string;
        };
        if (record.provider === 'hook-a')
          failed.push(file, `records/deliveries/2026-06/drill-1.hook-a.2.json`);
      }
      expect(failed).toHaveLength(2);
      expect(execution).toBeTruthy();
      const tamper = await copy.ops.commit(
        Object.fromEntries(failed.map((file) => [file, null])),
        'forget that retry',
      );
      await copy.ops.commit(
        { 'manifests/deliveries/drill-new.yaml': deliveryYaml('drill-new', ['hook-a']) },
        'new work',
      );

      receiver.reset();
      const stalled = await copy.reconcile();
      expect(stalled.reason).toBe('LedgerTampered');
      expect(stalled.calls).toBe(0);

      const accepted = await copy.reconcile({ accept: { ledgerChanges: [tamper.slice(0, 10)] } });
      expect(accepted.outcome, accepted.message).toBe('ok');
      // Only the new work: the deleted retry of hook-a is not executed again.
      expect(receiver.requests.map((request) => request.headers['webhook-id'])).toEqual(['drill-new']);
      const runs = (await readRemoteRecords(copy.ops.remote)).runs;
      const accepting = runs.filter((run: RunRecord) => run.accepted_ledger_changes !== undefined);
      expect(accepting.map((run) => run.accepted_ledger_changes)).toEqual([[tamper]]);

      // Another replica, without state, reads the acceptance from the run record; nothing is due.
      receiver.reset();
      const other = await copy.reconcile({ stateDir: fresh.dir });
      expect(other.outcome, other.message).not.toBe('stalled');
      expect(other.calls).toBe(0);
      // And the first replica goes on without the flag.
      expect((await copy.reconcile()).outcome).not.toBe('stalled');
      expect(receiver.requests).toEqual([]);

      const verified = await copy.verify();
      expect(verified.output.findings).toEqual([]);
      expect(verified.output.accepted).toEqual([{ commit: tamper, files: [...failed].sort() }]);
      expect(verified.code).toBe(0);
    } finally {
      await fresh.cleanup();
      await copy.cleanup();
    }
  });

  it('an --accept-ledger-change that names no commit is a usage error', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const cli = createCliContext(copy.ops.work, copy.env, copy.clock);
      const code = await runCli(
        [
          'reconcile',
          '--remote',
          copy.ops.remote,
          '--once',
          '--state-dir',
          copy.state.dir,
          '--accept-ledger-change',
          'no-such-commit',
        ],
        cli.context,
      );
      expect(code).toBe(2);
      expect(cli.stderr()).toMatch(/--accept-ledger-change "no-such-commit" names no commit/);
    } finally {
      await copy.cleanup();
    }
  });

  it('reconcile --once on a tampered ledger exits 1 and says LedgerTampered', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const file = await firstFile(copy.ops.remote, 'records/runs');
      const tamper = await copy.ops.commit({ [file]: null }, 'drop a run record');
      const cli = createCliContext(copy.ops.work, copy.env, copy.clock);
      const code = await runCli(
        [
          'reconcile',
          '--remote',
          copy.ops.remote,
          '--once',
          '--state-dir',
          copy.state.dir,
          '--replica-id',
          'a',
        ],
        cli.context,
      );
      expect(code).toBe(1);
      expect(cli.stderr()).toContain('LedgerTampered');
      expect(cli.stderr()).toContain(tamper.slice(0, 12));
    } finally {
      await copy.cleanup();
    }
  });

  it('a force-push of the ledger branch: HistoryRewritten with 0 calls', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    const state = await createStateDir();
    try {
      // Move the records to a ledger branch (seeded from main), then rewrite that branch.
      expect((await copy.reconcile({ stateDir: state.dir, ledgerBranch: 'cavra-ledger' })).calls).toBe(0);
      const seeded = await git(copy.ops.remote, ['rev-parse', 'cavra-ledger']);
      await copy.ops.commit(
        { 'manifests/deliveries/drill-new.yaml': deliveryYaml('drill-new', ['hook-a']) },
        'new work',
      );
      const delivered = await copy.reconcile({ stateDir: state.dir, ledgerBranch: 'cavra-ledger' });
      expect(delivered.calls).toBe(1);
      await git(copy.ops.remote, ['update-ref', 'refs/heads/cavra-ledger', seeded]);
      receiver.reset();
      const stalled = await copy.reconcile({ stateDir: state.dir, ledgerBranch: 'cavra-ledger' });
      expect(stalled.reason).toBe('HistoryRewritten');
      expect(stalled.message).toContain(seeded);
      expect(stalled.calls).toBe(0);
      expect(receiver.requests).toEqual([]);
    } finally {
      await state.cleanup();
      await copy.cleanup();
    }
  });

  it('a force-push to before the retries: HistoryRewritten with 0 calls, then --accept-history re-sends nothing seen recorded', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const before = (await copy.ops.tip())!;
      expect((await copy.reconcile()).calls).toBe(0);
      const approved = await git(copy.ops.work, [
        'log',
        '--format=%H',
        '--grep',
        'acknowledge and approve',
        'main',
      ]);
      await git(copy.ops.work, ['reset', '-q', '--hard', approved]);
      await git(copy.ops.work, ['push', '-q', '--force', copy.ops.remote, 'main']);
      expect(await copy.ops.tip()).toBe(approved);

      receiver.reset();
      const stalled = await copy.reconcile();
      expect(stalled.outcome).toBe('stalled');
      expect(stalled.reason).toBe('HistoryRewritten');
      expect(stalled.message).toContain(approved);
      expect(stalled.message).toContain(before);
      expect(stalled.calls).toBe(0);
      // Still stalled on the next run, still nothing called.
      expect((await copy.reconcile()).reason).toBe('HistoryRewritten');
      expect(receiver.requests).toEqual([]);

      // Accepted: the approvals are armed again in this history, but both executions were seen
      // recorded (hook-b's delivered to a non-idempotent provider): neither is sent again.
      const accepted = await copy.reconcile({ accept: { history: [approved] } });
      expect(accepted.outcome, accepted.message).not.toBe('stalled');
      expect(accepted.calls).toBe(0);
      expect(receiver.requests).toEqual([]);
      const runs = (await readRemoteRecords(copy.ops.remote)).runs;
      expect(runs.map((run) => run.accepted_history).filter(Boolean)).toEqual([[approved]]);
      expect((await copy.reconcile()).calls).toBe(0);
      expect(receiver.requests).toEqual([]);
    } finally {
      await copy.cleanup();
    }
  });
});
