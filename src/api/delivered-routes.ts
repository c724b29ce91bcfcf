/**
 * The routes of the delivered audit packages (`package.routes[]` of each AuditDelivery that has
 * delivery records), by owner and state with their provider, as CAVRA's console shows escalation
 * routes beside the SLO table. Pure: a function of one revision's manifests and records.
 *
 * The package is read from the AuditDelivery manifest at the served revision: delivery records do
 * not copy the package, and a changed spec is a new version of the manifest, so what is shown is
 * the package as it stands at that revision (`?at=` shows an older one).
 */
import { compareStrings } from '../domain/recovery-state.js';
import type { AuditDelivery, DeliveryRecord } from '../domain/types.js';
import { redactText } from '../redact.js';

/** One route of one delivered package. */
export interface DeliveredRoute {
  delivery_id: string;
  audit_id: string;
  route_id: string;
  provider: string;
  state: string;
  owner: string;
}

/** How many routes one owner has in one state. */
export interface OwnerStateCount {
  owner: string;
  state: string;
  count: number;
}

export interface RouteFilters {
  owner: string | null;
  state: string | null;
  provider: string | null;
  deliveryId: string | null;
}

export interface DeliveredRoutes {
  /** Delivered packages whose manifest is at the revision (before the filters). */
  delivery_count: number;
  /** Deliveries with records but no valid AuditDelivery manifest at the revision: no package to show. */
  missing_deliveries: string[];
  /** Distinct values over the routes that pass the filters, sorted. */
  owners: string[];
  states: string[];
  providers: string[];
  /** Per owner × state over the routes that pass the filters, by owner then state. */
  owner_state_counts: OwnerStateCount[];
  /** Every route that passes the filters, by owner, state, provider, route_id, delivery_id. */
  routes: DeliveredRoute[];
}

/**
 * Route fields are operator-written text; manifest validation already refuses secrets in them,
 * and the API redacts URLs in them once more as everywhere else before they are served.
 */
function publicText(value: string): string {
  return redactText(value);
}

function compareRoutes(a: DeliveredRoute, b: DeliveredRoute): number {
  return (
    compareStrings(a.owner, b.owner) ||
    compareStrings(a.state, b.state) ||
    compareStrings(a.provider, b.provider) ||
    compareStrings(a.route_id, b.route_id) ||
    compareStrings(a.delivery_id, b.delivery_id) ||
    compareStrings(a.audit_id, b.audit_id)
  );
}

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort(compareStrings);

/** The routes of the packages of `deliveries` that `records` show were delivered (attempted). */
export function computeDeliveredRoutes(
  deliveries: readonly AuditDelivery[],
  records: readonly DeliveryRecord[],
  filters: RouteFilters,
): DeliveredRoutes {
  const delivered = new Set(records.map((record) => record.delivery_id));
  const present = new Set(deliveries.map((delivery) => delivery.name));
  const packages = deliveries.filter((delivery) => delivered.has(delivery.name));
  const routes: DeliveredRoute[] = [];
  for (const delivery of packages) {
    for (const route of delivery.spec.package.routes) {
      routes.push({
        delivery_id: delivery.name,
        audit_id: publicText(delivery.spec.audit_id),
        route_id: publicText(route.route_id),
        provider: publicText(route.provider),
        state: publicText(route.state),
        owner: publicText(route.owner),
      });
    }
  }
  const shown = routes
    .filter(
      (route) =>
        (filters.owner === null || route.owner === filters.owner) &&
        (filters.state === null || route.state === filters.state) &&
        (filters.provider === null || route.provider === filters.provider) &&
        (filters.deliveryId === null || route.delivery_id === filters.deliveryId),
    )
    .sort(compareRoutes);

  const counts = new Map<string, OwnerStateCount>();
  for (const route of shown) {
    // JSON of the pair: unambiguous whatever characters an owner or state holds.
    const id = JSON.stringify([route.owner, route.state]);
    const entry = counts.get(id);
    if (entry) entry.count++;
    else counts.set(id, { owner: route.owner, state: route.state, count: 1 });
  }
  return {
    delivery_count: packages.length,
    missing_deliveries: [...delivered].filter((id) => !present.has(id)).sort(compareStrings),
    owners: sortedUnique(shown.map((route) => route.owner)),
    states: sortedUnique(shown.map((route) => route.state)),
    providers: sortedUnique(shown.map((route) => route.provider)),
    owner_state_counts: [...counts.values()].sort(
      (a, b) => compareStrings(a.owner, b.owner) || compareStrings(a.state, b.state),
    ),
    routes: shown,
  };
}
