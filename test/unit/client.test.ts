/**
 * The API client against a scripted fetch: retries (429 and 503 honouring Retry-After, backoff,
 * bounds, what is never retried), ids assigned once per batch and reused by every attempt,
 * cursor iteration past short and empty pages, export polling, and problem errors. The clock and
 * the sleep are fakes: waits are asserted, never slept.
 */
import { readdir, readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type EventInput,
  type Export,
  ExportFailedError,
  ExportTimeoutError,
  IdConflictError,
  newClientEventId,
  type StoredEvent,
  TrailkeeperClient,
  type TrailkeeperClientOptions,
  TrailkeeperError,
  TrailkeeperNetworkError,
  TrailkeeperResponseError,
} from '../../client/index.ts';

const BASE = 'https://audit.example.test/prod';
const KEY = 'tk.tnt_test.key_test.secret-secret-secret';

interface Sent {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { network: Error }
  | ((sent: Sent) => Reply);

/** A fetch that answers from a script, one reply per request (the last one repeats), and records what was sent. */
const scripted = (replies: Reply[], options: Partial<TrailkeeperClientOptions> = {}) => {
  const sent: Sent[] = [];
  const waits: number[] = [];
  let clock = Date.parse('2026-12-01T00:00:00Z');
  let ids = 0;
  const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const request: Sent = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body as string | undefined,
    };
    sent.push(request);
    let reply = replies[Math.min(sent.length - 1, replies.length - 1)] as Reply;
    while (typeof reply === 'function') reply = reply(request);
    if ('network' in reply) throw reply.network;
    const body =
      reply.body === undefined
        ? null
        : typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    return new Response(body, { status: reply.status, headers: reply.headers });
  };
  const client = new TrailkeeperClient({
    baseUrl: BASE,
    apiKey: KEY,
    fetch,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    random: () => 0,
    newEventId: () => `cid-${++ids}`,
    ...options,
  });
  return { client, sent, waits, advance: (ms: number) => (clock += ms) };
};

const problem = (status: number, slug: string, extra: Record<string, unknown> = {}) => ({
  status,
  headers: { 'content-type': 'application/problem+json', 'apigw-requestid': 'req-1' },
  body: { type: `/problems/${slug}`, title: slug, status, detail: `${slug} detail`, ...extra },
});

const storedEvent = (id: string): StoredEvent => ({
  id,
  tenant_id: 'tnt_test',
  action: 'member.invited',
  occurred_at: '2026-12-01T00:00:00.000Z',
  received_at: '2026-12-01T00:00:00.000Z',
  actor: { id: 'u1' },
  impersonated: false,
  expires_at: null,
  hash: 'ab'.repeat(32),
});

const event = (extra: Partial<EventInput> = {}): EventInput => ({
  action: 'member.invited',
  actor: { id: 'u1' },
  ...extra,
});

