/**
 * What an operator commits next for one key of the retry plan: for a key waiting on a person, a
 * ready-to-paste manifest (a RetryAcknowledgement or a RetryApproval) with a free name and a
 * suggested path; for a key waiting on time or the reconciler, one sentence saying so. Pure: a
 * function of the decision and the manifests of the revision it was planned from.
 *
 * Merging the manifest is the gate, so nothing here decides for the operator: the person fields
 * (`acknowledged_by`, `decided_by`) hold a placeholder to replace, never a name guessed from the
 * policy.
 */
import { stringify } from 'yaml';
import type { ManifestSet } from '../domain/types.js';

export type NextStepAction = 'commit' | 'wait' | 'fix' | 'none';

export interface NextStep {
  /** commit: commit `manifest`; wait: time or the reconciler moves the key; fix: change a manifest; none: nothing to do. */
  action: NextStepAction;
  /** One sentence: what to do and why. */
  summary: string;
  kind: 'RetryAcknowledgement' | 'RetryApproval' | null;
  /** Suggested repository path of the manifest. */
  path: string | null;
  /** The manifest as YAML, with comments saying what to edit. */
  manifest: string | null;
}

/** What the plan of one revision needs to know to word the next steps. */
export interface NextStepContext {
  manifests: ManifestSet;
}

/** The placeholder of the person fields: valid, so a paste validates, and obviously not a person. */
export const PERSON_PLACEHOLDER = 'your.name@example.com';

const MAX_NAME_LENGTH = 63;

