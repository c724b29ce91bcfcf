/**
 * Issue 12 acceptance, the append-only ledger on real git: each way of covering one's tracks in
 * the ledger (records deleted or edited with recomputed hashes, hand-written records with correct
 * hashes, playbooks, closures, run records or all of records/ deleted, the report or the status
 * edited, a record slipped into a manifests commit, a claim removed by hand) makes `verify` exit 1
 * naming the rule, the file and the commit, and stalls the reconciler — a replica with state and
 * a fresh one alike — with 0 connector calls, although new work is due. After `git revert` of the
 * tampering commit the replica proceeds: the new work is delivered once, nothing is executed again,
 * and `verify` is clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOf, withHash } from '../../src/domain/hash.js';
import { deliveryRecordId, executionId } from '../../src/domain/ids.js';
import type { ClaimRecord, ClosureRecord, DeliveryRecord, ExecutionRecord } from '../../src/domain/types.js';
import { claimPath, recordPath, serializeRecord } from '../../src/records/layout.js';
import { git } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  buildLedgerSeed,
  copyLedgerSeed,
  firstFile,
  showFile,
  type LedgerCopy,
  type LedgerSeed,
} from '../helpers/ledger-scenario.js';
import { createStateDir, deliveryYaml } from '../helpers/reconciler-fixtures.js';
import { openGitStore } from '../../src/git/index.js';

interface Tampered {
  commit: string;
  /** The file the finding must name. */
  file: string;
}

interface TamperCase {
  name: string;
  rule: string;
  tamper(copy: LedgerCopy): Promise<Tampered>;
}

const FORGED_TRAILER = '\n\nCavra-Gitops-Replica: a';

async function read<T>(copy: LedgerCopy, path: string): Promise<T> {
  return JSON.parse(await showFile(copy.ops.remote, path)) as T;
}

async function deleteFiles(copy: LedgerCopy, prefix: string, message: string): Promise<Tampered> {
  const files = (await git(copy.ops.remote, ['ls-tree', '-r', '--name-only', 'main', '--', prefix])).split(
    '\n',
  );
  const commit = await copy.ops.commit(Object.fromEntries(files.map((file) => [file, null])), message);
  return { commit, file: files[0]! };
}

/** A failed record of hook-a made delivered, its hash recomputed (a self-consistent forgery). */
function forgeDelivered<T extends ExecutionRecord | DeliveryRecord>(record: T, hashField: string): T {
  const forged: Record<string, unknown> = { ...record, delivery_success: true, status_code: 200, error: '' };
  if ('execution_status' in forged) forged.execution_status = 'delivered';
  delete forged[hashField];
  return { ...forged, [hashField]: hashOf(forged) } as unknown as T;
}

