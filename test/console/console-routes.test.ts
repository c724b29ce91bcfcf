/**
 * The Evidence Console's routes and suppression views in real Chromium over a repository written
 * by real reconcile runs (test/helpers/routes-scenario.ts): first at the revision of the first run
 * (routes of two delivered packages, no key at its limit: the empty state), then, without a
 * reload, at the tip (three suppressed keys by provider; the undelivered package's routes stay
 * out). Route owners and ids hold HTML that must show as text and never run.
 */
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HOSTILE_OWNER,
  HOSTILE_ROUTE,
  ROUTES_CANARY,
  createRoutesScenario,
  startRoutesServer,
  type RoutesScenario,
  type RoutesServer,
} from '../helpers/routes-scenario.js';
import { CHROMIUM_ARGS } from './chromium.js';

let scenario: RoutesScenario;
let server: RoutesServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  scenario = await createRoutesScenario();
  server = await startRoutesServer(scenario, scenario.firstRun);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    pageErrors.push(`dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await scenario?.cleanup();
});

/** Cell texts of a table section, row by row. */
async function tableRows(selector: string, section = 'tbody'): Promise<string[][]> {
  return page.$$eval(`${selector} ${section} tr`, (rows) =>
    rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => (cell.textContent ?? '').trim())),
  );
}

async function headers(selector: string): Promise<string[]> {
  return page.$$eval(`${selector} thead th`, (cells) => cells.map((cell) => (cell.textContent ?? '').trim()));
}

const ROUTES_BY_OWNER = [
  [HOSTILE_OWNER, 'outstanding', 'siem-hook', HOSTILE_ROUTE, 'drill-a'],
  ['identity-oncall', 'resolved', 'ops-webhook', 'route-identity', 'drill-b'],
  ['payments-sre', 'acknowledged', 'ops-webhook', 'route-cards', 'drill-a'],
  ['payments-sre', 'acknowledged', 'ops-webhook', 'route-payments', 'drill-a'],
  ['payments-sre', 'escalated', 'ops-webhook', 'route-payments', 'drill-b'],
  ['payments-sre', 'escalated', 'siem-hook', 'route-ledger', 'drill-a'],
];

describe('Evidence Console: audit package routes and suppressed keys', () => {
  it('shows the routes by owner and state, and the empty state when no key is at its limit', async () => {
    await page.goto(`${server.url}/console/`);
    await page.waitForSelector(`body[data-revision="${scenario.firstRun}"]`, { timeout: 10_000 });

    expect(await headers('#route-counts-table')).toEqual([
      'Owner',
      'acknowledged',
      'escalated',
      'outstanding',
      'resolved',
      'Total',
    ]);
    expect(await tableRows('#route-counts-table')).toEqual([
      [HOSTILE_OWNER, '0', '0', '1', '0', '1'],
      ['identity-oncall', '0', '0', '0', '1', '1'],
      ['payments-sre', '2', '2', '0', '0', '4'],
    ]);
    expect(await tableRows('#route-counts-table', 'tfoot')).toEqual([
      ['All owners', '2', '2', '1', '1', '6'],
    ]);
    expect(await tableRows('#routes-table')).toEqual(ROUTES_BY_OWNER);
    expect(await page.textContent('#routes-note')).toBe(
      '6 routes of 2 delivered packages, by owner and state.',
    );

    expect(await tableRows('#suppression-counts-table')).toEqual([
      ['None: no key has reached its attempt limit.'],
    ]);
    expect(await tableRows('#suppressions-table')).toEqual([
      ['No suppressed keys: every failed key can still be retried.'],
    ]);
    expect(await page.textContent('#suppressions-note')).toBe(
      'Evaluated at 2026-07-01 12:00 UTC: no key has reached its attempt limit.',
    );
    expect(pageErrors.join('\n')).toBe('');
  });

  it('shows hostile owner and route text as text: no element is injected, no script runs', async () => {
    // The markup is in the page as characters...
    const ownerCell = page.locator('#routes-table tbody tr:first-child th');
    expect(await ownerCell.textContent()).toBe(HOSTILE_OWNER);
    expect(await page.textContent('#routes-table tbody tr:first-child code')).toBe(HOSTILE_ROUTE);
    // ...and never as elements or a run script.
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await ownerCell.evaluate((cell) => cell.childElementCount)).toBe(0);
  });

  it('sorts the routes by a column heading, keyboard and mouse, and says so', async () => {
    const providerHeading = page.locator('#routes-table thead th:nth-child(3)');
    expect(await page.getAttribute('#routes-table thead th:nth-child(1)', 'aria-sort')).toBe('ascending');
    await page.focus('#routes-table thead th:nth-child(3) button');
    await page.keyboard.press('Enter');
    expect(await providerHeading.getAttribute('aria-sort')).toBe('ascending');
    expect(await page.getAttribute('#routes-table thead th:nth-child(1)', 'aria-sort')).toBe('none');
    expect((await tableRows('#routes-table')).map((row) => `${row[2]} ${row[0]} ${row[3]}`)).toEqual([
      'ops-webhook identity-oncall route-identity',
      'ops-webhook payments-sre route-cards',
      'ops-webhook payments-sre route-payments',
      'ops-webhook payments-sre route-payments',
      `siem-hook ${HOSTILE_OWNER} ${HOSTILE_ROUTE}`,
      'siem-hook payments-sre route-ledger',
    ]);
    // One group per provider: the rule between them marks where the next one starts.
    expect(
      await page.$$eval('#routes-table tbody tr', (rows) =>
        rows.map((row) => row.classList.contains('group-start')),
      ),
    ).toEqual([false, false, false, false, true, false]);
    expect(await page.textContent('#sort-status')).toBe('Routes sorted by provider, ascending.');

    await page.click('#routes-table thead th:nth-child(3) button');
    expect(await providerHeading.getAttribute('aria-sort')).toBe('descending');
    expect((await tableRows('#routes-table')).map((row) => row[2])).toEqual([
      'siem-hook',
      'siem-hook',
      'ops-webhook',
      'ops-webhook',
      'ops-webhook',
      'ops-webhook',
    ]);
    await page.click('#routes-table thead th:nth-child(1) button');
    expect(await tableRows('#routes-table')).toEqual(ROUTES_BY_OWNER);
    expect(pageErrors.join('\n')).toBe('');
  });

  it('follows the tip without a reload: three suppressed keys by provider, the undelivered package left out', async () => {
    await page.evaluate(() => {
      (window as unknown as { consoleMarker: number }).consoleMarker = 15;
    });
    server.setTip(scenario.tip);
    await page.waitForSelector(`body[data-revision="${scenario.tip}"]`, { timeout: 10_000 });
    await page.waitForSelector('#suppressions-table[data-count="3"]', { timeout: 10_000 });

    expect(await tableRows('#suppression-counts-table')).toEqual([
      ['ops-webhook', '2'],
      ['siem-hook', '1'],
    ]);
    const rows = await tableRows('#suppressions-table');
    expect(rows.map((row) => row.slice(0, 5))).toEqual([
      ['drill-a', 'ops-webhook', '2', '2', '2026-07-01 10:05 UTC'],
      ['drill-b', 'ops-webhook', '2', '2', '2026-07-01 10:05 UTC'],
      ['drill-a', 'siem-hook', '1', '1', '2026-07-01 09:05 UTC'],
    ]);
    expect(rows[0]?.[5]).toContain('503 · HTTP 503: rejected [redacted]');
    expect(rows[2]?.[5]).toContain('502 · HTTP 502: bad gateway');
    expect(await page.textContent('#suppressions-note')).toContain('3 keys reached the attempt limit');

    // drill-c is at the tip but was never delivered: its routes are not shown.
    expect(await tableRows('#routes-table')).toEqual(ROUTES_BY_OWNER);
    expect(await page.textContent('main')).not.toContain('late-team');
    expect(await page.textContent('body')).not.toContain(ROUTES_CANARY);
    expect(await page.evaluate(() => (window as unknown as { consoleMarker?: number }).consoleMarker)).toBe(
      15,
    );

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/console-routes.png', fullPage: true });
    expect(pageErrors.join('\n')).toBe('');
  });
});