interface DecisionFacts {
  deliveryId: string;
  provider: string;
  reason: string;
  retryCount: number;
  nextRetryAt: string | null;
  approval: { name: string; state: string; decided_by: string } | null;
  acknowledgement: { name: string; state: string } | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The delivery and provider a decision is for ('' when absent), from its `key` or a flat shape. */
export function decisionKey(decision: Readonly<Record<string, unknown>>): {
  deliveryId: string;
  provider: string;
} {
  const key = isRecord(decision.key) ? decision.key : decision;
  return { deliveryId: text(key.delivery_id), provider: text(key.provider) };
}

/** The fields of a decision this module reads, tolerating planners that return a flat shape. */
function readFacts(decision: Readonly<Record<string, unknown>>): DecisionFacts | null {
  const { deliveryId, provider } = decisionKey(decision);
  if (deliveryId === '' || provider === '') return null;
  const approval = isRecord(decision.approval)
    ? {
        name: text(decision.approval.name),
        state: text(decision.approval.state),
        decided_by: text(decision.approval.decided_by),
      }
    : null;
  const acknowledgement = isRecord(decision.acknowledgement)
    ? { name: text(decision.acknowledgement.name), state: text(decision.acknowledgement.state) }
    : null;
  return {
    deliveryId,
    provider,
    reason: text(decision.reason),
    retryCount: typeof decision.retry_count === 'number' ? decision.retry_count : 0,
    nextRetryAt: typeof decision.next_retry_at === 'string' ? decision.next_retry_at : null,
    approval,
    acknowledgement,
  };
}

/** A DNS-1123 label from `base` that no manifest of the kind uses yet (`-2`, `-3`, ... appended). */
export function chooseFreeName(base: string, taken: ReadonlySet<string>): string {
  const clean = (value: string, max: number): string =>
    value
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(0, max)
      .replace(/^-+|-+$/g, '');
  const first = clean(base, MAX_NAME_LENGTH);
  if (!taken.has(first)) return first;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${clean(base, MAX_NAME_LENGTH - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Longest comment line of a manifest (so it reads in a narrow editor or console panel). */
const COMMENT_WIDTH = 78;

/** `# ` comment lines, words wrapped at {@link COMMENT_WIDTH}. */
function commentLines(paragraph: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of paragraph.split(' ')) {
    if (line.length > 1 && line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

function toYaml(comments: string[], manifest: object): string {
  return `${comments.flatMap(commentLines).join('\n')}\n${stringify(manifest, { lineWidth: 0 })}`;
}

/** A step that commits a manifest, before its free name and YAML are chosen (see {@link renderStep}). */
interface ManifestDraft {
  kind: 'RetryAcknowledgement' | 'RetryApproval';
  maxRetryAttempts?: number;
  comment?: string;
}

/** What the reason of a decision calls for: the action and its sentence, and the manifest to draft. */
interface StepDraft {
  action: NextStepAction;
  summary: string;
  manifest: ManifestDraft | null;
}

function plain(action: NextStepAction, summary: string): StepDraft {
  return { action, summary, manifest: null };
}

function commitAcknowledgement(summary: string): StepDraft {
  return { action: 'commit', summary, manifest: { kind: 'RetryAcknowledgement' } };
}

function commitApproval(
  summary: string,
  extra: { maxRetryAttempts?: number; comment?: string } = {},
): StepDraft {
  return { action: 'commit', summary, manifest: { kind: 'RetryApproval', ...extra } };
}

/** The names each kind's manifests take at a revision, built once per manifest set. */
const takenNames = new WeakMap<ManifestSet, { acknowledgements: Set<string>; approvals: Set<string> }>();

function namesTaken(manifests: ManifestSet): { acknowledgements: Set<string>; approvals: Set<string> } {
  let names = takenNames.get(manifests);
  if (names === undefined) {
    names = {
      acknowledgements: new Set(manifests.acknowledgements.map((manifest) => manifest.name)),
      approvals: new Set(manifests.approvals.map((manifest) => manifest.name)),
    };
    takenNames.set(manifests, names);
  }
  return names;
}

/** The draft as a step: a manifest with a free name, as YAML with comments saying what to edit. */
function renderStep(facts: DecisionFacts, draft: StepDraft, context: NextStepContext): NextStep {
  const { action, summary, manifest } = draft;
  if (manifest === null) return { action, summary, kind: null, path: null, manifest: null };
  const taken = namesTaken(context.manifests);
  if (manifest.kind === 'RetryAcknowledgement') {
    const name = chooseFreeName(`ack-${facts.deliveryId}-${facts.provider}`, taken.acknowledgements);
    const yaml = toYaml(
      [
        `Acknowledges the failed delivery of ${facts.deliveryId} to ${facts.provider}, so a retry may be approved.`,
        `Replace acknowledged_by with your email or forge login, then commit this file through a pull request.`,
      ],
      {
        apiVersion: 'cavra.dev/v1',
        kind: 'RetryAcknowledgement',
        metadata: { name },
        spec: {
          delivery: facts.deliveryId,
          provider: facts.provider,
          state: 'accepted',
          acknowledged_by: PERSON_PLACEHOLDER,
        },
      },
    );
    return { action, summary, kind: manifest.kind, path: `manifests/retries/${name}.yaml`, manifest: yaml };
  }
  const name = chooseFreeName(`approve-${facts.deliveryId}-${facts.provider}`, taken.approvals);
  const spec: Record<string, unknown> = {
    delivery: facts.deliveryId,
    provider: facts.provider,
    state: 'approved',
    decided_by: PERSON_PLACEHOLDER,
  };
  if (manifest.maxRetryAttempts !== undefined)
    spec.retry_policy = { max_retry_attempts: manifest.maxRetryAttempts };
  const comments = [
    `Approves one retry of ${facts.deliveryId} to ${facts.provider}; merging this file is the approval.`,
    `Replace decided_by with your email or forge login, then commit this file through a pull request.`,
  ];
  if (manifest.comment !== undefined) comments.push(manifest.comment);
  const yaml = toYaml(comments, {
    apiVersion: 'cavra.dev/v1',
    kind: 'RetryApproval',
    metadata: { name },
    spec,
  });
  return { action, summary, kind: manifest.kind, path: `manifests/retries/${name}.yaml`, manifest: yaml };
}

/** Attempts an approval may allow at most (the schema's bound of `max_retry_attempts`). */
const MAX_RETRY_ATTEMPTS = 100;

const NO_KEY = plain('none', 'The planner gave no key for this decision; see `cavra-gitops plan`.');

/** The next step of one decision of the retry plan. */
export function planNextStep(
  decision: Readonly<Record<string, unknown>>,
  context: NextStepContext,
): NextStep {
  const facts = readFacts(decision);
  if (facts === null) return { ...NO_KEY, kind: null, path: null, manifest: null };
  return renderStep(facts, draftStep(facts, context), context);
}

/** The action of a decision's next step, without drafting its manifest (to order a plan by it). */
export function nextStepAction(
  decision: Readonly<Record<string, unknown>>,
  context: NextStepContext,
): NextStepAction {
  const facts = readFacts(decision);
  return facts === null ? NO_KEY.action : draftStep(facts, context).action;
}

/** What a decision's reason calls for (the one place that maps reasons to steps). */
function draftStep(facts: DecisionFacts, context: NextStepContext): StepDraft {
  const { approval, acknowledgement } = facts;
  const policy = context.manifests.policy?.spec;
  switch (facts.reason) {
    case 'executed':
      return plain('wait', 'Every gate passes: the reconciler executes this retry on its next run.');
    case 'delivered':
      return plain('none', 'Delivered; nothing to do.');
    case 'pending_delivery':
      return plain('wait', 'The first delivery is made on the reconciler’s next run.');
    case 'provider_disabled':
      return plain(
        'fix',
        `Provider ${facts.provider} is disabled: set spec.enabled to true in its manifest through a pull request to deliver.`,
      );
    case 'emergency_expiry_invalid':
      return plain(
        'fix',
        `The break-glass approval for ${facts.provider} needs spec.expires_at no later than max_emergency_minutes after its commit; commit a new emergency approval (a new name) with a nearer expiry.`,
      );
    case 'provider_not_ready':
      return plain(
        'fix',
        `Provider ${facts.provider}'s connector cannot be built (see the providers in /status): set the env vars it names on the reconciler, or fix its options through a pull request.`,
      );
    case 'provider_missing':
      return plain(
        'fix',
        `No valid Provider manifest is named ${facts.provider}: add it, or fix it (see the skipped manifests).`,
      );
    case 'delivery_removed':
      return plain(
        'none',
        `The AuditDelivery ${facts.deliveryId} was removed; nothing more is delivered for it.`,
      );
    case 'retry_delay_not_elapsed':
      return plain(
        'wait',
        facts.nextRetryAt === null
          ? 'The retry delay has not ended yet; the gate is checked again when it does.'
          : `The retry delay ends at ${facts.nextRetryAt}; the gate is checked again then.`,
      );
    case 'max_attempts_reached': {
      const next = facts.retryCount + 1;
      if (next > MAX_RETRY_ATTEMPTS)
        return plain('none', `All ${facts.retryCount} attempts are used, the most an approval may allow.`);
      return commitApproval(
        `All ${facts.retryCount} attempts are used: to allow one more, commit a RetryApproval with retry_policy.max_retry_attempts ${next}.`,
        { maxRetryAttempts: next },
      );
    }
    case 'wait_for_retry_ack':
      return commitAcknowledgement(
        acknowledgement === null
          ? 'The policy requires an acknowledgement before a retry: commit a RetryAcknowledgement.'
          : `Acknowledgement ${acknowledgement.name} is ${acknowledgement.state}: commit a newer RetryAcknowledgement in state accepted to allow a retry.`,
      );
    case 'request_approval':
    case 'approval_consumed':
      return commitApproval(
        approval === null
          ? 'Nothing approves a retry yet: commit a RetryApproval (merging it is the approval).'
          : `Approval ${approval.name} was used by an execution: a further retry needs a RetryApproval with a new name.`,
      );
    case 'approval_denied':
    case 'approval_deferred':
    case 'approval_expired':
      return commitApproval(
        `Approval ${approval?.name ?? '(unnamed)'} is ${facts.reason.slice('approval_'.length)}: to retry after all, commit a newer RetryApproval in state approved.`,
      );
    case 'approver_not_allowed': {
      const approvers = policy?.approvers ?? [];
      return commitApproval(
        `${approval?.decided_by || 'The approver'} is not among the policy’s approvers: commit a RetryApproval decided by one of them.`,
        approvers.length === 0 ? {} : { comment: `decided_by must be one of: ${approvers.join(', ')}.` },
      );
    }
    case 'signature_required':
    case 'signer_not_trusted':
      return commitApproval(
        'The policy requires signed approvals: commit a RetryApproval in a commit signed (git commit -S) by the key the allowed-signers file maps to its decided_by.',
      );
    case 'quorum_not_met':
      return commitApproval(
        'More approvals are required: commit another RetryApproval, decided by someone who has not approved yet.',
      );
    case 'separation_of_duties':
      return commitApproval(
        'The approver must not be who acknowledged: commit a RetryApproval decided by someone else.',
      );
    case 'change_freeze':
      return plain('wait', 'A freeze window is open: the retry is due when it closes.');
    case 'claim_in_flight':
      return plain('wait', 'A replica is calling the provider now; its outcome lands with its next commit.');
    case 'claim_expired':
      return plain(
        'wait',
        'The claim’s lease expired without an outcome: the reconciler records it as unknown, or re-sends it to an idempotent provider.',
      );
    case 'run_limit_reached':
      return plain(
        'wait',
        'More retries are due than max_retry_deliveries_per_run allows: this one runs in a following run.',
      );
    default:
      return plain('none', `Reason ${facts.reason || '(none)'}: see \`cavra-gitops plan\` for details.`);
  }
}
