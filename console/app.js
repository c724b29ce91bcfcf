// Evidence Console: renders the retry recovery report, the retry plan, the reconciler's status,
// two charts, the delivered packages' routes, the suppressed keys and the history of one
// committed revision, and polls cheaply (conditional GETs answered 304 while nothing changed) to
// follow the tip. Everything else is fetched pinned with
// ?at= to the revision the report came from, so every panel shows the same commit.
// All data goes into the page through textContent: never innerHTML.

const BASE = '/runtime/go-pilot/rollback-drill-notifications';
const AUDIT = `${BASE}/acknowledgements/audit-delivery`;
const REPORT_URL = `${AUDIT}/retry-recovery-report`;
const PLAN_URL = `${AUDIT}/retry-plan`;
const EXECUTION_TRENDS_URL = `${AUDIT}/retry-execution-trends`;
const ROUTES_URL = `${AUDIT}/routes`;
const SUPPRESSIONS_URL = `${AUDIT}/suppressions`;
/** Routes and retry-plan keys fetched per revision (the API's page limit); counts cover every one. */
const PAGE_LIMIT = 500;
const STATUS_URL = '/status';
const POLL_MS = 3000;
const HIDDEN_POLL_MS = 30000;
/** Days shown by the charts (the tables behind them show the same days). */
const CHART_DAYS = 14;

const CLOSURE_STATES = ['resolved', 'mitigated', 'deferred', 'escalated', 'reopened'];
const COLORS = {
  resolved: '#2f855a',
  mitigated: '#38a3a5',
  deferred: '#d69e2e',
  escalated: '#dd6b20',
  reopened: '#805ad5',
  other: '#a0aec0',
  delivered: '#2f855a',
  failed: '#c53030',
  skipped: '#d69e2e',
  unknown: '#718096',
};

const state = {
  reportTag: null,
  statusTag: null,
  /** Revision the report came from (X-Cavra-Revision). */
  revision: null,
  /** Revision whose records the record panels show (the ledger revision when there is one). */
  recordsRevision: null,
  /** report_id of the report the plan was fetched with: the plan is re-read when time moves it. */
  planReport: null,
  /** `seq` counts page changes, so a poll that fetched an older page does not undo a newer one. */
  history: { offset: 0, limit: 25, total: 0, seq: 0 },
  /** The retry plan's page (the API's largest), in the same way. */
  plan: { offset: 0, seq: 0 },
  charts: { closure: null, execution: null },
  /** The routes of the shown revision and how the table sorts them (column, 1 or -1). */
  routes: { items: [], sort: 'owner', direction: 1 },
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

function asArray(value) {
  return Array.isArray(value) ? value : [];
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

function element(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  if (options.title) node.title = options.title;
  node.append(...children);
  return node;
}

function badge(value, tone) {
  return element('span', {
    className: `badge badge-${tone ?? String(value).replace(/[^a-z]/g, '')}`,
    text: text(value),
  });
}

function cell(value, options = {}) {
  const td = document.createElement(options.header ? 'th' : 'td');
  if (options.header) td.scope = 'row';
  if (options.numeric) td.className = 'num';
  if (options.className) td.className = options.className;
  if (options.badge) {
    td.append(badge(value, options.badge));
  } else if (options.code) {
    const code = document.createElement('code');
    code.textContent = shortId(value);
    if (typeof value === 'string') code.title = value;
    td.append(code);
  } else if (options.nodes) {
    td.append(...options.nodes);
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
  const tile = document.querySelector(`[data-tile="${name}"]`);
  if (tile) tile.textContent = text(value);
}

// ---------------------------------------------------------------------------------------------
// Report: tiles, SLO table, recovery rows, latest executions, closure trends
// ---------------------------------------------------------------------------------------------

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

  const rows = asArray(report.recovery_rows);
  const playbooks = new Set(rows.map((row) => row.playbook_id));
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
    asArray(report.provider_summary).map((summary) => [
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
    rows.map((row) => [
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
    asArray(report.latest_executions).map((execution) => [
      cell(formatTime(execution.executed_at)),
      cell(execution.provider, { header: true }),
      cell(execution.execution_status, { badge: execution.execution_status }),
      cell(execution.execution_id, { code: true }),
      cell(execution.run_id, { code: true }),
    ]),
    'No retry executions yet.',
    5,
  );

  renderClosureTrends(asArray(report.closure_trends));
}

// ---------------------------------------------------------------------------------------------
// Charts (Chart.js, loaded as a classic script before this module), each with a table fallback
// ---------------------------------------------------------------------------------------------

function chartLibrary() {
  return typeof window.Chart === 'function' ? window.Chart : null;
}

function chartOptions(yTitle) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    // Charts follow the revision; animating every refresh would only distract (and blur tests).
    animation: false,
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } },
      tooltip: { enabled: true },
    },
    scales: {
      x: { stacked: true, grid: { display: false } },
      y: {
        stacked: true,
        beginAtZero: true,
        ticks: { precision: 0 },
        title: { display: true, text: yTitle },
      },
    },
  };
}

