/**
 * Quorum (`approvals_required`, docs/reference.md §4, issue 13): distinct `decided_by` among the
 * approvals that pass every other rule, each held to the quorum of its own base as well as the
 * current one; the execution consumes every counted approval and its record lists them all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestQuorum } from '../../src/domain/approval-gate.js';
import { countedDecisionId, type ApprovalView } from '../../src/domain/approval-views.js';
import { buildClaim, buildDeliveryRecord, buildExecutionRecord } from '../../src/domain/record-builders.js';
import { emptyRecordSet, type RetryApproval } from '../../src/domain/types.js';
import { approvalDecisionId, executionId } from '../../src/domain/ids.js';
import { serializeRecord } from '../../src/records/layout.js';
import { verifyRecords } from '../../src/records/verify-records.js';
import {
  BASE_COMMIT,
  KEY,
  REVISION,
  acknowledgement,
  approval,
  attempt,
  decisionOf,
  manifestSet,
  planScenario,
  policy,
  type Scenario,
} from './retry-fixtures.js';

const T0 = '2026-06-28T09:30:00.000Z';
const NOW = new Date('2026-06-28T09:50:00.000Z');
const EXECUTED = { runId: 'gordackworker-0000000000000001', revision: REVISION };

const by = (name: string, decidedBy: string, decidedAt: string, extra: Parameters<typeof approval>[0] = {}) =>
  approval({ name, decided_by: decidedBy, decided_at: decidedAt, commit: commitOf(name), ...extra });

/** A distinct, hash-like introducing commit per approval name. */
function commitOf(name: string): string {
  let hex = '';
  for (const char of name) hex += char.charCodeAt(0).toString(16);
  return hex.padEnd(40, '0').slice(0, 40);
}

/** Attempt 1 failed; an accepted ack by carol; the approvals given; quorum 2. */
function scenario(approvals: RetryApproval[], quorum = 2): Scenario {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, T0));
  return {
    revision: REVISION,
    manifests: manifestSet({ approvals, acknowledgements: [acknowledgement({ acknowledged_by: 'carol' })] }),
    policy: policy({ approvals_required: quorum }),
    facts: {},
    records,
    now: NOW,
    leaseMinutes: 10,
  };
}

const ALICE = by('approve-a', 'alice', '2026-06-28T09:00:00Z');
const BOB = by('approve-b', 'bob', '2026-06-28T09:05:00Z');
const CAROL = by('approve-c', 'dave', '2026-06-28T09:06:00Z');

describe('quorum: which approvals count', () => {
  it.each<[string, () => Scenario, string, string[]]>([
    [
      'one approval of two required',
      () => scenario([ALICE]),
      'quorum_not_met',
      ['1 of 2', 'alice (approve-a)'],
    ],
    [
      'two approvals by different people',
      () => scenario([ALICE, BOB]),
      'executed',
      ['2 of 2', 'approve-a', 'approve-b'],
    ],
    [
      'two approvals by the same person',
      () => scenario([ALICE, by('approve-a2', 'alice', '2026-06-28T09:07:00Z')]),
      'quorum_not_met',
      ['1 of 2'],
    ],
    [
      'the same person spelt in another case',
      () => scenario([ALICE, by('approve-a2', ' Alice ', '2026-06-28T09:07:00Z')]),
      'quorum_not_met',
      ['1 of 2'],
    ],
    [
      'one of the two is by a person the base policy does not allow',
      () => {
        const s = scenario([ALICE, BOB]);
        s.policy = policy({ approvals_required: 2, approvers: ['alice', 'bob'] });
        s.facts.basePolicies = new Map([
          ['approve-b', policy({ approvals_required: 2, approvers: ['alice'] })],
        ]);
        return s;
      },
      'quorum_not_met',
      ['1 of 2', 'not counted: approve-b: approver_not_allowed'],
    ],
    [
      'one of the two expired',
      () =>
        scenario([
          ALICE,
          by('approve-b', 'bob', '2026-06-28T09:05:00Z', { expires_at: '2026-06-28T09:40:00Z' }),
        ]),
      'quorum_not_met',
      ['not counted: approve-b: approval_expired'],
    ],
    [
      'the base of one approval asks for 3: it is held to 3',
      () => {
        const s = scenario([ALICE, BOB]);
        s.facts.basePolicies = new Map([['approve-b', policy({ approvals_required: 3 })]]);
        return s;
      },
      'quorum_not_met',
      ['2 of 3', 'base policy'],
    ],
    [
      'a change that lowers the quorum and approves at once is held to its base',
      () => {
        const s = scenario([ALICE], 1);
        s.facts.basePolicies = new Map([['approve-a', policy({ approvals_required: 2 })]]);
        return s;
      },
      'quorum_not_met',
      ['1 of 2', `base policy (at ${BASE_COMMIT})`],
    ],
    [
      'three approvals, quorum 2: all three counted',
      () => scenario([ALICE, BOB, CAROL]),
      'executed',
      ['3 of 2'],
    ],
    [
      'a denial after the approvals voids them',
      () => scenario([ALICE, BOB, by('deny', 'erin', '2026-06-28T09:10:00Z', { state: 'denied' })]),
      'approval_denied',
      ['deny', 'denied'],
    ],
    [
      'approvals after a denial count',
      () => scenario([by('deny', 'erin', '2026-06-28T08:00:00Z', { state: 'denied' }), ALICE, BOB]),
      'executed',
      ['2 of 2'],
    ],
  ])('%s → %s', (_name, build, reason, words) => {
    const plan = planScenario(build());
    const decision = decisionOf(plan);
    expect(decision?.reason).toBe(reason);
    expect(plan.executions).toHaveLength(reason === 'executed' ? 1 : 0);
    for (const word of words) expect(decision?.message).toContain(word);
    if (reason === 'quorum_not_met') expect(decision?.policy).not.toBeNull();
  });
});

