/// <reference lib="dom" />
/**
 * The audit log console in a real browser (Debian's Chromium through playwright-core) against
 * the local stack: sign-in by link, every filter against the API's own answer, paging, the column
 * chooser, the detail panel, hostile event content, CSV export, team scope, roles and session end,
 * and an accessibility scan. Screenshots of the main states go to test-output/console/.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, baseUrl, createTenant, listAll, operator, type TestTenant } from '../integration/client.ts';
import { launchBrowser, SCREENSHOT_DIR, screenshot, type TestBrowser, watchPage } from './browser.ts';
import {
  apiExportFile,
  headers,
  loadingAfter,
  loadToTheEnd,
  mintLink,
  openConsole,
  parseCsv,
  shownIds,
  waitForRows,
} from './console-helpers.ts';

const PAYLOAD = '<img src=x onerror="window.__pwned=1">';
const JS_LINK = 'javascript:window.__pwned=2';
const RTL = 'invoice\u202Efdp.exe';
const APP_URL = 'https://app.example.com/settings/audit-log';

let tenant: TestTenant;
let browser: TestBrowser;
const minute = 60_000;

const seedEvents = () => {
  const now = Date.now();
  const actions = [
    'member.invited',
    'member.removed',
    'member.role_changed',
    'billing.plan_changed',
    'secret.read',
    'auth.login',
  ];
  const actors = [
    { id: 'u1', email: 'ann@example.com', name: 'Ann', role: 'owner' },
    { id: 'u2', email: 'bob@example.com', name: 'Bob', role: 'admin' },
    { id: 'u3', name: 'Carla', role: 'member' },
    { id: 'svc', type: 'service' as const },
  ];
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < 230; i++) {
    const action = actions[i % actions.length] as string;
    events.push({
      id: `ev-${i}`,
      action,
      occurred_at: new Date(now - (i + 2) * 5 * minute).toISOString(),
      actor: actors[i % actors.length],
      ...(i % 11 === 0 ? { impersonator: { id: 'support-1', email: 'support@vendor.example' } } : {}),
      target: { type: ['user', 'invoice', 'secret'][i % 3], id: `obj_${i % 7}`, name: `Object ${i % 7}` },
      ...(i % 4 === 3 ? {} : { team_id: `t${(i % 4) + 1}` }),
      area: action.split('.')[0],
      method: ['POST', 'DELETE', 'GET'][i % 3],
      status: i % 9 === 0 ? 403 : i % 5 === 0 ? 'failure' : 'success',
      duration_ms: i % 2 === 0 ? 250 + i : 1500 + i * 10,
      context: { ip: `203.0.113.${i % 250}`, user_agent: `Browser/${i}` },
      request: { page: i, password: 'hunter2' },
      metadata: { index: i, changed: ['role'] },
    });
  }
  // Hostile content in every free-text field, the newest event.
  events.push({
    id: 'ev-hostile',
    action: 'member.renamed',
    occurred_at: new Date(now - minute).toISOString(),
    actor: { id: PAYLOAD, name: JS_LINK, role: RTL, type: 'user' },
    impersonator: { id: PAYLOAD },
    target: { type: PAYLOAD, id: JS_LINK, name: RTL },
    team_id: PAYLOAD,
    area: PAYLOAD,
    method: JS_LINK,
    context: { user_agent: PAYLOAD, location: RTL, request_id: JS_LINK },
    request: { [PAYLOAD]: JS_LINK, rtl: RTL },
    metadata: { html: PAYLOAD, link: JS_LINK, rtl: RTL, nested: { deep: [PAYLOAD] } },
  });
  return events;
};

/** The same query as the console's default view, for the API. */
const dayQuery = (extra: Record<string, string> = {}) => ({
  from: new Date(Date.now() - 24 * 3_600_000).toISOString(),
  exclude_action: 'audit_log.*',
  ...extra,
});

const newPerson = async (): Promise<BrowserContext> =>
  browser.newContext({ viewport: { width: 1440, height: 900 } });

