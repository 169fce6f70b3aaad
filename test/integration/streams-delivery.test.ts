/**
 * Stream deliveries end to end through the local stack: events POSTed to the API reach a webhook
 * receiver (signatures verified with the `standardwebhooks` package), a fake Splunk HEC and a fake
 * Datadog intake exactly as the API shows them, in the documented formats; receivers that fail
 * (500, 429 with Retry-After, 410), a paused stream, and a failing stream next to a healthy one.
 * Receivers are plain http on 127.0.0.1 (the stack runs with allowHttpLoopback) and retries use
 * the stack's short backoff (deliveryBackoffMs): no test sleeps for a retry schedule.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordedRequest, startReceiver, type TestReceiver } from '../support/receiver.ts';
import { api, createTenant, type TestTenant } from './client.ts';

const receivers: TestReceiver[] = [];
const receiver = async (options: Parameters<typeof startReceiver>[0] = {}): Promise<TestReceiver> => {
  const started = await startReceiver(options);
  receivers.push(started);
  return started;
};
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTenant();
});

/** Events of a family of actions only this test's streams listen to (the trail's own events stay out). */
const newEvents = (family: string, count: number) => {
  const batch = `${family}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  return Array.from({ length: count }, (_, i) => ({
    // Zero-padded: events received in the same millisecond go in id order.
    id: `${batch}-${String(i).padStart(3, '0')}`,
    action: `${family}.happened`,
    occurred_at: new Date(Date.now() - 1_000 + i).toISOString(),
    actor: { id: `u${i}`, type: 'user' as const, email: `u${i}@example.com` },
    target: { type: 'doc', id: `d${i}` },
    metadata: { i, note: 'ünïcødé ✓ <b>' },
  }));
};

const postEvents = async (events: unknown[]): Promise<void> => {
  const res = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
};

const createStream = async (body: Record<string, unknown>) => {
  const res = await api('POST', '/v1/streams', { token: tenant.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; status: string; secret?: string };
};

const getStream = async (id: string) => (await api('GET', `/v1/streams/${id}`, { token: tenant.key })).body;

/** The events as the API shows them (GET /v1/events/{id}), by id. */
const shownByApi = async (ids: readonly string[]) => {
  const shown = new Map<string, unknown>();
  for (const id of ids) {
    const res = await api('GET', `/v1/events/${encodeURIComponent(id)}`, { token: tenant.key });
    expect(res.status).toBe(200);
    shown.set(id, res.body);
  }
  return shown;
};

const webhookEvents = (request: RecordedRequest): Array<{ id: string }> => {
  const body = JSON.parse(request.body.toString('utf8')) as { type: string; data: Array<{ id: string }> };
  expect(body.type).toBe('audit_events');
  return body.data;
};

/** Waits until the receiver got requests carrying every id (read by `eventsOf`); returns them. */
const waitForIds = async (
  r: TestReceiver,
  ids: readonly string[],
  eventsOf: (request: RecordedRequest) => Array<{ id: string }>,
): Promise<RecordedRequest[]> => {
  const wanted = new Set(ids);
  for (let count = 1; ; count += 1) {
    const requests = await r.waitForRequests(count);
    const seen = new Set(
      requests
        .filter((q) => q.headers['x-test-skip'] === undefined)
        .flatMap((q) => {
          try {
            return eventsOf(q).map((e) => e.id);
          } catch {
            return [];
          }
        }),
    );
    if ([...wanted].every((id) => seen.has(id))) return requests;
  }
};

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);

describe('webhook streams', () => {
  it('deliver every event as the API shows it, signed per Standard Webhooks, in received_at order', async () => {
    const r = await receiver();
    const stream = await createStream({
      name: 'hook',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'whk.*' },
    });
    expect(stream.secret).toMatch(/^whsec_/);
    const events = newEvents('whk', 7);
    await postEvents(events.slice(0, 4));
    await postEvents(events.slice(4));
    const ids = events.map((e) => e.id);

    const requests = await within(waitForIds(r, ids, webhookEvents), 20_000, 'webhook deliveries');

    const verifier = new Webhook(stream.secret as string);
    const delivered: Array<{ id: string }> = [];
    for (const request of requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/hook');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-id']).toMatch(/^msg_/);
      const payload = request.body.toString('utf8');
      // Throws on a bad signature or timestamp.
      expect(() =>
        verifier.verify(payload, {
          'webhook-id': String(request.headers['webhook-id']),
          'webhook-timestamp': String(request.headers['webhook-timestamp']),
          'webhook-signature': String(request.headers['webhook-signature']),
        }),
      ).not.toThrow();
      delivered.push(...webhookEvents(request));
    }
    expect(delivered.map((e) => e.id)).toEqual(ids);
    const shown = await shownByApi(ids);
    for (const event of delivered) expect(event).toEqual(shown.get(event.id));
    const health = await getStream(stream.id);
    expect(health.status).toBe('active');
    expect(health.last_delivered_at).toEqual(expect.any(String));
  });

  it('redelivers a batch the receiver answered 500 (same webhook-id), losing nothing', async () => {
    const r = await receiver();
    r.respond({ status: 500, body: 'boom' });
    const stream = await createStream({
      name: 'flaky',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'fl5.*' },
    });
    // Paused while the events are routed, so the first attempt carries all three (the stream
    // poller may otherwise hand them to the router in two batches, and the first POST only some).
    await api('PATCH', `/v1/streams/${stream.id}`, { token: tenant.key, body: { status: 'paused' } });
    const events = newEvents('fl5', 3);
    await postEvents(events);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await api('PATCH', `/v1/streams/${stream.id}`, { token: tenant.key, body: { status: 'active' } });

    const requests = await within(r.waitForRequests(2), 20_000, 'retry after 500');

    const [first, second] = requests as [RecordedRequest, RecordedRequest];
    expect(webhookEvents(first).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(webhookEvents(second).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    await expect.poll(async () => (await getStream(stream.id)).status, { timeout: 5_000 }).toBe('active');
    const health = await getStream(stream.id);
    expect(health.last_error).toMatch(/HTTP 500/);
  });

  it('loses nothing while a receiver is down: the backlog waits in the outbox and arrives in order after', async () => {
    const r = await receiver();
    r.respond(...Array.from({ length: 4 }, () => ({ status: 503, body: 'down for maintenance' })));
    const stream = await createStream({
      name: 'outage',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'out.*' },
    });
    const events = newEvents('out', 12);
    await postEvents(events.slice(0, 3));
    await within(r.waitForRequests(1), 20_000, 'first attempt');
    await expect.poll(async () => (await getStream(stream.id)).status, { timeout: 5_000 }).toBe('failing');
    // More events while the receiver is still down.
    await postEvents(events.slice(3, 8));
    await postEvents(events.slice(8));
    const ids = events.map((e) => e.id);

    // The first four requests were answered 503: only what came after them was accepted.
    const accepted = await within(
      (async () => {
        for (let count = 5; ; count += 1) {
          const seen = (await r.waitForRequests(count))
            .slice(4)
            .flatMap(webhookEvents)
            .map((e) => e.id);
          if (ids.every((id) => seen.includes(id))) return seen;
        }
      })(),
      30_000,
      'after the outage',
    );
    expect(accepted).toEqual(ids);
    await expect.poll(async () => (await getStream(stream.id)).status, { timeout: 5_000 }).toBe('active');
    expect((await getStream(stream.id)).lag_seconds).toBe(0);
  });

  it('waits at least what a 429 Retry-After asks for before trying again', async () => {
    const r = await receiver();
    r.respond({ status: 429, headers: { 'retry-after': '2' } });
    await createStream({
      name: 'limited',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'rl4.*' },
    });
    const events = newEvents('rl4', 2);
    await postEvents(events);

    await within(r.waitForRequests(1), 20_000, 'first attempt');
    const firstAt = Date.now();
    const requests = await within(r.waitForRequests(2), 20_000, 'second attempt');
    const waited = Date.now() - firstAt;

    // The backoff here is 100 ms: only Retry-After explains a wait of two seconds.
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect(webhookEvents(requests[1] as RecordedRequest).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('disables a stream whose receiver answered 410, and sends it nothing more', async () => {
    const r = await receiver();
    r.respond({ status: 410 });
    const stream = await createStream({
      name: 'gone',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'gn4.*' },
    });
    await postEvents(newEvents('gn4', 2));

    await within(r.waitForRequests(1), 20_000, 'first attempt');
    await expect.poll(async () => (await getStream(stream.id)).status, { timeout: 5_000 }).toBe('disabled');
    const health = await getStream(stream.id);
    expect(health.disabled_at).toEqual(expect.any(String));

    await postEvents(newEvents('gn4', 2));
    // The sweeper runs every second here: give it, the router and the queue a few rounds.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(r.requests).toHaveLength(1);
  });

  it('keeps a paused stream’s backlog and delivers it on resume', async () => {
    const r = await receiver();
    const stream = await createStream({
      name: 'pausable',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'pau.*' },
    });
    const paused = await api('PATCH', `/v1/streams/${stream.id}`, {
      token: tenant.key,
      body: { status: 'paused' },
    });
    expect(paused.status).toBe(200);
    const events = newEvents('pau', 5);
    await postEvents(events);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(r.requests).toHaveLength(0);

    const resumed = await api('PATCH', `/v1/streams/${stream.id}`, {
      token: tenant.key,
      body: { status: 'active' },
    });
    expect(resumed.status).toBe(200);

    const requests = await within(
      waitForIds(
        r,
        events.map((e) => e.id),
        webhookEvents,
      ),
      20_000,
      'backlog',
    );
    expect(requests.flatMap(webhookEvents).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('does not let a failing, slow receiver delay another stream', async () => {
    const slow = await receiver({ fallback: { status: 503, delayMs: 8_000 } });
    const healthy = await receiver();
    await createStream({
      name: 'slow',
      type: 'webhook',
      url: `${slow.url}/hook`,
      filter: { action: 'iso.*' },
    });
    await createStream({
      name: 'healthy',
      type: 'webhook',
      url: `${healthy.url}/hook`,
      filter: { action: 'iso.*' },
    });
    const events = newEvents('iso', 3);
    const postedAt = Date.now();
    await postEvents(events);

    await within(
      waitForIds(
        healthy,
        events.map((e) => e.id),
        webhookEvents,
      ),
      5_000,
      'healthy stream',
    );
    expect(Date.now() - postedAt).toBeLessThan(5_000);
    // Meanwhile the slow receiver was tried and still holds its first request (8 s before it answers).
    const [attempt] = await within(slow.waitForRequests(1), 5_000, 'slow stream attempt');
    const tried = webhookEvents(attempt as RecordedRequest).map((e) => e.id);
    expect(tried.length).toBeGreaterThan(0);
    expect(tried).toEqual(events.map((e) => e.id).slice(0, tried.length));
  });
});

describe('replay', () => {
  it('delivers the events received in the window again, oldest first', async () => {
    const r = await receiver();
    const stream = await createStream({
      name: 'replayed',
      type: 'webhook',
      url: `${r.url}/hook`,
      filter: { action: 'rpl.*' },
    });
    const from = new Date(Date.now() - 1_000).toISOString();
    const events = newEvents('rpl', 5);
    await postEvents(events);
    const ids = events.map((e) => e.id);
    const first = await within(waitForIds(r, ids, webhookEvents), 20_000, 'first delivery');
    const to = new Date(Date.now() + 1_000).toISOString();

    const replay = await api('POST', `/v1/streams/${stream.id}/replay`, {
      token: tenant.key,
      body: { from, to },
    });
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);

    const again = await within(
      (async () => {
        for (let count = first.length + 1; ; count += 1) {
          const requests = await r.waitForRequests(count);
          const replayed = requests
            .slice(first.length)
            .flatMap(webhookEvents)
            .map((e) => e.id);
          if (ids.every((id) => replayed.includes(id))) return replayed;
        }
      })(),
      20_000,
      'replayed delivery',
    );
    expect(again).toEqual(ids);
  });
});

describe('Splunk HEC and Datadog streams', () => {
  it('send concatenated HEC events with the Splunk token', async () => {
    const hec = await receiver();
    await createStream({
      name: 'splunk',
      type: 'splunk_hec',
      url: `${hec.url}/services/collector/event`,
      token: 'hec-token-123',
      filter: { action: 'spl.*' },
    });
    const events = newEvents('spl', 4);
    await postEvents(events);
    const hecEvents = (request: RecordedRequest) =>
      request.body
        .toString('utf8')
        .split('\n')
        .map((line) => JSON.parse(line) as { time: number; sourcetype: string; event: { id: string } })
        .map((entry) => entry.event);

    const requests = await within(
      waitForIds(
        hec,
        events.map((e) => e.id),
        hecEvents,
      ),
      20_000,
      'HEC deliveries',
    );

    const shown = await shownByApi(events.map((e) => e.id));
    for (const request of requests) {
      expect(request.path).toBe('/services/collector/event');
      expect(request.headers.authorization).toBe('Splunk hec-token-123');
      for (const line of request.body.toString('utf8').split('\n')) {
        const entry = JSON.parse(line) as {
          time: number;
          sourcetype: string;
          event: { id: string; occurred_at: string };
        };
        expect(entry.sourcetype).toBe('trailkeeper:audit');
        expect(entry.time).toBe(Date.parse(entry.event.occurred_at) / 1000);
        expect(entry.event).toEqual(shown.get(entry.event.id));
      }
    }
  });

  it('send a JSON array of logs with the Datadog API key', async () => {
    const intake = await receiver();
    await createStream({
      name: 'datadog',
      type: 'datadog',
      url: `${intake.url}/api/v2/logs`,
      token: 'dd-key-456',
      filter: { action: 'ddg.*' },
    });
    const events = newEvents('ddg', 4);
    await postEvents(events);
    const ddEvents = (request: RecordedRequest) =>
      (JSON.parse(request.body.toString('utf8')) as Array<{ message: string }>).map(
        (log) => JSON.parse(log.message) as { id: string },
      );

    const requests = await within(
      waitForIds(
        intake,
        events.map((e) => e.id),
        ddEvents,
      ),
      20_000,
      'Datadog deliveries',
    );

    const shown = await shownByApi(events.map((e) => e.id));
    for (const request of requests) {
      expect(request.headers['dd-api-key']).toBe('dd-key-456');
      expect(request.headers['content-type']).toBe('application/json');
      const logs = JSON.parse(request.body.toString('utf8')) as Array<Record<string, unknown>>;
      expect(logs.length).toBeLessThanOrEqual(1_000);
      for (const log of logs) {
        expect(log.ddsource).toBe('trailkeeper');
        const event = JSON.parse(String(log.message)) as { id: string; occurred_at: string };
        expect(event).toEqual(shown.get(event.id));
        expect(log.timestamp).toBe(Date.parse(event.occurred_at));
      }
    }
  });
});
