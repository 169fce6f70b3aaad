/**
 * The delivery pipeline's use cases (shared/usecases/deliveries.ts) over in-memory ports: the
 * router's fan-out into outboxes, the deliverer's batches, outcomes, retries by delayed wake,
 * leases and budget, and the sweeper. The clock and the random source are injected.
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  type DelivererDeps,
  deliverStream,
  type RouterDeps,
  replayPage,
  routeEvents,
  sweepStreams,
} from '#shared/usecases/deliveries.ts';
import type { DestinationPoster } from '#shared/usecases/ports/deliveries.ts';
import type { SecretBox } from '#shared/usecases/ports/secret-box.ts';
import type { StreamRecord } from '#shared/usecases/ports/streams.ts';
import { MemoryOutbox, MemoryQueue, MemoryStreams } from './fakes/deliveries.ts';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const TENANT = 'tnt_acme';

const storedEvent = (n: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `evt_${String(n).padStart(4, '0')}`,
  tenant_id: TENANT,
  action: 'member.role_changed',
  occurred_at: new Date(T0 - 60_000 + n).toISOString(),
  received_at: new Date(T0 - 30_000 + n).toISOString(),
  actor: { id: 'usr_1', type: 'user' },
  impersonated: false,
  expires_at: null,
  hash: 'ab'.repeat(32),
  ...extra,
});

const stream = (extra: Partial<StreamRecord> = {}): StreamRecord => ({
  id: 'str_1',
  tenant_id: TENANT,
  name: 'siem',
  type: 'webhook',
  url: 'https://siem.example.com/hook',
  filter: null,
  status: 'active',
  created_at: new Date(T0 - 86_400_000).toISOString(),
  updated_at: new Date(T0 - 86_400_000).toISOString(),
  secret_sealed: `sealed:${SECRET}`,
  ...extra,
});

/** Opens `sealed:<plaintext>` when the context names the stream and its purpose. */
const box: SecretBox = {
  seal: async (plaintext) => `sealed:${plaintext}`,
  open: async (sealed, context) => {
    if (context.destination_id === undefined || context.purpose === undefined) throw new Error('context');
    return sealed.slice('sealed:'.length);
  },
};

type Answer = { status: number; headers?: Record<string, string>; body?: string } | Error;

let now: number;
let outbox: MemoryOutbox;
let streams: MemoryStreams;
let queue: MemoryQueue;
let answers: Answer[];
let posted: Array<{ url: string; headers: Record<string, string>; body: string }>;

const poster: DestinationPoster = {
  post: async (request) => {
    posted.push(request);
    now += 50;
    const answer = answers.shift() ?? { status: 200 };
    if (answer instanceof Error) throw answer;
    return { status: answer.status, headers: answer.headers ?? {}, body: answer.body ?? '' };
  },
};

const deps = (extra: Partial<DelivererDeps> = {}): DelivererDeps => ({
  streams,
  state: streams,
  outbox,
  queue,
  secrets: async () => box,
  poster,
  clock: { now: () => now, random: () => 0.5 },
  ...extra,
});
const budget = () => ({ deadline: now + 48_000, hardDeadline: now + 60_000 });
const ref = { tenant_id: TENANT, stream_id: 'str_1' };
const bodyIds = (body: string) => (JSON.parse(body) as { data: Array<{ id: string }> }).data.map((e) => e.id);

afterEach(() => {
  vi.useRealTimers();
});

/** Standard Webhooks checks the timestamp against the wall clock: verify at the send time. */
const atSendTime = () => vi.useFakeTimers({ toFake: ['Date'], now });

beforeEach(() => {
  now = T0;
  outbox = new MemoryOutbox();
  streams = new MemoryStreams();
  queue = new MemoryQueue();
  answers = [];
  posted = [];
});

