/**
 * The retry plan the API shows: what a reconcile would decide now for every key and why. The API
 * takes it as an injected function so the app does not need a git reader of its own, and tests can
 * pass a fixed plan.
 */
import type { GitReader } from '../domain/ports.js';
import { DEFAULT_LEASE_MINUTES, planRetryDecisions } from '../plan/plan-reconcile.js';
import { readPlanFacts } from '../read-model/read-plan-facts.js';
import type { Snapshot } from '../read-model/read-snapshot.js';

/** One key's decision, as the planner returns it (`execute`, `action`, `reason`, and the rest). */
export type RetryDecisionView = Readonly<Record<string, unknown>>;

/** Computes the retry decisions of a snapshot at `now`. */
export type RetryPlanner = (
  snapshot: Snapshot,
  now: Date,
) => Promise<{ decisions: readonly RetryDecisionView[] }>;

/** The planner of `plan`/`reconcile`: the same facts, the same decisions (planRetryDecisions). */
export function createRetryPlanner(reader: GitReader): RetryPlanner {
  return async (snapshot, now) => {
    const facts = await readPlanFacts(reader, snapshot);
    const plan = planRetryDecisions(facts, now, DEFAULT_LEASE_MINUTES);
    return { decisions: plan.decisions as unknown as readonly RetryDecisionView[] };
  };
}
