/**
 * The Evidence Console in real Chromium over a repository written by real reconcile runs (see
 * test/helpers/reconciled-ops-repo.ts), served as `start` serves it: the retry plan with its
 * ready-to-paste manifests, the reconciler's conditions and skipped manifests, the last run, both
 * charts drawn by Chart.js (pixels on the canvas, in the outcome colours) with their table
 * fallbacks, and paged history. Then an operator pastes the offered acknowledgement, the
 * reconciler runs, and the console follows the new revision without a reload.
 */
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AUDIT_DELIVERY } from '../../src/api/flow-routes.js';
import { PERSON_PLACEHOLDER } from '../../src/api/next-step.js';
import {
  SCENARIO_NOW,
  createReconciledOpsRepo,
  startScenarioServer,
  type ReconciledOpsRepo,
  type ScenarioServer,
} from '../helpers/reconciled-ops-repo.js';
import { CHROMIUM_ARGS } from './chromium.js';

let scenario: ReconciledOpsRepo;
let server: ScenarioServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const pageWarnings: string[] = [];

beforeAll(async () => {
  scenario = await createReconciledOpsRepo();
  server = await startScenarioServer(scenario, { observe: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
    // Warnings are kept for the report only: Chromium's interventions under load are not ours.
    else if (message.type() === 'warning') pageWarnings.push(message.text());
  });
  page.on('requestfailed', (request) =>
    pageErrors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
}, 60_000);

afterAll(async () => {
  if (pageWarnings.length > 0) process.stderr.write(`console warnings:\n${pageWarnings.join('\n')}\n`);
  await browser?.close();
  await server?.close();
  await scenario?.cleanup();
});

async function tableRows(selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => (cell.textContent ?? '').trim())),
  );
}

/** Reasons of the plan table, row by row. */
async function planReasons(): Promise<string[]> {
  return (await tableRows('#plan-table')).map((row) => row[4] ?? '');
}

/** Pixels of a canvas that were drawn, and how many are near each of the given colours. */
async function canvasPixels(
  selector: string,
  colors: Record<string, string>,
): Promise<{ width: number; height: number; drawn: number; byColor: Record<string, number> }> {
  return page.$eval(
    selector,
    (canvas, wanted) => {
      const element = canvas as HTMLCanvasElement;
      const context2d = element.getContext('2d');
      if (!context2d) throw new Error('no 2d context');
      const { data } = context2d.getImageData(0, 0, element.width, element.height);
      const targets = Object.entries(wanted).map(([name, hex]) => ({
        name,
        rgb: [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)),
      }));
      const byColor: Record<string, number> = Object.fromEntries(targets.map((t) => [t.name, 0]));
      let drawn = 0;
      for (let i = 0; i < data.length; i += 4) {
        if ((data[i + 3] ?? 0) === 0) continue;
        drawn++;
        for (const target of targets) {
          const close = target.rgb.every((value, k) => Math.abs((data[i + k] ?? 0) - value) <= 8);
          if (close) byColor[target.name] = (byColor[target.name] ?? 0) + 1;
        }
      }
      return { width: element.width, height: element.height, drawn, byColor };
    },
    colors,
  );
}