describe('routeEvents', () => {
  const routerDeps = (extra: Partial<RouterDeps> = {}): RouterDeps => ({
    streams,
    outbox,
    queue,
    clock: { now: () => now },
    ...extra,
  });

  it('puts each event in the outbox of every matching stream that is not disabled, and wakes the active ones', async () => {
    streams.add(stream({ id: 'str_all' }));
    streams.add(stream({ id: 'str_keys', filter: { action: ['key.*'] } as StreamRecord['filter'] }));
    streams.add(stream({ id: 'str_paused', status: 'paused' }));
    streams.add(stream({ id: 'str_failing', status: 'failing' }));
    streams.add(stream({ id: 'str_off', status: 'disabled' }));
    streams.add(stream({ id: 'str_other', tenant_id: 'tnt_other' }));
    const events = [storedEvent(1), storedEvent(2, { action: 'key.created' })];

    const written = await routeEvents(events, routerDeps());

    const ids = (id: string) => outbox.entries({ tenant_id: TENANT, stream_id: id }).map((e) => e.event.id);
    expect(ids('str_all')).toEqual(['evt_0001', 'evt_0002']);
    expect(ids('str_keys')).toEqual(['evt_0002']);
    expect(ids('str_paused')).toEqual(['evt_0001', 'evt_0002']);
    expect(ids('str_failing')).toEqual(['evt_0001', 'evt_0002']);
    expect(ids('str_off')).toEqual([]);
    expect(outbox.entries({ tenant_id: 'tnt_other', stream_id: 'str_other' })).toEqual([]);
    expect(written).toBe(7);
    expect(queue.sent.map((s) => s.message)).toEqual([
      { kind: 'wake', tenant_id: TENANT, stream_id: 'str_all' },
      { kind: 'wake', tenant_id: TENANT, stream_id: 'str_keys' },
    ]);
  });

  it('is idempotent: routing the same batch again rewrites the same entries', async () => {
    streams.add(stream());
    await routeEvents([storedEvent(1)], routerDeps());
    await routeEvents([storedEvent(1)], routerDeps());
    expect(outbox.entries(ref)).toHaveLength(1);
  });

  it('skips events received before a resumed stream’s deliver_from', async () => {
    streams.add(stream({ deliver_from: new Date(T0 - 30_000 + 2).toISOString() }));
    await routeEvents([storedEvent(1), storedEvent(2), storedEvent(3)], routerDeps());
    expect(outbox.entries(ref).map((e) => e.event.id)).toEqual(['evt_0002', 'evt_0003']);
  });

  it('caches a tenant’s streams, and drops the cache when a trailkeeper.stream.* event passes', async () => {
    const cache = new Map();
    await routeEvents([storedEvent(1)], routerDeps({ cache }));
    streams.add(stream());
    await routeEvents([storedEvent(2)], routerDeps({ cache }));
    expect(outbox.entries(ref)).toEqual([]);

    await routeEvents([storedEvent(3, { action: 'trailkeeper.stream.created' })], routerDeps({ cache }));
    expect(outbox.entries(ref).map((e) => e.event.id)).toEqual(['evt_0003']);

    now += 6_000;
    streams.add(stream({ id: 'str_2' }));
    await routeEvents([storedEvent(4)], routerDeps({ cache }));
    expect(outbox.entries({ tenant_id: TENANT, stream_id: 'str_2' }).map((e) => e.event.id)).toEqual([
      'evt_0004',
    ]);
  });
});

