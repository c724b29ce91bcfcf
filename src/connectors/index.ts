/** The connectors module's public surface: what the reconciler and the CLI import. */
export {
  checkProviderReady,
  createConnector,
  createConnectorContext,
  sleepUnlessAborted,
} from './registry.js';
export type { ConnectorContextOptions, ProviderReadiness } from './registry.js';
export { readProviderEnv, readProviderOptionEnv, secretsOf, describeProvider } from './env.js';
export {
  AUDIT_EVENT_TYPE,
  buildAuditEvent,
  summarizeAuditEvent,
  summarizeAuditTitle,
} from './audit-event.js';
export type { AuditEvent } from './audit-event.js';
export { sendHttp, classifyStatus, loadHttpClient, parseRetryAfter } from './http.js';
export type { HttpClassification, HttpRequestSpec, SendHttpOptions } from './http.js';