/** Draw or update one chart; with no data (or no Chart.js) show the empty note and the table. */
function drawChart(name, canvasId, data, label, yTitle) {
  const canvas = byId(canvasId);
  const card = canvas.closest('.chart-card');
  const empty = card.querySelector('.chart-empty');
  const box = card.querySelector('.chart-box');
  const hasData = data.labels.length > 0;
  empty.hidden = hasData;
  box.hidden = !hasData;
  canvas.setAttribute('aria-label', label);
  card.dataset.points = String(data.labels.length);
  const Chart = chartLibrary();
  if (!hasData || Chart === null) {
    if (Chart === null && hasData) card.classList.add('chart-unavailable');
    return;
  }
  const existing = state.charts[name];
  if (existing) {
    existing.data = data;
    existing.update();
  } else {
    state.charts[name] = new Chart(canvas, { type: 'bar', data, options: chartOptions(yTitle) });
  }
  card.dataset.rendered = 'true';
}

function renderClosureTrends(trends) {
  // The report lists days newest first; charts and tables read oldest first.
  const days = [...trends].reverse().slice(-CHART_DAYS);
  const otherOf = (day) =>
    Math.max(0, day.closure_count - CLOSURE_STATES.reduce((sum, s) => sum + (day[`${s}_count`] ?? 0), 0));
  const datasets = CLOSURE_STATES.map((closureState) => ({
    label: closureState,
    data: days.map((day) => day[`${closureState}_count`] ?? 0),
    backgroundColor: COLORS[closureState],
    stack: 'closures',
    maxBarThickness: 56,
  }));
  if (days.some((day) => otherOf(day) > 0))
    datasets.push({
      label: 'other',
      data: days.map(otherOf),
      backgroundColor: COLORS.other,
      stack: 'closures',
    });
  const summary = days
    .map((day) => {
      const parts = CLOSURE_STATES.filter((s) => (day[`${s}_count`] ?? 0) > 0).map(
        (s) => `${day[`${s}_count`]} ${s}`,
      );
      return `${day.date}: ${parts.join(', ') || `${day.closure_count} closures`}`;
    })
    .join('; ');
  drawChart(
    'closure',
    'closure-chart',
    { labels: days.map((day) => day.date), datasets: datasets.filter((d) => d.data.some((n) => n > 0)) },
    days.length > 0 ? `Closures by day and state. ${summary}.` : 'No closures recorded yet.',
    'closures',
  );
  fillTable(
    'closure-trends-table',
    days.map((day) => [
      cell(day.date, { header: true }),
      ...CLOSURE_STATES.map((s) => cell(day[`${s}_count`] ?? 0, { numeric: true })),
      cell(day.closure_count, { numeric: true }),
    ]),
    'No closures recorded yet.',
    7,
  );
}