const CASES: TamperCase[] = [
  {
    name: 'an execution record deleted',
    rule: 'verify.record-deleted',
    tamper: async (copy) => {
      const file = await firstFile(copy.ops.remote, 'records/executions');
      return { commit: await copy.ops.commit({ [file]: null }, 'drop an execution record'), file };
    },
  },
  {
    name: 'an execution and its delivery edited failed → delivered with recomputed hashes',
    rule: 'verify.record-modified',
    tamper: async (copy) => {
      const executionFile = await firstFile(copy.ops.remote, 'records/executions', () => true);
      let execution = await read<ExecutionRecord>(copy, executionFile);
      let file = executionFile;
      if (execution.provider !== 'hook-a') {
        const files = (
          await git(copy.ops.remote, ['ls-tree', '-r', '--name-only', 'main', '--', 'records/executions'])
        ).split('\n');
        file = files[1]!;
        execution = await read<ExecutionRecord>(copy, file);
      }
      expect(execution.execution_status).toBe('failed');
      const deliveryFile = recordPath(
        'deliveries',
        deliveryRecordId(execution, execution.attempt),
        (await read<ExecutionRecord>(copy, file)).executed_at,
      );
      const delivery = await read<DeliveryRecord>(copy, deliveryFile);
      const commit = await copy.ops.commit(
        {
          [file]: serializeRecord(forgeDelivered(execution, 'execution_hash')),
          [deliveryFile]: serializeRecord(forgeDelivered(delivery, 'record_hash')),
        },
        'the retry was actually delivered',
      );
      return { commit, file };
    },
  },
  {
    name: 'a hand-written closure with a correct hash for a playbook that does not exist',
    rule: 'verify.record-not-by-reconciler',
    tamper: async (copy) => {
      const existing = await read<ClosureRecord>(copy, await firstFile(copy.ops.remote, 'records/closures'));
      const { closure_hash: _hash, ...rest } = existing;
      const closure = withHash<ClosureRecord, 'closure_hash'>(
        {
          ...rest,
          closure_id: 'gordackrecoveryclosure-00000000deadbeef',
          playbook_id: 'gordackrecovery-00000000deadbeef',
        },
        'closure_hash',
      );
      const file = recordPath('closures', closure.closure_id, closure.recorded_at);
      return {
        commit: await copy.ops.commit({ [file]: serializeRecord(closure) }, 'record a closure'),
        file,
      };
    },
  },
  {
    name: 'a hand-written delivery with correct id and hash for an AuditDelivery that never existed',
    rule: 'verify.record-not-by-reconciler',
    tamper: async (copy) => {
      const existing = await read<DeliveryRecord>(
        copy,
        await firstFile(copy.ops.remote, 'records/deliveries'),
      );
      const key = { ...existing, delivery_id: 'ghost-drill' };
      const { record_hash: _hash, ...rest } = { ...key, record_id: deliveryRecordId(key, key.attempt) };
      const delivery = withHash<DeliveryRecord, 'record_hash'>(rest, 'record_hash');
      const file = recordPath('deliveries', delivery.record_id, delivery.attempted_at);
      return {
        commit: await copy.ops.commit({ [file]: serializeRecord(delivery) }, 'record a delivery'),
        file,
      };
    },
  },
  {
    name: 'a hand-written execution with correct ids and hash for an approval the gate never admitted',
    rule: 'verify.record-not-by-reconciler',
    tamper: async (copy) => {
      const existing = await read<ExecutionRecord>(
        copy,
        await firstFile(copy.ops.remote, 'records/executions'),
      );
      const decision = `gordackretryapprovaldecision-${hashOf('never approved').slice(0, 16)}`;
      const { execution_hash: _hash, ...rest } = {
        ...existing,
        attempt: 3,
        approval_decision_id: decision,
        execution_id: executionId(decision, existing, 3),
      };
      const execution = withHash<ExecutionRecord, 'execution_hash'>(rest, 'execution_hash');
      const file = recordPath('executions', execution.execution_id, execution.executed_at);
      return {
        commit: await copy.ops.commit({ [file]: serializeRecord(execution) }, 'record an execution'),
        file,
      };
    },
  },
  {
    name: 'the playbook a closure names deleted',
    rule: 'verify.record-deleted',
    tamper: (copy) => deleteFiles(copy, 'records/playbooks', 'drop the playbook'),
  },
  {
    name: 'a closure deleted',
    rule: 'verify.record-deleted',
    tamper: (copy) => deleteFiles(copy, 'records/closures', 'drop the closure'),
  },
  {
    name: 'all run records deleted',
    rule: 'verify.record-deleted',
    tamper: (copy) => deleteFiles(copy, 'records/runs', 'drop the run records'),
  },
  {
    name: 'all of records/ deleted',
    rule: 'verify.record-deleted',
    tamper: (copy) => deleteFiles(copy, 'records', 'start the ledger over'),
  },
  {
    name: 'the report edited to alert_level healthy',
    rule: 'verify.report-mismatch',
    tamper: async (copy) => {
      const file = 'reports/retry-recovery-report.json';
      const report = (await showFile(copy.ops.remote, file)).replace(
        /"alert_level": "\w+"/,
        '"alert_level": "healthy"',
      );
      return { commit: await copy.ops.commit({ [file]: report }, 'all is well'), file };
    },
  },
  {
    name: 'status.json edited',
    rule: 'verify.report-mismatch',
    tamper: async (copy) => {
      const file = 'reports/status.json';
      const status = (await showFile(copy.ops.remote, file)).replace('"status": "False"', '"status": "True"');
      return { commit: await copy.ops.commit({ [file]: status }, 'green status'), file };
    },
  },
  {
    name: 'a record added in a commit that also changes manifests/ (with the replica trailer)',
    rule: 'verify.record-not-by-reconciler',
    tamper: async (copy) => {
      const existing = await read<DeliveryRecord>(
        copy,
        await firstFile(copy.ops.remote, 'records/deliveries'),
      );
      const key = { ...existing, delivery_id: 'drill-extra' };
      const { record_hash: _hash, ...rest } = { ...key, record_id: deliveryRecordId(key, key.attempt) };
      const delivery = withHash<DeliveryRecord, 'record_hash'>(rest, 'record_hash');
      const file = recordPath('deliveries', delivery.record_id, delivery.attempted_at);
      const commit = await copy.ops.commit(
        {
          [file]: serializeRecord(delivery),
          'manifests/deliveries/drill-extra.yaml': deliveryYaml('drill-extra', ['hook-a']),
        },
        `cavra-gitops: record 1 deliveries${FORGED_TRAILER}`,
      );
      return { commit, file };
    },
  },
  {
    name: 'a claim removed by hand',
    rule: 'verify.record-deleted',
    tamper: async (copy) => {
      // Another replica's live claim, committed as a reconciler commit (its store, its trailer).
      const claimState = await createStateDir();
      const store = await openGitStore({
        remote: copy.ops.remote,
        stateDir: claimState.dir,
        branch: 'main',
        replicaId: 'other',
        env: copy.env,
      });
      const claim: ClaimRecord = {
        claim_id: 'drill-1.hook-b.9',
        claim_kind: 'delivery',
        delivery_id: 'drill-1',
        audit_id: 'audit-drill-1',
        provider: 'hook-b',
        attempt: 9,
        holder: 'other',
        claimed_at: '2026-06-28T10:59:00Z',
        lease_expires_at: '2026-06-29T10:59:00Z',
        source_revision: (await copy.ops.tip())!,
      };
      const file = claimPath(claim.claim_id);
      try {
        const tip = await store.fetch('main');
        const claimed = await store.createCommit(
          tip,
          { put: [{ path: file, content: serializeRecord(claim) }], remove: [] },
          'cavra-gitops: claim 1 call(s)',
        );
        expect((await store.push(claimed, 'main')).status).toBe('pushed');
      } finally {
        await store.close();
        await claimState.cleanup();
      }
      return { commit: await copy.ops.commit({ [file]: null }, 'that claim looks stuck'), file };
    },
  },
];

