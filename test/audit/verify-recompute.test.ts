/**
 * `verify`'s recomputations on real git: forgeries that pass the append-only rules because their
 * commit carries a forged `Cavra-Gitops-Replica` trailer and touches only records/ and reports/
 * (what signed reconciler commits would stop) are still found when they do not recompute: an
 * execution the gate did not admit, an approval that is not in history or is used twice, a
 * delivery or closure that refers to nothing, a playbook its failures do not give, a report its
 * records do not give. Each names rule, file and commit; the seeded history itself verifies clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withHash } from '../../src/domain/hash.js';
import { deliveryRecordId, executionId, retryPlanId } from '../../src/domain/ids.js';
import type {
  ClosureRecord,
  DeliveryRecord,
  ExecutionRecord,
  PlaybookRecord,
} from '../../src/domain/types.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
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

const TRAILER = '\n\nCavra-Gitops-Replica: a';

async function read<T>(copy: LedgerCopy, path: string): Promise<T> {
  return JSON.parse(await showFile(copy.ops.remote, path)) as T;
}

async function executionOf(copy: LedgerCopy, provider: string): Promise<ExecutionRecord> {
  const files = (
    await git(copy.ops.remote, ['ls-tree', '-r', '--name-only', 'main', '--', 'records/executions'])
  ).split('\n');
  for (const file of files) {
    const record = await read<ExecutionRecord>(copy, file);
    if (record.provider === provider) return record;
  }
  throw new Error(`no execution for ${provider}`);
}

/** An execution for `attempt` of the same key, ids and hash recomputed. */
function nextAttempt(
  record: ExecutionRecord,
  attempt: number,
  changes: Partial<ExecutionRecord> = {},
): ExecutionRecord {
  const key = { delivery_id: record.delivery_id, audit_id: record.audit_id, provider: record.provider };
  const decision = changes.approval_decision_id ?? record.approval_decision_id;
  const { execution_hash: _hash, ...rest } = {
    ...record,
    ...changes,
    attempt,
    execution_id: executionId(decision, key, attempt),
    retry_plan_id: retryPlanId(key, attempt),
  };
  return withHash<ExecutionRecord, 'execution_hash'>(rest, 'execution_hash');
}

async function commitRecord(
  copy: LedgerCopy,
  kind: 'executions' | 'deliveries' | 'closures' | 'playbooks',
  record: object,
  id: string,
  at: string,
): Promise<{ commit: string; file: string }> {
  const file = recordPath(kind, id, at);
  const commit = await copy.ops.commit(
    { [file]: serializeRecord(record) },
    `cavra-gitops: record 1 ${kind}${TRAILER}`,
  );
  return { commit, file };
}

interface ForgeryCase {
  name: string;
  rule: string;
  forge(copy: LedgerCopy): Promise<{ commit: string; file: string }>;
}

const CASES: ForgeryCase[] = [
  {
    name: 'a third attempt under the approval the second one consumed',
    rule: 'verify.approval-not-allowed',
    forge: async (copy) => {
      const forged = nextAttempt(await executionOf(copy, 'hook-a'), 3);
      return commitRecord(copy, 'executions', forged, forged.execution_id, forged.executed_at);
    },
  },
  {
    name: 'the same approval carried by a second execution',
    rule: 'verify.approval-reused',
    forge: async (copy) => {
      const forged = nextAttempt(await executionOf(copy, 'hook-b'), 3);
      return commitRecord(copy, 'executions', forged, forged.execution_id, forged.executed_at);
    },
  },
  {
    name: 'an execution naming an approval blob that is not in history',
    rule: 'verify.unknown-approval',
    forge: async (copy) => {
      const original = await executionOf(copy, 'hook-a');
      const forged = nextAttempt(original, 3, {
        approval: { ...original.approval, blob: '0123456789abcdef0123456789abcdef01234567' },
      });
      return commitRecord(copy, 'executions', forged, forged.execution_id, forged.executed_at);
    },
  },
  {
    name: 'a delivery for an AuditDelivery that never existed',
    rule: 'verify.orphan-record',
    forge: async (copy) => {
      const existing = await read<DeliveryRecord>(
        copy,
        await firstFile(copy.ops.remote, 'records/deliveries'),
      );
      const key = { ...existing, delivery_id: 'ghost-drill' };
      const { record_hash: _hash, ...rest } = { ...key, record_id: deliveryRecordId(key, key.attempt) };
      const delivery = withHash<DeliveryRecord, 'record_hash'>(rest, 'record_hash');
      return commitRecord(copy, 'deliveries', delivery, delivery.record_id, delivery.attempted_at);
    },
  },
  {
    name: 'a closure of a playbook that does not exist',
    rule: 'verify.orphan-record',
    forge: async (copy) => {
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
      return commitRecord(copy, 'closures', closure, closure.closure_id, closure.recorded_at);
    },
  },
  {
    name: 'a playbook with failures its records do not give',
    rule: 'verify.playbook-mismatch',
    forge: async (copy) => {
      const existing = await read<PlaybookRecord>(
        copy,
        await firstFile(copy.ops.remote, 'records/playbooks'),
      );
      const { playbook_hash: _hash, ...rest } = existing;
      const playbook = withHash<PlaybookRecord, 'playbook_hash'>(
        {
          ...rest,
          playbook_id: 'gordackrecovery-00000000feedface',
          failure_count: 7,
          provider_playbooks: existing.provider_playbooks.map((row) => ({ ...row, failure_count: 7 })),
        },
        'playbook_hash',
      );
      return commitRecord(copy, 'playbooks', playbook, playbook.playbook_id, playbook.generated_at);
    },
  },
  {
    name: 'the report rewritten to alert_level healthy in a commit with the trailer',
    rule: 'verify.report-mismatch',
    forge: async (copy) => {
      const file = 'reports/retry-recovery-report.json';
      const report = (await showFile(copy.ops.remote, file)).replace(
        /"alert_level": "\w+"/,
        '"alert_level": "healthy"',
      );
      return {
        commit: await copy.ops.commit({ [file]: report }, `cavra-gitops: update reports${TRAILER}`),
        file,
      };
    },
  },
];