function renderExecutionTrends(trends) {
  const items = asArray(trends.items);
  const dates = asArray(trends.dates).slice(-CHART_DAYS);
  const shown = new Set(dates);
  const statuses = asArray(trends.statuses);
  // One bar per (day, provider) that has executions, stacked by outcome.
  const groups = [];
  const counts = new Map();
  for (const item of items) {
    if (!shown.has(item.date)) continue;
    const group = `${item.date}\u0000${item.provider}`;
    if (!counts.has(group)) {
      counts.set(group, {});
      groups.push({ date: item.date, provider: item.provider, key: group });
    }
    counts.get(group)[item.execution_status] = item.count;
  }
  const datasets = statuses.map((status) => ({
    label: status,
    data: groups.map((group) => counts.get(group.key)[status] ?? 0),
    backgroundColor: COLORS[status] ?? COLORS.other,
    maxBarThickness: 56,
  }));
  const summary = groups
    .map((group) => {
      const parts = statuses
        .filter((status) => (counts.get(group.key)[status] ?? 0) > 0)
        .map((status) => `${counts.get(group.key)[status]} ${status}`);
      return `${group.date} ${group.provider}: ${parts.join(', ')}`;
    })
    .join('; ');
  drawChart(
    'execution',
    'execution-chart',
    { labels: groups.map((group) => [group.provider, group.date]), datasets },
    groups.length > 0
      ? `Executions per provider and day, by outcome. ${summary}.`
      : 'No retry executions recorded yet.',
    'executions',
  );
  fillTable(
    'execution-trends-table',
    groups.map((group) => [
      cell(group.date),
      cell(group.provider, { header: true }),
      ...['delivered', 'failed', 'skipped', 'unknown'].map((status) =>
        cell(counts.get(group.key)[status] ?? 0, { numeric: true }),
      ),
    ]),
    'No retry executions recorded yet.',
    6,
  );
}

// ---------------------------------------------------------------------------------------------
// Retry plan
// ---------------------------------------------------------------------------------------------

/** Tone of a reason's badge: done, waiting on time or the reconciler, waiting on a person, blocked. */
function reasonTone(reason, step) {
  if (reason === 'delivered' || reason === 'executed') return 'ok';
  if (step && step.action === 'commit') return 'person';
  if (step && step.action === 'fix') return 'bad';
  if (reason === 'approval_denied' || reason === 'max_attempts_reached') return 'bad';
  return 'wait';
}

function describeDecision(decision) {
  const nodes = [element('span', { text: text(decision.action) })];
  if (decision.execute === true) nodes.push(' ', badge('executes now', 'ok'));
  if (typeof decision.attempts === 'number') {
    nodes.push(
      element('span', {
        className: 'subtle',
        text: ` ${decision.attempts} attempt${decision.attempts === 1 ? '' : 's'}`,
      }),
    );
  }
  return nodes;
}

function describeManifestRef(manifest, personField) {
  if (!manifest || typeof manifest !== 'object')
    return [element('span', { className: 'subtle', text: 'none' })];
  const nodes = [element('code', { text: text(manifest.name) }), ' ', badge(manifest.state, manifest.state)];
  if (personField && manifest[personField])
    nodes.push(element('span', { className: 'subtle', text: ` by ${manifest[personField]}` }));
  return nodes;
}

async function copyManifest(button, pre) {
  const status = byId('copy-status');
  try {
    await navigator.clipboard.writeText(pre.textContent ?? '');
    button.textContent = 'Copied';
    status.textContent = 'Manifest copied to the clipboard.';
  } catch {
    // No clipboard permission (e.g. plain HTTP on another host): select it for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    button.textContent = 'Selected: press Ctrl+C';
    status.textContent = 'The manifest is selected; press Ctrl+C to copy it.';
  }
}

function describeNextStep(step, index) {
  if (!step || typeof step !== 'object') return [element('span', { className: 'subtle', text: '—' })];
  const nodes = [element('p', { className: 'step-summary', text: text(step.summary) })];
  if (typeof step.manifest === 'string' && step.manifest !== '') {
    const pre = element('pre', { className: 'manifest' }, [element('code', { text: step.manifest })]);
    pre.id = `manifest-${index}`;
    pre.tabIndex = 0;
    pre.setAttribute('aria-label', `${text(step.kind)} manifest`);
    const copy = element('button', { className: 'copy', text: 'Copy manifest' });
    copy.type = 'button';
    copy.setAttribute('aria-controls', pre.id);
    copy.addEventListener('click', () => void copyManifest(copy, pre));
    const summary = element('summary', { text: `Show the ${text(step.kind)} to commit` });
    const where = element('p', { className: 'step-path' }, [
      'Save as ',
      element('code', { text: text(step.path) }),
      ', edit the person field, then open a pull request.',
    ]);
    nodes.push(element('details', { className: 'next-step' }, [summary, where, pre, copy]));
  }
  return nodes;
}

