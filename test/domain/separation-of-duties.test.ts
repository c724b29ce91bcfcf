/**
 * Separation of duties (`separate_duties`, docs/reference.md §4, issue 13): no counted `decided_by`
 * may be the acknowledgement's `acknowledged_by` nor the author (name or email) of the commit that
 * introduced the acknowledgement. Also the identity comparison itself.
 */
import { describe, expect, it } from 'vitest';
import { isAuthor, isSameIdentity, parseAuthor } from '../../src/domain/identity.js';
import { emptyRecordSet, type RetryAcknowledgement } from '../../src/domain/types.js';
import {
  REVISION,
  acknowledgement,
  approval,
  attempt,
  commitInfo,
  decisionOf,
  manifestSet,
  planScenario,
  policy,
  type Scenario,
} from './retry-fixtures.js';

const ACK_COMMIT = '4'.repeat(40);

function ackBy(acknowledgedBy: string, author: string): RetryAcknowledgement {
  const ack = acknowledgement({ acknowledged_by: acknowledgedBy });
  return { ...ack, source: { ...ack.source, introduced: commitInfo(ACK_COMMIT, { author }) } };
}

function scenario(decidedBy: string, ack: RetryAcknowledgement, separate = true): Scenario {
  const records = emptyRecordSet();
  records.deliveries.push(attempt(1, false, '2026-06-28T09:30:00.000Z'));
  return {
    revision: REVISION,
    manifests: manifestSet({ approvals: [approval({ decided_by: decidedBy })], acknowledgements: [ack] }),
    policy: policy({ separate_duties: separate }),
    facts: {},
    records,
    now: new Date('2026-06-28T10:00:00.000Z'),
    leaseMinutes: 10,
  };
}

describe('separation of duties', () => {
  it.each<[string, string, RetryAcknowledgement, string, string | null]>([
    [
      'approver = acknowledger',
      'bob@example.com',
      ackBy('bob@example.com', 'Carol <carol@example.com>'),
      'separation_of_duties',
      'bob@example.com also acknowledged',
    ],
    [
      'approver = acknowledger, other case',
      'Bob@Example.com',
      ackBy('bob@example.com', 'Carol <carol@example.com>'),
      'separation_of_duties',
      'also acknowledged',
    ],
    [
      'approver = email of the ack commit author',
      'carol@example.com',
      ackBy('bob', 'Carol <carol@example.com>'),
      'separation_of_duties',
      'authored the commit',
    ],
    [
      'approver = name of the ack commit author',
      'carol',
      ackBy('bob', 'carol <c@example.com>'),
      'separation_of_duties',
      `RetryAcknowledgement ack-1 (manifests/acks/ack-1.yaml, commit ${ACK_COMMIT})`,
    ],
    [
      'a different person',
      'dave@example.com',
      ackBy('bob@example.com', 'Carol <carol@example.com>'),
      'executed',
      null,
    ],
    ['a login is not an email', 'carol', ackBy('bob', 'Carol Jones <carol@example.com>'), 'executed', null],
  ])('%s → %s', (_name, decidedBy, ack, reason, words) => {
    const decision = decisionOf(planScenario(scenario(decidedBy, ack)));
    expect(decision?.reason).toBe(reason);
    if (words !== null) {
      expect(decision?.message).toContain(words);
      expect(decision?.message).toContain(decidedBy);
      expect(decision).toMatchObject({ policy: 'current', policy_commit: REVISION });
    }
  });

  it('is off by default', () => {
    const decision = decisionOf(planScenario(scenario('bob', ackBy('bob', 'Bob <bob@example.com>'), false)));
    expect(decision?.reason).toBe('executed');
  });

  it('holds when only the base policy asks for it (a change cannot drop it for itself)', () => {
    const input = scenario('bob', ackBy('bob', 'Bob <bob@example.com>'), false);
    input.facts.basePolicies = new Map([['approve-1', policy({ separate_duties: true })]]);
    const decision = decisionOf(planScenario(input));
    expect(decision).toMatchObject({ reason: 'separation_of_duties', policy: 'base' });
  });

  it('with a quorum, the acknowledger is not counted but another person is', () => {
    const input = scenario('bob', ackBy('bob', 'Carol <carol@example.com>'));
    input.policy = policy({ separate_duties: true, approvals_required: 2 });
    input.manifests.approvals = [
      approval({ name: 'ap-bob', decided_by: 'bob' }),
      approval({ name: 'ap-dave', decided_by: 'dave', decided_at: '2026-06-28T09:01:00Z' }),
      approval({ name: 'ap-erin', decided_by: 'erin', decided_at: '2026-06-28T09:02:00Z' }),
    ];
    const plan = planScenario(input);
    expect(decisionOf(plan)?.reason).toBe('executed');
    expect(plan.executions[0]?.approvals.map((a) => a.name)).toEqual(['ap-dave', 'ap-erin']);
  });
});

describe('identity comparison', () => {
  it.each([
    ['alice@example.com', 'ALICE@example.com ', true],
    ['alice', 'alice', true],
    ['', '', false],
    ['alice', 'alice@example.com', false],
  ])('isSameIdentity(%j, %j) = %s', (a, b, same) => {
    expect(isSameIdentity(a, b)).toBe(same);
  });

  it.each([
    ['Alice Smith <alice@example.com>', { name: 'Alice Smith', email: 'alice@example.com' }],
    ['alice <>', { name: 'alice', email: '' }],
    ['no email here', { name: 'no email here', email: '' }],
  ])('parseAuthor(%j)', (author, parsed) => {
    expect(parseAuthor(author)).toEqual(parsed);
  });

  it('is the author by name, email or the whole text', () => {
    const author = 'Alice Smith <alice@example.com>';
    expect(isAuthor('alice smith', author)).toBe(true);
    expect(isAuthor('Alice@Example.com', author)).toBe(true);
    expect(isAuthor(author, author)).toBe(true);
    expect(isAuthor('alice', author)).toBe(false);
  });
});
