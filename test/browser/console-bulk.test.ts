/// <reference lib="dom" />
/**
 * The console on a tenant with 10,000 events: time to first rows (printed, not asserted), pages
 * cut short by the API's work budget ("Searched back to …", Load more until the end), and an
 * export large enough to be asynchronous, followed to its download and compared with the API.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createTenant, listAll, type TestTenant } from '../integration/client.ts';
import { launchBrowser, screenshot, type TestBrowser } from './browser.ts';
import {
  loadingAfter,
  loadToTheEnd,
  mintLink,
  openConsole,
  shownIds,
  waitForRows,
} from './console-helpers.ts';

const BULK = 10_000;
const RARE = 5;
let tenant: TestTenant;
let browser: TestBrowser;

beforeAll(async () => {
  tenant = await createTenant({ name: 'Console bulk' });
  const now = Date.now();
  // Half of the bulk is u_bulk's noise, the other half others' `rare.event`s: the rare
  // combination (u_bulk's `rare.event`s) is in no index on its own, and each half is too much
  // for one page's work budget.
  const events = Array.from({ length: BULK }, (_, i) => ({
    id: `bulk-${i}`,
    action: i % 2 === 0 ? 'bulk.noise' : 'rare.event',
    occurred_at: new Date(now - 60_000 - i * 7_000).toISOString(),
    actor: i % 2 === 0 ? { id: 'u_bulk', email: 'bulk@example.com' } : { id: `u_other_${i % 5}` },
    target: { type: 'doc', id: `doc_${i % 50}` },
    context: { ip: '198.51.100.7' },
  }));
  // The rare events are older than every bulk event: a query for them reads through the bulk first.
  for (let i = 0; i < RARE; i++)
    events.push({
      id: `rare-${i}`,
      action: 'rare.event',
      occurred_at: new Date(now - 22 * 3_600_000 - i * 60_000).toISOString(),
      actor: { id: 'u_bulk', email: 'bulk@example.com' },
      target: { type: 'doc', id: 'doc_rare' },
      context: { ip: '198.51.100.7' },
    });
  const batches: (typeof events)[] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  const send = async () => {
    for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
      const sent = await api('POST', '/v1/events', { token: tenant.key, body: { events: batch } });
      if (sent.status !== 201) throw new Error(`seed: ${sent.status} ${JSON.stringify(sent.body)}`);
    }
  };
  await Promise.all([send(), send(), send(), send()]);
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

const firstRowsMs = (page: import('playwright-core').Page) =>
  page.evaluate(() => performance.getEntriesByName('trailkeeper:first-rows')[0]?.startTime ?? Number.NaN);

describe('the console on a tenant with 10,000 events', () => {
  it('shows its first rows (time measured and printed)', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_time' }, role: 'owner' }),
    );
    expect(await shownIds(page)).toHaveLength(100);
    const withSignIn = await firstRowsMs(page);
    await page.reload();
    await waitForRows(page);
    const signedIn = await firstRowsMs(page);
    process.stdout.write(
      `console time to first rows on ${BULK + RARE} events: ${withSignIn.toFixed(0)} ms from navigation with the link's sign-in, ${signedIn.toFixed(0)} ms on reload (signed in)\n`,
    );
    expect(withSignIn).toBeGreaterThan(0);
  });

  it('keeps searching past pages cut short by the work budget, to the end, with exactly the API rows', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_budget' }, role: 'owner' }),
    );
    await page.fill('input[name="actor"]', 'u_bulk');
    await page.fill('input[name="action"]', 'rare.event');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    let cutPages = 0;
    const seeCut = async () => {
      const scanned = page.locator('p.scanned');
      if ((await scanned.count()) > 0) {
        expect(await scanned.textContent()).toMatch(/^Searched back to /);
        cutPages += 1;
      }
    };
    await seeCut();
    await screenshot(page, 'budget-cut-page');
    await loadToTheEnd(page, seeCut);
    expect(cutPages).toBeGreaterThan(0);
    expect(await page.locator('p.end').textContent()).toContain('End of the log for this range');
    const url = new URL(page.url());
    expect(url.searchParams.get('actor')).toBe('u_bulk');
    const { events } = await listAll(tenant.key, {
      from: new Date(Date.now() - 24 * 3_600_000).toISOString(),
      exclude_action: 'audit_log.*',
      actor_id: 'u_bulk',
      action: 'rare.event',
    });
    expect(events).toHaveLength(RARE);
    expect(await shownIds(page)).toEqual(events.map((e: { id: string }) => e.id));
  });

  it('follows an asynchronous export (more than 10,000 rows) to its download, the rows the API lists', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_async' }, role: 'owner' }),
    );
    await page.getByRole('button', { name: 'Export' }).click();
    const dialog = page.locator('dialog.export');
    await dialog.getByLabel(/^NDJSON/).check();
    const created = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/v1/exports' && r.request().method() === 'POST',
    );
    const downloaded = page.waitForEvent('download', { timeout: 300_000 });
    await dialog.getByRole('button', { name: 'Export', exact: true }).click();
    const answer = await created;
    expect(answer.status()).toBe(202);
    const body = answer.request().postDataJSON();
    expect(body).toMatchObject({ format: 'ndjson', exclude_action: 'audit_log.*' });
    expect(body.columns).toBeUndefined();
    await expect.poll(() => dialog.locator('progress').count()).toBe(1);
    await screenshot(page, 'export-progress');
    const download = await downloaded;
    const lines = (await readFile((await download.path()) as string, 'utf8')).trim().split('\n');
    const { events } = await listAll(tenant.key, {
      from: body.from,
      to: body.to,
      exclude_action: 'audit_log.*',
      limit: '1000',
    });
    expect(events.length).toBeGreaterThan(10_000);
    expect(lines.map((line) => JSON.parse(line).id)).toEqual(events.map((e: { id: string }) => e.id));
  }, 400_000);
});
