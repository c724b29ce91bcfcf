/**
 * The approval gate (docs/reference.md §4), pure: whether a key whose retry decision is `retry` may be
 * executed now, with which approvals, and otherwise the one reason why not, in words that name
 * the manifest, its commit and the policy (base or current) that decided.
 *
 * Every rule of an approval is checked under BOTH the current policy and the policy at the
 * approval's base (the branch as it stood before the change that brought it), so a change can
 * loosen neither its own rules nor its own keys. Then, over the approvals that pass every rule of
 * their own: one per person (distinct `decided_by`), the quorum, and the freeze windows, both of
 * which a break-glass (`emergency: true`) approval passes.
 */
import { checkApproval, describeApproval, type RuleVerdict } from './approval-rules.js';
import type { ApprovalView } from './approval-views.js';
import { describeWindow, findOpenFreeze } from './freeze-windows.js';
import type { PolicyAt } from './gate-facts.js';
import { normalizeIdentity } from './identity.js';
import { compareStrings } from './recovery-state.js';
import type { RetryState } from './retry-rules.js';
import type { FreezeWindow, IsoTime, RetryAcknowledgement } from './types.js';

export { GATE_REASONS, type GateReason, type PolicyRole } from './gate-reasons.js';
import type { GateReason, PolicyRole } from './gate-reasons.js';
export interface GateInput {
  state: RetryState;
  /** Every approval of the key's (delivery, provider), consumed ones included, in any order. */
  approvals: readonly ApprovalView[];
  /** The acknowledgement that speaks for the key (newest), or null. */
  acknowledgement: RetryAcknowledgement | null;
  /** The current policy (defaults filled) and the commit it was read at. */
  current: PolicyAt;
  /** How the key's delivery is named in messages, e.g. `AuditDelivery d (path, commit c) → provider p`. */
  subject: string;
  now: Date;
}

export interface GateResult {
  /** True when the key may be executed (the run limit and claims are checked by the planner). */
  pass: boolean;
  /** `executed` when it passes, else the first rule that blocks it. */
  reason: GateReason;
  /** One or two sentences: what decided, naming manifest, commit and policy. */
  message: string;
  policy: PolicyRole | null;
  /** The commit of the deciding policy ('' when it is the defaults of an unknown commit). */
  policy_commit: string | null;
  /** The approval that speaks for the key: the first counted, else the one a rule blocked, else the newest. */
  primary: ApprovalView | null;
  /** When it passes: the counted approvals (one per person), oldest decision first. */
  counted: ApprovalView[];
  /** True when a break-glass approval is counted. */
  emergency: boolean;
  /** For `change_freeze`: when the freeze is over. */
  freezeClosesAt: IsoTime | null;
}

const ACK_STATES_THAT_ALLOW_RETRY = new Set(['accepted', 'resolved']);

/**
 * The gate for one key. Order of the checks, so the reason names the first thing to do: the
 * retry state (nothing to do / wait / attempts exhausted), the acknowledgement the current policy
 * asks for, whether any approval is left (not consumed, not voided by a later denial), each
 * approval's own rules, the quorum, the freeze windows.
 */
export function evaluateGate(input: GateInput): GateResult {
  const { state } = input;
  if (state.action === 'none') {
    return state.delivered
      ? block(
          'delivered',
          `${input.subject}: the latest attempt (${state.attempts}) succeeded; nothing to retry.`,
        )
      : block('pending_delivery', `${input.subject}: attempt 1 has not been made yet.`);
  }
  if (state.action === 'suppress') {
    return block(
      'max_attempts_reached',
      `${input.subject}: ${state.retry_count} failed attempt(s) reached the attempt limit; nothing is retried (a new AuditDelivery starts over).`,
    );
  }
  if (state.action === 'wait') {
    return block(
      'retry_delay_not_elapsed',
      `${input.subject}: attempt ${state.attempts} failed at ${state.latest_failure_at ?? '?'}; the retry delay of ${state.delay_minutes} min ends at ${state.next_retry_at ?? '?'}.`,
    );
  }
  return authorise(input, { freeze: true });
}

/**
 * The authorisation part of the gate alone (acknowledgement, approvals, quorum), ignoring time,
 * attempt counts and freeze windows: used to tell whether a waiting key will become executable by
 * time alone.
 */
export function checkAuthorisation(input: Omit<GateInput, 'state'>): GateResult {
  return authorise(input, { freeze: false });
}

