/// <reference lib="dom" />
/**
 * What the console browser tests share: minting a viewer session and opening its link, reading
 * the rows the page shows, waiting for a page of events to load, and parsing a CSV export.
 */

import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { api, operator } from '../integration/client.ts';

export interface MintBody {
  user: { id: string; email?: string; name?: string };
  role: string;
  team_ids?: string[];
  ttl_seconds?: number;
}

/** A viewer-session link (the console URL with `#code=`), minted by the operator. */
export const mintLink = async (tenantId: string, body: MintBody): Promise<string> => {
  const minted = await api('POST', `/v1/tenants/${tenantId}/viewer-sessions`, { token: operator(), body });
  if (minted.status !== 201) throw new Error(`mint: ${minted.status} ${JSON.stringify(minted.body)}`);
  return minted.body.url as string;
};

/** Waits until the page shows a loaded list (rows, an empty state, or an error), not "Loading". */
export const waitForRows = async (page: Page): Promise<void> => {
  await page.waitForFunction(() => {
    const live = document.querySelector('.live');
    return live !== null && live.textContent !== '' && !(live.textContent ?? '').includes('Loading');
  });
};

/** Does `act`, which makes the page load events, and waits for the answer to be shown. */
export const loadingAfter = async (page: Page, act: () => Promise<unknown>): Promise<void> => {
  await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/events'), act()]);
  await waitForRows(page);
};

/** Opens a link in a new page of the context and waits for the first rows. */
export const openConsole = async (context: BrowserContext, url: string): Promise<Page> => {
  const page = await context.newPage();
  await page.goto(url);
  await waitForRows(page);
  return page;
};

export const shownIds = (page: Page): Promise<string[]> =>
  page.$$eval('tr[data-event-id]', (rows) => rows.map((row) => (row as HTMLElement).dataset.eventId ?? ''));

export const headers = (page: Page): Promise<string[]> =>
  page.$$eval('table.events thead th', (cells) => cells.map((cell) => cell.textContent ?? ''));

/** Clicks "Load more" until the page says it reached the end; returns how many clicks it took. */
export const loadToTheEnd = async (page: Page, onPage?: () => Promise<void>): Promise<number> => {
  let clicks = 0;
  while ((await page.locator('p.end').count()) === 0) {
    const more = page.getByRole('button', { name: 'Load more' });
    await expect.poll(() => more.count(), { timeout: 30_000 }).toBe(1);
    await onPage?.();
    await loadingAfter(page, () => more.click());
    clicks += 1;
    if (clicks > 500) throw new Error('no end in sight');
  }
  return clicks;
};

/** RFC 4180 CSV (quoted cells, doubled quotes, newlines inside quotes). */
export const parseCsv = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
};

/** The file of an export, fetched the way an API client does (download route → presigned URL). */
export const apiExportFile = async (token: string, body: unknown): Promise<string> => {
  const created = await api('POST', '/v1/exports', { token, body });
  if (created.status !== 201) throw new Error(`export: ${created.status} ${JSON.stringify(created.body)}`);
  const link = await api('GET', `/v1/exports/${created.body.id}/download`, {
    token,
    headers: { accept: 'application/json' },
  });
  if (link.status !== 200) throw new Error(`download: ${link.status}`);
  // Bytes as written (Response.text() would drop the CSV's byte order mark).
  return Buffer.from(await (await fetch(link.body.url)).arrayBuffer()).toString('utf8');
};
