/**
 * Human renderings of the retry recovery report: Markdown (GitHub-flavoured tables, readable on a
 * forge as `reports/retry-recovery-report.md` and in PR comments) and a plain-text table for
 * terminals. Pure and deterministic: the same envelope gives the same text.
 */
import type { ReportEnvelope, RetryRecoveryReport } from '../domain/report.js';

type Cell = string | number | boolean | null;

interface Table {
  headers: string[];
  rows: Cell[][];
}

function formatRate(rate: number | null): string {
  return rate === null ? 'n/a' : `${(rate * 100).toFixed(2)}%`;
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key} ${value}`).join(', ');
}

function text(cell: Cell): string {
  if (cell === null) return '-';
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no';
  const value = String(cell);
  return value === '' ? '-' : value;
}

function summaryTable(report: RetryRecoveryReport): Table {
  return {
    headers: ['Metric', 'Value'],
    rows: [
      ['Alert level', report.alert_level],
      ['Executions', report.execution_count],
      ['Delivered', report.execution_success_count],
      ['Failed (failed + skipped)', report.execution_failed_count],
      ['Success rate', formatRate(report.execution_success_rate)],
      ['Execution statuses', formatCounts(report.execution_status_counts)],
      ['Emergency executions (break-glass)', report.emergency_execution_count],
      ['Emergency executions no closure cites', report.emergency_unclosed_count],
      ['Recovery rows', report.recovery_playbook_provider_count],
      ['Closed', report.recovery_closed_count],
      ['Open', report.recovery_open_count],
      ['SLO breached', report.recovery_slo_breached_count],
      ['Closure states (all closures)', formatCounts(report.closure_state_counts)],
    ],
  };
}

function providerTable(report: RetryRecoveryReport): Table {
  return {
    headers: [
      'Provider',
      'Executions',
      'Delivered',
      'Failed',
      'Skipped',
      'Playbooks',
      'Closures',
      'Open',
      'Breached',
      'Latest execution',
      'Latest closure',
    ],
    rows: report.provider_summary.map((p) => [
      p.provider,
      p.execution_count,
      p.execution_delivered_count,
      p.execution_failed_count,
      p.execution_skipped_count,
      p.recovery_playbook_count,
      p.recovery_closure_count,
      p.open_recovery_count,
      p.slo_breached_count,
      p.latest_execution_at,
      p.latest_closure_at,
    ]),
  };
}

function rowsTable(report: RetryRecoveryReport): Table {
  return {
    headers: [
      'SLO',
      'Playbook',
      'Provider',
      'Category',
      'Failures',
      'Generated',
      'Age (min)',
      'State',
      'Closed at',
      'Closure (min)',
    ],
    rows: report.recovery_rows.map((row) => [
      row.slo_status,
      row.playbook_id,
      row.provider,
      row.category,
      row.failure_count,
      row.generated_at,
      row.age_minutes,
      row.closure_state,
      row.closed_at,
      row.closure_minutes,
    ]),
  };
}

function trendsTable(report: RetryRecoveryReport): Table {
  return {
    headers: [
      'Date (UTC)',
      'Closures',
      'Resolved',
      'Mitigated',
      'Deferred',
      'Escalated',
      'Reopened',
      'Providers',
    ],
    rows: report.closure_trends.map((trend) => [
      trend.date,
      trend.closure_count,
      trend.resolved_count,
      trend.mitigated_count,
      trend.deferred_count,
      trend.escalated_count,
      trend.reopened_count,
      formatCounts(trend.provider_counts),
    ]),
  };
}

function executionsTable(report: RetryRecoveryReport): Table {
  return {
    headers: ['Executed at', 'Execution', 'Provider', 'Status', 'Delivered', 'Approval decision', 'Run'],
    rows: report.latest_executions.map((execution) => [
      execution.executed_at,
      execution.execution_id,
      execution.provider,
      execution.execution_status,
      execution.delivery_success,
      execution.approval_decision_id,
      execution.run_id,
    ]),
  };
}

interface Section {
  title: string;
  table: Table;
  empty: string;
}

function sectionsOf(report: RetryRecoveryReport): Section[] {
  return [
    { title: 'Summary', table: summaryTable(report), empty: '' },
    {
      title: 'Retry recovery SLO by provider',
      table: providerTable(report),
      empty: 'No providers have records yet.',
    },
    { title: 'Recovery rows', table: rowsTable(report), empty: 'No recovery playbooks.' },
    { title: 'Closure trends', table: trendsTable(report), empty: 'No closures recorded.' },
    {
      title: `Latest executions (newest ${report.latest_executions.length} of ${report.execution_count})`,
      table: executionsTable(report),
      empty: 'No retry executions.',
    },
  ];
}

/** Escape what would break a GFM table cell: pipes, backslashes, line breaks, HTML. */
function markdownCell(cell: Cell): string {
  return text(cell)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/[\r\n]+/g, ' ');
}

function markdownTable(table: Table): string {
  const lines = [
    `| ${table.headers.map(markdownCell).join(' | ')} |`,
    `|${table.headers.map(() => '---').join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(markdownCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** The report as Markdown: a header line, then summary, provider SLO table, rows, trends, latest executions. */
export function renderReportMarkdown(envelope: ReportEnvelope): string {
  const { report } = envelope;
  const parts = [
    '# Retry recovery report',
    '',
    `**Alert level: ${report.alert_level}** · recovery SLO ${report.recovery_slo_minutes} minutes · ` +
      `revision \`${report.revision}\` · generated ${report.generated_at} by ${markdownCell(report.generated_by)} · ` +
      `report \`${report.report_id}\``,
  ];
  for (const section of sectionsOf(report)) {
    parts.push('', `## ${section.title}`, '');
    parts.push(section.table.rows.length === 0 ? `_${section.empty}_` : markdownTable(section.table));
  }
  return `${parts.join('\n')}\n`;
}

function plainCell(cell: Cell): string {
  return text(cell).replace(/[\r\n\t]+/g, ' ');
}

function plainTable(table: Table): string {
  const cells = [table.headers, ...table.rows.map((row) => row.map(plainCell))];
  const widths = table.headers.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(cells[0] ?? []),
    line(widths.map((width) => '-'.repeat(width))),
    ...cells.slice(1).map(line),
  ].join('\n');
}

/** The report as aligned plain-text tables for a terminal (`report --format table`). */
export function renderReportTable(envelope: ReportEnvelope): string {
  const { report } = envelope;
  const parts = [
    `Retry recovery report — alert level ${report.alert_level.toUpperCase()}`,
    `revision ${report.revision} · SLO ${report.recovery_slo_minutes} min · generated ${report.generated_at} by ${plainCell(report.generated_by)}`,
    `report ${report.report_id}`,
  ];
  for (const section of sectionsOf(report)) {
    parts.push('', section.title.toUpperCase());
    parts.push(section.table.rows.length === 0 ? `  ${section.empty}` : plainTable(section.table));
  }
  return `${parts.join('\n')}\n`;
}