describe('quorum: the execution', () => {
  it('counts both approvals, lists both in the record, and consumes both', () => {
    const input = scenario([BOB, ALICE]);
    const plan = planScenario(input);
    const call = plan.executions[0];
    if (call === undefined) throw new Error('expected an execution');
    expect(call.approvals.map((a) => a.name)).toEqual(['approve-a', 'approve-b']);
    expect(call.approval?.name).toBe('approve-a');
    expect(decisionOf(plan)?.counted_approvals).toEqual(['approve-a', 'approve-b']);
    expect(call.approvalDecisionId).toBe(
      countedDecisionId([approvalDecisionId(BOB), approvalDecisionId(ALICE)]),
    );
    expect(call.claimId).toBe(executionId(call.approvalDecisionId, KEY, 2));

    const record = buildExecutionRecord(
      call,
      { success: false, statusCode: 503, error: 'HTTP 503' },
      {
        ...EXECUTED,
        executedAt: NOW.toISOString(),
        executedBy: 'replica-a',
      },
    );
    expect(record.approval).toMatchObject({
      name: 'approve-a',
      commit: commitOf('approve-a'),
      base: BASE_COMMIT,
    });
    expect(record.approvals?.map((entry) => entry.name)).toEqual(['approve-a', 'approve-b']);
    // Both approvals' evidence is in `approvals`; the refs name the one (combined) decision.
    expect(record.public_evidence_refs).toEqual([
      'connector-delivery://audit-2026-06.ops-webhook.2',
      `go-rollback-drill-audit-delivery://${record.delivery_plan_id}`,
      `go-rollback-drill-retry-approval://${record.approval_decision_id}`,
      `go-rollback-drill-retry-worker://${record.run_id}`,
    ]);
    expect(record.emergency).toBe(false);

    // After it failed: both are consumed; one more approval is 1 of 2 again.
    input.records.executions.push(record);
    input.records.deliveries.push(
      buildDeliveryRecord(
        call,
        { success: false, statusCode: 503, error: 'HTTP 503' },
        {
          ...EXECUTED,
          attemptedAt: NOW.toISOString(),
          completedAt: NOW.toISOString(),
        },
      ),
    );
    input.now = new Date('2026-06-28T12:00:00.000Z');
    expect(decisionOf(planScenario(input))?.reason).toBe('approval_consumed');
    input.manifests.approvals.push(by('approve-d', 'dave', '2026-06-28T11:00:00Z'));
    const again = decisionOf(planScenario(input));
    expect(again?.reason).toBe('quorum_not_met');
    expect(again?.message).toContain('1 of 2');
    // The ledger the quorum execution is part of verifies clean.
    expect(verifyRecords(input.records, input.manifests).map((f) => f.rule)).toEqual([]);
  });

  it('determinism: any order of approvals and records gives byte-identical plans and records', () => {
    const approvals = [ALICE, BOB, CAROL, by('approve-x', 'alice', '2026-06-28T09:08:00Z')];
    const reference = planScenario(scenario(approvals));
    const options = { ...EXECUTED, executedAt: NOW.toISOString(), executedBy: 'replica-a' };
    const outcome = { success: false, statusCode: 503, error: 'HTTP 503' };
    const bytes = (plan: typeof reference) =>
      plan.executions.map((call) => serializeRecord(buildExecutionRecord(call, outcome, options))).join('');
    fc.assert(
      fc.property(fc.shuffledSubarray(approvals, { minLength: approvals.length }), (shuffled) => {
        const plan = planScenario(scenario(shuffled));
        expect(JSON.stringify(plan)).toBe(JSON.stringify(reference));
        expect(bytes(plan)).toBe(bytes(reference));
      }),
      { numRuns: 30 },
    );
  });

  it('the decision id is a function of the counted set, not of the order approvals are read in', () => {
    const forward = planScenario(scenario([ALICE, BOB, CAROL]));
    const backward = planScenario(scenario([CAROL, BOB, ALICE]));
    expect(JSON.stringify(backward)).toBe(JSON.stringify(forward));
    const options = { ...EXECUTED, executedAt: NOW.toISOString(), executedBy: 'replica-a' };
    const outcome = { success: true, statusCode: 200, error: '' };
    const [a, b] = [forward.executions[0], backward.executions[0]];
    if (!a || !b) throw new Error('expected executions');
    expect(serializeRecord(buildExecutionRecord(b, outcome, options))).toBe(
      serializeRecord(buildExecutionRecord(a, outcome, options)),
    );
  });

  it('an expired claim of a quorum execution is rebuilt from the names it carries, even after an approval expired', () => {
    const alice = by('approve-a', 'alice', '2026-06-28T09:00:00Z', { expires_at: '2026-06-28T10:05:00Z' });
    const input = scenario([alice, BOB]);
    const call = planScenario(input).executions[0];
    if (!call) throw new Error('expected an execution');
    const claim = buildClaim(call, { holder: 'replica-a', now: NOW, leaseMinutes: 10, revision: REVISION });
    expect(claim.approval_names).toEqual(['approve-a', 'approve-b']);
    input.records.claims.push(claim);
    input.now = new Date('2026-06-28T10:10:00.000Z');
    const plan = planScenario(input);
    expect(plan.expiredClaims).toHaveLength(1);
    expect(plan.expiredClaims[0]?.call).toEqual(call);
    expect(plan.orphanedClaims).toEqual([]);
  });

  it('a single-approval claim carries no names (as before quorums)', () => {
    const call = planScenario(scenario([ALICE], 1)).executions[0];
    if (!call) throw new Error('expected an execution');
    expect(
      buildClaim(call, { holder: 'r', now: NOW, leaseMinutes: 10, revision: REVISION }),
    ).not.toHaveProperty('approval_names');
  });
});

