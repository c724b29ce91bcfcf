/**
 * An approval as the gate sees it: the manifest with the history facts about it (introducing
 * commit by content, base of its change, signatures at base and tip) and the executions that
 * consumed it. Pure; built once per plan from GateFacts and the records at the tip.
 */
import { DEFAULT_POLICY_SPEC } from './defaults.js';
import type { ApprovalFacts, GateFacts, PolicyAt } from './gate-facts.js';
import { compareStrings } from './recovery-state.js';
import type {
  ApprovalEvidence,
  CommitInfo,
  ExecutionRecord,
  RecordSet,
  RetryApproval,
  SignatureInfo,
} from './types.js';
import { makeId } from './hash.js';
import { approvalDecisionId, ID_PREFIXES } from './ids.js';

export interface ApprovalView {
  approval: RetryApproval;
  /** approvalDecisionId(approval). */
  decisionId: string;
  /** The introducing commit (by content, from the facts; else the manifest's source). */
  introduced: CommitInfo | null;
  /** The base of its change and the policy there (defaults, commit null, without facts). */
  base: PolicyAt & { recorded: boolean };
  signatureAtBase: SignatureInfo;
  signatureAtTip: SignatureInfo;
  /** Ids of the executions that carried this approval (any version of its name), sorted; [] = live. */
  consumedBy: string[];
}

const UNSIGNED: SignatureInfo = Object.freeze({ status: 'none', principal: '' });

/**
 * Views of `approvals`. Without facts for an approval the base is the default policy and the
 * signatures count as absent (fail closed: the read step gives facts for every valid approval).
 * Consumed = named in the ledger history's consumption facts, or carried by an execution record
 * at the tip (by name in its evidence, or by decision id for records that predate names).
 */
export function buildApprovalViews(
  approvals: readonly RetryApproval[],
  facts: GateFacts,
  records: RecordSet,
): Map<string, ApprovalView> {
  const byName = new Map<string, Set<string>>();
  const byDecision = new Map<string, Set<string>>();
  for (const execution of records.executions) {
    add(byDecision, execution.approval_decision_id, execution.execution_id);
    for (const name of evidenceNames(execution)) add(byName, name, execution.execution_id);
  }
  const views = new Map<string, ApprovalView>();
  for (const approval of approvals) {
    const decisionId = approvalDecisionId(approval);
    const known: ApprovalFacts | undefined = facts.approvals.get(approval.name);
    const consumed = new Set<string>([
      ...(facts.consumed.approvals.get(approval.name) ?? []),
      ...(byName.get(approval.name) ?? []),
      ...(byDecision.get(decisionId) ?? []),
    ]);
    views.set(approval.name, {
      approval,
      decisionId,
      introduced: known?.introduced ?? approval.source.introduced,
      base: known?.base ?? { commit: null, policy: DEFAULT_POLICY_SPEC, recorded: false },
      signatureAtBase: known?.signatureAtBase ?? UNSIGNED,
      signatureAtTip: known?.signatureAtTip ?? UNSIGNED,
      consumedBy: [...consumed].sort(compareStrings),
    });
  }
  return views;
}

/** The approval names an execution record's evidence carries (older records carry none). */
function evidenceNames(execution: ExecutionRecord): string[] {
  const names = new Set<string>();
  const primary = execution.approval?.name;
  if (typeof primary === 'string' && primary !== '') names.add(primary);
  for (const entry of Array.isArray(execution.approvals) ? execution.approvals : []) {
    if (typeof entry?.name === 'string' && entry.name !== '') names.add(entry.name);
  }
  return [...names];
}

/**
 * The approval decision id of an execution that counted `decisionIds`: the approval's own id when
 * it counted one (as before quorums), else a hash of the sorted set, so the id (and through it the
 * execution id) is a pure function of which approvals were counted, not of their order.
 */
export function countedDecisionId(decisionIds: readonly string[]): string {
  const unique = [...new Set(decisionIds)].sort(compareStrings);
  if (unique.length === 1) return unique[0] as string;
  return makeId(ID_PREFIXES.approvalDecision, { approval_decision_ids: unique });
}

/** The evidence of one counted approval: manifest, introducing commit, signature at the base, base. */
export function evidenceOf(view: ApprovalView): ApprovalEvidence {
  const { approval, introduced } = view;
  return {
    name: approval.name,
    manifest: approval.source.path,
    blob: approval.source.blob,
    commit: introduced?.commit ?? '',
    author: introduced?.author ?? '',
    signature: { status: view.signatureAtBase.status, principal: view.signatureAtBase.principal },
    base: view.base.commit ?? '',
  };
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}