/** The error a promise rejects with (fails the test when it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  expect(outcome.resolved, 'expected the call to fail').toBe(false);
  return outcome.resolved ? undefined : outcome.error;
};

describe('client retries', () => {
  it('retries a 429, waiting exactly what Retry-After says each time', async () => {
    const { client, sent, waits } = scripted([
      { ...problem(429, 'too-many-requests'), headers: { 'retry-after': '2' } },
      { ...problem(429, 'too-many-requests'), headers: { 'retry-after': '1' } },
      { status: 201, body: { data: [storedEvent('cid-1')] } },
    ]);

    const result = await client.events.sendBatch([event()]);

    expect(result).toMatchObject({ status: 201, replayed: false });
    expect(sent).toHaveLength(3);
    expect(waits).toEqual([2000, 1000]);
  });

  it('spreads a Retry-After by up to a fifth, never shortening it', async () => {
    const { client, waits } = scripted(
      [
        { ...problem(429, 'too-many-requests'), headers: { 'retry-after': '2' } },
        { status: 200, body: {} },
      ],
      { random: () => 0.5 },
    );

    await client.tenants.get('tnt_x');

    expect(waits).toEqual([2200]);
  });

  it('retries a 503 with exponential backoff when there is no Retry-After', async () => {
    const { client, sent, waits } = scripted(
      [problem(503, 'service-unavailable'), problem(503, 'service-unavailable'), { status: 200, body: {} }],
      { retry: { baseDelayMs: 100 } },
    );

    await client.events.get('evt_1');

    expect(sent).toHaveLength(3);
    // Equal jitter with random() = 0: half of 100, then half of 200.
    expect(waits).toEqual([50, 100]);
  });

  it('does not retry a 503 of a create that may have landed, but does retry its 429', async () => {
    const unavailable = scripted([problem(503, 'service-unavailable'), { status: 201, body: {} }]);
    const error = await rejection(unavailable.client.keys.create('tnt_1', { name: 'k', scopes: ['admin'] }));
    expect(error).toMatchObject({ status: 503 });
    expect(unavailable.sent).toHaveLength(1);

    const throttled = scripted([
      { ...problem(429, 'too-many-requests'), headers: { 'retry-after': '1' } },
      { status: 201, body: {} },
    ]);
    await throttled.client.keys.create('tnt_1', { name: 'k', scopes: ['admin'] });
    expect(throttled.sent).toHaveLength(2);
  });

  it('gives up after maxAttempts and throws the last answer, with its Retry-After', async () => {
    const { client, sent } = scripted(
      [{ ...problem(503, 'service-unavailable'), headers: { 'retry-after': '1' } }],
      { retry: { maxAttempts: 3 } },
    );

    const error = await rejection(client.integrity.digestPage());

    expect(sent).toHaveLength(3);
    expect(error).toBeInstanceOf(TrailkeeperError);
    expect(error).toMatchObject({ status: 503, retryAfterMs: 1000 });
  });

  it('does not start a retry whose wait would outlast maxElapsedMs', async () => {
    const { client, sent, waits } = scripted(
      [{ ...problem(429, 'too-many-requests'), headers: { 'retry-after': '30' } }],
      { retry: { maxElapsedMs: 10_000 } },
    );

    const error = await rejection(client.events.send(event()));

    expect(sent).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error).toMatchObject({ status: 429 });
  });

  it.each([
    [400, 'validation-error'],
    [401, 'unauthorized'],
    [404, 'not-found'],
    [409, 'id-conflict'],
    [413, 'payload-too-large'],
  ])('never retries a %i', async (status, slug) => {
    const { client, sent, waits } = scripted([problem(status, slug), { status: 201, body: { data: [] } }]);

    const error = await rejection(client.events.sendBatch([event()]));

    expect(error).toBeInstanceOf(TrailkeeperError);
    expect(sent).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('retries a lost answer of an idempotent request, never of one that would create twice', async () => {
    const lost = { network: new TypeError('fetch failed') };
    const read = scripted([lost, { status: 200, body: storedEvent('e1') }]);
    const ingest = scripted([lost, { status: 201, body: storedEvent('cid-1') }]);
    const tenant = scripted([lost, { status: 201, body: {} }]);
    const exportRequest = scripted([lost, { status: 201, body: {} }]);

    await read.client.events.get('e1');
    await ingest.client.events.send(event());
    const tenantError = await rejection(tenant.client.tenants.create({ name: 'Acme' }));
    const exportError = await rejection(exportRequest.client.exports.create({ format: 'csv' }));

    expect(read.sent).toHaveLength(2);
    expect(ingest.sent).toHaveLength(2);
    expect(tenant.sent).toHaveLength(1);
    expect(exportRequest.sent).toHaveLength(1);
    expect(tenantError).toBeInstanceOf(TrailkeeperNetworkError);
    expect((tenantError as Error).message).toBe('POST /prod/v1/tenants: fetch failed');
    expect(exportError).toBeInstanceOf(TrailkeeperNetworkError);
  });

  it('retries 502 and 504 only for idempotent requests', async () => {
    const read = scripted([{ status: 502 }, { status: 200, body: {} }]);
    const create = scripted([{ status: 504 }, { status: 201, body: {} }]);

    await read.client.exports.get('exp_1');
    await rejection(create.client.keys.create('tnt_1', { name: 'k', scopes: ['admin'] }));

    expect(read.sent).toHaveLength(2);
    expect(create.sent).toHaveLength(1);
  });

  it('bounds each attempt by timeoutMs and retries a read that timed out', async () => {
    let calls = 0;
    /** Answers only from the `answerFrom`th call on; before, hangs until the attempt is aborted. */
    const slow =
      (answerFrom: number) =>
      (_input: string | URL, init?: RequestInit): Promise<Response> => {
        calls++;
        if (calls >= answerFrom) return Promise.resolve(new Response('{"status":"ok"}', { status: 200 }));
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      };
    const client = new TrailkeeperClient({
      baseUrl: BASE,
      fetch: slow(2),
      timeoutMs: 20,
      sleep: async () => {},
    });

    await expect(client.health()).resolves.toEqual({ status: 'ok' });
    expect(calls).toBe(2);

    calls = 0;
    const once = new TrailkeeperClient({
      baseUrl: BASE,
      fetch: slow(99),
      timeoutMs: 20,
      retry: { maxAttempts: 1 },
    });
    const error = await rejection(once.health());
    expect(error).toBeInstanceOf(TrailkeeperNetworkError);
    expect(error).toMatchObject({
      timedOut: true,
      message: 'GET /prod/health: no answer within the timeout',
    });
    expect(calls).toBe(1);
  });

  it('stops waiting when the caller aborts, with the abort reason', async () => {
    const controller = new AbortController();
    const { client, sent } = scripted([
      (): Reply => {
        controller.abort(new Error('caller gave up'));
        return { ...problem(429, 'too-many-requests'), headers: { 'retry-after': '1' } };
      },
    ]);

    const error = await rejection(client.events.get('e1', { signal: controller.signal }));

    expect((error as Error).message).toBe('caller gave up');
    expect(sent).toHaveLength(1);
  });
});

