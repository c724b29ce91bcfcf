/**
 * The Evidence Console in real Chromium over a real repository: it shows the report's numbers,
 * and when a closure lands on the tracked branch it updates itself (no reload) to the new revision.
 */
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, createTempDir, git } from '../helpers/git-fixtures.js';
import { join } from 'node:path';
import { openGitStore } from '../../src/git/index.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { reconcileOnce } from '../../src/reconciler/run-once.js';
import { FLOW_BASE } from '../../src/api/app.js';
import { PLAYBOOK_A, closureManifest } from '../api/fixtures.js';
import { startFixtureServer, type FixtureServer } from '../api/fixture-server.js';
import { CHROMIUM_ARGS } from './chromium.js';

/**
 * Commit a RecoveryClosure manifest as an operator would, then let the real reconciler record it:
 * one `reconcile --once --no-push` run against a clone of the repository (no connector call is
 * made without a pushed claim), whose local commit the repository then fast-forwards to.
 */
async function recordClosureInRepo(
  repoDir: string,
  playbookId: string,
  provider: string,
  closedAt: string,
): Promise<string> {
  await commitFiles(
    repoDir,
    {
      [`manifests/closures/${provider}.yaml`]: closureManifest(
        `close-${provider}`,
        playbookId,
        provider,
        closedAt,
      ),
    },
    `close ${provider}`,
    { date: closedAt },
  );
  const state = await createTempDir('cavra-console-state-');
  try {
    const store = await openGitStore({
      remote: repoDir,
      stateDir: state.dir,
      branch: 'main',
      replicaId: 'console-test',
    });
    try {
      const result = await reconcileOnce({
        store,
        branch: 'main',
        ledgerBranch: null,
        replicaId: 'console-test',
        clock: { now: () => new Date(closedAt) },
        leaseMinutes: 10,
        push: false,
        shard: null,
        connectorFor: () => {
          throw new Error('no connector call is made with --no-push');
        },
        logger: await createSilentLogger(),
      });
      const recorded = result.commits.at(-1);
      if (!recorded) throw new Error('the reconciler recorded nothing');
      await git(repoDir, ['fetch', '-q', join(state.dir, 'repo.git'), recorded]);
      await git(repoDir, ['merge', '-q', '--ff-only', recorded]);
      return recorded;
    } finally {
      await store.close();
    }
  } finally {
    await state.cleanup();
  }
}

let server: FixtureServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  server = await startFixtureServer();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function tiles(): Promise<Record<string, string>> {
  return page.$$eval('[data-tile]', (elements) =>
    Object.fromEntries(
      elements.map((element) => [element.getAttribute('data-tile') ?? '', element.textContent ?? '']),
    ),
  );
}

async function tableRows(selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => (cell.textContent ?? '').trim())),
  );
}

