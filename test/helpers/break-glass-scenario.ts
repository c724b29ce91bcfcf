/**
 * The break-glass scenario shared by the emergency e2e tests: d1's first attempt fails at 10:01
 * inside a freeze (10:00–18:00), alice acknowledges it at 10:02, and the clock stands at 10:10;
 * a break-glass approval committed at 10:05 may expire at most `max_emergency_minutes` later.
 */
import { expect } from 'vitest';
import {
  ackByYaml,
  gateApprovalYaml,
  gatePolicyYaml,
  openPolicyScenario,
  PROVIDER,
  type GatePolicyOptions,
  type PolicyScenario,
} from './policy-scenario.js';

export const FREEZE = {
  from: '2026-06-28T10:00:00Z',
  to: '2026-06-28T18:00:00Z',
  reason: 'incident freeze',
};
/** The break-glass approval's commit: 10:05, so 60 min allow an expiry up to 11:05. */
export const BREAK_GLASS_AT = '2026-06-28T10:05:00Z';

export async function openFrozenFailure(
  policy: GatePolicyOptions = {},
  extraFiles: Record<string, string> = {},
): Promise<PolicyScenario> {
  const s = await openPolicyScenario(
    '2026-06-28T10:01:00Z',
    gatePolicyYaml({ freezeWindows: [FREEZE], ...policy }),
    ['d1'],
    extraFiles,
  );
  expect((await s.reconcile()).calls).toBe(1);
  await s.commit(
    { 'manifests/acks/d1.yaml': ackByYaml('ack-d1', 'd1', PROVIDER, 'alice@example.com') },
    'acknowledge d1',
    { date: '2026-06-28T10:02:00Z' },
  );
  s.clock.set('2026-06-28T10:10:00Z');
  return s;
}

/** Commit `break-glass-d1` (emergency: true) at {@link BREAK_GLASS_AT}, optionally ssh-signed. */
export async function commitBreakGlass(
  s: PolicyScenario,
  options: { expiresAt?: string; decidedBy?: string; name?: string },
  signWith?: string,
): Promise<void> {
  const name = options.name ?? 'break-glass-d1';
  await s.commit(
    {
      [`manifests/approvals/${name}.yaml`]: gateApprovalYaml(name, 'd1', PROVIDER, {
        emergency: true,
        ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
        ...(options.decidedBy === undefined ? {} : { decidedBy: options.decidedBy }),
      }),
    },
    `break glass for d1 (${name})`,
    { date: BREAK_GLASS_AT, ...(signWith === undefined ? {} : { signWith }) },
  );
}
