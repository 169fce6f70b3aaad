/**
 * GET /v1/feed end to end, on a stack of its own with a short watermark (the sealer's lag, which
 * the feed shares): events come in ascending received_at order across the tenant's shards; an
 * event ingested late with an old occurred_at appears after the cursor that had already passed
 * its occurred_at; a caught-up cursor answers an empty page and keeps its place; cursors work only
 * for the tenant and the route that made them; the typed client follows the feed.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { shardOf } from '#shared/domain/keys.ts';
import { TrailkeeperClient } from '../../client/index.ts';
import { stackClient } from './own-stack.ts';

const OPERATOR = 'tk_op_feed-integration-test-operator-key-000000000';
const LAG_MS = 1000;
const SHARDS = 4;

let stack: LocalStack;
const { call, newTenant } = stackClient(() => stack, OPERATOR);

interface FeedEvent {
  id: string;
  action: string;
  occurred_at: string;
  received_at: string;
}

const send = async (key: string, events: Record<string, unknown>[]) => {
  const res = await call('POST', '/v1/events', key, { events });
  expect(res.status).toBe(201);
};
const feed = (key: string, query: string) => call('GET', `/v1/feed?${query}`, key);
/**
 * What a test ingested (the feed also carries the service's own events: the key's creation, the
 * reader's `audit_log.viewed`).
 */
const ingested = (data: FeedEvent[]) => data.filter((e) => e.action === 'document.shared');
const ascending = (data: FeedEvent[]) =>
  data.every(
    (e, i) => i === 0 || `${data[i - 1]?.received_at}#${data[i - 1]?.id}` < `${e.received_at}#${e.id}`,
  );
const pastWatermark = () => sleep(LAG_MS + 100);

