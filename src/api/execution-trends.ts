/**
 * Executions per provider by outcome over time (the console's second chart): execution records
 * counted by (UTC day of `executed_at`, provider, `execution_status`). Pure and totally ordered,
 * so the body, and its ETag, depend only on the records.
 */
import { compareStrings, utcDateOf } from '../domain/recovery-state.js';
import type { ExecutionRecord } from '../domain/types.js';
import { EXECUTION_STATUSES } from '../domain/types.js';

export interface ExecutionTrendItem {
  /** UTC date of `executed_at`, `YYYY-MM-DD`. */
  date: string;
  provider: string;
  execution_status: string;
  count: number;
}

export interface ExecutionTrends {
  schema_version: 1;
  /** Every date with an execution, oldest first. */
  dates: string[];
  providers: string[];
  /** The statuses that occur: delivered, failed, skipped, unknown first, then any others by name. */
  statuses: string[];
  /** One item per (date, provider, status) that occurs, by date, provider, status. */
  items: ExecutionTrendItem[];
  execution_count: number;
}

const KNOWN_STATUS_ORDER: readonly string[] = EXECUTION_STATUSES;

function compareStatuses(a: string, b: string): number {
  const rank = (status: string): number => {
    const index = KNOWN_STATUS_ORDER.indexOf(status);
    return index === -1 ? KNOWN_STATUS_ORDER.length : index;
  };
  return rank(a) - rank(b) || compareStrings(a, b);
}

/** Count executions by day, provider and status. */
export function computeExecutionTrends(executions: readonly ExecutionRecord[]): ExecutionTrends {
  const counts = new Map<string, ExecutionTrendItem>();
  const dates = new Set<string>();
  const providers = new Set<string>();
  const statuses = new Set<string>();
  for (const execution of executions) {
    const date = utcDateOf(execution.executed_at);
    const key = JSON.stringify([date, execution.provider, execution.execution_status]);
    const item = counts.get(key);
    if (item) item.count += 1;
    else
      counts.set(key, {
        date,
        provider: execution.provider,
        execution_status: execution.execution_status,
        count: 1,
      });
    dates.add(date);
    providers.add(execution.provider);
    statuses.add(execution.execution_status);
  }
  const items = [...counts.values()].sort(
    (a, b) =>
      compareStrings(a.date, b.date) ||
      compareStrings(a.provider, b.provider) ||
      compareStatuses(a.execution_status, b.execution_status),
  );
  return {
    schema_version: 1,
    dates: [...dates].sort(compareStrings),
    providers: [...providers].sort(compareStrings),
    statuses: [...statuses].sort(compareStatuses),
    items,
    execution_count: executions.length,
  };
}
