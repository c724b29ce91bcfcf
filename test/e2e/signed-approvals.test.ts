/**
 * `require_signed_approvals` end to end with real ssh signatures: an approval executes only when
 * the commit that introduced it is signed by a key the repository's allowed-signers file maps to
 * the approval's `decided_by`. Unsigned (`signature_required`), signed by an unknown key, or signed
 * by someone else (`signer_not_trusted`): no.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlan, type PlanView } from '../../src/cli/plan.js';
import { withHash } from '../../src/domain/hash.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import type { DeliveryRecord } from '../../src/domain/types.js';
import { commitFiles, createTempDir, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createSettableClock,
  deliveryYaml,
  providerYaml,
  reconcilerEnv,
} from '../helpers/reconciler-fixtures.js';
import { createSshSigningKey } from '../helpers/git-fixtures.js';

const POLICY = `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  require_signed_approvals: true
  allowed_signers_file: .cavra/allowed_signers
`;

function failedAttempt(delivery: string): DeliveryRecord {
  return withHash<DeliveryRecord, 'record_hash'>(
    {
      record_id: `${delivery}.ops-webhook.1`,
      delivery_id: delivery,
      audit_id: `audit-${delivery}`,
      provider: 'ops-webhook',
      attempt: 1,
      delivery_success: false,
      status_code: 503,
      error: 'HTTP 503',
      execution_id: '',
      idempotency_key: delivery,
      attempted_at: '2026-06-28T09:30:00Z',
      completed_at: '2026-06-28T09:30:00Z',
      run_id: 'gordackworker-0000000000000000',
      source_revision: '0'.repeat(40),
    },
    'record_hash',
  );
}

describe('signed approvals', () => {
  let repo: TempDir;
  let keys: TempDir;

  beforeEach(async () => {
    repo = await createTempRepo();
    keys = await createTempDir('cavra-keys-');
  });
  afterEach(async () => {
    await repo.cleanup();
    await keys.cleanup();
  });

  it('executes only approvals signed by the key mapped to decided_by', async () => {
    const bob = await createSshSigningKey(keys.dir, 'bob@example.com', 'bob');
    const mallory = await createSshSigningKey(keys.dir, 'mallory@example.com', 'mallory');
    const deliveries = ['signed-by-bob', 'unsigned', 'unknown-key', 'wrong-signer'];
    const files: Record<string, string> = {
      'manifests/policy.yaml': POLICY,
      'manifests/providers.yaml': providerYaml('ops-webhook'),
      '.cavra/allowed_signers': bob.allowedSignersLine,
    };
    for (const name of deliveries) {
      files[`manifests/deliveries/${name}.yaml`] = deliveryYaml(name, ['ops-webhook']);
      files[`manifests/acks/${name}.yaml`] = ackYaml(`ack-${name}`, name, 'ops-webhook');
      const record = failedAttempt(name);
      files[recordPath('deliveries', record.record_id, record.attempted_at)] = serializeRecord(record);
    }
    await commitFiles(repo.dir, files, 'Policy, provider, deliveries with failed attempts', {
      date: '2026-06-28T09:00:00Z',
    });

    const approve = (name: string, decidedBy = 'bob@example.com'): Record<string, string> => ({
      [`manifests/approvals/${name}.yaml`]: approvalYaml(`approve-${name}`, name, 'ops-webhook', {
        decidedBy,
      }),
    });
    await commitFiles(repo.dir, approve('signed-by-bob'), 'Approve (signed by Bob)', {
      date: '2026-06-28T10:00:00Z',
      signWith: bob.keyPath,
    });
    await commitFiles(repo.dir, approve('unsigned'), 'Approve (unsigned)', { date: '2026-06-28T10:01:00Z' });
    await commitFiles(repo.dir, approve('unknown-key'), 'Approve (signed by a key not in allowed_signers)', {
      date: '2026-06-28T10:02:00Z',
      signWith: mallory.keyPath,
    });
    await commitFiles(
      repo.dir,
      approve('wrong-signer', 'alice@example.com'),
      'Approve for Alice, signed by Bob',
      {
        date: '2026-06-28T10:03:00Z',
        signWith: bob.keyPath,
      },
    );

    // The provider's URL is set, so the plan may call it (an unset url_env makes it not ready).
    const env = reconcilerEnv({ HOOK_URL: 'http://127.0.0.1:9/hook' });
    const cli = createCliContext(repo.dir, env, createSettableClock('2026-06-28T11:00:00Z'));
    expect(await runPlan({ repo: repo.dir, format: 'json' }, cli.context)).toBe(0);
    const view = JSON.parse(cli.stdout()) as PlanView;
    const reasons = Object.fromEntries(view.decisions.map((d) => [d.key.delivery_id, d.reason]));
    // Unsigned is `signature_required`; signed, but not by a key mapped to decided_by, is
    // `signer_not_trusted` (issue 11: a wrong principal is not the same as no signature).
    expect(reasons).toEqual({
      'signed-by-bob': 'executed',
      unsigned: 'signature_required',
      'unknown-key': 'signer_not_trusted',
      'wrong-signer': 'signer_not_trusted',
    });
    const wrong = view.decisions.find((d) => d.key.delivery_id === 'wrong-signer');
    expect(wrong?.message).toContain('manifests/approvals/wrong-signer.yaml');
    expect(wrong?.message).toContain('bob@example.com');
    expect(wrong?.policy).toBe('current');
    expect(view.executions.map((call) => call.delivery_id)).toEqual(['signed-by-bob']);
  });
});
