import { describe, expect, it } from 'vitest';
import { evaluateGate, type GateInput } from '../../src/domain/approval-gate.js';
import { isTrustedSignature } from '../../src/domain/approval-rules.js';
import { buildApprovalViews } from '../../src/domain/approval-views.js';
import { buildClaim, buildDeliveryRecord, buildExecutionRecord } from '../../src/domain/record-builders.js';
import { computeRetryState } from '../../src/domain/retry-rules.js';
import type { ReconcilerPolicySpec } from '../../src/domain/types.js';
import { emptyRecordSet } from '../../src/domain/types.js';
import {
  BASE_COMMIT,
  KEY,
  REVISION,
  acknowledgement,
  approval,
  attempt,
  commitInfo,
  delivery,
  factsFor,
  manifestSet,
  policy,
  provider,
  planScenario,
  type Scenario,
} from './retry-fixtures.js';

const T0 = '2026-06-28T09:30:00.000Z';
const minutesAfter = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000);
const APPROVAL_COMMIT = '3'.repeat(40);

const plan = planScenario;

/** Base policy of the baseline approval `approve-1`. */
const basePolicy = (spec: ReconcilerPolicySpec) => new Map([['approve-1', spec]]);

/** One failed delivery, an accepted ack, an approval by alice, 20 minutes later: the retry is executed. */
function baseline(): Scenario {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, T0));
  return {
    revision: REVISION,
    manifests: manifestSet(),
    policy: policy(),
    facts: {},
    records,
    now: minutesAfter(20),
    leaseMinutes: 10,
  };
}

function decisionFor(input: Scenario) {
  const plan = planFor(input);
  const decision = plan.decisions.find(
    (d) => d.key.delivery_id === KEY.delivery_id && d.key.provider === KEY.provider,
  );
  return { plan, decision };
}

const planFor = plan;

/** The input after the baseline's retry was executed and failed (approval consumed). */
function afterExecution(): Scenario {
  const input = baseline();
  const call = plan(input).executions[0];
  if (!call) throw new Error('baseline must plan an execution');
  const options = { runId: 'gordackworker-0000000000000001', revision: REVISION };
  input.records.executions.push(
    buildExecutionRecord(
      call,
      { success: false, statusCode: 503, error: 'HTTP 503' },
      { ...options, executedAt: minutesAfter(20).toISOString(), executedBy: 'replica-a' },
    ),
  );
  input.records.deliveries.push(
    buildDeliveryRecord(
      call,
      { success: false, statusCode: 503, error: 'HTTP 503' },
      {
        ...options,
        attemptedAt: minutesAfter(20).toISOString(),
        completedAt: minutesAfter(20).toISOString(),
      },
    ),
  );
  input.now = minutesAfter(500);
  return input;
}

type Case = [name: string, change: (input: Scenario) => Scenario | void, reason: string];