describe('verify recomputes what it cannot take on trust', () => {
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

  it('--since audits only what the commits after it did', async () => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const early = await copy.ops.commit(
        { [await firstFile(copy.ops.remote, 'records/runs')]: null },
        'an old deletion',
      );
      const full = await copy.verify();
      expect(full.output.findings).toContainEqual(
        expect.objectContaining({ rule: 'verify.record-deleted', commit: early }),
      );
      expect((await copy.verify(['--since', early])).code).toBe(0);
      const later = await commitRecord(
        copy,
        'executions',
        nextAttempt(await executionOf(copy, 'hook-a'), 3),
        nextAttempt(await executionOf(copy, 'hook-a'), 3).execution_id,
        (await executionOf(copy, 'hook-a')).executed_at,
      );
      const since = await copy.verify(['--since', early]);
      expect(since.code).toBe(1);
      expect(since.output.findings.map((finding) => finding.commit)).toEqual(
        since.output.findings.map(() => later.commit),
      );
      expect(since.output.findings.map((finding) => finding.rule)).toContain('verify.approval-not-allowed');
    } finally {
      await copy.cleanup();
    }
  });

  it('recomputes a playbook from every record when one in its window is held by two files', async () => {
    // Each delivery copied to a second file (another month's folder): the lookback window then
    // holds ids two files hold, so the windowed read gives up and every record is read.
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const deliveries = (
        await git(copy.ops.remote, ['ls-tree', '-r', '--name-only', 'main', '--', 'records/deliveries'])
      ).split('\n');
      const copies: Record<string, string> = {};
      for (const file of deliveries) {
        copies[file.replace(/\/\d{4}-\d{2}\//, '/1999-01/')] = await showFile(copy.ops.remote, file);
      }
      await copy.ops.commit(copies, `cavra-gitops: record ${deliveries.length} deliveries${TRAILER}`);
      const legitimate = (await copy.verify()).output.findings;
      expect(legitimate.map((finding) => finding.rule)).not.toContain('verify.playbook-mismatch');

      const forged = await CASES.find((forgery) => forgery.rule === 'verify.playbook-mismatch')!.forge(copy);
      const verified = await copy.verify();
      expect(verified.output.findings).toContainEqual(
        expect.objectContaining({
          rule: 'verify.playbook-mismatch',
          file: forged.file,
          commit: forged.commit,
        }),
      );
      expect(
        verified.output.findings.filter((finding) => finding.rule === 'verify.playbook-mismatch'),
      ).toHaveLength(1);
    } finally {
      await copy.cleanup();
    }
  });

  it.each(CASES)('$name → $rule', async (forgery) => {
    const copy = await copyLedgerSeed(seed, receiver);
    try {
      const forged = await forgery.forge(copy);
      const verified = await copy.verify();
      expect(verified.code).toBe(1);
      expect(verified.output.findings).toContainEqual(
        expect.objectContaining({ rule: forgery.rule, file: forged.file, commit: forged.commit }),
      );
      // The append-only rules take the forged trailer at its word (no signing required).
      expect(verified.output.findings.map((finding) => finding.rule)).not.toContain(
        'verify.record-not-by-reconciler',
      );
    } finally {
      await copy.cleanup();
    }
  });
});
