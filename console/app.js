// Evidence Console: renders the retry recovery report and the history of one committed revision,
// and polls cheaply (a conditional GET answered 304 while nothing changed) to follow the tip.
// All data goes into the page through textContent: never innerHTML.

const BASE = '/runtime/go-pilot/rollback-drill-notifications';
const REPORT_URL = `${BASE}/acknowledgements/audit-delivery/retry-recovery-report`;
const HISTORY_URL = `${BASE}?limit=25`;
const POLL_MS = 3000;
const HIDDEN_POLL_MS = 30000;

const state = {
  reportTag: null,
  /** Revision whose records the history table shows (the ledger revision when there is one). */
  recordsRevision: null,
  timer: null,
  inFlight: false,
};

function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
}

function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  return String(value);
}

/** `2026-06-28T12:00:00.000Z` → `2026-06-28 12:00 UTC`. */
function formatTime(iso) {
  if (typeof iso !== 'string' || iso === '') return '—';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

function shortId(id) {
  return typeof id === 'string' && id.length > 28 ? `${id.slice(0, 28)}…` : text(id);
}

function cell(value, options = {}) {
  const td = document.createElement(options.header ? 'th' : 'td');
  if (options.header) td.scope = 'row';
  if (options.numeric) td.className = 'num';
  if (options.badge) {
    const badge = document.createElement('span');
    badge.className = `badge badge-${options.badge}`;
    badge.textContent = text(value);
    td.append(badge);
  } else if (options.code) {
    const code = document.createElement('code');
    code.textContent = shortId(value);
    if (typeof value === 'string') code.title = value;
    td.append(code);
  } else {
    td.textContent = text(value);
  }
  return td;
}

function fillTable(tableId, rows, emptyMessage, columns) {
  const tbody = byId(tableId).querySelector('tbody');
  const fresh = document.createElement('tbody');
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = columns;
    td.className = 'empty';
    td.textContent = emptyMessage;
    tr.append(td);
    fresh.append(tr);
  }
  for (const cells of rows) {
    const tr = document.createElement('tr');
    tr.append(...cells);
    fresh.append(tr);
  }
  tbody.replaceWith(fresh);
}

function setTile(name, value) {
  const element = document.querySelector(`[data-tile="${name}"]`);
  if (element) element.textContent = text(value);
}

function renderReport(report, revision) {
  const alert = byId('alert-level');
  const level = ['critical', 'warning', 'healthy'].includes(report.alert_level)
    ? report.alert_level
    : 'unknown';
  alert.className = `alert alert-${level}`;
  alert.textContent =
    level === 'critical'
      ? '⚠ critical'
      : level === 'warning'
        ? '● warning'
        : level === 'healthy'
          ? '✓ healthy'
          : text(report.alert_level);
  const revisionElement = byId('revision');
  revisionElement.textContent = revision ? revision.slice(0, 12) : '—';
  revisionElement.title = revision ?? '';
  byId('generated-at').textContent = formatTime(report.generated_at);
  byId('slo-minutes').textContent = `${text(report.recovery_slo_minutes)} minutes`;

  const playbooks = new Set(report.recovery_rows.map((row) => row.playbook_id));
  setTile('executions', report.execution_count);
  setTile('failed', report.execution_failed_count);
  setTile('playbooks', playbooks.size);
  setTile('closed', report.recovery_closed_count);
  setTile('open', report.recovery_open_count);
  setTile('breached', report.recovery_slo_breached_count);
  // Break-glass executions, and (in brackets) those no closure cites yet.
  setTile(
    'emergency',
    report.emergency_execution_count === undefined
      ? undefined
      : `${report.emergency_execution_count} (${text(report.emergency_unclosed_count)})`,
  );

  fillTable(
    'slo-table',
    report.provider_summary.map((summary) => [
      cell(summary.provider, { header: true }),
      cell(summary.execution_count, { numeric: true }),
      cell(summary.execution_failed_count, { numeric: true }),
      cell(summary.open_recovery_count, { numeric: true }),
      cell(summary.slo_breached_count, { numeric: true }),
      cell(formatTime(summary.latest_closure_at)),
    ]),
    'No providers have executions or recovery rows yet.',
    6,
  );

  fillTable(
    'rows-table',
    report.recovery_rows.map((row) => [
      cell(row.slo_status, { badge: row.slo_status }),
      cell(row.provider, { header: true }),
      cell(row.playbook_id, { code: true }),
      cell(row.failure_count, { numeric: true }),
      cell(formatTime(row.generated_at)),
      cell(row.age_minutes, { numeric: true }),
      cell(row.closure_state),
      cell(formatTime(row.closed_at)),
    ]),
    'No recovery playbooks: nothing needs recovering.',
    8,
  );

  fillTable(
    'executions-table',
    report.latest_executions.map((execution) => [
      cell(formatTime(execution.executed_at)),
      cell(execution.provider, { header: true }),
      cell(execution.execution_status, { badge: execution.execution_status }),
      cell(execution.execution_id, { code: true }),
      cell(execution.run_id, { code: true }),
    ]),
    'No retry executions yet.',
    5,
  );
}