const GATE_CASES: Case[] = [
  ['no acknowledgement', (i) => void (i.manifests.acknowledgements = []), 'wait_for_retry_ack'],
  [
    'acknowledgement deferred',
    (i) => void (i.manifests.acknowledgements = [acknowledgement({ state: 'deferred' })]),
    'wait_for_retry_ack',
  ],
  [
    'a newer acknowledgement dismissed it',
    (i) =>
      void i.manifests.acknowledgements.push(
        acknowledgement({ name: 'ack-2', state: 'dismissed', acknowledged_at: '2026-06-28T09:10:00Z' }),
      ),
    'wait_for_retry_ack',
  ],
  [
    'ack not required now, but required before the approval commit',
    (i) => {
      i.manifests.acknowledgements = [];
      i.policy = policy({ require_retry_ack: false });
      i.facts.basePolicies = basePolicy(policy({ require_retry_ack: true }));
    },
    'wait_for_retry_ack',
  ],
  ['no approval', (i) => void (i.manifests.approvals = []), 'request_approval'],
  [
    'approval for another provider only',
    (i) => void (i.manifests.approvals = [approval({ provider: 'other' })]),
    'request_approval',
  ],
  [
    'approval denied',
    (i) => void (i.manifests.approvals = [approval({ state: 'denied' })]),
    'approval_denied',
  ],
  [
    'approval deferred',
    (i) => void (i.manifests.approvals = [approval({ state: 'deferred' })]),
    'approval_deferred',
  ],
  [
    'approval in state expired',
    (i) => void (i.manifests.approvals = [approval({ state: 'expired' })]),
    'approval_expired',
  ],
  [
    'approval expires_at == now',
    (i) => void (i.manifests.approvals = [approval({ expires_at: minutesAfter(20).toISOString() })]),
    'approval_expired',
  ],
  [
    'approval expires_at in the past',
    (i) => void (i.manifests.approvals = [approval({ expires_at: '2026-06-28T09:45:00Z' })]),
    'approval_expired',
  ],
  [
    'a newer denial overrides an approval',
    (i) =>
      void i.manifests.approvals.push(
        approval({ name: 'deny', state: 'denied', decided_at: '2026-06-28T09:40:00Z' }),
      ),
    'approval_denied',
  ],
  ['approver not allowed', (i) => void (i.policy = policy({ approvers: ['bob'] })), 'approver_not_allowed'],
  [
    'policy loosened in the same commit as the approval (approvers widened)',
    (i) => {
      i.policy = policy({ approvers: ['bob', 'alice'] });
      i.facts.basePolicies = basePolicy(policy({ approvers: ['bob'] }));
    },
    'approver_not_allowed',
  ],
  [
    'approval without facts: the default policy is its base (still allowed: anyone)',
    (i) => void (i.facts = { basePolicies: new Map(), baseCommits: new Map([['approve-1', null]]) }),
    'executed',
  ],
  ['delay not elapsed', (i) => void (i.now = minutesAfter(14)), 'retry_delay_not_elapsed'],
  [
    'max attempts reached',
    (i) => {
      i.records.deliveries = [attempt(1, false, T0), attempt(2, false, T0), attempt(3, false, T0)];
      i.now = minutesAfter(10_000);
    },
    'max_attempts_reached',
  ],
  [
    'signature required, approval commit unsigned',
    (i) => void (i.policy = policy({ require_signed_approvals: true })),
    'signature_required',
  ],
  [
    'signature required, signed by someone else',
    (i) => {
      i.policy = policy({ require_signed_approvals: true });
      i.manifests.approvals = [
        approval({
          introduced: commitInfo(APPROVAL_COMMIT, { signature: { status: 'good', principal: 'mallory' } }),
        }),
      ];
    },
    'signer_not_trusted',
  ],
  [
    'signature required, bad signature',
    (i) => {
      i.policy = policy({ require_signed_approvals: true });
      i.manifests.approvals = [
        approval({
          introduced: commitInfo(APPROVAL_COMMIT, { signature: { status: 'bad', principal: 'alice' } }),
        }),
      ];
    },
    'signer_not_trusted',
  ],
  [
    'signing requirement dropped in the approval commit',
    (i) => void (i.facts.basePolicies = basePolicy(policy({ require_signed_approvals: true }))),
    'signature_required',
  ],
  [
    'signature required and good, by the decider',
    (i) => {
      i.policy = policy({ require_signed_approvals: true });
      i.manifests.approvals = [
        approval({
          introduced: commitInfo(APPROVAL_COMMIT, { signature: { status: 'good', principal: 'alice' } }),
        }),
      ];
    },
    'executed',
  ],
  ['consumed approval', () => afterExecution(), 'approval_consumed'],
  [
    'claim in flight',
    (i) => {
      const call = plan(i).executions[0];
      if (call)
        i.records.claims.push(
          buildClaim(call, {
            holder: 'replica-b',
            now: minutesAfter(19),
            leaseMinutes: 10,
            revision: REVISION,
          }),
        );
    },
    'claim_in_flight',
  ],
  [
    'provider disabled',
    (i) => void (i.manifests.providers = [provider('ops-webhook', { enabled: false })]),
    'provider_disabled',
  ],
  ['run limit 0', (i) => void (i.policy = policy({ max_retry_deliveries_per_run: 0 })), 'run_limit_reached'],
  ['baseline', () => undefined, 'executed'],
];

describe('approval gate: every case has its reason', () => {
  it.each(GATE_CASES)('%s → %s', (_name, change, reason) => {
    const base = baseline();
    const input = change(base) ?? base;
    const { plan, decision } = decisionFor(input);
    expect(decision?.reason).toBe(reason);
    expect(decision?.execute).toBe(reason === 'executed');
    expect(plan.executions.length).toBe(reason === 'executed' ? 1 : 0);
  });

  it('a consumed approval is replaced by one with a new name, not by editing it', () => {
    const edited = afterExecution();
    edited.manifests.approvals = [approval({ notes: 'second try', commit: '5'.repeat(40) })];
    expect(decisionFor(edited).decision?.reason).toBe('approval_consumed');

    const renamed = afterExecution();
    renamed.manifests.approvals = [
      approval({ name: 'approve-2', notes: 'second try', commit: '5'.repeat(40) }),
    ];
    const { plan, decision } = decisionFor(renamed);
    expect(decision).toMatchObject({ reason: 'executed', execute: true, retry_count: 2 });
    expect(plan.executions[0]?.attempt).toBe(3);
  });
});