describe('quorum: properties', () => {
  /** A view with only what largestQuorum reads. */
  const view = (name: string, baseQuorum: number): ApprovalView =>
    ({
      approval: { name },
      base: { commit: null, policy: policy({ approvals_required: baseQuorum }) },
    }) as unknown as ApprovalView;
  const views = fc
    .array(fc.integer({ min: 1, max: 6 }), { maxLength: 8 })
    .map((quorums) => quorums.map((q, i) => view(`a${i}`, q)));

  it('the counted set is monotone: adding an approval never shrinks it', () => {
    fc.assert(
      fc.property(views, fc.integer({ min: 1, max: 6 }), (people, extra) => {
        const before = largestQuorum(people);
        const after = largestQuorum([...people, view('extra', extra)]);
        expect(after.length).toBeGreaterThanOrEqual(before.length);
        for (const member of before) expect(after).toContain(member);
      }),
    );
  });

  it('every counted approval has its base quorum met by the count, and no larger valid set exists', () => {
    fc.assert(
      fc.property(views, (people) => {
        const counted = largestQuorum(people);
        for (const member of counted)
          expect(member.base.policy.approvals_required).toBeLessThanOrEqual(counted.length);
        // Brute force over every subset (at most 2^8).
        let best = 0;
        for (let mask = 0; mask < 1 << people.length; mask += 1) {
          const subset = people.filter((_, i) => (mask & (1 << i)) !== 0);
          if (subset.every((m) => m.base.policy.approvals_required <= subset.length))
            best = Math.max(best, subset.length);
        }
        expect(counted.length).toBe(best);
      }),
    );
  });

  it('in the planner, another distinct approver never turns an executed key into a blocked one', () => {
    const people = ['alice', 'bob', 'dave', 'erin', 'frank'];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...people), { maxLength: 5 }),
        fc.constantFrom(...people),
        fc.integer({ min: 1, max: 4 }),
        (deciders, extra, quorum) => {
          const approvals = deciders.map((who, i) => by(`ap-${who}`, who, `2026-06-28T09:0${i}:00Z`));
          const before = decisionOf(planScenario(scenario(approvals, quorum)));
          const after = decisionOf(
            planScenario(scenario([...approvals, by('ap-extra', extra, '2026-06-28T09:09:00Z')], quorum)),
          );
          if (before?.execute) expect(after?.execute).toBe(true);
          expect(before?.execute).toBe(deciders.length >= quorum);
        },
      ),
      { numRuns: 60 },
    );
  });
});