beforeAll(async () => {
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    sealWatermarkLagMs: LAG_MS,
    scheduleEveryMs: { 'retention-worker': 0, sealer: 0 },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('GET /v1/feed', () => {
  it('returns events in ascending received_at order across shards, then a late arrival with an old occurred_at after the cursor', async () => {
    const tenant = await newTenant(SHARDS, ['events:write', 'events:read']);
    const start = new Date(Date.now() - 1000).toISOString();
    const ids = Array.from({ length: 12 }, (_, i) => `feed-${i}`);
    expect(new Set(ids.map((id) => shardOf(id, SHARDS))).size).toBeGreaterThan(1);
    for (const group of [ids.slice(0, 4), ids.slice(4, 8), ids.slice(8)]) {
      await send(
        tenant.key,
        group.map((id) => ({ id, action: 'document.shared', actor: { id: 'u1' } })),
      );
    }
    await pastWatermark();

    const first = await feed(tenant.key, `from=${start}&limit=1000`);

    expect(first.status).toBe(200);
    expect(
      ingested(first.body.data)
        .map((e: FeedEvent) => e.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(ascending(first.body.data)).toBe(true);
    expect(Date.parse(first.body.watermark)).toBeLessThan(Date.now() - LAG_MS + 1);
    const cursor: string = first.body.next_cursor;

    // Arrives now, but says it happened three days ago: a time-ordered reader past it would skip it.
    const occurred = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await send(tenant.key, [
      { id: 'feed-late', action: 'document.shared', actor: { id: 'u1' }, occurred_at: occurred },
    ]);
    await pastWatermark();

    const next = await feed(tenant.key, `cursor=${cursor}`);

    expect(next.status).toBe(200);
    const late = ingested(next.body.data);
    expect(late.map((e: FeedEvent) => e.id)).toEqual(['feed-late']);
    expect(late[0]?.occurred_at).toBe(occurred);
    // The first call's own audit record arrived after that call's watermark: it follows too, once.
    expect(next.body.data.filter((e: FeedEvent) => e.action === 'audit_log.viewed')).toHaveLength(1);
    expect(ascending(next.body.data)).toBe(true);

    await pastWatermark();
    const caughtUp = await feed(tenant.key, `cursor=${next.body.next_cursor}`);
    expect(caughtUp.status).toBe(200);
    expect(caughtUp.body.data).toEqual([]);
    expect(typeof caughtUp.body.next_cursor).toBe('string');
  });

  it('pages a full page after its last event, with nothing repeated or skipped', async () => {
    const tenant = await newTenant(SHARDS, ['events:write', 'events:read']);
    const start = new Date(Date.now() - 1000).toISOString();
    const ids = Array.from({ length: 9 }, (_, i) => `page-${i}`);
    await send(
      tenant.key,
      ids.map((id) => ({ id, action: 'document.shared', actor: { id: 'u1' } })),
    );
    await pastWatermark();

    const seen: FeedEvent[] = [];
    let cursor = '';
    for (let i = 0; i < 3; i++) {
      const page = await feed(tenant.key, i === 0 ? `from=${start}&limit=4` : `cursor=${cursor}&limit=4`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    }

    expect(
      ingested(seen)
        .map((e) => e.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(ascending(seen)).toBe(true);
  });

  it("rejects another tenant's cursor, and an events-list cursor", async () => {
    const mine = await newTenant(SHARDS, ['events:write', 'events:read']);
    const theirs = await newTenant(SHARDS, ['events:write', 'events:read']);
    await send(mine.key, [
      { id: 'x-1', action: 'document.shared', actor: { id: 'u1' } },
      { id: 'x-2', action: 'document.shared', actor: { id: 'u1' } },
    ]);
    const myCursor = (await feed(mine.key, '')).body.next_cursor;
    const listCursor = (await call('GET', '/v1/events?limit=1', mine.key)).body.next_cursor;
    expect(typeof listCursor).toBe('string');

    const stolen = await feed(theirs.key, `cursor=${myCursor}`);
    const wrongRoute = await feed(mine.key, `cursor=${listCursor}`);

    expect(stolen.status).toBe(400);
    expect(stolen.body.type).toMatch(/invalid-cursor$/);
    expect(wrongRoute.status).toBe(400);
    expect(wrongRoute.body.type).toMatch(/invalid-cursor$/);
  });

  it('is followed by the typed client until aborted', async () => {
    const tenant = await newTenant(SHARDS, ['events:write', 'events:read']);
    const from = new Date(Date.now() - 1000);
    await send(
      tenant.key,
      ['c-1', 'c-2', 'c-3'].map((id) => ({ id, action: 'document.shared', actor: { id: 'u1' } })),
    );
    await pastWatermark();
    const client = new TrailkeeperClient({ baseUrl: stack.url, apiKey: tenant.key });
    const stop = new AbortController();

    const got: string[] = [];
    for await (const event of client.events.follow(
      { from, limit: 2 },
      { pollIntervalMs: 50, signal: stop.signal },
    )) {
      if (event.action === 'document.shared') got.push(event.id);
      if (got.length === 3) stop.abort();
    }

    expect(got.sort()).toEqual(['c-1', 'c-2', 'c-3']);
  });

  it("runs the README's feed commands as printed: a first page, then the next from its cursor", async () => {
    const tenant = await newTenant(SHARDS, ['events:write', 'events:read']);
    const markdown = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = markdown.slice(markdown.indexOf('### Polling instead: `GET /v1/feed`'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const [firstCall, nextCall] = block.split('\n').filter((line) => line.startsWith('curl '));
    expect(firstCall).toContain('from=');
    expect(nextCall).toContain('cursor=$CURSOR');
    const sh = async (command: string, env: Record<string, string> = {}) => {
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', command], {
        env: { ...process.env, URL: stack.url, KEY: tenant.key, ...env },
      });
      return JSON.parse(stdout);
    };

    const first = await sh(firstCall ?? '');
    await send(tenant.key, [{ id: 'readme-1', action: 'document.shared', actor: { id: 'u1' } }]);
    await pastWatermark();
    const next = await sh(nextCall ?? '', { CURSOR: first.next_cursor });

    expect(first).toMatchObject({ data: expect.any(Array), next_cursor: expect.any(String) });
    expect(ingested(next.data).map((e: FeedEvent) => e.id)).toEqual(['readme-1']);
  });
});
