/**
 * The console's Verify, in Chromium, against a local stack of its own whose sealer runs only when
 * the test says so, with a short watermark (as test/integration/integrity.test.ts does): a sealed
 * event verifies in the browser; with the API's answers altered in flight (the event list, the
 * proof path, the digest's signature), each fails with the step it breaks; an event not sealed
 * yet is explained. The product has no test-only route: tampering is `page.route`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { stackClient } from '../integration/own-stack.ts';
import { launchBrowser, screenshot, type TestBrowser, watchPage } from './browser.ts';

const OPERATOR = 'tk_op_browser-verify-test-operator-key-000000000000';
const LAG_MS = 1500;

let stack: LocalStack;
let browser: TestBrowser;
let tenant: { id: string; key: string };

const client = stackClient(() => stack, OPERATOR);
const { call } = client;

/** The sealed event the tests verify (`doc-2`), told apart in the table by its action. */
const SEALED_ACTION = 'document.shared';
const FRESH_ACTION = 'member.invited';

beforeAll(async () => {
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    sealWatermarkLagMs: LAG_MS,
    scheduleEveryMs: { sealer: 0, 'retention-worker': 0 },
  });
  browser = await launchBrowser();
  tenant = await client.newTenant(1, ['events:write', 'events:read', 'admin']);
  const sent = await call('POST', '/v1/events', tenant.key, {
    events: ['document.created', SEALED_ACTION, 'document.deleted'].map((action, i) => ({
      id: `doc-${i + 1}`,
      action,
      actor: { id: 'user_1', email: 'ada@acme.example', name: 'Ada' },
      target: { type: 'document', id: `d${i}` },
      metadata: { shared_with: 'bob@acme.example', n: i },
    })),
  });
  expect(sent.status).toBe(201);
  // Wait out the watermark, then seal: the three events (and the tenant's own trail) are sealed.
  await sleep(LAG_MS + 100);
  await stack.runScheduled('sealer');
  const proof = await call('GET', '/v1/events/doc-2/proof', tenant.key);
  expect(proof.status).toBe(200);
  // Sent after the seal, and no seal runs again: not sealed yet.
  const fresh = await call('POST', '/v1/events', tenant.key, {
    id: 'fresh-1',
    action: FRESH_ACTION,
    actor: { id: 'user_2', email: 'bo@acme.example' },
  });
  expect(fresh.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A signed-in owner's console page (the viewer-session link, as the SaaS app would open it). */
const openConsole = async (
  tamper?: (page: Page) => Promise<unknown>,
  colorScheme: 'light' | 'dark' = 'light',
) => {
  const minted = await call('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, tenant.key, {
    user: { id: 'user_owner', email: 'owner@acme.example' },
    role: 'owner',
  });
  expect(minted.status).toBe(201);
  const link = new URL(minted.body.url as string);
  const context = await browser.newContext({ colorScheme });
  const page = await context.newPage();
  const problems = watchPage(page, stack.url);
  // Chromium logs every 404 as a console error, naming the URL only in the message's location.
  const notFound: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /status of 404/.test(message.text()))
      notFound.push(new URL(message.location().url).pathname);
  });
  if (tamper !== undefined) await tamper(page);
  await page.goto(`${stack.url}${link.pathname}${link.hash}`);
  /** What the page did wrong, beside the 404s `expected` (paths) and the shell's missing favicon. */
  const unexpected = (expected: string[] = []) => [
    ...problems.filter((p) => !/status of 404/.test(p)),
    ...notFound.filter((path) => path !== '/favicon.ico' && !expected.includes(path)),
  ];
  return { page, unexpected };
};

