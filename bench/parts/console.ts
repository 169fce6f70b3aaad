/**
 * Part — the console as a person meets it. The size of what the browser downloads (the esbuild
 * bundle of console/build.ts, gzipped at level 9, against the 100 KiB budget), and the time from
 * opening a viewer-session link to the first rows of the table, on a tenant holding 10,000
 * events of the last day (2,000 in quick mode), in Debian's Chromium: the shell, its assets, the code exchange, the
 * first `GET /v1/events` (100 rows) and the render, measured in the page (performance.now() when
 * the first row exists, from the navigation's time origin). Each run is a fresh browser context,
 * so nothing is cached between runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../../console/build.ts';
import { launchBrowser } from '../../test/browser/browser.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, READ_POPULATION } from '../lib/events.ts';
import { atMost, type BenchPart, type PartResult } from '../lib/part.ts';
import { median, round } from '../lib/stats.ts';

/** The tenant's size: 10,000 events (quick: 2,000 — the first page reads 100 either way). */
const eventsFor = (quick: boolean): number => (quick ? 2_000 : 10_000);
const BATCH = 100;
const MAX_GZIP_KIB = 100;

const kib = (bytes: number): number => round(bytes / 1024, 1);

export const consolePart: BenchPart = {
  name: 'console',
  title: 'Console: bundle size and time to first rows',
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const outDir = await mkdtemp(join(tmpdir(), 'tk-bench-console-'));
    const assets = await buildConsole({ outDir }).finally(() => rm(outDir, { recursive: true, force: true }));

    const EVENTS = eventsFor(ctx.quick);
    ctx.progress.step(`console: seeding ${EVENTS.toLocaleString('en-US')} events`);
    const tenant = await ctx.createApiTenant({ rate_limit_rps: 10_000 });
    const client = ctx.client(tenant.key);
    const now = Date.now();
    const next = eventGenerator({
      seed: 13,
      population: READ_POPULATION,
      // Spread over the last 22 hours: all of them in the console's default range (24 h).
      occurredAt: (n) => now - 60_000 - n * Math.floor((22 * 3_600_000) / EVENTS),
    });
    for (let sent = 0; sent < EVENTS; sent += BATCH) {
      await client.events.sendBatch(Array.from({ length: BATCH }, (_, i) => next(sent + i)));
    }

    const runs = ctx.quick ? 3 : 7;
    const firstRowsMs: number[] = [];
    const browser = await launchBrowser();
    try {
      for (let run = 0; run < runs; run++) {
        const minted = await ctx.operator.viewerSessions.create(tenant.id, {
          user: { id: `bench_${run}`, email: `bench.${run}@acme-corp.example` },
          role: 'owner',
        });
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(minted.url);
        const firstRow = await page.waitForFunction(
          () => {
            // A function, not a string: the page's CSP refuses eval (this bench runs without DOM types).
            const page = globalThis as unknown as { document: { querySelector(selector: string): unknown } };
            return page.document.querySelector('table tbody tr') === null ? null : performance.now();
          },
          undefined,
          { polling: 'raf', timeout: 30_000 },
        );
        firstRowsMs.push(round((await firstRow.jsonValue()) as number, 0));
        await context.close();
      }
    } finally {
      await browser.close();
    }

    const firstRows = median(firstRowsMs);
    return {
      headlines: [
        atMost(
          'console_js_gzip_kib',
          kib(assets.bytes.scriptGzip),
          MAX_GZIP_KIB,
          'console JavaScript, gzipped (KiB)',
          ' KiB',
        ),
        {
          key: 'console_first_rows_ms',
          value: firstRows,
          note: `median ms from opening a session link to the first rows, ${EVENTS.toLocaleString('en-US')}-event tenant (${runs} runs)`,
        },
      ],
      details: { assets: assets.bytes, first_rows_ms: firstRowsMs, events: EVENTS },
      tables: [
        {
          title: 'Console',
          columns: ['figure', 'value'],
          rows: [
            ['JavaScript', `${kib(assets.bytes.script)} KiB (${kib(assets.bytes.scriptGzip)} KiB gzipped)`],
            ['Stylesheet', `${kib(assets.bytes.style)} KiB (${kib(assets.bytes.styleGzip)} KiB gzipped)`],
            ['time to first rows, median', `${firstRows ?? '–'} ms`],
            ['time to first rows, each run', firstRowsMs.map((ms) => `${ms}`).join(', ')],
          ],
        },
      ],
    };
  },
};