function renderPlan(plan) {
  // The API pages the plan in the order to work through it (keys waiting for a person first,
  // then those executing on the next run); its counts cover every key.
  const decisions = asArray(plan && plan.decisions);
  const note = byId('plan-note');
  const total = plan && typeof plan.decision_count === 'number' ? plan.decision_count : decisions.length;
  if (plan && typeof plan.evaluated_at === 'string') {
    note.textContent = `Evaluated at ${formatTime(plan.evaluated_at)}: ${total} key${total === 1 ? '' : 's'}, ${plan.execute_count ?? 0} executing on the next run, ${plan.waiting_count ?? 0} waiting for a manifest.`;
  }
  renderPlanPager(decisions.length, total);
  const keyOf = (d) => (d.key && typeof d.key === 'object' ? d.key : {});
  fillTable(
    'plan-table',
    decisions.map((decision, index) => {
      const key = keyOf(decision);
      const row = [
        cell(null, {
          header: true,
          nodes: [
            element('span', { className: 'key-delivery', text: text(key.delivery_id) }),
            element('span', { className: 'key-provider', text: text(key.provider) }),
          ],
        }),
        cell(null, { nodes: describeDecision(decision) }),
        cell(null, { nodes: describeManifestRef(decision.approval, 'decided_by') }),
        cell(null, { nodes: describeManifestRef(decision.acknowledgement) }),
        cell(decision.reason, { badge: `tone-${reasonTone(decision.reason, decision.next_step)}` }),
        cell(null, { nodes: describeNextStep(decision.next_step, index) }),
      ];
      return row;
    }),
    plan ? 'No keys: no AuditDelivery selects a provider yet.' : 'The retry plan is not available.',
    6,
  );
  byId('plan-table').dataset.reasons = decisions.map((d) => d.reason).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Audit package routes (by owner and state) and suppressed keys
// ---------------------------------------------------------------------------------------------

const ROUTE_COLUMNS = ['owner', 'state', 'provider', 'route_id', 'delivery_id'];
const ROUTE_COLUMN_NAMES = {
  owner: 'owner',
  state: 'state',
  provider: 'provider',
  route_id: 'route',
  delivery_id: 'delivery',
};

/** Code-unit order, as the API sorts (never locale order: the same in every browser). */
function compareText(a, b) {
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The chosen column first, then the others in the API's order, so equal values stay grouped. */
function compareRoutes(a, b) {
  const { sort, direction } = state.routes;
  const first = compareText(a[sort], b[sort]) * direction;
  if (first !== 0) return first;
  for (const column of ROUTE_COLUMNS) {
    const next = compareText(a[column], b[column]);
    if (next !== 0) return next;
  }
  return 0;
}

function renderRouteCounts(body) {
  const table = byId('route-counts-table');
  const states = asArray(body && body.states);
  const owners = asArray(body && body.owners);
  const counts = new Map();
  for (const entry of asArray(body && body.owner_state_counts)) {
    counts.set(JSON.stringify([entry.owner, entry.state]), entry.count);
  }
  const countOf = (owner, routeState) => counts.get(JSON.stringify([owner, routeState])) ?? 0;

  const head = document.createElement('tr');
  const ownerHead = element('th', { text: 'Owner' });
  ownerHead.scope = 'col';
  head.append(ownerHead);
  for (const routeState of states) {
    const th = element('th', { className: 'num', text: text(routeState) });
    th.scope = 'col';
    head.append(th);
  }
  const totalHead = element('th', { className: 'num', text: 'Total' });
  totalHead.scope = 'col';
  head.append(totalHead);
  table.querySelector('thead').replaceChildren(head);

  fillTable(
    'route-counts-table',
    owners.map((owner) => {
      const row = states.map((routeState) => countOf(owner, routeState));
      return [
        cell(owner, { header: true }),
        ...row.map((n) => cell(n, { numeric: true })),
        cell(
          row.reduce((sum, n) => sum + n, 0),
          { numeric: true },
        ),
      ];
    }),
    body ? 'No delivered audit package lists a route yet.' : 'The routes are not available.',
    states.length + 2,
  );

  const foot = table.querySelector('tfoot');
  if (owners.length === 0) {
    foot.replaceChildren();
    return;
  }
  const totals = states.map((routeState) =>
    owners.reduce((sum, owner) => sum + countOf(owner, routeState), 0),
  );
  const all = document.createElement('tr');
  all.append(
    cell('All owners', { header: true }),
    ...totals.map((n) => cell(n, { numeric: true })),
    cell(
      totals.reduce((sum, n) => sum + n, 0),
      { numeric: true },
    ),
  );
  foot.replaceChildren(all);
}

function renderRoutesTable() {
  const sorted = [...state.routes.items].sort(compareRoutes);
  const groupColumn = state.routes.sort;
  fillTable(
    'routes-table',
    sorted.map((route) => [
      cell(route.owner, { header: true }),
      cell(route.state, { badge: route.state }),
      cell(route.provider),
      // Route ids are short names, not hashes: shown whole.
      cell(null, { nodes: [element('code', { text: text(route.route_id) })] }),
      cell(route.delivery_id),
    ]),
    'No routes: no delivered audit package lists one.',
    5,
  );
  // A heavier rule where the sorted-by value changes, so each group reads as one block.
  const rows = byId('routes-table').querySelectorAll('tbody tr');
  sorted.forEach((route, index) => {
    const previous = sorted[index - 1];
    if (previous && previous[groupColumn] !== route[groupColumn]) rows[index]?.classList.add('group-start');
  });
  for (const th of byId('routes-table').querySelectorAll('thead th')) {
    const column = th.querySelector('button')?.dataset.sort;
    th.setAttribute(
      'aria-sort',
      column === state.routes.sort ? (state.routes.direction === 1 ? 'ascending' : 'descending') : 'none',
    );
  }
}

function renderRoutes(body) {
  const items = asArray(body && body.items);
  state.routes.items = items;
  renderRouteCounts(body);
  renderRoutesTable();
  const note = byId('routes-note');
  if (body && typeof body.total === 'number') {
    const deliveries = `${text(body.delivery_count)} delivered package${body.delivery_count === 1 ? '' : 's'}`;
    const shown = body.total > items.length ? ` (the first ${items.length} are listed)` : '';
    const missing = asArray(body.missing_deliveries);
    const gone =
      missing.length > 0
        ? ` Delivered but no longer in the repository (no package to show): ${missing.join(', ')}.`
        : '';
    note.textContent = `${body.total} route${body.total === 1 ? '' : 's'} of ${deliveries}, by owner and state${shown}.${gone}`;
  }
  byId('routes-table').dataset.count = String(items.length);
}

function sortRoutesBy(column) {
  if (!ROUTE_COLUMNS.includes(column)) return;
  if (state.routes.sort === column) state.routes.direction = -state.routes.direction;
  else state.routes = { ...state.routes, sort: column, direction: 1 };
  renderRoutesTable();
  byId('sort-status').textContent =
    `Routes sorted by ${ROUTE_COLUMN_NAMES[column]}, ${state.routes.direction === 1 ? 'ascending' : 'descending'}.`;
}

function renderSuppressions(body) {
  const items = asArray(body && body.items);
  fillTable(
    'suppression-counts-table',
    asArray(body && body.provider_counts).map((entry) => [
      cell(entry.provider, { header: true }),
      cell(entry.suppressed_count, { numeric: true }),
    ]),
    body ? 'None: no key has reached its attempt limit.' : 'Not available.',
    2,
  );
  fillTable(
    'suppressions-table',
    items.map((item) => [
      cell(item.delivery_id, { header: true }),
      cell(item.provider),
      cell(item.attempts, { numeric: true }),
      cell(item.max_retry_attempts, { numeric: true }),
      cell(formatTime(item.latest_failure_at)),
      cell(
        item.latest_status_code === null || item.latest_status_code === undefined
          ? text(item.latest_error)
          : `${item.latest_status_code} · ${text(item.latest_error)}`,
        { className: 'error-text' },
      ),
    ]),
    body
      ? 'No suppressed keys: every failed key can still be retried.'
      : 'The suppression summary is not available.',
    6,
  );
  byId('suppressions-table').dataset.count = String(items.length);
  if (body && typeof body.suppressed_count === 'number') {
    byId('suppressions-note').textContent =
      body.suppressed_count === 0
        ? `Evaluated at ${formatTime(body.evaluated_at)}: no key has reached its attempt limit.`
        : `Evaluated at ${formatTime(body.evaluated_at)}: ${body.suppressed_count} key${body.suppressed_count === 1 ? '' : 's'} reached the attempt limit; nothing is retried for them (a new AuditDelivery starts over).`;
  }
}

// ---------------------------------------------------------------------------------------------
// Reconciler status
// ---------------------------------------------------------------------------------------------

function setFact(name, value, title) {
  const fact = document.querySelector(`[data-fact="${name}"]`);
  if (!fact) return;
  fact.textContent = text(value);
  fact.title = title ?? '';
}

function renderStatus(status) {
  const run = status.last_run;
  if (run && run.source === 'process') {
    setFact('when', formatTime(run.finished_at));
    setFact('outcome', run.outcome, run.message);
    setFact('revision', run.revision ? run.revision.slice(0, 12) : '—', run.revision ?? '');
    setFact(
      'did',
      `${run.calls} call${run.calls === 1 ? '' : 's'}, ${run.delivered} delivered, ${run.failed} failed, ${run.commit_count} commit${run.commit_count === 1 ? '' : 's'}`,
      run.message,
    );
    byId('last-run-short').textContent = `${formatTime(run.finished_at)} · ${run.outcome}`;
  } else if (run && run.source === 'records') {
    setFact('when', `${formatTime(run.started_at)} (started)`);
    setFact('outcome', `recorded by ${run.replica_id}`, run.run_id);
    setFact(
      'revision',
      run.source_revision ? run.source_revision.slice(0, 12) : '—',
      run.source_revision ?? '',
    );
    setFact(
      'did',
      `${run.delivery_count} deliveries, ${run.execution_count} executions, ${run.playbook_count} playbooks, ${run.closure_count} closures`,
    );
    byId('last-run-short').textContent = formatTime(run.started_at);
  } else {
    for (const name of ['when', 'outcome', 'revision', 'did']) setFact(name, null);
    byId('last-run-short').textContent = 'none yet';
  }
  const error = status.last_error;
  if (error && typeof error.message === 'string') {
    setFact('error', `${formatTime(error.at)}: ${error.message}`);
  } else {
    setFact(
      'error',
      status.process && status.process.observes_runs
        ? 'none'
        : 'not known here (this server runs no reconcile loop)',
    );
  }

  const conditions = asArray(status.conditions);
  const toneOf = (condition) => {
    const good = condition.type === 'Ready' ? 'True' : 'False';
    if (condition.type === 'Reconciling') return condition.status === 'True' ? 'tone-wait' : 'tone-ok';
    return condition.status === good ? 'tone-ok' : 'tone-bad';
  };
  fillTable(
    'conditions-table',
    conditions.map((condition) => [
      cell(condition.type, { header: true }),
      cell(condition.status, { badge: toneOf(condition) }),
      cell(condition.reason),
      cell(condition.message),
    ]),
    'The reconciler has not committed a status yet.',
    4,
  );
  fillTable(
    'skipped-table',
    asArray(status.skipped_manifests).map((manifest) => [
      cell(`${manifest.file}${manifest.document > 0 ? ` #${manifest.document + 1}` : ''}`, { header: true }),
      cell(manifest.kind),
      cell(manifest.name),
      cell(manifest.reason, { badge: 'tone-bad' }),
      cell(manifest.message),
    ]),
    'None: every manifest document is valid.',
    5,
  );
}

// ---------------------------------------------------------------------------------------------
// History (paged)
// ---------------------------------------------------------------------------------------------

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
  const items = asArray(page.items);
  fillTable(
    'history-table',
    items.map((item) => {
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
  const total = typeof page.total === 'number' ? page.total : items.length;
  state.history.total = total;
  renderPager('history', 'Records', state.history.offset, items.length, total);
}

/** A pager's range (`<noun> first–last of total`) and its `<name>-prev`/`<name>-next` buttons. */
function renderPager(name, noun, offset, shown, total) {
  const first = shown === 0 ? 0 : offset + 1;
  const last = offset + shown;
  byId(`${name}-range`).textContent =
    total === 0 ? `No ${noun.toLowerCase()}` : `${noun} ${first}–${last} of ${total}`;
  const prev = byId(`${name}-prev`);
  const next = byId(`${name}-next`);
  // A button that gets disabled while focused would drop the focus to the page: hand it over.
  const focused = document.activeElement;
  prev.disabled = offset === 0;
  next.disabled = last >= total;
  if (focused === next && next.disabled && !prev.disabled) prev.focus();
  if (focused === prev && prev.disabled && !next.disabled) next.focus();
}

function historyUrl() {
  const params = new URLSearchParams({
    limit: String(state.history.limit),
    offset: String(state.history.offset),
  });
  if (state.recordsRevision) params.set('at', state.recordsRevision);
  return `${BASE}?${params}`;
}

/** The history page at the current offset (moved back when the records no longer reach it). */
async function fetchHistoryPage() {
  const page = (await fetchJson(historyUrl(), null)).body;
  if (page.total > 0 && state.history.offset >= page.total) {
    state.history.offset = Math.floor((page.total - 1) / state.history.limit) * state.history.limit;
    return (await fetchJson(historyUrl(), null)).body;
  }
  return page;
}

async function pageHistory(offset) {
  state.history.offset = Math.max(0, offset);
  const seq = ++state.history.seq;
  try {
    const page = await fetchHistoryPage();
    if (seq === state.history.seq) renderHistory(page);
  } catch (error) {
    // The next poll fetches this page again with everything else.
    state.revision = null;
    setConnection(`Cannot load the history (${messageOf(error)}); retrying.`, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Fetching and polling
// ---------------------------------------------------------------------------------------------

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

function setConnection(message, problem = false) {
  const connection = byId('connection');
  connection.textContent = message;
  connection.classList.toggle('connection-problem', problem);
}

async function fetchJson(url, etag) {
  const headers = { Accept: 'application/json' };
  if (etag) headers['If-None-Match'] = etag;
  // no-store: the browser cache must not answer for us; our own If-None-Match makes it cheap.
  const response = await fetch(url, { headers, cache: 'no-store' });
  if (response.status === 304) {
    // Read the (empty) body to its end: a response dropped unread is cancelled when it is
    // collected, which the browser reports as an aborted request.
    await response.arrayBuffer();
    return { changed: false, response };
  }
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

function atQuery() {
  return state.recordsRevision ? `?at=${encodeURIComponent(state.recordsRevision)}` : '';
}

/** Which keys of the plan the table shows; the pager only when there is more than one page. */
function renderPlanPager(shown, total) {
  byId('plan-pager').hidden = total <= PAGE_LIMIT && state.plan.offset === 0;
  renderPager('plan', 'Keys', state.plan.offset, shown, total);
}

async function pagePlan(offset) {
  state.plan.offset = Math.max(0, offset);
  const seq = ++state.plan.seq;
  const result = await fetchPlan();
  if (seq === state.plan.seq) applyPlan(result);
}

/** The plan, or the reason it is not available (a server without a planner answers 503). */
async function fetchPlan() {
  try {
    const params = new URLSearchParams({ limit: String(PAGE_LIMIT), offset: String(state.plan.offset) });
    if (state.recordsRevision) params.set('at', state.recordsRevision);
    const plan = (await fetchJson(`${PLAN_URL}?${params}`, null)).body;
    // Fewer keys than the page's offset now (the revision moved on): show the last page.
    if (plan.total > 0 && state.plan.offset >= plan.total) {
      state.plan.offset = Math.floor((plan.total - 1) / PAGE_LIMIT) * PAGE_LIMIT;
      return fetchPlan();
    }
    return { plan };
  } catch (error) {
    return { error };
  }
}

/** The suppression summary, or why it is not available (it needs the planner, like the plan). */
async function fetchSuppressions() {
  try {
    return { body: (await fetchJson(`${SUPPRESSIONS_URL}${atQuery()}`, null)).body };
  } catch (error) {
    return { error };
  }
}

function applySuppressions(result) {
  renderSuppressions(result.body ?? null);
  if (result.error !== undefined) {
    byId('suppressions-note').textContent =
      `The suppression summary is not available: ${messageOf(result.error)}`;
  }
}

function routesUrl() {
  const params = new URLSearchParams({ limit: String(PAGE_LIMIT) });
  if (state.recordsRevision) params.set('at', state.recordsRevision);
  return `${ROUTES_URL}?${params}`;
}

function applyPlan(result) {
  renderPlan(result.plan ?? null);
  if (result.error !== undefined) {
    byId('plan-note').textContent = `The retry plan is not available: ${messageOf(result.error)}`;
  }
}

function applyStatus(result) {
  if (!result.changed) return;
  renderStatus(result.body);
  state.statusTag = result.response.headers.get('ETag');
}

async function poll() {
  if (state.inFlight) return;
  state.inFlight = true;
  try {
    const result = await fetchJson(REPORT_URL, state.reportTag);
    const revision = result.response.headers.get('X-Cavra-Revision');
    // With a ledger branch, records move on while the tracked revision stays put.
    const recordsRevision = result.response.headers.get('X-Cavra-Ledger-Revision') ?? revision;
    // Checked on a 304 too: a fetch that failed last time is retried, not forgotten.
    const recordsChanged = recordsRevision !== state.recordsRevision || revision !== state.revision;
    // The plan moves with the revision and with time (delays end): re-read it when either moved.
    const reportId = result.changed ? result.body.report.report_id : state.planReport;
    const planDue = recordsChanged || reportId !== state.planReport;
    state.recordsRevision = recordsRevision;
    const historySeq = state.history.seq;
    const planSeq = state.plan.seq;
    // Everything of one revision is fetched together and shown together.
    const [history, trends, plan, status, routes, suppressions] = await Promise.all([
      recordsChanged ? fetchHistoryPage() : null,
      recordsChanged ? fetchJson(`${EXECUTION_TRENDS_URL}${atQuery()}`, null) : null,
      planDue ? fetchPlan() : null,
      fetchJson(STATUS_URL, state.statusTag),
      recordsChanged ? fetchJson(routesUrl(), null) : null,
      planDue ? fetchSuppressions() : null,
    ]);
    if (result.changed) {
      renderReport(result.body.report, revision);
      state.reportTag = result.response.headers.get('ETag');
    }
    if (history && historySeq === state.history.seq) renderHistory(history);
    if (trends) renderExecutionTrends(trends.body);
    if (plan && planSeq === state.plan.seq) {
      applyPlan(plan);
      state.planReport = reportId;
    }
    applyStatus(status);
    if (routes) renderRoutes(routes.body);
    if (suppressions) applySuppressions(suppressions);
    state.revision = revision;
    if (recordsChanged) document.body.dataset.revision = revision ?? '';
    if (recordsChanged || byId('connection').classList.contains('connection-problem')) {
      setConnection(`Up to date with revision ${revision ? revision.slice(0, 12) : 'unknown'}.`);
    }
  } catch (error) {
    // Forget the revision so everything it feeds is fetched again on the next poll.
    state.revision = null;
    setConnection(`Cannot reach the API (${messageOf(error)}); retrying.`, true);
  } finally {
    state.inFlight = false;
    schedule();
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
}

function setUpChartDefaults() {
  const Chart = chartLibrary();
  if (Chart === null) return;
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = '#57606a';
}

byId('refresh').addEventListener('click', () => {
  clearTimeout(state.timer);
  void poll();
});
byId('plan-prev').addEventListener('click', () => void pagePlan(state.plan.offset - PAGE_LIMIT));
byId('plan-next').addEventListener('click', () => void pagePlan(state.plan.offset + PAGE_LIMIT));
byId('history-prev').addEventListener(
  'click',
  () => void pageHistory(state.history.offset - state.history.limit),
);
byId('history-next').addEventListener(
  'click',
  () => void pageHistory(state.history.offset + state.history.limit),
);
byId('history-limit').addEventListener('change', (event) => {
  const limit = Number(event.target.value);
  state.history.limit = Number.isInteger(limit) && limit > 0 ? limit : 25;
  void pageHistory(0);
});
for (const button of document.querySelectorAll('#routes-table thead button.sort')) {
  button.addEventListener('click', () => sortRoutesBy(button.dataset.sort));
}
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    clearTimeout(state.timer);
    void poll();
  }
});

setUpChartDefaults();
void poll();