describe('deliverStream', () => {
  it('sends the outbox oldest first in batches of at most 100, signed, and empties it', async () => {
    streams.add(stream());
    const events = Array.from({ length: 230 }, (_, i) => storedEvent(230 - i));
    await outbox.put(ref, events);

    const result = await deliverStream(ref, budget(), deps());

    expect(result).toBe('drained');
    expect(posted.map((p) => bodyIds(p.body).length)).toEqual([100, 100, 30]);
    expect(posted.flatMap((p) => bodyIds(p.body))).toEqual(
      Array.from({ length: 230 }, (_, i) => storedEvent(i + 1).id),
    );
    const verifier = new Webhook(SECRET);
    atSendTime();
    for (const p of posted) expect(() => verifier.verify(p.body, p.headers)).not.toThrow();
    expect(outbox.entries(ref)).toEqual([]);
    const record = streams.of(ref);
    expect(record?.status).toBe('active');
    expect(record?.last_delivered_at).toBe(new Date(now).toISOString());
    expect(record?.lag_seconds).toBe(0);
    expect(record?.lease_until).toBeUndefined();
  });

  it('signs with both secrets while a rotation overlaps, and with the current one after', async () => {
    const OLD = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    streams.add(
      stream({
        previous_secret_sealed: `sealed:${OLD}`,
        previous_secret_until: new Date(T0 + 1_000).toISOString(),
      }),
    );
    await outbox.put(ref, [storedEvent(1)]);
    await deliverStream(ref, budget(), deps());
    atSendTime();
    expect(() => new Webhook(OLD).verify(posted[0]?.body ?? '', posted[0]?.headers ?? {})).not.toThrow();
    expect(posted[0]?.headers['webhook-signature']?.split(' ')).toHaveLength(2);

    now = T0 + 2_000;
    await outbox.put(ref, [storedEvent(2)]);
    await deliverStream(ref, budget(), deps());
    expect(posted[1]?.headers['webhook-signature']?.split(' ')).toHaveLength(1);
  });

  it('on a 500 keeps the batch, records the failure and wakes itself when the next attempt is due', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1), storedEvent(2)]);
    answers = [{ status: 500, body: 'internal error' }];

    const result = await deliverStream(ref, budget(), deps());

    expect(result).toBe('retrying');
    expect(outbox.entries(ref)).toHaveLength(2);
    const record = streams.of(ref);
    expect(record?.status).toBe('failing');
    expect(record?.last_error).toBe('HTTP 500: internal error');
    expect(record?.attempts).toBe(1);
    // Equal jitter with random 0.5: 750 ms after the answer.
    expect(record?.next_attempt_at).toBe(new Date(now + 750).toISOString());
    expect(queue.sent).toEqual([{ message: { kind: 'wake', ...ref }, delaySeconds: 1 }]);
    expect(record?.lease_until).toBeUndefined();
  });

  it('answers a wake that comes before the next attempt is due with another delayed wake, sending nothing', async () => {
    streams.add(
      stream({ status: 'failing', attempts: 3, next_attempt_at: new Date(T0 + 4_200).toISOString() }),
    );
    await outbox.put(ref, [storedEvent(1)]);

    expect(await deliverStream(ref, budget(), deps())).toBe('not-due');
    expect(posted).toEqual([]);
    expect(queue.sent).toEqual([{ message: { kind: 'wake', ...ref }, delaySeconds: 5 }]);
  });

  it('retries once due, and a success clears the failure run', async () => {
    streams.add(
      stream({
        status: 'failing',
        attempts: 2,
        failing_since: new Date(T0 - 5_000).toISOString(),
        next_attempt_at: new Date(T0 - 1).toISOString(),
      }),
    );
    await outbox.put(ref, [storedEvent(1)]);

    expect(await deliverStream(ref, budget(), deps())).toBe('drained');
    const record = streams.of(ref);
    expect(record).toMatchObject({
      status: 'active',
      attempts: 0,
      failing_since: null,
      next_attempt_at: null,
    });
  });

  it('honours Retry-After beyond the backoff, with the local backoff base too', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1)]);
    answers = [{ status: 429, headers: { 'retry-after': '30' } }];

    await deliverStream(ref, budget(), deps({ backoffBaseMs: 100 }));

    expect(streams.of(ref)?.next_attempt_at).toBe(new Date(now + 30_000).toISOString());
    expect(queue.sent[0]?.delaySeconds).toBe(30);
  });

  it('uses the local backoff base instead of the SPEC’s when given one', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1)]);
    answers = [{ status: 503 }];

    await deliverStream(ref, budget(), deps({ backoffBaseMs: 100 }));

    // step 100 ms, equal jitter with 0.5: 75 ms.
    expect(streams.of(ref)?.next_attempt_at).toBe(new Date(now + 75).toISOString());
  });

  it('on a 410 disables the stream at once and drops its backlog', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1), storedEvent(2)]);
    answers = [{ status: 410 }];

    expect(await deliverStream(ref, budget(), deps())).toBe('disabled');
    const record = streams.of(ref);
    expect(record?.status).toBe('disabled');
    expect(record?.disabled_at).toBe(new Date(now).toISOString());
    expect(outbox.entries(ref)).toEqual([]);
    expect(queue.sent).toEqual([]);
  });

  it('records a network failure by its kind, keeping tokens out of last_error', async () => {
    streams.add(
      stream({ type: 'splunk_hec', secret_sealed: undefined, token_sealed: 'sealed:hec-secret-token' }),
    );
    await outbox.put(ref, [storedEvent(1)]);
    answers = [{ status: 401, body: 'bad token hec-secret-token' }];

    await deliverStream(ref, budget(), deps());
    expect(posted[0]?.headers.Authorization).toBe('Splunk hec-secret-token');
    expect(streams.of(ref)?.last_error).toBe('HTTP 401: bad token [redacted]');

    now += 10_000;
    answers = [Object.assign(new Error('connect ECONNREFUSED siem.example.com'), { kind: 'connect' })];
    await deliverStream(ref, budget(), deps());
    expect(streams.of(ref)?.last_error).toBe('connect: connect ECONNREFUSED siem.example.com');
    expect(streams.of(ref)?.attempts).toBe(2);
  });

  it('leaves a paused stream’s backlog alone, and drops a disabled one’s', async () => {
    streams.add(stream({ status: 'paused' }));
    await outbox.put(ref, [storedEvent(1)]);
    expect(await deliverStream(ref, budget(), deps())).toBe('paused');
    expect(outbox.entries(ref)).toHaveLength(1);

    streams.add(stream({ status: 'disabled' }));
    expect(await deliverStream(ref, budget(), deps())).toBe('disabled');
    expect(outbox.entries(ref)).toEqual([]);
    expect(posted).toEqual([]);
  });

  it('does nothing while another deliverer holds the lease', async () => {
    streams.add(stream({ lease_until: T0 + 30_000 }));
    await outbox.put(ref, [storedEvent(1)]);
    expect(await deliverStream(ref, budget(), deps())).toBe('leased');
    expect(posted).toEqual([]);
  });

  it('stops starting batches at the deadline and wakes itself to go on', async () => {
    streams.add(stream());
    await outbox.put(
      ref,
      Array.from({ length: 250 }, (_, i) => storedEvent(i + 1)),
    );
    const result = await deliverStream(ref, { deadline: now + 60, hardDeadline: now + 10_000 }, deps());
    expect(result).toBe('continued');
    expect(posted).toHaveLength(2);
    expect(outbox.entries(ref)).toHaveLength(50);
    expect(queue.sent).toEqual([{ message: { kind: 'wake', ...ref }, delaySeconds: 0 }]);
  });

  it('passes over an event too large for the destination, recording why', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1, { metadata: { blob: 'x'.repeat(1_100_000) } }), storedEvent(2)]);
    expect(await deliverStream(ref, budget(), deps())).toBe('drained');
    expect(posted.map((p) => bodyIds(p.body))).toEqual([['evt_0002']]);
    expect(streams.of(ref)?.last_error).toMatch(/evt_0001 is \d+ bytes/);
  });

  it('drops entries from before a resumed stream’s deliver_from', async () => {
    streams.add(stream({ deliver_from: new Date(T0 - 30_000 + 2).toISOString() }));
    await outbox.put(ref, [storedEvent(1), storedEvent(2)]);
    await deliverStream(ref, budget(), deps());
    expect(posted.flatMap((p) => bodyIds(p.body))).toEqual(['evt_0002']);
  });

  it('delivers what arrived between its last look and the release of its lease', async () => {
    streams.add(stream());
    await outbox.put(ref, [storedEvent(1)]);
    const late = storedEvent(2);
    const racing: DelivererDeps = deps();
    const release = streams.releaseLease.bind(streams);
    let raced = false;
    racing.state = Object.assign(Object.create(streams), {
      releaseLease: async (...args: Parameters<typeof release>) => {
        if (!raced) {
          raced = true;
          await outbox.put(ref, [late]);
        }
        return release(...args);
      },
    });
    expect(await deliverStream(ref, budget(), racing)).toBe('drained');
    expect(posted.flatMap((p) => bodyIds(p.body))).toEqual(['evt_0001', 'evt_0002']);
  });
});