function authorise(input: Omit<GateInput, 'state'>, options: { freeze: boolean }): GateResult {
  const { acknowledgement, current, now } = input;
  const ackOk = ackAllowsRetry(acknowledgement);
  if (current.policy.require_retry_ack && !ackOk) {
    return {
      ...block(
        'wait_for_retry_ack',
        `${input.subject}: ${describeAck(acknowledgement)}; ${policyName('current', current.commit)} requires an accepted or resolved RetryAcknowledgement (require_retry_ack).`,
      ),
      ...decidedBy('current', current.commit),
    };
  }

  const live = input.approvals.filter((view) => view.consumedBy.length === 0).sort(compareViews);
  const consumed = input.approvals.filter((view) => view.consumedBy.length > 0).sort(compareViews);
  // A denial, deferral or withdrawal (state expired) voids every approval decided before it.
  const lastVoid = findLastIndex(live, (view) => view.approval.spec.state !== 'approved');
  const eligible = live.slice(lastVoid + 1);
  if (eligible.length === 0) return noUsableApproval(input, live.at(-1) ?? null, consumed.at(-1) ?? null);

  const context = { acknowledgement, ackOk, current, now };
  const passing: ApprovalView[] = [];
  const blocked: { view: ApprovalView; outcome: RuleVerdict }[] = [];
  for (const view of eligible) {
    const outcome = checkApproval(view, context);
    if (outcome === null) passing.push(view);
    else blocked.push({ view, outcome });
  }
  if (passing.length === 0) {
    // The newest approval speaks, as it did before quorums.
    const { view, outcome } = blocked.at(-1) as { view: ApprovalView; outcome: RuleVerdict };
    return {
      ...block(outcome.reason, outcome.message),
      ...decidedBy(outcome.policy, outcome.policyCommit),
      primary: view,
    };
  }

  const people = onePerPerson(passing);
  const emergency = people.some((view) => view.approval.spec.emergency);
  let counted = people;
  if (!emergency) {
    counted = largestQuorum(people);
    if (counted.length === 0 || counted.length < current.policy.approvals_required) {
      return quorumNotMet(input, people, blocked);
    }
  }

  if (options.freeze && !emergency) {
    const freeze = findOpenFreeze(freezeEntries(current, counted), now);
    if (freeze !== null) {
      const { entry } = freeze;
      return {
        ...block(
          'change_freeze',
          `${input.subject}: changes are frozen by the window ${describeWindow(entry.window)} ("${entry.window.reason}") of ${policyName(entry.role, entry.commit)} until ${freeze.closesAt}; the retry is executed after it closes, or now under a break-glass approval (emergency: true).`,
        ),
        ...decidedBy(entry.role, entry.commit),
        primary: counted[0] ?? null,
        freezeClosesAt: freeze.closesAt,
      };
    }
  }

  const names = counted.map((view) => describeApproval(view)).join('; ');
  const quorum = Math.max(
    current.policy.approvals_required,
    ...counted.map((view) => view.base.policy.approvals_required),
  );
  return {
    pass: true,
    reason: 'executed',
    message: emergency
      ? `${input.subject}: executed under break-glass approval (emergency: true; freeze windows and quorum do not apply): ${names}.`
      : `${input.subject}: executed under ${counted.length} of ${quorum} required approval(s): ${names}.`,
    policy: null,
    policy_commit: null,
    primary: counted[0] ?? null,
    counted,
    emergency,
    freezeClosesAt: null,
  };
}

/** Nothing approved is left: the newest of the live decision (a denial…) and the consumed approval speaks. */
function noUsableApproval(
  input: Omit<GateInput, 'state'>,
  newestLive: ApprovalView | null,
  newestConsumed: ApprovalView | null,
): GateResult {
  if (newestLive !== null && (newestConsumed === null || compareViews(newestLive, newestConsumed) > 0)) {
    const state = newestLive.approval.spec.state;
    const reason: GateReason =
      state === 'denied'
        ? 'approval_denied'
        : state === 'deferred'
          ? 'approval_deferred'
          : 'approval_expired';
    const what = state === 'expired' ? 'withdrew the approvals before it (state expired)' : `is ${state}`;
    return {
      ...block(
        reason,
        `${describeApproval(newestLive)} by ${newestLive.approval.spec.decided_by} ${what}; a newer RetryApproval (with a new name) is needed to retry.`,
      ),
      primary: newestLive,
    };
  }
  if (newestConsumed !== null) {
    return {
      ...block(
        'approval_consumed',
        `${describeApproval(newestConsumed)} was already used by execution ${newestConsumed.consumedBy.join(', ')}; one approval authorises one execution, for good (editing, moving or re-adding it does not re-arm it): add a RetryApproval with a new name.`,
      ),
      primary: newestConsumed,
    };
  }
  return block(
    'request_approval',
    `${input.subject}: no RetryApproval names this delivery and provider; add one to retry.`,
  );
}