function historyOutcome(item) {
  if (typeof item.execution_status === 'string') return item.execution_status;
  if (typeof item.closure_state === 'string') return item.closure_state;
  if (typeof item.delivery_success === 'boolean') return item.delivery_success ? 'delivered' : 'failed';
  if (typeof item.failure_count === 'number') return `${item.failure_count} failures`;
  return '';
}

function historyProvider(item) {
  if (typeof item.provider === 'string') return item.provider;
  if (Array.isArray(item.provider_playbooks))
    return item.provider_playbooks.map((entry) => entry.provider).join(', ');
  return '';
}

function renderHistory(page) {
  fillTable(
    'history-table',
    page.items.map((item) => {
      const kind = String(item.metadata_kind).split('-').slice(-2).join(' ');
      const outcome = historyOutcome(item);
      return [
        cell(formatTime(item.created_at)),
        cell(kind),
        cell(historyProvider(item), { header: true }),
        cell(outcome, { badge: outcome.replace(/[^a-z]/g, '') || 'none' }),
        cell(item.metadata_id, { code: true }),
      ];
    }),
    'No records yet.',
    5,
  );
}

function setConnection(message, problem = false) {
  const element = byId('connection');
  element.textContent = message;
  element.classList.toggle('connection-problem', problem);
}

async function fetchJson(url, etag) {
  const headers = { Accept: 'application/json' };
  if (etag) headers['If-None-Match'] = etag;
  // no-store: the browser cache must not answer for us; our own If-None-Match makes it cheap.
  const response = await fetch(url, { headers, cache: 'no-store' });
  if (response.status === 304) return { changed: false, response };
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch {
      // keep the status line
    }
    throw new Error(message);
  }
  return { changed: true, response, body: await response.json() };
}

async function poll() {
  if (state.inFlight) return;
  state.inFlight = true;
  try {
    const result = await fetchJson(REPORT_URL, state.reportTag);
    const revision = result.response.headers.get('X-Cavra-Revision');
    // With a ledger branch, records move on while the tracked revision stays put.
    const recordsRevision = result.response.headers.get('X-Cavra-Ledger-Revision') ?? revision;
    if (result.changed) {
      renderReport(result.body.report, revision);
      state.reportTag = result.response.headers.get('ETag');
    }
    // Checked on a 304 too: a history fetch that failed last time is retried, not forgotten.
    const recordsChanged = recordsRevision !== state.recordsRevision;
    if (recordsChanged) {
      // Pinned with ?at= to the report's revision, so both show the same commit.
      const at = recordsRevision ? `&at=${encodeURIComponent(recordsRevision)}` : '';
      const history = await fetchJson(`${HISTORY_URL}${at}`, null);
      renderHistory(history.body);
      state.recordsRevision = recordsRevision;
      document.body.dataset.revision = revision ?? '';
    }
    if (recordsChanged || byId('connection').classList.contains('connection-problem')) {
      setConnection(`Up to date with revision ${revision ? revision.slice(0, 12) : 'unknown'}.`);
    }
  } catch (error) {
    setConnection(
      `Cannot reach the API (${error instanceof Error ? error.message : String(error)}); retrying.`,
      true,
    );
  } finally {
    state.inFlight = false;
    schedule();
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
}

byId('refresh').addEventListener('click', () => {
  clearTimeout(state.timer);
  void poll();
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    clearTimeout(state.timer);
    void poll();
  }
});

void poll();
