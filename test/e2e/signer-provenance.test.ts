/**
 * "A change cannot loosen its own keys", end to end through `plan` and `reconcile` with real
 * ssh-keygen keys and ssh-signed commits. With `require_signed_approvals`, the allowed-signers file
 * is read at the approval's base and at the tip, so:
 * - a signer line for `decided_by` added in the approval's own commit → signer_not_trusted, 0 calls;
 * - the same line added in an earlier commit of the same push (not recorded yet) → signer_not_trusted;
 * - the policy re-pointing `allowed_signers_file` to a new file in the approval's commit → judged
 *   with the file the base's policy names, signer_not_trusted;
 * - the control: the line added in an earlier commit that a reconcile has recorded (it is the
 *   base) → trusted, executed exactly once, the execution's evidence naming the base.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import { reply, type HttpReceiver } from '../helpers/http-receiver.js';
import { createSshSigningKey, createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import {
  approvalYaml,
  createSettableClock,
  deliveryYaml,
  providerYaml,
  readRemoteRecords,
  type OpsRepo,
  openFailingHookReplica,
  type FailingHookReplica,
} from '../helpers/reconciler-fixtures.js';

type SigningKey = Awaited<ReturnType<typeof createSshSigningKey>>;

function signedPolicy(signersFile = '.cavra/allowed_signers'): string {
  return `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  require_retry_ack: false
  require_signed_approvals: true
  allowed_signers_file: ${signersFile}
`;
}

const DAVE = 'dave@example.com';

describe('the allowed-signers file is judged at the base', () => {
  let keys: TempDir;
  let bob: SigningKey;
  let mallory: SigningKey;
  /** An allowed-signers line giving dave mallory's key: what a hostile change would add. */
  let daveIsMallory: string;

  let ops: OpsRepo;
  let receiver: HttpReceiver;
  const clock = createSettableClock('2026-06-28T10:00:00Z');

  beforeAll(async () => {
    keys = await createTempDir('cavra-keys-');
    bob = await createSshSigningKey(keys.dir, 'bob@example.com', 'bob');
    mallory = await createSshSigningKey(keys.dir, 'mallory@example.com', 'mallory');
    daveIsMallory = `${DAVE} ${mallory.allowedSignersLine.split(' ').slice(1).join(' ')}`;
  });
  afterAll(async () => {
    await keys.cleanup();
  });

  let fixture: FailingHookReplica;

  beforeEach(async () => {
    clock.set('2026-06-28T10:00:00Z');
    fixture = await openFailingHookReplica(clock);
    ({ ops, receiver } = fixture);
  });
  afterEach(() => fixture.close());

  const reconcile = (): Promise<number> => fixture.reconcile();
  const callsFor = (delivery: string): number => fixture.callsFor(delivery);
  const decisionOf = (delivery: string): Promise<RetryDecision> => fixture.decisionOf(delivery);

  /** Signed-approvals policy trusting bob only; d1 and d2 fail attempt 1; that revision is recorded. */
  async function signedBase(): Promise<string> {
    const t0 = await ops.commit(
      {
        'manifests/policy.yaml': signedPolicy(),
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml':
          deliveryYaml('d1', ['ops-webhook']) + '---\n' + deliveryYaml('d2', ['ops-webhook']),
        '.cavra/allowed_signers': bob.allowedSignersLine,
      },
      'signed approvals, bob trusted',
      { date: '2026-06-28T09:00:00Z' },
    );
    expect(await reconcile()).toBe(2);
    expect((await readRemoteRecords(ops.remote)).deliveries.map((d) => d.source_revision)).toEqual([t0, t0]);
    return t0;
  }

  const daveApproves = (delivery: string): Record<string, string> => ({
    [`manifests/approvals/${delivery}.yaml`]: approvalYaml(`approve-${delivery}`, delivery, 'ops-webhook', {
      decidedBy: DAVE,
    }),
  });

  async function expectNotTrustedAtBase(approval: string, base: string): Promise<void> {
    const decision = await decisionOf('d1');
    expect(decision.reason).toBe('signer_not_trusted');
    expect(decision.execute).toBe(false);
    expect(decision.message).toContain(`manifests/approvals/d1.yaml, commit ${approval}`);
    expect(decision.message).toContain(`the allowed-signers file at the base (commit ${base})`);
    expect(decision.message).toContain(`not a good signature by ${DAVE}`);
    const before = callsFor('d1');
    expect(await reconcile()).toBe(0);
    expect(await reconcile()).toBe(0);
    expect(callsFor('d1')).toBe(before);
    expect((await readRemoteRecords(ops.remote)).executions).toEqual([]);
  }

  it("a signer line added in the approval's own commit: signer_not_trusted, no call", async () => {
    const t0 = await signedBase();
    const approval = await ops.commit(
      { '.cavra/allowed_signers': bob.allowedSignersLine + daveIsMallory, ...daveApproves('d1') },
      'trust dave; dave approves d1',
      { date: '2026-06-28T09:30:00Z', signWith: mallory.keyPath },
    );
    await expectNotTrustedAtBase(approval, t0);
  });

  it('a signer line added in an earlier commit of the same push: signer_not_trusted, no call', async () => {
    const t0 = await signedBase();
    // Two commits, no reconcile in between (ops.commit pushes each; nothing records the first).
    await ops.commit({ '.cavra/allowed_signers': bob.allowedSignersLine + daveIsMallory }, 'trust dave', {
      date: '2026-06-28T09:30:00Z',
    });
    const approval = await ops.commit(daveApproves('d1'), 'dave approves d1', {
      date: '2026-06-28T09:31:00Z',
      signWith: mallory.keyPath,
    });
    await expectNotTrustedAtBase(approval, t0);
  });

  it('allowed_signers_file re-pointed to a new file in the approval commit: judged with the base file, no call', async () => {
    const t0 = await signedBase();
    const approval = await ops.commit(
      {
        'manifests/policy.yaml': signedPolicy('.cavra/new_signers'),
        '.cavra/new_signers': daveIsMallory,
        ...daveApproves('d1'),
      },
      're-point allowed signers; dave approves d1',
      { date: '2026-06-28T09:30:00Z', signWith: mallory.keyPath },
    );
    await expectNotTrustedAtBase(approval, t0);
  });

  it('a signer line added in an earlier commit that a reconcile recorded (the base): trusted, executed once', async () => {
    await signedBase();
    // The key change and a delivery: the run that delivers d3 records this revision.
    const keysCommit = await ops.commit(
      {
        '.cavra/allowed_signers': bob.allowedSignersLine + daveIsMallory,
        'manifests/deliveries-more.yaml': deliveryYaml('d3', ['ops-webhook']),
      },
      'trust dave; deliver d3',
      { date: '2026-06-28T09:30:00Z' },
    );
    expect(await reconcile()).toBe(1);
    const approval = await ops.commit(daveApproves('d1'), 'dave approves d1', {
      date: '2026-06-28T09:40:00Z',
      signWith: mallory.keyPath,
    });
    const decision = await decisionOf('d1');
    expect(decision.reason).toBe('executed');

    receiver.respond('/hook', reply.ok());
    expect(await reconcile()).toBe(1);
    expect(await reconcile()).toBe(0);
    expect(callsFor('d1')).toBe(2); // attempt 1 and the one approved retry
    const executions = (await readRemoteRecords(ops.remote)).executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ delivery_id: 'd1', execution_status: 'delivered' });
    expect(executions[0]!.approval).toMatchObject({
      name: 'approve-d1',
      commit: approval,
      base: keysCommit,
      signature: { status: 'good', principal: DAVE },
    });
    // The retry succeeded: the key needs nothing any more.
    expect((await decisionOf('d1')).reason).toBe('delivered');
  });
});