describe('run limit', () => {
  it('executes the oldest decisions first, the rest wait with run_limit_reached', () => {
    const input = baseline();
    const keys = ['audit-a', 'audit-b', 'audit-c'];
    input.manifests.deliveries = keys.map((name) => delivery(name));
    input.manifests.acknowledgements = keys.map((name) =>
      acknowledgement({ name: `ack-${name}`, delivery: name }),
    );
    // audit-c was decided first, then audit-a, then audit-b.
    const decidedAt: Record<string, string> = {
      'audit-a': '2026-06-28T09:05:00Z',
      'audit-b': '2026-06-28T09:06:00Z',
      'audit-c': '2026-06-28T09:01:00Z',
    };
    input.manifests.approvals = keys.map((name) =>
      approval({ name: `approve-${name}`, delivery: name, decided_at: decidedAt[name] }),
    );
    input.records.deliveries = keys.map((name) => attempt(1, false, T0, { ...KEY, delivery_id: name }));
    input.policy = policy({ max_retry_deliveries_per_run: 2 });
    const result = plan(input);
    expect(result.executions.map((call) => call.key.delivery_id)).toEqual(['audit-c', 'audit-a']);
    expect(result.decisions.map((d) => [d.key.delivery_id, d.reason])).toEqual([
      ['audit-a', 'executed'],
      ['audit-b', 'run_limit_reached'],
      ['audit-c', 'executed'],
    ]);
  });
});

describe('evaluateGate directly', () => {
  const input = (): GateInput => {
    const manifests = manifestSet();
    const views = buildApprovalViews(manifests.approvals, factsFor(manifests), emptyRecordSet());
    return {
      state: computeRetryState(
        KEY,
        [attempt(1, false, T0)],
        {
          max_retry_attempts: 3,
          retry_delay_minutes: 15,
          backoff_multiplier: 2,
          allow_immediate_retry: false,
        },
        minutesAfter(20),
      ),
      approvals: [...views.values()],
      acknowledgement: acknowledgement(),
      current: { commit: REVISION, policy: policy() },
      subject: 'AuditDelivery audit-2026-06 → provider ops-webhook',
      now: minutesAfter(20),
    };
  };

  it('passes the baseline', () => {
    expect(evaluateGate(input())).toMatchObject({ pass: true, reason: 'executed', emergency: false });
    expect(evaluateGate(input()).counted.map((view) => view.approval.name)).toEqual(['approve-1']);
  });

  it('says delivered when the latest attempt succeeded', () => {
    const gate = input();
    gate.state = computeRetryState(
      KEY,
      [attempt(1, true, T0)],
      { max_retry_attempts: 3, retry_delay_minutes: 15, backoff_multiplier: 2, allow_immediate_retry: false },
      minutesAfter(20),
    );
    expect(evaluateGate(gate)).toMatchObject({ pass: false, reason: 'delivered' });
  });

  it('requires a good signature with a non-empty principal equal to decided_by', () => {
    expect(isTrustedSignature({ status: 'good', principal: '' }, '')).toBe(false);
    expect(isTrustedSignature({ status: 'good', principal: 'alice' }, 'alice')).toBe(true);
    expect(isTrustedSignature({ status: 'untrusted', principal: 'alice' }, 'alice')).toBe(false);
    expect(isTrustedSignature({ status: 'good', principal: 'alice' }, 'Alice')).toBe(false);
  });
});