beforeAll(async () => {
  tenant = await createTenant({ name: 'Console' });
  const events = seedEvents();
  for (let i = 0; i < events.length; i += 100) {
    const sent = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { events: events.slice(i, i + 100) },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  }
  const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
    token: tenant.key,
    body: { app_url: APP_URL },
  });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('the audit log console', () => {
  it('signs in by link, removes the code from the address bar, and opens on the last 24 hours, newest first', async () => {
    const context = await newPerson();
    const url = await mintLink(tenant.id, {
      user: { id: 'u_owner', email: 'owner@example.com' },
      role: 'owner',
    });
    expect(url).toContain('#code=');
    const page = await context.newPage();
    const problems = watchPage(page, new URL(baseUrl()).origin);
    const missing: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 404) missing.push(new URL(r.url()).pathname);
    });
    await page.goto(url);
    await waitForRows(page);
    expect(page.url()).not.toContain('code=');
    expect(page.url()).not.toContain('#');
    expect(await page.evaluate(() => location.hash)).toBe('');
    const ids = await shownIds(page);
    expect(ids).toHaveLength(100);
    const expected = await api('GET', `/v1/events?${new URLSearchParams({ ...dayQuery(), limit: '100' })}`, {
      token: tenant.key,
    });
    // The console's own sign-in writes trailkeeper.viewer_session.created: the API sees it too.
    expect(ids).toEqual(expected.body.data.map((e: { id: string }) => e.id));
    expect(await headers(page)).toEqual([
      'Time',
      'User',
      'Role',
      'Method',
      'Area',
      'Action',
      'Entity type',
      'Status',
    ]);
    expect(await page.locator('tr.impersonated .badge', { hasText: 'Impersonated' }).count()).toBeGreaterThan(
      0,
    );
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await screenshot(page, 'signed-in-table');
    // Chromium asks for /favicon.ico by itself; the shell names no icon.
    expect(
      missing.filter((path) => path !== '/favicon.ico'),
      missing.join(' '),
    ).toEqual([]);
    expect(problems.filter((p) => !(p.includes('404') && missing.length > 0))).toEqual([]);
  });

  it('says to open the audit log from the application without a link, and for an emailed export link', async () => {
    const context = await newPerson();
    const page = await context.newPage();
    await page.goto(`${baseUrl()}/console/t/${tenant.id}/`);
    await expect
      .poll(() => page.locator('main.notice').textContent())
      .toContain('Open the audit log from your application');
    expect(await page.locator(`a[href="${APP_URL}"]`).count()).toBe(1);
    await page.goto(`${baseUrl()}/console/t/${tenant.id}/#export=exp_01jabcdefghjkmnpqrstvwxyz0`);
    await expect
      .poll(() => page.locator('main.notice').textContent())
      .toContain('To download this export, sign in first');
  });

  it('gives for each filter exactly the rows the API gives, with the filters in the URL and back/forward', async () => {
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_filters' }, role: 'admin' }),
    );
    const cases: { field: string; value: string; query: Record<string, string>; select?: boolean }[] = [
      { field: 'action', value: 'secret.read', query: { action: 'secret.read' } },
      { field: 'action', value: 'member.*', query: { action: 'member.*' } },
      {
        field: 'action',
        value: 'billing.plan_changed, auth.*',
        query: { action: 'billing.plan_changed,auth.*' },
      },
      { field: 'actor', value: 'bob@example.com', query: { actor_email: 'bob@example.com' } },
      { field: 'actor', value: 'u3', query: { actor_id: 'u3' } },
      { field: 'target_type', value: 'invoice', query: { target_type: 'invoice' } },
      { field: 'target_id', value: 'obj_3', query: { target_id: 'obj_3' } },
      { field: 'team', value: 't2', query: { team_id: 't2' } },
      { field: 'team', value: 't1,t3', query: { team_id: 't1,t3' } },
      { field: 'area', value: 'billing', query: { area: 'billing' } },
      { field: 'method', value: 'DELETE', query: { method: 'DELETE' } },
      { field: 'status', value: 'failure', query: { status: 'failure' } },
      { field: 'status', value: '403', query: { status: '403' } },
      { field: 'impersonated', value: 'true', query: { impersonated: 'true' }, select: true },
      { field: 'impersonated', value: 'false', query: { impersonated: 'false' }, select: true },
    ];
    for (const c of cases) {
      await loadingAfter(page, () => page.getByRole('button', { name: 'Clear' }).click());
      if (c.select) await page.selectOption(`select[name="${c.field}"]`, c.value);
      else await page.fill(`input[name="${c.field}"]`, c.value);
      await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
      expect(new URL(page.url()).searchParams.get(c.field), c.field).toBe(c.value.trim());
      const shown = await shownIds(page);
      const { events } = await listAll(tenant.key, dayQuery(c.query));
      const expected = events.map((e: { id: string }) => e.id).slice(0, 100);
      expect(expected.length, `${c.field}=${c.value} matches something`).toBeGreaterThan(0);
      expect(shown, `${c.field}=${c.value}`).toEqual(expected);
    }
    await screenshot(page, 'filters-applied');
    // Back restores the previous views (cleared, then impersonated=true), forward the next.
    await loadingAfter(page, () => page.goBack());
    expect(new URL(page.url()).search).toBe('');
    await loadingAfter(page, () => page.goBack());
    expect(new URL(page.url()).searchParams.get('impersonated')).toBe('true');
    expect(await page.inputValue('select[name="impersonated"]')).toBe('true');
    const { events: impersonated } = await listAll(tenant.key, dayQuery({ impersonated: 'true' }));
    expect(await shownIds(page)).toEqual(impersonated.map((e: { id: string }) => e.id));
    await loadingAfter(page, () => page.goForward());
    await loadingAfter(page, () => page.goForward());
    expect(new URL(page.url()).searchParams.get('impersonated')).toBe('false');
    // A shared view opens the same rows for another person signing in with it.
    const link = new URL(await mintLink(tenant.id, { user: { id: 'u_shared' }, role: 'owner' }));
    link.search = new URL(page.url()).search;
    const shared = await openConsole(await newPerson(), link.toString());
    expect(new URL(shared.url()).searchParams.get('impersonated')).toBe('false');
    const sharedView = await listAll(tenant.key, dayQuery({ impersonated: 'false' }));
    expect(await shownIds(shared)).toEqual(sharedView.events.map((e: { id: string }) => e.id).slice(0, 100));
    // A custom range (datetime-local, the reader's time zone), prefilled from the preset shown.
    await loadingAfter(page, () => page.getByRole('button', { name: 'Clear' }).click());
    await page.selectOption('select[name="range"]', 'custom');
    expect(await page.inputValue('input[name="from"]')).not.toBe('');
    const local = (ms: number) =>
      page.evaluate((at) => {
        const d = new Date(at);
        const pad = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
      }, ms);
    const from = await local(Date.now() - 5 * 3_600_000);
    const to = await local(Date.now() - 2 * 3_600_000);
    await page.fill('input[name="from"]', from);
    await page.fill('input[name="to"]', to);
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(new URL(page.url()).searchParams.get('range')).toBe('custom');
    const span = await page.evaluate(
      ({ f, t }) => ({ from: new Date(f).toISOString(), to: new Date(t).toISOString() }),
      { f: from, t: to },
    );
    const ranged = await listAll(tenant.key, { ...span, exclude_action: 'audit_log.*' });
    expect(ranged.events.length).toBeGreaterThan(0);
    expect(await shownIds(page)).toEqual(ranged.events.map((e: { id: string }) => e.id));
    // The log's own reads are hidden until asked for.
    await loadingAfter(page, () => page.getByLabel('Show audit log reads').check());
    expect(new URL(page.url()).searchParams.get('reads')).toBe('show');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Clear' }).click());
    await page.fill('input[name="action"]', 'audit_log.viewed');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect((await shownIds(page)).length).toBeGreaterThan(0);
  });

  it('pages with Load more to the end of the range', async () => {
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_paging' }, role: 'auditor' }),
    );
    await loadToTheEnd(page);
    await expect.poll(() => page.locator('p.end').textContent()).toContain('End of the log for this range');
    const { events } = await listAll(tenant.key, { ...dayQuery(), limit: '100' });
    expect(await shownIds(page)).toEqual(events.map((e: { id: string }) => e.id));
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
  });

  it('keeps the chosen columns across a reload, and shows durations in ms under a second, else seconds', async () => {
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_columns' }, role: 'owner' }),
    );
    await page.getByText('Columns', { exact: true }).click();
    for (const label of ['Duration', 'IP', 'Impersonated', 'Entity id'])
      await page.getByRole('checkbox', { name: label, exact: true }).check();
    await page.getByRole('checkbox', { name: 'Method', exact: true }).uncheck();
    const chosen = [
      'Time',
      'User',
      'Role',
      'Area',
      'Action',
      'Entity type',
      'Status',
      'Entity id',
      'Duration',
      'IP',
      'Impersonated',
    ];
    expect(await headers(page)).toEqual(chosen);
    await screenshot(page, 'column-chooser');
    await page.reload();
    await waitForRows(page);
    expect(await headers(page)).toEqual(chosen);
    const row = page.locator('tr[data-event-id="ev-0"] td.col-duration');
    await page.fill('input[name="actor"]', 'u1');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(await row.textContent()).toBe('250 ms');
    expect(await page.locator('tr[data-event-id="ev-1"]').count()).toBe(0);
    await page.fill('input[name="actor"]', 'u2');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(await page.locator('tr[data-event-id="ev-1"] td.col-duration').textContent()).toBe('1.5 s');
    // Another person in the same browser keeps their own columns.
    const other = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_other' }, role: 'owner' }),
    );
    expect(await headers(other)).toEqual([
      'Time',
      'User',
      'Role',
      'Method',
      'Area',
      'Action',
      'Entity type',
      'Status',
    ]);
  });

  it('opens a detail panel by keyboard with every field and formatted JSON, closes on Escape, and filters by actor or target', async () => {
    const context = await newPerson();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_detail' }, role: 'owner' }),
    );
    await page.fill('input[name="action"]', 'secret.read');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    const row = page.locator('tr[data-event-id="ev-4"]');
    await row.focus();
    await page.keyboard.press('Enter');
    const panel = page.locator('aside.detail');
    await expect.poll(() => panel.count()).toBe(1);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tk-detail-title');
    const text = (await panel.textContent()) ?? '';
    for (const value of [
      'secret.read',
      'u1',
      'ann@example.com',
      'obj_4',
      't1',
      'secret',
      '203.0.113.4',
      'Browser/4',
      '254 ms',
      'ev-4',
    ])
      expect(text, value).toContain(value);
    const metadata = await panel.locator('section.json-body[aria-label="Metadata"] pre').textContent();
    expect(JSON.parse(metadata ?? '')).toEqual({ index: 4, changed: ['role'] });
    expect(metadata).toBe(JSON.stringify(JSON.parse(metadata ?? ''), null, 2));
    const request = await panel.locator('section.json-body[aria-label="Request"] pre').textContent();
    expect(JSON.parse(request ?? '')).toEqual({ page: 4, password: '[REDACTED]' });
    await panel.getByRole('button', { name: 'Copy Metadata' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(metadata);
    await screenshot(page, 'detail-panel');
    // What the README shows (docs/console.png): the viewport, as a person sees it.
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'detail-panel-viewport.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.count()).toBe(0);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.eventId)).toBe(
      'ev-4',
    );
    await page.keyboard.press(' ');
    await expect.poll(() => panel.count()).toBe(1);
    await loadingAfter(page, () => panel.getByRole('button', { name: 'More on this target' }).click());
    expect(new URL(page.url()).searchParams.get('target_id')).toBe('obj_4');
    const { events } = await listAll(
      tenant.key,
      dayQuery({ action: 'secret.read', target_type: 'invoice', target_id: 'obj_4' }),
    );
    expect(await shownIds(page)).toEqual(events.map((e: { id: string }) => e.id));
    await page.locator(`tr[data-event-id="${events[0].id}"]`).click();
    await loadingAfter(page, () =>
      page.locator('aside.detail').getByRole('button', { name: 'More by this actor' }).click(),
    );
    expect(new URL(page.url()).searchParams.get('actor')).toBe(events[0].actor.email ?? events[0].actor.id);
  });

  it('renders script payloads, javascript: strings and RTL overrides in every field as text', async () => {
    const context = await newPerson();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const problems = watchPage(page, new URL(baseUrl()).origin);
    await page.goto(await mintLink(tenant.id, { user: { id: 'u_xss' }, role: 'owner' }));
    await waitForRows(page);
    await page.getByText('Columns', { exact: true }).click();
    for (const label of ['Entity id', 'Team', 'IP', 'User agent', 'Request'])
      await page.getByRole('checkbox', { name: label, exact: true }).check();
    const row = page.locator('tr[data-event-id="ev-hostile"]');
    await row.click();
    await expect.poll(() => page.locator('aside.detail').count()).toBe(1);
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).toContain(PAYLOAD);
    expect(rowText).toContain('[U+202E]');
    const panelText = (await page.locator('aside.detail').textContent()) ?? '';
    for (const value of [PAYLOAD, JS_LINK, 'invoice[U+202E]fdp.exe']) expect(panelText).toContain(value);
    expect(panelText).not.toContain('\u202E');
    expect(
      await page
        .locator('img, script:not([src]):not([type="application/json"]), iframe, object, embed')
        .count(),
    ).toBe(0);
    expect(await page.locator('[onerror], a[href^="javascript:"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    await screenshot(page, 'hostile-content');
    expect(problems).toEqual([]);
  });

  it('exports the current filter and columns as CSV (sync), the same file the API writes', async () => {
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_export', email: 'exp@example.com' }, role: 'admin' }),
    );
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('checkbox', { name: 'Duration', exact: true }).check();
    await page.getByText('Columns', { exact: true }).click();
    await page.fill('input[name="action"]', 'member.*');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    await page.getByRole('button', { name: 'Export' }).click();
    const dialog = page.locator('dialog.export');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await screenshot(page, 'export-dialog');
    const [request, download] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/exports' && r.method() === 'POST'),
      page.waitForEvent('download'),
      dialog.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const body = request.postDataJSON();
    expect(body).toMatchObject({
      format: 'csv',
      action: 'member.*',
      exclude_action: 'audit_log.*',
      columns: [
        'timestamp',
        'actor_email',
        'actor_id',
        'actor_role',
        'method',
        'area',
        'action',
        'target_type',
        'status',
        'duration_ms',
      ],
    });
    const file = await readFile((await download.path()) as string, 'utf8');
    const rows = parseCsv(file.replace(/^\uFEFF/, '').trim());
    expect(rows[0]).toEqual([...body.columns, 'id', 'received_at', 'hash', 'event_json']);
    const idColumn = rows[0]?.indexOf('id') ?? -1;
    const { events } = await listAll(tenant.key, {
      ...dayQuery({ action: 'member.*' }),
      from: body.from,
      to: body.to,
    });
    expect(rows.slice(1).map((row) => row[idColumn])).toEqual(events.map((e: { id: string }) => e.id));
    expect(file).toBe(await apiExportFile(tenant.key, body));
    // The emailed link (#export=<id>) downloads at once for its creator, signed in …
    const created = await (await request.response())?.json();
    expect(created).toMatchObject({ status: 'completed' });
    const [again] = await Promise.all([
      page.waitForEvent('download'),
      page.goto(`${baseUrl()}/console/t/${tenant.id}/#export=${created.id}`),
    ]);
    expect(await readFile((await again.path()) as string, 'utf8')).toBe(file);
    expect(page.url()).not.toContain('#export');
    // … and not for another person of the same workspace.
    const other = await openConsole(
      await newPerson(),
      await mintLink(tenant.id, { user: { id: 'u_someone_else' }, role: 'admin' }),
    );
    await other.goto(`${baseUrl()}/console/t/${tenant.id}/#export=${created.id}`);
    await expect
      .poll(() => other.locator('p.banner').textContent())
      .toContain('This export cannot be downloaded');
  });

  it('hides Export from a role the policy does not let export', async () => {
    await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: tenant.key,
      body: {
        access: {
          view: ['owner', 'admin', 'auditor', 'team_admin'],
          export: ['owner', 'admin', 'team_admin'],
        },
      },
    });
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_auditor' }, role: 'auditor' }),
    );
    expect(await page.getByRole('button', { name: 'Export' }).count()).toBe(0);
    await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: tenant.key,
      body: {
        access: {
          view: ['owner', 'admin', 'auditor', 'team_admin'],
          export: ['owner', 'admin', 'auditor', 'team_admin'],
        },
      },
    });
  });

  it("shows a team admin only their teams' events, in the team picker and in the action suggestions", async () => {
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_team' }, role: 'team_admin', team_ids: ['t1', 't3'] }),
    );
    expect(
      await page.$$eval('select[name="team"] option', (o) => o.map((x) => (x as HTMLOptionElement).value)),
    ).toEqual(['', 't1', 't3']);
    const shown = await shownIds(page);
    const { events } = await listAll(tenant.key, dayQuery({ team_id: 't1,t3' }));
    expect(shown).toEqual(events.map((e: { id: string }) => e.id).slice(0, 100));
    await page.selectOption('select[name="team"]', 't3');
    await loadingAfter(page, () => page.getByRole('button', { name: 'Apply filters' }).click());
    const t3 = await listAll(tenant.key, dayQuery({ team_id: 't3' }));
    expect(await shownIds(page)).toEqual(t3.events.map((e: { id: string }) => e.id));
    // Suggestions: their teams' actions only (team t2 and organization-level events hold others).
    const [suggested] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/actions'),
      page.fill('input[name="action"]', 'm'),
    ]);
    const actions = ((await suggested.json()) as { data: { action: string }[] }).data.map((a) => a.action);
    const teamActions = [...new Set(events.map((e: { action: string }) => e.action))]
      .filter((a) => a.startsWith('m'))
      .sort();
    expect(actions).toEqual(teamActions);
    await expect
      .poll(() =>
        page.$$eval('#tk-action-suggestions option', (o) => o.map((x) => (x as HTMLOptionElement).value)),
      )
      .toContain('member.*');
    const options = await page.$$eval('#tk-action-suggestions option', (o) =>
      o.map((x) => (x as HTMLOptionElement).value),
    );
    expect(options.filter((o) => !o.endsWith('*')).sort()).toEqual(teamActions);
    expect(options).not.toContain('member.renamed');
  });

  it('cannot be opened by a member: the API refuses to mint', async () => {
    const refused = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
      token: operator(),
      body: { user: { id: 'u_member' }, role: 'member' },
    });
    expect(refused.status).toBe(403);
  });

  it('ends an open session whose role the policy drops, within the cache time (0 s locally)', async () => {
    const own = await createTenant({ name: 'Console policy' });
    await api('POST', '/v1/events', {
      token: own.key,
      body: { action: 'member.invited', actor: { id: 'u1' } },
    });
    const context = await newPerson();
    const page = await openConsole(
      context,
      await mintLink(own.id, { user: { id: 'u_admin' }, role: 'admin' }),
    );
    const patched = await api('PATCH', `/v1/tenants/${own.id}`, {
      token: own.key,
      body: { access: { view: ['owner'], export: ['owner'] } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    await page.fill('input[name="actor"]', 'u1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('main.notice h1').textContent()).toBe('Your session has ended');
    expect(await page.locator('main.notice').textContent()).toContain('no longer has access');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('says when the session has expired, and posts the end only to the listed origins when framed', async () => {
    const own = await createTenant({ name: 'Console expiry' });
    const listed = 'https://app.example.com';
    expect(
      (await api('PATCH', `/v1/tenants/${own.id}`, { token: own.key, body: { embed_origins: [listed] } }))
        .status,
    ).toBe(200);
    const context = await newPerson();
    const page = await context.newPage();
    await page.clock.install();
    // The page watches its own postMessage calls (a test-only observer installed before any script).
    await page.addInitScript(() => {
      const posted: [unknown, string][] = [];
      (window as unknown as { __posted: typeof posted }).__posted = posted;
      const original = window.postMessage.bind(window);
      Object.defineProperty(window, 'parent', {
        value: {
          postMessage: (message: unknown, origin: string) => posted.push([message, origin]),
        },
      });
      void original;
    });
    await page.goto(await mintLink(own.id, { user: { id: 'u_exp' }, role: 'owner', ttl_seconds: 60 }));
    await waitForRows(page);
    await page.clock.fastForward(61_000);
    await expect.poll(() => page.locator('main.notice h1').textContent()).toBe('Your session has ended');
    expect(await page.evaluate(() => (window as unknown as { __posted: unknown }).__posted)).toEqual([
      [{ type: 'trailkeeper:session-expired' }, listed],
    ]);
    await screenshot(page, 'session-ended');
  });

  it('renders in dark mode and passes an axe-core scan with no serious or critical violations', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await openConsole(
      context,
      await mintLink(tenant.id, { user: { id: 'u_dark' }, role: 'owner' }),
    );
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(20, 22, 26)');
    const scan = async (state: string) => {
      const result = await new AxeBuilder({ page }).analyze();
      const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(
        serious.map((v) => `${state}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      ).toEqual([]);
    };
    await scan('table');
    await page.locator('tr[data-event-id]').first().click();
    await scan('detail panel');
    await screenshot(page, 'dark-mode');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'dark-mode-viewport.png') });
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Export' }).click();
    await scan('export dialog');
    const light = await openConsole(
      await newPerson(),
      await mintLink(tenant.id, { user: { id: 'u_light' }, role: 'owner' }),
    );
    const lightScan = await new AxeBuilder({ page: light }).analyze();
    expect(
      lightScan.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
    ).toEqual([]);
  });
});
