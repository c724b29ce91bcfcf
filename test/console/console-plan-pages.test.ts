/**
 * The console shows a large retry plan a page at a time (500 keys, the API's largest page), keys
 * waiting for a person first, says how many keys there are in all and pages through the rest: it
 * used to fetch and draw every key of the plan in one table (~97,000 rows at 100,000 records).
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetryDecisionView } from '../../src/api/retry-planner.js';
import { startFixtureServer, type FixtureServer } from '../api/fixture-server.js';
import { CHROMIUM_ARGS } from './chromium.js';

const DECISIONS: RetryDecisionView[] = Array.from({ length: 620 }, (_, i) => ({
  key: { delivery_id: `delivery-${String(i).padStart(4, '0')}`, audit_id: `audit-${i}`, provider: 'hook-a' },
  action: 'none',
  // The keys waiting for an approval come last in the planner's order.
  reason: i >= 600 ? 'request_approval' : 'delivered',
  execute: false,
  retry_count: 1,
  next_retry_at: null,
  approval: null,
  acknowledgement: null,
}));

let server: FixtureServer;
let browser: Browser;

beforeAll(async () => {
  server = await startFixtureServer({ planner: async () => ({ decisions: DECISIONS }) });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('Evidence Console retry plan', () => {
  it('shows 500 keys a page, those waiting for a person first, counts all 620 and pages to the rest', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/console/`);
    await page.waitForFunction(
      () => document.querySelector('#plan-note')?.textContent?.includes('Evaluated'),
      null,
      {
        timeout: 10_000,
      },
    );
    const note = (await page.textContent('#plan-note')) ?? '';
    expect(note).toContain('620 keys, 0 executing on the next run, 20 waiting for a manifest.');
    const keys = (): Promise<string[]> =>
      page.$$eval('#plan-table tbody tr', (rows) =>
        rows.map((row) => row.querySelector('.key-delivery')?.textContent ?? ''),
      );
    const first = await keys();
    expect(first).toHaveLength(500);
    expect(first.slice(0, 21)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `delivery-0${600 + i}`),
      'delivery-0000',
    ]);
    expect(await page.textContent('#plan-range')).toBe('Keys 1–500 of 620');
    expect(await page.isDisabled('#plan-prev')).toBe(true);

    await page.click('#plan-next');
    await page.waitForFunction(
      () => document.querySelector('#plan-range')?.textContent === 'Keys 501–620 of 620',
    );
    const second = await keys();
    expect(second).toEqual(
      Array.from({ length: 120 }, (_, i) => `delivery-0${String(480 + i).padStart(3, '0')}`),
    );
    expect(await page.isDisabled('#plan-next')).toBe(true);
    await page.click('#plan-prev');
    await page.waitForFunction(
      () => document.querySelector('#plan-range')?.textContent === 'Keys 1–500 of 620',
    );
    await page.close();
  });
});