describe('client ingest ids', () => {
  it('assigns ids before the first attempt and sends the very same batch on every retry', async () => {
    const { client, sent } = scripted([
      problem(503, 'service-unavailable'),
      { network: new TypeError('socket hang up') },
      { status: 201, body: { data: [storedEvent('cid-1'), storedEvent('own'), storedEvent('cid-2')] } },
    ]);
    const events = [event(), event({ id: 'own' }), event()];

    const result = await client.events.sendBatch(events);

    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => s.body)).size).toBe(1);
    const body = JSON.parse(sent[0]?.body ?? '') as { events: { id: string }[] };
    expect(body.events.map((e) => e.id)).toEqual(['cid-1', 'own', 'cid-2']);
    expect(events.map((e) => e.id)).toEqual([undefined, 'own', undefined]);
    expect(result.data.map((e) => e.id)).toEqual(['cid-1', 'own', 'cid-2']);
    expect(sent[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: `Bearer ${KEY}`,
    });
  });

  it('sends a prepared batch under the ids it was given, however often it is sent', async () => {
    const { client, sent } = scripted([
      { status: 201, body: { data: [] } },
      { status: 200, body: { data: [] } },
    ]);
    const prepared = client.events.prepareBatch([event(), event()]);

    const first = await client.events.sendBatch(prepared);
    const again = await client.events.sendBatch(prepared);

    expect(prepared.events.map((e) => e.id)).toEqual(['cid-1', 'cid-2']);
    expect(sent.map((s) => s.body)).toEqual([prepared.body, prepared.body]);
    expect(first).toMatchObject({ status: 201, replayed: false });
    expect(again).toMatchObject({ status: 200, replayed: true });
  });

  it('gives a single event an id too, and reports a replay', async () => {
    const { client, sent } = scripted([{ status: 200, body: { id: 'cid-1', duplicate: true } }]);

    const result = await client.events.send(event());

    expect(JSON.parse(sent[0]?.body ?? '')).toMatchObject({ id: 'cid-1', action: 'member.invited' });
    expect(result).toEqual({ status: 200, replayed: true, event: { id: 'cid-1', duplicate: true } });
  });

  it('makes lower-case ULIDs by default: time-sortable, never in the service namespace', () => {
    const ids = Array.from({ length: 200 }, (_, i) => newClientEventId(1_700_000_000_000 + i));

    for (const id of ids) expect(id).toMatch(/^[0-9abcdefghjkmnpqrstvwxyz]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(newClientEventId(0, (n) => new Uint8Array(n))).toBe('0'.repeat(26));
    expect(newClientEventId(2 ** 48 - 1, (n) => new Uint8Array(n).fill(31))).toBe(
      '7zzzzzzzzzzzzzzzzzzzzzzzzz',
    );
  });

  it('turns a 409 id conflict into an IdConflictError listing every reused id', async () => {
    const { client, sent } = scripted([
      problem(409, 'id-conflict', {
        errors: [
          {
            field: 'events[0].id',
            message: 'already names a stored event with other content',
            index: 0,
            id: 'a',
          },
          {
            field: 'events[2].id',
            message: 'already names a stored event with other content',
            index: 2,
            id: 'c',
          },
        ],
      }),
    ]);

    const error = await rejection(
      client.events.sendBatch([event({ id: 'a' }), event({ id: 'b' }), event({ id: 'c' })]),
    );

    expect(error).toBeInstanceOf(IdConflictError);
    expect(error).toBeInstanceOf(TrailkeeperError);
    expect((error as IdConflictError).ids).toEqual(['a', 'c']);
    expect((error as IdConflictError).conflicts).toEqual([
      { id: 'a', index: 0, field: 'events[0].id' },
      { id: 'c', index: 2, field: 'events[2].id' },
    ]);
    expect(sent).toHaveLength(1);
  });

  it('keeps a 409 of another kind a plain TrailkeeperError', async () => {
    const { client } = scripted([problem(409, 'export-not-ready')]);

    const error = await rejection(client.exports.downloadUrl('exp_1'));

    expect(error).toBeInstanceOf(TrailkeeperError);
    expect(error).not.toBeInstanceOf(IdConflictError);
  });
});