describe('issue 11: the base of a change, signatures at base and tip, consumption', () => {
  const WIDENING = '6'.repeat(40);
  const signed = (principal: string, status: 'good' | 'untrusted' | 'bad' = 'good') =>
    approval({ introduced: commitInfo(APPROVAL_COMMIT, { signature: { status, principal } }) });

  it.each<[string, (i: Scenario) => void, string, 'base' | 'current' | null, string[]]>([
    [
      'a two-commit PR (widen approvers, then approve): the base is before the PR',
      (i) => {
        i.policy = policy({ approvers: ['bob', 'alice'] });
        i.facts.basePolicies = basePolicy(policy({ approvers: ['bob'] }));
      },
      'approver_not_allowed',
      'base',
      [`the base policy (at ${BASE_COMMIT})`, 'manifests/approvals/approve-1.yaml', APPROVAL_COMMIT],
    ],
    [
      'the widening merged and reconciled first, the approval in a later push: its base has the widening',
      (i) => {
        i.policy = policy({ approvers: ['bob', 'alice'] });
        i.facts.basePolicies = basePolicy(policy({ approvers: ['bob', 'alice'] }));
        i.facts.baseCommits = new Map([['approve-1', WIDENING]]);
      },
      'executed',
      null,
      ['approve-1'],
    ],
    [
      'current policy narrower than the base',
      (i) => void (i.policy = policy({ approvers: ['bob'] })),
      'approver_not_allowed',
      'current',
      [`the current policy (at ${REVISION})`],
    ],
    [
      'signer line for decided_by added in the push: untrusted at the base, good at the tip',
      (i) => {
        i.policy = policy({ require_signed_approvals: true });
        i.manifests.approvals = [signed('alice')];
        i.facts.signatures = new Map([
          [
            'approve-1',
            {
              signatureAtBase: { status: 'untrusted', principal: '' },
              signatureAtTip: { status: 'good', principal: 'alice' },
            },
          ],
        ]);
      },
      'signer_not_trusted',
      'current',
      [`the allowed-signers file at the base (commit ${BASE_COMMIT})`, 'not a good signature by alice'],
    ],
    [
      'allowed_signers_file re-pointed at the tip only: good at the base is not enough',
      (i) => {
        i.policy = policy({ require_signed_approvals: true });
        i.manifests.approvals = [signed('alice')];
        i.facts.signatures = new Map([
          [
            'approve-1',
            {
              signatureAtBase: { status: 'good', principal: 'alice' },
              signatureAtTip: { status: 'untrusted', principal: '' },
            },
          ],
        ]);
      },
      'signer_not_trusted',
      'current',
      ['the allowed-signers file at the tip'],
    ],
    [
      'signed by the wrong principal',
      (i) => {
        i.policy = policy({ require_signed_approvals: true });
        i.manifests.approvals = [signed('mallory')];
      },
      'signer_not_trusted',
      'current',
      ['a good signature by mallory', 'not a good signature by alice'],
    ],
    [
      'unsigned',
      (i) => void (i.policy = policy({ require_signed_approvals: true })),
      'signature_required',
      'current',
      [`its commit commit ${APPROVAL_COMMIT} is not signed`],
    ],
    [
      'consumed according to the ledger history (its record deleted at the tip)',
      (i) =>
        void (i.facts.consumedApprovals = new Map([['approve-1', ['gordackretryexec-00000000000000aa']]])),
      'approval_consumed',
      null,
      ['gordackretryexec-00000000000000aa', 'new name'],
    ],
  ])('%s → %s', (_name, change, reason, role, words) => {
    const input = baseline();
    change(input);
    const { plan, decision } = decisionFor(input);
    expect(decision?.reason).toBe(reason);
    expect(decision?.policy).toBe(role);
    if (role === 'base') expect(decision?.policy_commit).toBe(BASE_COMMIT);
    if (role === 'current') expect(decision?.policy_commit).toBe(REVISION);
    for (const word of words) expect(decision?.message).toContain(word);
    expect(plan.executions).toHaveLength(reason === 'executed' ? 1 : 0);
  });

  it('the execution evidence names the approval, its introducing commit, its base and the signature at the base', () => {
    const input = baseline();
    input.manifests.approvals = [signed('alice')];
    const call = plan(input).executions[0];
    expect(call?.approvalEvidence).toEqual([
      {
        name: 'approve-1',
        manifest: 'manifests/approvals/approve-1.yaml',
        blob: 'b'.repeat(40),
        commit: APPROVAL_COMMIT,
        author: 'Alice <alice@example.test>',
        signature: { status: 'good', principal: 'alice' },
        base: BASE_COMMIT,
      },
    ]);
  });

  it.each<[string, (i: Scenario) => void]>([
    [
      'edited (new spec, new commit)',
      (i) => void (i.manifests.approvals = [approval({ notes: 'again', commit: '7'.repeat(40) })]),
    ],
    [
      'moved to another folder',
      (i) => {
        const moved = approval();
        i.manifests.approvals = [
          { ...moved, source: { ...moved.source, path: 'manifests/elsewhere/a.yaml' } },
        ];
      },
    ],
    [
      'removed and re-added in a later commit',
      (i) => void (i.manifests.approvals = [approval({ commit: '8'.repeat(40) })]),
    ],
  ])('an executed approval %s stays consumed (by name, from the record at the tip)', (_name, change) => {
    const input = afterExecution();
    change(input);
    const { plan, decision } = decisionFor(input);
    expect(decision?.reason).toBe('approval_consumed');
    expect(decision?.message).toContain(input.records.executions[0]?.execution_id ?? 'missing');
    expect(plan.executions).toEqual([]);
  });

  it('every decision has a message naming a manifest and a commit', () => {
    const scenarios: Scenario[] = GATE_CASES.map(([, change]) => {
      const input = baseline();
      return change(input) ?? input;
    });
    for (const input of scenarios) {
      for (const decision of plan(input).decisions) {
        expect(decision.message, decision.reason).toMatch(/manifests\/[^ ]+\.yaml/);
        expect(decision.message, decision.reason).toMatch(/commit [0-9a-f]{40}|not committed/);
      }
    }
  });
});
