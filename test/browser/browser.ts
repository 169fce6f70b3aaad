/**
 * The browser the console tests drive: Debian's Chromium (`apt-get install -y chromium`, which
 * .ci/run does when it is missing) through playwright-core. Playwright's own browser download
 * cannot work on these machines. Each launch gets a fresh profile (Playwright's) and the flags that stop
 * Chromium from calling Google's hosts on this closed network (see /work/shared/STACK.md).
 * Screenshots go to test-output/console/ (ignored by git): look at them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.TRAILKEEPER_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(process.cwd(), 'test-output', 'console');

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh context (own storage, own sessionStorage): one per simulated person. */
  newContext(options?: Parameters<Browser['newContext']>[0]): Promise<BrowserContext>;
  close(): Promise<void>;
}

export const launchBrowser = async (): Promise<TestBrowser> => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // No --user-data-dir: Playwright refuses it and gives every launch a fresh temporary profile.
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    newContext: async (options) => {
      const context = await browser.newContext({ acceptDownloads: true, ...options });
      contexts.push(context);
      return context;
    },
    close: async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
};

/** Saves a full-page screenshot under test-output/console/<name>.png and returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
};

/**
 * Collects what the page must never do: uncaught errors, console errors, and requests to any
 * origin other than the console's own (no third-party requests).
 */
export const watchPage = (page: Page, origin: string) => {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin)
      problems.push(`third-party request: ${request.url()}`);
  });
  return problems;
};