describe('client pagination', () => {
  it('goes on past a short and an empty page while next_cursor is set, and stops only at null', async () => {
    const pages = [
      { data: [storedEvent('e1'), storedEvent('e2')], next_cursor: 'c1' },
      { data: [], next_cursor: 'c2' },
      { data: [storedEvent('e3')], next_cursor: null },
    ];
    const { client, sent } = scripted([
      (s): Reply => ({
        status: 200,
        body: pages[['', 'c1', 'c2'].indexOf(s.url.searchParams.get('cursor') ?? '')],
      }),
    ]);
    const query = { action: ['member.*', 'auth.login'], impersonated: false, limit: 2, actor_id: 'u1' };

    const ids: string[] = [];
    for await (const e of client.events.list(query)) ids.push(e.id);

    expect(ids).toEqual(['e1', 'e2', 'e3']);
    expect(sent.map((s) => s.url.searchParams.get('cursor'))).toEqual([null, 'c1', 'c2']);
    for (const s of sent) {
      expect(s.url.pathname).toBe('/prod/v1/events');
      expect(Object.fromEntries([...s.url.searchParams].filter(([k]) => k !== 'cursor'))).toEqual({
        action: 'member.*,auth.login',
        impersonated: 'false',
        limit: '2',
        actor_id: 'u1',
      });
    }
  });

  it('sends exclude_action as the API reads it, a list comma-separated, and hands back scanned_until', async () => {
    const page = { data: [], next_cursor: 'c1', scanned_until: '2026-12-01T00:00:00.000Z' };
    const { client, sent } = scripted([{ status: 200, body: page }]);

    const answer = await client.events.page({ exclude_action: ['audit_log.*', 'auth.login'] });

    expect(answer.scanned_until).toBe('2026-12-01T00:00:00.000Z');
    expect(sent[0]?.url.searchParams.get('exclude_action')).toBe('audit_log.*,auth.login');
  });

  it('iterates page by page, each page as the API gave it', async () => {
    const { client } = scripted([
      { status: 200, body: { data: [], next_cursor: 'c1' } },
      { status: 200, body: { data: [storedEvent('e1')], next_cursor: null } },
    ]);

    const pages = [];
    for await (const page of client.events.pages({ limit: 1 })) pages.push(page);

    expect(pages).toEqual([
      { data: [], next_cursor: 'c1' },
      { data: [storedEvent('e1')], next_cursor: null },
    ]);
  });

  it('follows the feed: from on the first call, then each next_cursor; waits only after an empty page; stops on abort', async () => {
    const stop = new AbortController();
    const { client, sent, waits } = scripted([
      {
        status: 200,
        body: { data: [storedEvent('e1'), storedEvent('e2')], next_cursor: 'c1', watermark: 'w' },
      },
      { status: 200, body: { data: [], next_cursor: 'c2', watermark: 'w' } },
      { status: 200, body: { data: [storedEvent('e3')], next_cursor: 'c3', watermark: 'w' } },
    ]);
    const cursors: string[] = [];

    const got: string[] = [];
    for await (const event of client.events.follow(
      { from: new Date('2026-12-01T00:00:00Z'), limit: 2 },
      { pollIntervalMs: 1000, signal: stop.signal, onCursor: (cursor) => cursors.push(cursor) },
    )) {
      got.push(event.id);
      if (got.length === 3) stop.abort();
    }

    expect(got).toEqual(['e1', 'e2', 'e3']);
    expect(sent.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([
      { from: '2026-12-01T00:00:00.000Z', limit: '2' },
      { cursor: 'c1', limit: '2' },
      { cursor: 'c2', limit: '2' },
    ]);
    expect(waits).toEqual([1000]);
    expect(cursors).toEqual(['c1', 'c2', 'c3']); // each after its page's events were all taken
  });

  it('refuses a feed answer without a cursor', async () => {
    const { client } = scripted([{ status: 200, body: { data: [], next_cursor: null } }]);

    await expect(client.events.feed()).rejects.toThrow(/not a feed page/);
  });

  it('follows digest pages by their next `from`', async () => {
    const { client, sent } = scripted([
      { status: 200, body: { data: [{ sequence: 1 }], next: '2026-12-01T00:05:00.001Z' } },
      { status: 200, body: { data: [{ sequence: 2 }], next: null } },
    ]);

    const sequences: number[] = [];
    for await (const d of client.integrity.digests({
      from: '2026-12-01T00:00:00Z',
      to: '2026-12-02T00:00:00Z',
    }))
      sequences.push(d.sequence);

    expect(sequences).toEqual([1, 2]);
    expect(sent.map((s) => s.url.searchParams.get('from'))).toEqual([
      '2026-12-01T00:00:00Z',
      '2026-12-01T00:05:00.001Z',
    ]);
    expect(sent.every((s) => s.url.searchParams.get('to') === '2026-12-02T00:00:00Z')).toBe(true);
  });

  it('refuses an answer that is not a page rather than stopping early', async () => {
    const { client } = scripted([{ status: 200, body: { data: [], next_cursor: 7 } }]);

    const error = await rejection(client.events.page());

    expect(error).toBeInstanceOf(TrailkeeperResponseError);
    expect((error as Error).message).toContain('not a page');
  });
});

describe('client export polling', () => {
  const exported = (status: Export['status'], extra: Partial<Export> = {}): Export => ({
    id: 'exp_1',
    status,
    format: 'ndjson',
    filters: { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' },
    rows: 0,
    bytes: 0,
    progress: 0,
    error: null,
    notify_email: null,
    email_error: null,
    as_of: null,
    created_at: '2026-12-01T00:00:00.000Z',
    started_at: null,
    completed_at: null,
    expires_at: '2026-12-08T00:00:00.000Z',
    download_url: null,
    ...extra,
  });

  it('polls a queued export until it is completed', async () => {
    const done = exported('completed', { rows: 12_000, download_url: '/v1/exports/exp_1/download' });
    const { client, sent, waits } = scripted([
      { status: 202, body: exported('queued') },
      { status: 200, body: exported('running', { progress: 0.5 }) },
      { status: 200, body: done },
    ]);

    const created = await client.exports.create({
      format: 'ndjson',
      action: ['member.*'],
      impersonated: true,
    });
    const result = await client.waitForExport(created, { intervalMs: 500 });

    expect(result).toEqual(done);
    expect(waits).toEqual([500, 500]);
    expect(JSON.parse(sent[0]?.body ?? '')).toEqual({
      format: 'ndjson',
      action: 'member.*',
      impersonated: 'true',
    });
    expect(sent.slice(1).map((s) => `${s.method} ${s.url.pathname}`)).toEqual([
      'GET /prod/v1/exports/exp_1',
      'GET /prod/v1/exports/exp_1',
    ]);
  });

  it('returns a completed export at once, without a request', async () => {
    const { client, sent } = scripted([]);

    const done = exported('completed');
    expect(await client.waitForExport(done)).toBe(done);
    expect(sent).toHaveLength(0);
  });

  it('rejects with ExportFailedError when the export failed', async () => {
    const { client } = scripted([
      { status: 200, body: exported('running') },
      {
        status: 200,
        body: exported('failed', { error: 'the export could not be queued; request it again' }),
      },
    ]);

    const error = await rejection(client.waitForExport('exp_1', { intervalMs: 10 }));

    expect(error).toBeInstanceOf(ExportFailedError);
    expect((error as ExportFailedError).export.status).toBe('failed');
    expect((error as Error).message).toContain('could not be queued');
  });

  it('rejects with ExportTimeoutError once timeoutMs has passed, having waited no longer', async () => {
    const { client, sent, waits } = scripted([{ status: 200, body: exported('running') }]);

    const error = await rejection(client.waitForExport('exp_1', { intervalMs: 400, timeoutMs: 1000 }));

    expect(error).toBeInstanceOf(ExportTimeoutError);
    expect((error as ExportTimeoutError).export.status).toBe('running');
    expect(waits).toEqual([400, 400, 200]);
    expect(sent).toHaveLength(4);
  });

  it('stops polling when aborted', async () => {
    const controller = new AbortController();
    const { client } = scripted([
      (): Reply => {
        controller.abort(new Error('closed'));
        return { status: 200, body: exported('queued') };
      },
    ]);

    const error = await rejection(client.waitForExport('exp_1', { signal: controller.signal }));

    expect((error as Error).message).toBe('closed');
  });

  it("reads a download URL from the JSON answer or from the redirect's Location", async () => {
    const json = scripted([
      { status: 200, body: { url: 'https://s3.test/file?sig=1', expires_at: '2026-12-01T00:15:00Z' } },
    ]);
    const redirect = scripted([{ status: 302, headers: { location: 'https://s3.test/file?sig=2' } }]);

    expect(await json.client.exports.downloadUrl('exp_1')).toEqual({
      url: 'https://s3.test/file?sig=1',
      expires_at: '2026-12-01T00:15:00Z',
    });
    expect(await redirect.client.exports.downloadUrl('exp_1')).toEqual({
      url: 'https://s3.test/file?sig=2',
      expires_at: null,
    });
    expect(redirect.sent[0]?.url.pathname).toBe('/prod/v1/exports/exp_1/download');
  });
});

describe('client errors and requests', () => {
  it('carries the problem, its field errors and the request id', async () => {
    const errors = [{ field: 'events[1].action', message: 'must be dotted lower case', index: 1 }];
    const { client } = scripted([
      { ...problem(400, 'validation-error', { errors, detail: '1 invalid field: events[1].action' }) },
    ]);

    const error = (await rejection(
      client.events.page({ actor_email: 'ada@example.com' }),
    )) as TrailkeeperError;

    expect(error).toMatchObject({
      name: 'TrailkeeperError',
      status: 400,
      type: '/problems/validation-error',
      title: 'validation-error',
      detail: '1 invalid field: events[1].action',
      errors,
      requestId: 'req-1',
      method: 'GET',
    });
    expect(error.problem).toMatchObject({ status: 400, errors });
    expect(error.url.searchParams.get('actor_email')).toBe('ada@example.com');
    // The message names the route, never the filters nor the key.
    expect(error.message).toBe(
      'GET /prod/v1/events: HTTP 400 (validation-error: 1 invalid field: events[1].action)',
    );
  });

  it('takes the request id from the problem when no header gives it, and survives a body that is not JSON', async () => {
    const withInstance = scripted([
      {
        status: 404,
        body: { type: '/problems/not-found', title: 'Not found', status: 404, instance: 'req-9' },
      },
    ]);
    const html = scripted([{ status: 502, body: '<html>Bad gateway</html>' }], { retry: { maxAttempts: 1 } });

    const notFound = (await rejection(withInstance.client.events.get('nope'))) as TrailkeeperError;
    const badGateway = (await rejection(html.client.events.get('x'))) as TrailkeeperError;

    expect(notFound.requestId).toBe('req-9');
    expect(badGateway).toMatchObject({
      status: 502,
      title: 'HTTP 502',
      type: 'about:blank',
      problem: null,
      errors: [],
    });
  });

  it('refuses a successful answer that is not JSON', async () => {
    const { client } = scripted([{ status: 200, body: 'not json' }]);

    await expect(client.tenants.get('tnt_1')).rejects.toBeInstanceOf(TrailkeeperResponseError);
  });

  it('sends the key to every authorized route and to no public one, under the base path', async () => {
    const { client, sent } = scripted([
      (s): Reply => ({
        status: s.method === 'DELETE' ? 204 : 200,
        body: s.method === 'DELETE' ? undefined : { data: [] },
      }),
    ]);

    await client.health();
    await client.integrity.publicKey();
    await client.keys.list('tnt_1');
    await client.keys.revoke('tnt_1', 'key_1');
    await client.tenants.update('tnt_1', { rate_limit_rps: 2 });

    expect(sent.map((s) => [s.method, s.url.href, s.headers.authorization])).toEqual([
      ['GET', `${BASE}/health`, undefined],
      ['GET', `${BASE}/v1/integrity/public-key`, undefined],
      ['GET', `${BASE}/v1/tenants/tnt_1/keys`, `Bearer ${KEY}`],
      ['DELETE', `${BASE}/v1/tenants/tnt_1/keys/key_1`, `Bearer ${KEY}`],
      ['PATCH', `${BASE}/v1/tenants/tnt_1`, `Bearer ${KEY}`],
    ]);
    expect(sent[4]?.body).toBe('{"rate_limit_rps":2}');
  });

  it('never shows the key: not in the client when logged, not in its errors', async () => {
    const { client } = scripted([problem(401, 'unauthorized')]);

    const error = await rejection(client.events.get('e1'));

    expect(inspect(client, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(JSON.stringify(client)).not.toContain(KEY);
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(inspect(client.withApiKey('tk.other'), { depth: 10 })).not.toContain('tk.other');
  });

  it('escapes ids in paths', async () => {
    const { client, sent } = scripted([{ status: 200, body: {} }]);

    await client.events.proof('a/b?c');

    expect(sent[0]?.url.pathname).toBe('/prod/v1/events/a%2Fb%3Fc/proof');
  });
});

describe('client portability', () => {
  /** Import lines of a module that would not run in a browser, or would pull server code in at run time. */
  const nonPortableImports = (source: string): string[] =>
    [...source.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)]
      .filter(([, , typeOnly, from]) => {
        const specifier = from ?? '';
        if (specifier.startsWith('node:')) return true;
        return typeOnly === undefined && !specifier.startsWith('./');
      })
      .map(([line]) => line ?? '');

  it('the check catches Node modules and runtime imports of server code', () => {
    expect(
      nonPortableImports(
        "import { createHash } from 'node:crypto';\nimport * as z from 'zod';\nimport type { X } from '#shared/domain/event.ts';\nimport { a } from './a.ts';\n",
      ),
    ).toEqual(["import { createHash } from 'node:crypto'", "import * as z from 'zod'"]);
  });

  it('imports no Node module and nothing outside client/ at run time', async () => {
    const dir = new URL('../../client/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));

    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      expect(nonPortableImports(await readFile(new URL(file, dir), 'utf8')), file).toEqual([]);
    }
  });
});
