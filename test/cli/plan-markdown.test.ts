/**
 * The pull-request comment (`plan --format markdown`) on an ops repository with many keys: what the
 * merge executes comes first, then the held keys, at most MARKDOWN_MAX_ROWS rows; keys with nothing
 * to retry are counted by reason, not listed. (Before, every key got a row in key order, so on a
 * repository of a few hundred delivered keys the forge's cut fell before the key a change was about.)
 */
import { describe, expect, it } from 'vitest';
import { MARKDOWN_MAX_ROWS, renderPlanMarkdown, type PlanView } from '../../src/cli/plan.js';
import type { RetryDecision } from '../../src/domain/retry-plan.js';
import type { GateReason } from '../../src/domain/gate-reasons.js';
import type { RetryAction } from '../../src/domain/retry-rules.js';

function decision(delivery: string, action: RetryAction, reason: GateReason): RetryDecision {
  return {
    key: { delivery_id: delivery, audit_id: `audit-${delivery}`, provider: 'ops-webhook' },
    attempts: 1,
    retry_count: action === 'none' ? 0 : 1,
    latest_failure_at: null,
    next_retry_at: null,
    max_retry_attempts: 3,
    action,
    execute: reason === 'executed',
    reason,
    message: `${delivery}: ${reason}`,
    policy: null,
    policy_commit: null,
    approval: null,
    counted_approvals: [],
    emergency: false,
    acknowledgement: null,
    execution_id: reason === 'executed' ? `exec-${delivery}` : '',
  };
}

function planView(decisions: RetryDecision[]): PlanView {
  return {
    revision: 'a'.repeat(40),
    now: '2026-06-28T10:00:00.000Z',
    deliveries: [],
    executions: [],
    resends: [],
    unknown_outcomes: [],
    closures: [],
    decisions,
    providers_not_ready: [],
    findings: [],
    would_record: { calls: [], playbooks: [], closures: [], report_changes: false },
  };
}

const rowsOf = (markdown: string): string[] => markdown.split('\n').filter((line) => line.startsWith('| d-'));

describe('plan --format markdown on many keys', () => {
  // In key order, as the planner gives them: the executing key sorts last.
  const decisions = [
    ...Array.from({ length: 300 }, (_, i) =>
      decision(`d-${String(i).padStart(3, '0')}-done`, 'none', 'delivered'),
    ),
    ...Array.from({ length: 5 }, (_, i) => decision(`d-${i}-first`, 'none', 'pending_delivery')),
    ...Array.from({ length: 120 }, (_, i) =>
      decision(`d-${String(i).padStart(3, '0')}-held`, 'retry', 'request_approval'),
    ),
    decision('d-999-suppressed', 'suppress', 'max_attempts_reached'),
    decision('d-zzz-approved', 'retry', 'executed'),
  ];
  const markdown = renderPlanMarkdown(planView(decisions));
  const rows = rowsOf(markdown);

  it('leads with the execution, then the held keys, at most MARKDOWN_MAX_ROWS rows', () => {
    expect(rows).toHaveLength(MARKDOWN_MAX_ROWS);
    expect(rows[0]).toMatch(/^\| d-zzz-approved \| ops-webhook \| 1 \| retry \| yes \| `executed` \|/);
    expect(rows[1]).toMatch(/^\| d-000-held \|/);
    expect(rows.every((row) => !row.includes('`delivered`'))).toBe(true);
    expect(markdown).toContain('… and 22 more held keys (`plan --format json` lists every key).');
  });

  it('counts the keys with nothing to retry by reason instead of listing them', () => {
    expect(markdown).toContain(
      '305 more key(s) with nothing to retry: `delivered` 300, `pending_delivery` 5.',
    );
  });

  it('stays under the forge limit that a row per key exceeded', () => {
    expect(markdown.length).toBeLessThan(65_000 / 4);
    const everyRow = decisions.length * rows[0]!.length;
    expect(everyRow).toBeGreaterThan(65_000 / 2);
  });

  it('lists every key when there are few, with no counts line for an empty group', () => {
    const few = renderPlanMarkdown(planView([decision('d-1', 'retry', 'wait_for_retry_ack')]));
    expect(rowsOf(few)).toHaveLength(1);
    expect(few).not.toContain('more key');
    expect(renderPlanMarkdown(planView([]))).not.toContain('| delivery |');
  });
});
