/**
 * Recovery rules in one import for the reconciler (docs/architecture.md names this module):
 * playbook generation and closure recording. The rules themselves live in playbooks.ts and closures.ts.
 */
export { planPlaybooks, collectProviderFailures, PLAYBOOK_ID_PREFIX } from './playbooks.js';
export type { PlanPlaybooksInput, ProviderFailure } from './playbooks.js';
export { planClosures, closureIdOf, collectRecordIds, CLOSURE_ID_PREFIX } from './closures.js';
export type { PlanClosuresInput, PlanClosuresResult } from './closures.js';
export { recoveryStepsFor } from './recovery-steps.js';
export { isClosedState, CLOSED_STATES } from './recovery-state.js';
