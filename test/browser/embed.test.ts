/**
 * Embedding the console, in Chromium, over https as in AWS: the test serves an embedding page at
 * a listed origin and at an unlisted one (Playwright answers for those hosts), and proxies a
 * https console origin to the local stack, so the browser enforces the shell's real
 * Content-Security-Policy. A listed origin gets a working, signed-in console and, when the
 * session ends, the `trailkeeper:session-expired` message — at its own origin only. An unlisted
 * origin gets nothing: the frame is refused before any script runs, so the one-time code is not
 * even spent.
 */
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, baseUrl, createTenant, type TestTenant } from '../integration/client.ts';
import { launchBrowser, screenshot, type TestBrowser } from './browser.ts';

const CONSOLE_ORIGIN = 'https://console.test';
const APP_ORIGIN = 'https://app.embedder.test';
const OTHER_ORIGIN = 'https://evil.test';

let browser: TestBrowser;
let tenant: TestTenant;

beforeAll(async () => {
  browser = await launchBrowser();
  tenant = await createTenant();
  const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
    token: tenant.key,
    body: { embed_origins: [APP_ORIGIN], app_url: `${APP_ORIGIN}/settings/audit-log` },
  });
  expect(patched.status).toBe(200);
  await api('POST', '/v1/events', {
    token: tenant.key,
    body: { action: 'member.invited', actor: { id: 'user_1', email: 'ada@acme.example' } },
  });
});

afterAll(async () => {
  await browser?.close();
});

const mintCode = async (ttlSeconds = 3_600): Promise<string> => {
  const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
    token: tenant.key,
    body: { user: { id: 'user_owner', email: 'owner@acme.example' }, role: 'owner', ttl_seconds: ttlSeconds },
  });
  expect(minted.status).toBe(201);
  return minted.body.code as string;
};

/** A context where `embedderOrigin` serves a page framing the https console, proxied to the local stack. */
const embeddingContext = async (embedderOrigin: string, code: string): Promise<BrowserContext> => {
  const context = await browser.newContext();
  await context.route(`${CONSOLE_ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    const response = await route.fetch({ url: `${baseUrl()}${url.pathname}${url.search}` });
    await route.fulfill({ response });
  });
  await context.route(`${embedderOrigin}/**`, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="en"><title>Settings</title>
<script>window.received = []; addEventListener('message', (e) => window.received.push({ origin: e.origin, data: e.data }));</script>
<h1>Acme settings</h1>
<iframe id="audit" title="Audit log" width="1200" height="800" src="${CONSOLE_ORIGIN}/console/t/${tenant.id}/#code=${code}"></iframe>`,
    }),
  );
  return context;
};

const consoleFrame = (page: Page): Frame | undefined =>
  page.frames().find((frame) => frame !== page.mainFrame());

describe('embedding the console', () => {
  it("works from a listed origin, with the shell's CSP naming exactly that origin", async () => {
    const code = await mintCode();
    const context = await embeddingContext(APP_ORIGIN, code);
    const page = await context.newPage();
    const shell = page.waitForResponse((r) => r.url().startsWith(`${CONSOLE_ORIGIN}/console/t/`));
    await page.goto(`${APP_ORIGIN}/settings/audit-log`);
    const csp = (await shell).headers()['content-security-policy'] ?? '';
    expect(csp).toContain(`frame-ancestors ${APP_ORIGIN}`);
    expect(csp).toContain("require-trusted-types-for 'script'");
    const frame = consoleFrame(page);
    if (frame === undefined) throw new Error('no console frame');
    await expect.poll(() => frame.locator('h1').first().textContent(), { timeout: 15_000 }).toBe('Audit log');
    await expect
      .poll(() => frame.getByText('member.invited').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    // The code is gone from the frame's address once exchanged.
    expect(frame.url()).not.toContain('code=');
    await screenshot(page, 'embedded');
  });

  it('tells the embedding page, at its listed origin only, when the session ends', async () => {
    const code = await mintCode(60);
    const context = await embeddingContext(APP_ORIGIN, code);
    await context.clock.install();
    const page = await context.newPage();
    await page.goto(`${APP_ORIGIN}/settings/audit-log`);
    const frame = consoleFrame(page);
    if (frame === undefined) throw new Error('no console frame');
    await expect
      .poll(() => frame.getByText('member.invited').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await page.clock.fastForward(65_000);
    await expect
      .poll(() => frame.getByText('Your session has ended').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { received: unknown[] }).received), {
        timeout: 10_000,
      })
      .toEqual([{ origin: CONSOLE_ORIGIN, data: { type: 'trailkeeper:session-expired' } }]);
  });

  it('is refused from an origin the tenant does not list, before any script runs', async () => {
    const code = await mintCode();
    const context = await embeddingContext(OTHER_ORIGIN, code);
    const page = await context.newPage();
    const shell = page.waitForResponse((r) => r.url().startsWith(`${CONSOLE_ORIGIN}/console/t/`));
    await page.goto(`${OTHER_ORIGIN}/settings/audit-log`);
    const csp = (await shell).headers()['content-security-policy'] ?? '';
    expect(csp).toContain(`frame-ancestors ${APP_ORIGIN}`);
    expect(csp).not.toContain(OTHER_ORIGIN);
    await page.waitForTimeout(1_000);
    const frame = consoleFrame(page);
    expect(await frame?.locator('#console').count()).toBe(0);
    await screenshot(page, 'embed-refused');
    // Nothing ran in the refused frame: the one-time code was never exchanged.
    const exchanged = await api('POST', '/v1/sessions', { body: { code } });
    expect(exchanged.status).toBe(201);
  });
});