function quorumNotMet(
  input: Omit<GateInput, 'state'>,
  people: ApprovalView[],
  blocked: { view: ApprovalView; outcome: RuleVerdict }[],
): GateResult {
  const { current } = input;
  // The strictest quorum among the current policy and the bases of the approvals that passed.
  let required = current.policy.approvals_required;
  let role: PolicyRole = 'current';
  let commit = current.commit;
  for (const view of people) {
    if (view.base.policy.approvals_required > required) {
      required = view.base.policy.approvals_required;
      role = 'base';
      commit = view.base.commit;
    }
  }
  const approvedBy = people
    .map((view) => `${view.approval.spec.decided_by} (${view.approval.name})`)
    .join(', ');
  const notCounted = blocked
    .map(({ view, outcome }) => `${view.approval.name}: ${outcome.reason}`)
    .join(', ');
  return {
    ...block(
      'quorum_not_met',
      `${input.subject}: ${people.length} of ${required} distinct approvers required by ${policyName(role, commit)} (approvals_required); approved by ${approvedBy}${notCounted === '' ? '' : `; not counted: ${notCounted}`}.`,
    ),
    ...decidedBy(role, commit),
    primary: people[0] ?? null,
  };
}

/**
 * The counted set: the largest set of the given approvals (one per person) in which every member's
 * base quorum is met by the set's size. Members whose base asks for more than the set can give are
 * dropped until the set is stable; any valid set is a subset of the result, so adding an approval
 * never shrinks it (the count is monotone).
 */
export function largestQuorum(people: readonly ApprovalView[]): ApprovalView[] {
  let set = [...people];
  for (;;) {
    const size = set.length;
    const next = set.filter((view) => view.base.policy.approvals_required <= size);
    if (next.length === size) return set;
    set = next;
  }
}

/** The oldest passing approval of each person (distinct normalised `decided_by`), oldest first. */
function onePerPerson(passing: readonly ApprovalView[]): ApprovalView[] {
  const seen = new Set<string>();
  const result: ApprovalView[] = [];
  for (const view of [...passing].sort(compareViews)) {
    const person = normalizeIdentity(view.approval.spec.decided_by);
    if (seen.has(person)) continue;
    seen.add(person);
    result.push(view);
  }
  return result;
}

interface FreezeEntry {
  window: FreezeWindow;
  role: PolicyRole;
  commit: string | null;
}

/** The current policy's windows, then those of each counted approval's base (a change cannot lift its own freeze). */
function freezeEntries(current: PolicyAt, counted: readonly ApprovalView[]): FreezeEntry[] {
  const entries: FreezeEntry[] = current.policy.freeze_windows.map((window) => ({
    window,
    role: 'current',
    commit: current.commit,
  }));
  const bases = new Set<string>();
  for (const view of counted) {
    const key = view.base.commit ?? '';
    if (bases.has(key)) continue;
    bases.add(key);
    for (const window of view.base.policy.freeze_windows)
      entries.push({ window, role: 'base', commit: view.base.commit });
  }
  return entries;
}

/** Approval order: `decided_at`, then name (a total order, so every replica counts alike). */
export function compareViews(a: ApprovalView, b: ApprovalView): number {
  return (
    Date.parse(a.approval.spec.decided_at) - Date.parse(b.approval.spec.decided_at) ||
    compareStrings(a.approval.spec.decided_at, b.approval.spec.decided_at) ||
    compareStrings(a.approval.name, b.approval.name)
  );
}

/** `the current policy (at <commit>)` / `the base policy (at <commit>)`, for messages. */
function policyName(role: PolicyRole, commit: string | null): string {
  return `the ${role} policy (${commit === null || commit === '' ? 'defaults, no commit' : `at ${commit}`})`;
}

function describeAck(acknowledgement: RetryAcknowledgement | null): string {
  if (acknowledgement === null) return 'no RetryAcknowledgement names this delivery and provider';
  const commit = acknowledgement.source.introduced?.commit ?? '';
  return `RetryAcknowledgement ${acknowledgement.name} (${acknowledgement.source.path}, ${commit === '' ? 'not committed' : `commit ${commit}`}) is ${acknowledgement.spec.state}`;
}

function ackAllowsRetry(acknowledgement: RetryAcknowledgement | null): boolean {
  return acknowledgement !== null && ACK_STATES_THAT_ALLOW_RETRY.has(acknowledgement.spec.state);
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index -= 1) if (predicate(items[index] as T)) return index;
  return -1;
}

function decidedBy(
  role: PolicyRole | null,
  commit: string | null,
): Pick<GateResult, 'policy' | 'policy_commit'> {
  return role === null
    ? { policy: null, policy_commit: null }
    : { policy: role, policy_commit: commit ?? '' };
}

function block(reason: GateReason, message: string): GateResult {
  return {
    pass: false,
    reason,
    message,
    policy: null,
    policy_commit: null,
    primary: null,
    counted: [],
    emergency: false,
    freezeClosesAt: null,
  };
}