/** Opens the detail panel of the row showing `rowText`, clicks Verify and waits for the outcome. */
const verifyRow = async (page: Page, rowText: string) => {
  const row = page.locator('tbody tr', { hasText: rowText }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  const button = page.getByRole('button', { name: 'Verify', exact: true });
  await button.click();
  const outcome = page.locator('.tk-verify-outcome');
  await expect
    .poll(() => outcome.getAttribute('data-state'), { timeout: 20_000 })
    .not.toMatch(/idle|running/);
  // The detail panel scrolls on its own: bring the outcome into view for the screenshots.
  await page.locator('.tk-verify').scrollIntoViewIfNeeded();
  return (await outcome.textContent()) ?? '';
};

/** Rewrites one JSON answer of the API in flight. */
const rewrite =
  (edit: (body: any) => void) =>
  async (route: Route): Promise<void> => {
    const response = await route.fetch();
    const body = await response.json();
    edit(body);
    await route.fulfill({ response, json: body });
  };

describe('Verify in the console', () => {
  it('verifies a sealed event: digest, seal time and the published key fingerprint', async () => {
    const { page, unexpected } = await openConsole();

    const text = await verifyRow(page, SEALED_ACTION);

    expect(text).toMatch(/^Verified: this event is in digest \d+ sealed at .+, signed by key [0-9a-f]{64}$/);
    const steps = await page.locator('.tk-verify-steps li').allTextContents();
    expect(steps).toHaveLength(4);
    for (const step of steps) expect(step).toMatch(/^✓ Passed/);
    await screenshot(page, 'verify-success');
    // Another event's details start over: no outcome of the previous event stays on screen.
    await page.locator('tbody tr', { hasText: 'document.deleted' }).first().click();
    await expect.poll(() => page.locator('.tk-verify-outcome').getAttribute('data-state')).toBe('idle');
    expect(await page.locator('.tk-verify-steps').count()).toBe(0);
    expect(unexpected()).toEqual([]);
  });

  it('fails at the event hash when the event shown was altered in the API answer', async () => {
    // The list row, and the event's own answer should the page ever fetch it: both altered.
    const { page } = await openConsole((p) =>
      p.route(
        (url) => url.pathname === '/v1/events' || url.pathname === '/v1/events/doc-2',
        rewrite((body) => {
          for (const event of body.data ?? [body])
            if (event.id === 'doc-2') event.actor.email = 'mallory@evil.example';
        }),
      ),
    );

    const text = await verifyRow(page, SEALED_ACTION);

    expect(text).toMatch(/^Verification failed: the event changed since it was sealed\./);
    expect(await page.locator('li[data-step="event-hash"]').textContent()).toMatch(/^✗ Failed/);
    await screenshot(page, 'verify-failed-event');
  });

  it('fails at the inclusion step when a hash of the proof path was altered', async () => {
    const { page } = await openConsole((p) =>
      p.route(
        (url) => url.pathname === '/v1/events/doc-2/proof',
        rewrite((body) => {
          const first: string = body.audit_path[0];
          body.audit_path[0] = `${first.slice(0, -1)}${first.endsWith('0') ? '1' : '0'}`;
        }),
      ),
    );

    const text = await verifyRow(page, SEALED_ACTION);

    expect(text).toMatch(/^Verification failed: the proof does not lead to the signed root\./);
    expect(await page.locator('li[data-step="event-hash"]').textContent()).toMatch(/^✓ Passed/);
    expect(await page.locator('li[data-step="inclusion"]').textContent()).toMatch(/^✗ Failed/);
  });

  it("fails at the signature step when the digest's signature was altered (in dark mode)", async () => {
    const { page } = await openConsole(
      (p) =>
        p.route(
          (url) => url.pathname === '/v1/events/doc-2/proof',
          rewrite((body) => {
            const der = Buffer.from(body.digest.signature, 'base64');
            der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
            body.digest.signature = der.toString('base64');
          }),
        ),
      'dark',
    );

    const text = await verifyRow(page, SEALED_ACTION);

    expect(text).toMatch(/^Verification failed: the digest's signature is invalid\./);
    expect(await page.locator('li[data-step="inclusion"]').textContent()).toMatch(/^✓ Passed/);
    expect(await page.locator('li[data-step="signature"]').textContent()).toMatch(/^✗ Failed/);
    await screenshot(page, 'verify-failed-signature-dark');
  });

  it('says so when the service itself finds the stored event no longer matches its seal (409)', async () => {
    const { page } = await openConsole((p) =>
      p.route(
        (url) => url.pathname === '/v1/events/doc-2/proof',
        (route) =>
          route.fulfill({
            status: 409,
            contentType: 'application/problem+json',
            json: {
              type: '/problems/conflict',
              title: 'Conflict',
              status: 409,
              detail: 'This event no longer matches the hash that was sealed for it.',
            },
          }),
      ),
    );

    const text = await verifyRow(page, SEALED_ACTION);

    expect(text).toBe(
      'Verification failed: the event changed since it was sealed. The service reports: This event no longer matches the hash that was sealed for it.',
    );
  });

  it('explains an event not sealed yet, with when to try again', async () => {
    const { page, unexpected } = await openConsole();

    const text = await verifyRow(page, FRESH_ACTION);

    expect(text).toMatch(/^Not sealed yet — events are sealed every 5 minutes; try again after .+\./);
    expect(await page.locator('.tk-verify-steps').count()).toBe(0);
    await screenshot(page, 'verify-pending');
    // The proof route's 404 is the expected "not sealed yet" answer.
    expect(unexpected(['/v1/events/fresh-1/proof'])).toEqual([]);
  });
});