describe('replayPage', () => {
  it('copies the window page by page into the outbox, then wakes the stream', async () => {
    streams.add(stream({ filter: { action: ['key.*'] } as StreamRecord['filter'] }));
    const pages = [
      { events: [storedEvent(1, { action: 'key.created' }), storedEvent(2)], cursor: 'c1' },
      { events: [storedEvent(3, { action: 'key.deleted' })] },
    ];
    const replay = { page: async () => pages.shift() ?? { events: [] } };
    const window = { from: new Date(T0 - 3_600_000).toISOString(), to: new Date(T0).toISOString() };

    expect(await replayPage({ kind: 'replay', ...ref, ...window }, deps({ replay }))).toBe('continued');
    expect(queue.sent[0]?.message).toEqual({ kind: 'replay', ...ref, ...window, cursor: 'c1' });
    expect(await replayPage({ kind: 'replay', ...ref, ...window, cursor: 'c1' }, deps({ replay }))).toBe(
      'replayed',
    );
    expect(outbox.entries(ref).map((e) => e.event.id)).toEqual(['evt_0001', 'evt_0003']);
    expect(queue.sent[1]?.message).toEqual({ kind: 'wake', ...ref });
  });
});

describe('sweepStreams', () => {
  it('wakes active and failing streams with a backlog and no live lease, at their next attempt', async () => {
    streams.add(stream({ id: 'str_a' }));
    streams.add(
      stream({ id: 'str_f', status: 'failing', next_attempt_at: new Date(T0 + 20_500).toISOString() }),
    );
    streams.add(stream({ id: 'str_leased', lease_until: T0 + 1_000 }));
    streams.add(stream({ id: 'str_paused', status: 'paused' }));
    streams.add(stream({ id: 'str_empty' }));
    for (const id of ['str_a', 'str_f', 'str_leased', 'str_paused'])
      await outbox.put({ tenant_id: TENANT, stream_id: id }, [storedEvent(1)]);

    const woken = await sweepStreams({ state: streams, outbox, queue, clock: { now: () => now } });

    expect(woken).toBe(2);
    expect(queue.sent).toEqual([
      { message: { kind: 'wake', tenant_id: TENANT, stream_id: 'str_a' }, delaySeconds: 0 },
      { message: { kind: 'wake', tenant_id: TENANT, stream_id: 'str_f' }, delaySeconds: 21 },
    ]);
  });
});