describe('the append-only ledger', () => {
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

  it('the seeded history verifies clean and a replica with state has nothing to do', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const verified = await copy.verify();
      expect(verified.output.findings).toEqual([]);
      expect(verified.code).toBe(0);
      receiver.reset();
      const run = await copy.reconcile();
      expect(run.outcome).not.toBe('stalled');
      expect(run.calls).toBe(0);
    } finally {
      await copy.cleanup();
    }
  });

  it.each(CASES)('$name → $rule, a stall with 0 calls, and git revert restores it', async (tamperCase) => {
    const { rule } = tamperCase;
    const copy = await copyLedgerSeed(seed, receiver);
    const fresh = await createStateDir();
    try {
      expect((await copy.reconcile()).calls).toBe(0); // the replica's state: the seeded ledger, checked
      const tampered = await tamperCase.tamper(copy);
      // New work is due, so a replica that did not stall would call.
      await copy.ops.commit(
        { 'manifests/deliveries/drill-new.yaml': deliveryYaml('drill-new', ['hook-a']) },
        'a new delivery',
      );

      const verified = await copy.verify();
      expect(verified.code).toBe(1);
      expect(verified.output.findings).toContainEqual(
        expect.objectContaining({ rule, file: tampered.file, commit: tampered.commit }),
      );

      receiver.reset();
      for (const stateDir of [copy.state.dir, fresh.dir]) {
        const stalled = await copy.reconcile({ stateDir });
        expect(stalled.outcome, stalled.message).toBe('stalled');
        expect(stalled.reason).toBe('LedgerTampered');
        expect(stalled.message).toContain(tampered.commit.slice(0, 12));
        expect(stalled.calls).toBe(0);
        expect(stalled.commits).toEqual([]);
      }
      expect(receiver.requests).toEqual([]);

      await git(copy.ops.work, ['revert', '--no-edit', tampered.commit]);
      await git(copy.ops.work, ['push', '-q', copy.ops.remote, 'main']);
      const resumed = await copy.reconcile();
      expect(resumed.outcome, resumed.message).toBe('ok');
      expect(resumed.calls).toBe(1);
      expect(receiver.requests.map((request) => request.headers['webhook-id'])).toEqual(['drill-new']);
      const after = await copy.verify();
      expect(after.output.findings).toEqual([]);
      expect(after.code).toBe(0);
    } finally {
      await fresh.cleanup();
      await copy.cleanup();
    }
  });
});
