/**
 * Whether a provider can be called now, decided by building its connector (no I/O: factories only
 * read env vars and options). `plan` and `reconcile` use the same check, so the plan never calls a
 * provider whose connector cannot be built, and never disagrees with the run about it.
 */
import type { ConnectorContext } from '../domain/ports.js';
import { createConnector } from '../connectors/registry.js';
import { messageOf } from '../errors.js';
import type { ProviderReadinessCheck } from '../read-model/read-plan-facts.js';
import { redactText } from '../redact.js';

export function createProviderCheck(context: ConnectorContext): ProviderReadinessCheck {
  return (provider) => {
    try {
      createConnector(provider, context);
      return null;
    } catch (error) {
      return { reason: 'ConnectorNotBuilt', message: redactText(messageOf(error)) };
    }
  };
}
