/**
 * The common audit-delivery event (docs/reference.md §7) every connector sends or maps from, and the short
 * human texts chat and SIEM connectors show. Pure functions of the DeliveryRequest, so a re-send
 * with the same request produces the same bytes.
 */
import type { DeliveryRequest } from '../domain/ports.js';
import type { AuditPackage, IsoTime } from '../domain/types.js';
import { InternalError } from '../errors.js';

export const AUDIT_EVENT_TYPE = 'cavra.go_backend.rollback_drill.acknowledgement_audit_delivery';

/** The JSON body of the generic webhook and file connectors (field order is the wire order). */
export interface AuditEvent {
  event_type: typeof AUDIT_EVENT_TYPE;
  delivery_id: string;
  audit_id: string;
  provider: string;
  attempt: number;
  /** Present for retries only (attempt 1 has no execution). */
  execution_id?: string;
  /** The key receivers deduplicate on (= `webhook-id`). */
  idempotency_key: string;
  /** When the reconciler made the delivery (the run's `now`). */
  timestamp: IsoTime;
  package: AuditPackage;
}

/** Build the common event body from a delivery request. */
export function buildAuditEvent(request: DeliveryRequest): AuditEvent {
  return {
    event_type: AUDIT_EVENT_TYPE,
    delivery_id: request.deliveryId,
    audit_id: request.auditId,
    provider: request.provider,
    attempt: request.attempt,
    ...(request.executionId ? { execution_id: request.executionId } : {}),
    idempotency_key: request.idempotencyKey,
    timestamp: request.at,
    package: request.package,
  };
}

/** Short title, e.g. `CAVRA audit delivery ops-weekly → ops-slack (attempt 2)`. */
export function summarizeAuditTitle(request: DeliveryRequest): string {
  return `CAVRA audit delivery ${request.deliveryId} → ${request.provider} (attempt ${request.attempt})`;
}

/**
 * One line for humans, e.g. `Audit audit-42 delivery ops-weekly to ops-slack, attempt 2
 * (execution gordackretryexec-…): 3 routes, 5/7 acknowledged, 1 resolved, 0 escalated, 0 dismissed, 2 outstanding.`
 */
export function summarizeAuditEvent(request: DeliveryRequest): string {
  const pkg = request.package;
  const execution = request.executionId ? ` (execution ${request.executionId})` : '';
  return (
    `Audit ${request.auditId} delivery ${request.deliveryId} to ${request.provider}, attempt ${request.attempt}${execution}: ` +
    `${pkg.route_count} routes, ${pkg.acknowledged_count}/${pkg.acknowledgement_count} acknowledged, ` +
    `${pkg.resolved_count} resolved, ${pkg.escalated_count} escalated, ${pkg.dismissed_count} dismissed, ` +
    `${pkg.outstanding_count} outstanding.`
  );
}

/**
 * The plain-text body of a ticket (Jira issue, ServiceNow record): the summary line, the delivery's
 * identifiers, then one `bullet` line per route.
 */
export function describeDeliveryText(request: DeliveryRequest, bullet: '*' | '-'): string {
  const routes = request.package.routes.map(
    (route) =>
      `${bullet} ${route.route_id}: ${route.state} (owner ${route.owner}, provider ${route.provider})`,
  );
  return [
    summarizeAuditEvent(request),
    '',
    `Delivery: ${request.deliveryId}`,
    `Audit: ${request.auditId}`,
    `Attempt: ${request.attempt}`,
    ...(request.executionId ? [`Execution: ${request.executionId}`] : []),
    `Idempotency key: ${request.idempotencyKey}`,
    `Delivered at: ${request.at}`,
    ...(routes.length > 0 ? ['', 'Routes:', ...routes] : []),
  ].join('\n');
}

/** `text` cut to at most `max` characters, an ellipsis marking the cut. */
export function truncateText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The package counters as label/value pairs, in a fixed order (for card and block fields). */
export function describePackageCounts(pkg: AuditPackage): { label: string; value: number }[] {
  return [
    { label: 'Routes', value: pkg.route_count },
    { label: 'Acknowledgements', value: pkg.acknowledgement_count },
    { label: 'Acknowledged', value: pkg.acknowledged_count },
    { label: 'Resolved', value: pkg.resolved_count },
    { label: 'Escalated', value: pkg.escalated_count },
    { label: 'Dismissed', value: pkg.dismissed_count },
    { label: 'Outstanding', value: pkg.outstanding_count },
  ];
}

/** Unix seconds of an ISO time (floor). An unparseable time is a caller bug: InternalError. */
export function unixSeconds(at: IsoTime): number {
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) throw new InternalError(`Delivery request time "${at}" is not an ISO-8601 time.`);
  return Math.floor(ms / 1000);
}