describe('Evidence Console', () => {
  it('shows the SLO table, then follows a committed closure without reloading', async () => {
    await page.goto(`${server.url}/console/`);
    await page.waitForSelector(`body[data-revision="${server.repo.second}"]`, { timeout: 10_000 });

    expect(await tiles()).toEqual({
      executions: '2',
      failed: '1',
      playbooks: '2',
      closed: '1',
      open: '2',
      breached: '1',
      emergency: '0 (0)',
    });
    expect(await tableRows('#slo-table')).toEqual([
      ['archive', '0', '0', '1', '0', '—'],
      ['ops-webhook', '2', '1', '1', '1', '—'],
      ['siem-splunk', '0', '0', '0', '0', '2026-06-28 09:00 UTC'],
    ]);
    expect((await tableRows('#rows-table')).map((row) => [row[0], row[1]])).toEqual([
      ['breached', 'ops-webhook'],
      ['open', 'archive'],
      ['closed', 'siem-splunk'],
    ]);
    expect(await page.textContent('#alert-level')).toContain('critical');
    expect(await page.textContent('#revision')).toBe(server.repo.second.slice(0, 12));
    expect((await tableRows('#history-table')).length).toBe(8);

    // Marks this document: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { consoleMarker: number }).consoleMarker = 42;
    });
    const closed = await recordClosureInRepo(
      server.repo.dir,
      PLAYBOOK_A.playbook_id,
      'ops-webhook',
      '2026-06-28T12:00:00Z',
    );
    server.setTip(closed);

    await page.waitForSelector(`body[data-revision="${closed}"]`, { timeout: 10_000 });
    expect(await tiles()).toEqual({
      executions: '2',
      failed: '1',
      playbooks: '2',
      closed: '2',
      open: '1',
      breached: '0',
      emergency: '0 (0)',
    });
    expect((await tableRows('#slo-table'))[1]).toEqual([
      'ops-webhook',
      '2',
      '1',
      '0',
      '0',
      '2026-06-28 12:00 UTC',
    ]);
    expect(await page.evaluate(() => (window as unknown as { consoleMarker?: number }).consoleMarker)).toBe(
      42,
    );
    expect(await page.textContent('#revision')).toBe(closed.slice(0, 12));

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/console.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('is usable with the keyboard: skip link first, then the refresh button', async () => {
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    const refresh = page.locator('#refresh');
    await refresh.focus();
    await page.keyboard.press('Enter');
    const headers = await page.$$eval('table', (tables) =>
      tables.map(
        (table) =>
          Boolean(table.querySelector('caption')) &&
          table.querySelectorAll('thead th[scope="col"]').length > 0,
      ),
    );
    expect(headers.every(Boolean)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});

/**
 * A stand-in for the API (Playwright intercepts the console's requests), to put the console in
 * states the fixture repository does not reach: a ledger branch, a history request that fails.
 */
function fakeApi(page: Page) {
  const api = {
    revision: 'a'.repeat(40),
    ledger: null as string | null,
    failHistory: 0,
    historyAts: [] as string[],
  };
  const report = {
    alert_level: 'healthy',
    generated_at: '2026-06-28T12:00:00.000Z',
    recovery_slo_minutes: 240,
    execution_count: 0,
    execution_failed_count: 0,
    recovery_closed_count: 0,
    recovery_open_count: 0,
    recovery_slo_breached_count: 0,
    provider_summary: [],
    recovery_rows: [],
    latest_executions: [],
  };
  const json = (body: unknown, headers: Record<string, string> = {}, status = 200) => ({
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const route = page.route(`**${FLOW_BASE}**`, async (intercepted) => {
    const url = new URL(intercepted.request().url());
    const revisions: Record<string, string> = { 'X-Cavra-Revision': api.revision };
    if (api.ledger !== null) revisions['X-Cavra-Ledger-Revision'] = api.ledger;
    if (url.pathname === FLOW_BASE) {
      const at = url.searchParams.get('at') ?? '';
      api.historyAts.push(at);
      if (api.failHistory > 0) {
        api.failHistory -= 1;
        await intercepted.fulfill(json({ error: { code: 'internal', message: 'boom' } }, {}, 500));
        return;
      }
      const item = {
        metadata_kind: 'delivery-record',
        created_at: '2026-06-28T12:00:00.000Z',
        provider: `provider-${at.slice(0, 6)}`,
        delivery_success: true,
        metadata_id: `id-${at}`,
      };
      await intercepted.fulfill(json({ items: [item], total: 1, limit: 25, offset: 0 }, revisions));
      return;
    }
    const etag = `"${api.revision}:${api.ledger ?? ''}"`;
    if (intercepted.request().headers()['if-none-match'] === etag) {
      await intercepted.fulfill({ status: 304, headers: { etag, ...revisions } });
      return;
    }
    await intercepted.fulfill(json({ report, metadata: {} }, { etag, ...revisions }));
  });
  return { api, ready: route };
}

describe('Evidence Console against a stand-in API', () => {
  let fake: Page;
  beforeAll(async () => {
    fake = await browser.newPage();
  });
  afterAll(async () => {
    await fake?.close();
  });

  async function historyProviders(): Promise<string[]> {
    return fake.$$eval('#history-table tbody th', (cells) => cells.map((cell) => cell.textContent ?? ''));
  }

  async function waitForHistory(provider: string): Promise<void> {
    await fake.locator('#refresh').click();
    await fake.waitForFunction(
      (expected) => document.querySelector('#history-table tbody th')?.textContent === expected,
      provider,
      { timeout: 10_000 },
    );
  }

  it('refreshes the history when only the ledger revision moves, pinned to that revision', async () => {
    const { api, ready } = fakeApi(fake);
    await ready;
    api.ledger = 'b'.repeat(40);
    await fake.goto(`${server.url}/console/`);
    await fake.waitForSelector(`body[data-revision="${api.revision}"]`, { timeout: 10_000 });
    expect(await historyProviders()).toEqual(['provider-bbbbbb']);

    api.ledger = 'c'.repeat(40);
    await waitForHistory('provider-cccccc');
    expect(api.historyAts).toEqual(['b'.repeat(40), 'c'.repeat(40)]);
  });

  it('retries a history request that failed even when the report then answers 304', async () => {
    const { api, ready } = fakeApi(fake);
    await ready;
    api.failHistory = 1;
    api.revision = 'd'.repeat(40);
    api.ledger = null;
    await waitForHistory('provider-dddddd');
    expect(api.historyAts.slice(-2)).toEqual(['d'.repeat(40), 'd'.repeat(40)]);
    expect(await fake.textContent('#connection')).toContain(`revision ${'d'.repeat(12)}`);
  });
});