describe('Evidence Console over a reconciled repository', () => {
  it('shows the retry plan, conditions, skipped manifests, last run, both charts and paged history', async () => {
    const tip = await scenario.ops.tip();
    await page.goto(`${server.url}/console/`);
    await page.waitForSelector(`body[data-revision="${tip}"]`, { timeout: 10_000 });

    // Retry plan: the keys waiting for a person first, each with the manifest to commit.
    expect(await planReasons()).toEqual([
      'wait_for_retry_ack',
      'request_approval',
      'delivered',
      'delivered',
      'delivered',
    ]);
    const plan = await tableRows('#plan-table');
    expect(plan[0]?.[0]).toBe('drill-bops-webhook');
    expect(plan[0]?.[3]).toBe('none');
    expect(plan[1]?.[3]).toContain('ack-drill-b-siem-hook');
    expect(plan[4]?.[2]).toContain('approve-drill-a-siem-hook');
    expect(await page.textContent('#plan-note')).toContain(
      '5 keys, 0 executing on the next run, 2 waiting for a manifest',
    );
    const api = (await (await fetch(`${server.url}${AUDIT_DELIVERY}/retry-plan`)).json()) as {
      decisions: { key: { delivery_id: string; provider: string }; next_step: { manifest: string | null } }[];
    };
    const offered = (provider: string): string =>
      api.decisions.find((d) => d.key.delivery_id === 'drill-b' && d.key.provider === provider)?.next_step
        .manifest ?? '';
    await page.click('#plan-table tbody tr:nth-child(1) details summary');
    expect(await page.textContent('#plan-table tbody tr:nth-child(1) pre')).toBe(offered('ops-webhook'));
    expect(await page.textContent('#plan-table tbody tr:nth-child(1) .step-path')).toContain(
      'manifests/retries/ack-drill-b-ops-webhook.yaml',
    );
    expect(await page.textContent('#plan-table tbody tr:nth-child(2) pre')).toBe(offered('siem-hook'));
    expect((parse(offered('siem-hook')) as { kind: string }).kind).toBe('RetryApproval');

    // Reconciler: committed conditions, the skipped manifest, this process's last run.
    expect((await tableRows('#conditions-table')).map((row) => row.slice(0, 3))).toEqual([
      ['Ready', 'False', 'InvalidManifests'],
      ['Reconciling', 'True', 'WaitingForOperators'],
      ['Stalled', 'True', 'NeedsOperatorFix'],
    ]);
    const skipped = await tableRows('#skipped-table');
    expect(skipped.map((row) => row.slice(0, 4))).toEqual([
      ['manifests/providers/pager-bridge.yaml', 'Provider', 'pager-bridge', 'SchemaViolation'],
    ]);
    expect(skipped[0]?.[4]).toContain('/spec/type');
    expect(await page.textContent('[data-fact="when"]')).toBe('2026-06-30 09:05 UTC');
    expect(await page.textContent('[data-fact="outcome"]')).toBe('ok');
    expect(await page.textContent('[data-fact="error"]')).toBe('none');

    // Charts: drawn by Chart.js (pixels in the series colours), with the same data as tables.
    await page.waitForSelector('#closure-chart-card[data-rendered="true"]', { timeout: 10_000 });
    await page.waitForSelector('#execution-chart-card[data-rendered="true"]', { timeout: 10_000 });
    const closures = await canvasPixels('#closure-chart', {
      resolved: '#2f855a',
      mitigated: '#38a3a5',
      escalated: '#dd6b20',
    });
    expect(closures.width).toBeGreaterThan(300);
    expect(closures.drawn).toBeGreaterThan(5_000);
    for (const count of Object.values(closures.byColor)) expect(count).toBeGreaterThan(500);
    const executions = await canvasPixels('#execution-chart', { delivered: '#2f855a', failed: '#c53030' });
    expect(executions.drawn).toBeGreaterThan(5_000);
    expect(executions.byColor.delivered).toBeGreaterThan(executions.byColor.failed ?? 0);
    expect(executions.byColor.failed).toBeGreaterThan(500);
    expect(await page.getAttribute('#closure-chart', 'aria-label')).toContain(
      '2026-06-30: 1 resolved, 1 escalated',
    );
    expect(await tableRows('#closure-trends-table')).toEqual([
      ['2026-06-29', '0', '1', '0', '0', '0', '1'],
      ['2026-06-30', '1', '0', '0', '1', '0', '2'],
    ]);
    expect(await tableRows('#execution-trends-table')).toEqual([
      ['2026-06-28', 'ops-webhook', '0', '1', '0', '0'],
      ['2026-06-28', 'siem-hook', '1', '0', '0', '0'],
      ['2026-06-29', 'ops-webhook', '1', '0', '0', '0'],
    ]);

    // History: 15 records, paged.
    expect(await page.textContent('#history-range')).toBe('Records 1–15 of 15');
    await page.selectOption('#history-limit', '10');
    await page.waitForFunction(
      () => document.querySelector('#history-range')?.textContent === 'Records 1–10 of 15',
    );
    expect(await tableRows('#history-table')).toHaveLength(10);
    expect(await page.isDisabled('#history-prev')).toBe(true);
    await page.click('#history-next');
    await page.waitForFunction(
      () => document.querySelector('#history-range')?.textContent === 'Records 11–15 of 15',
    );
    const older = await tableRows('#history-table');
    expect(older).toHaveLength(5);
    expect(older.at(-1)?.[1]).toBe('recovery playbook');
    expect(await page.isDisabled('#history-next')).toBe(true);
    await page.click('#history-prev');
    await page.waitForFunction(
      () => document.querySelector('#history-range')?.textContent === 'Records 1–10 of 15',
    );

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/console-reconciled.png', fullPage: true });
    expect(pageErrors.join('\n')).toBe('');
  });

  it('is usable with the keyboard: a next step opens, its manifest is copied, chart data and pages are reachable', async () => {
    await page.focus('#plan-table tbody tr:nth-child(2) details summary');
    await page.keyboard.press('Enter');
    expect(
      await page.$eval('#plan-table tbody tr:nth-child(2) details', (d) => (d as HTMLDetailsElement).open),
    ).toBe(true);
    await page.keyboard.press('Tab'); // the manifest itself (scrollable, focusable)
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Copy manifest');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#copy-status')?.textContent !== '');
    expect(await page.textContent('#copy-status')).toBe('Manifest copied to the clipboard.');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect((parse(copied) as { kind: string; metadata: { name: string } }).metadata.name).toBe(
      'approve-drill-b-siem-hook',
    );

    await page.focus('#execution-chart-card summary');
    await page.keyboard.press('Enter');
    expect(await page.isVisible('#execution-trends-table')).toBe(true);

    await page.focus('#history-next');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('#history-range')?.textContent === 'Records 11–15 of 15',
    );
    // The last page disables "Older": the focus moves to "Newer" instead of falling to the page.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('history-prev');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('#history-range')?.textContent === 'Records 1–10 of 15',
    );
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('history-next');
    expect(pageErrors.join('\n')).toBe('');
  });

  it('follows the revision: the pasted acknowledgement moves the key on, without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { consoleMarker: number }).consoleMarker = 7;
    });
    const manifest = (await page.textContent('#plan-table tbody tr:nth-child(1) pre')) ?? '';
    expect(manifest).toContain('kind: RetryAcknowledgement');
    await scenario.ops.commit(
      {
        'manifests/retries/ack-drill-b-ops-webhook.yaml': manifest.replace(
          PERSON_PLACEHOLDER,
          'dana@example.com',
        ),
      },
      'acknowledge drill-b/ops-webhook (pasted from the console)',
      { date: SCENARIO_NOW },
    );
    await scenario.reconcile('2026-06-30T12:01:00Z');
    scenario.clock.set('2026-06-30T12:02:00Z');
    const tip = await scenario.ops.tip();

    await page.waitForSelector(`body[data-revision="${tip}"]`, { timeout: 10_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-fact="when"]')?.textContent === '2026-06-30 12:01 UTC',
      undefined,
      { timeout: 10_000 },
    );
    expect(await planReasons()).toEqual([
      'request_approval',
      'request_approval',
      'delivered',
      'delivered',
      'delivered',
    ]);
    expect((await tableRows('#plan-table'))[0]?.[3]).toContain('ack-drill-b-ops-webhook');
    expect((await tableRows('#conditions-table'))[1]?.[3]).toBe('Keys waiting: request_approval=2.');
    expect(await page.evaluate(() => (window as unknown as { consoleMarker?: number }).consoleMarker)).toBe(
      7,
    );
    expect(pageErrors.join('\n')).toBe('');
  });
});
