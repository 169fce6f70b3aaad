/**
 * Part — streams. Issue 14: "ingest → receiver latency p50/p95 and delivery throughput to one
 * receiver; a receiver down 10 minutes, then catching up (time to drain)"; SPEC: "ingest →
 * receiver p95 ≤ 5 s locally; a receiver that is down for 10 minutes gets everything afterwards".
 *
 * The part starts a local stack of its own (in memory) with the stream pollers on — the shared
 * bench stack runs without them — `allowHttpLoopback` (the receiver is plain http on 127.0.0.1)
 * and `deliveryBackoffMs` = BACKOFF_MS (the deliverer's retry base instead of the SPEC's 1 s, its
 * cap 60 times that), and an http receiver in this process that records the first arrival of
 * each event id and counts repeats. Each phase uses its own tenant and webhook stream (no filter)
 * and ~1 KB events from bench/lib/events.ts with client ids:
 *
 * 1. Latency: single events POSTed at a steady PACED_RATE; each event's time from the ingest
 *    request being sent to its first arrival at the receiver (and from the ingest answer).
 * 2. Throughput: the stream is paused, a backlog is ingested and routed into the outbox, then the
 *    stream is resumed: events/s from the resume to the backlog's last arrival.
 * 3. Catch-up: the receiver answers 503 while ten minutes' worth of events at DOWN_RATE is
 *    ingested as fast as the API takes it (a pause-equivalent: nobody waits 10 real minutes), then
 *    answers 200: time from then to the first accepted delivery (the pending retry's wait) and to
 *    the last event, and how many never arrived.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, READ_POPULATION } from '../lib/events.ts';
import { atMost, type BenchPart, type Headline, type PartResult } from '../lib/part.ts';
import { percentile, round } from '../lib/stats.ts';
import { fmt, type Table } from '../lib/table.ts';

/** The deliverer's backoff base on this stack (TRAILKEEPER_DELIVERY_BACKOFF_MS); SPEC: 1 s. */
const BACKOFF_MS = 100;
/** Phase 1: events per second, one request each. */
const PACED_RATE = 10;
/** Phase 3: the rate the down receiver would have been sent, and how long it is down (simulated). */
const DOWN_RATE = 10;
const DOWN_MINUTES = { quick: 1, full: 10 } as const;
const LATENCY_EVENTS = { quick: 50, full: 200 } as const;
const BACKLOG_EVENTS = { quick: 500, full: 3_000 } as const;
/** Ingest: batches of 100, this many requests in flight. */
const INGEST_CONCURRENCY = 4;
/** Every wait is bounded. */
const DRAIN_TIMEOUT_MS = 300_000;
const SEED = 41;

// ---------------------------------------------------------------------------------------------
// The receiver

interface Receiver {
  readonly url: string;
  /** What it answers now (503: down). */
  status: number;
  /** First arrival (performance.now()) of each event id. */
  readonly arrivals: Map<string, number>;
  /** Events received again after their first arrival. */
  repeats: number;
  /** Requests answered with something else than 200. */
  refused: number;
  /** Requests answered 200, with the time of each and its event count. */
  readonly accepted: { at: number; events: number }[];
  /** Resolves once every id has arrived, or rejects after timeoutMs. */
  waitFor(ids: readonly string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const startBenchReceiver = async (): Promise<Receiver> => {
  const waiters = new Set<{ missing: Set<string>; resolve: () => void }>();
  const receiver = {
    status: 200,
    arrivals: new Map<string, number>(),
    repeats: 0,
    refused: 0,
    accepted: [] as { at: number; events: number }[],
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      if (receiver.status !== 200) {
        receiver.refused += 1;
        res.writeHead(receiver.status).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { id: string }[] };
      const events = body.data ?? [];
      receiver.accepted.push({ at, events: events.length });
      for (const { id } of events) {
        if (receiver.arrivals.has(id)) receiver.repeats += 1;
        else receiver.arrivals.set(id, at);
        for (const waiter of waiters) {
          waiter.missing.delete(id);
          if (waiter.missing.size === 0) {
            waiters.delete(waiter);
            waiter.resolve();
          }
        }
      }
      res.writeHead(200).end();
    });
  };
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    waitFor: (ids: readonly string[], timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const missing = new Set(ids.filter((id) => !receiver.arrivals.has(id)));
        if (missing.size === 0) return resolve();
        const waiter = {
          missing,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${missing.size} of ${ids.length} events did not arrive within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      }),
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  });
};

// ---------------------------------------------------------------------------------------------
// The API

/**
 * One API call; a 503 (the API's "retry with backoff", e.g. while a just-started DynamoDB Local
 * warms up on a busy machine) is retried up to 5 times, 0.5 s apart, as a client should.
 */
const api = async (stack: LocalStack, method: string, path: string, token: string, body?: unknown) => {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status === 503 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  }
};

/** A tenant allowed the bench's burst rate, its admin key, and a webhook stream to `url`. */
const tenantWithStream = async (stack: LocalStack, url: string, name: string) => {
  const op = stack.operatorKey;
  const tenant = await api(stack, 'POST', '/v1/tenants', op, {
    name,
    plan: 'pro',
    rate_limit_rps: 10_000,
  });
  const key = await api(stack, 'POST', `/v1/tenants/${String(tenant.id)}/keys`, op, {
    name: 'bench',
    scopes: ['events:write', 'events:read', 'exports:write', 'admin'],
  });
  const token = String(key.key);
  const stream = await api(stack, 'POST', '/v1/streams', token, { name, type: 'webhook', url });
  return { key: token, streamId: String(stream.id) };
};

/** `count` ~1 KB events with client ids `<prefix>-<n>`. */
const benchEvents = (prefix: string, count: number, seed: number) => {
  const now = Date.now();
  const next = eventGenerator({
    seed,
    population: READ_POPULATION,
    occurredAt: (n) => now - 60_000 + n,
    idOf: (n) => `${prefix}-${String(n).padStart(6, '0')}`,
  });
  return Array.from({ length: count }, (_, n) => next(n));
};

/** Ingests in batches of 100, INGEST_CONCURRENCY in flight; returns the seconds it took. */
const ingestFast = async (stack: LocalStack, key: string, events: readonly unknown[]): Promise<number> => {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const batch = events.slice(next, next + 100);
      next += 100;
      await api(stack, 'POST', '/v1/events', key, { events: batch });
    }
  };
  await Promise.all(Array.from({ length: INGEST_CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
};

const routerIdle = (stack: LocalStack) => stack.streams['stream-router'].poller().idle(DRAIN_TIMEOUT_MS);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------

const latencyPhase = async (ctx: BenchContext, stack: LocalStack, receiver: Receiver) => {
  const count = LATENCY_EVENTS[ctx.mode];
  const { key } = await tenantWithStream(stack, receiver.url, 'Bench latency');
  const events = benchEvents('lat', count, SEED);
  ctx.progress.step(`latency: ${count} single events at ${PACED_RATE}/s`);
  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const started = performance.now();
  await Promise.all(
    events.map(async (event, n) => {
      await sleep(Math.max(0, started + (n * 1000) / PACED_RATE - performance.now()));
      const id = String(event.id);
      sentAt.set(id, performance.now());
      await api(stack, 'POST', '/v1/events', key, event);
      ackedAt.set(id, performance.now());
    }),
  );
  const ids = events.map((e) => String(e.id));
  await receiver.waitFor(ids, DRAIN_TIMEOUT_MS);
  const fromSent = ids.map((id) => (receiver.arrivals.get(id) as number) - (sentAt.get(id) as number));
  const fromAck = ids.map((id) => (receiver.arrivals.get(id) as number) - (ackedAt.get(id) as number));
  const ingestMs = ids.map((id) => (ackedAt.get(id) as number) - (sentAt.get(id) as number));
  return {
    events: count,
    rate_per_s: PACED_RATE,
    p50_ms: round(percentile(fromSent, 50), 0),
    p95_ms: round(percentile(fromSent, 95), 0),
    max_ms: round(percentile(fromSent, 100), 0),
    from_ack_p50_ms: round(percentile(fromAck, 50), 0),
    from_ack_p95_ms: round(percentile(fromAck, 95), 0),
    ingest_answer_p50_ms: round(percentile(ingestMs, 50), 0),
  };
};

const throughputPhase = async (ctx: BenchContext, stack: LocalStack, receiver: Receiver) => {
  const count = BACKLOG_EVENTS[ctx.mode];
  const { key, streamId } = await tenantWithStream(stack, receiver.url, 'Bench throughput');
  await api(stack, 'PATCH', `/v1/streams/${streamId}`, key, { status: 'paused' });
  const events = benchEvents('thr', count, SEED + 1);
  ctx.progress.step(`throughput: ${count} events into a paused stream's outbox`);
  const ingestS = await ingestFast(stack, key, events);
  await routerIdle(stack);
  const requestsBefore = receiver.accepted.length;
  ctx.progress.step(`throughput: resumed, draining ${count} events`);
  const started = performance.now();
  await api(stack, 'PATCH', `/v1/streams/${streamId}`, key, { status: 'active' });
  const ids = events.map((e) => String(e.id));
  await receiver.waitFor(ids, DRAIN_TIMEOUT_MS);
  const drainS = (Math.max(...ids.map((id) => receiver.arrivals.get(id) as number)) - started) / 1000;
  const requests = receiver.accepted.slice(requestsBefore);
  return {
    events: count,
    ingest_s: round(ingestS, 2),
    drain_s: round(drainS, 2),
    events_per_s: round(count / drainS, 0),
    requests: requests.length,
    events_per_request: round(requests.reduce((n, r) => n + r.events, 0) / Math.max(1, requests.length), 1),
  };
};

const catchUpPhase = async (ctx: BenchContext, stack: LocalStack, receiver: Receiver) => {
  const minutes = DOWN_MINUTES[ctx.mode];
  const count = minutes * 60 * DOWN_RATE;
  const { key, streamId } = await tenantWithStream(stack, receiver.url, 'Bench catch-up');
  const events = benchEvents('cup', count, SEED + 2);
  receiver.status = 503;
  const refusedBefore = receiver.refused;
  const repeatsBefore = receiver.repeats;
  ctx.progress.step(
    `catch-up: receiver answers 503; ingesting ${count} events (${minutes} min at ${DOWN_RATE}/s)`,
  );
  const downStarted = performance.now();
  const ingestS = await ingestFast(stack, key, events);
  await routerIdle(stack);
  const whileDown = await api(stack, 'GET', `/v1/streams/${streamId}`, key);
  const downS = (performance.now() - downStarted) / 1000;
  const refusedWhileDown = receiver.refused - refusedBefore;
  ctx.progress.step(`catch-up: receiver answers 200; draining ${count} events`);
  const requestsBefore = receiver.accepted.length;
  receiver.status = 200;
  const upAt = performance.now();
  const ids = events.map((e) => String(e.id));
  let missing = 0;
  try {
    await receiver.waitFor(ids, DRAIN_TIMEOUT_MS);
  } catch {
    missing = ids.filter((id) => !receiver.arrivals.has(id)).length;
  }
  const arrived = ids.map((id) => receiver.arrivals.get(id)).filter((at) => at !== undefined);
  const firstAt = receiver.accepted[requestsBefore]?.at;
  const after = await api(stack, 'GET', `/v1/streams/${streamId}`, key);
  return {
    events: count,
    simulated_down_minutes: minutes,
    rate_per_s: DOWN_RATE,
    backoff_base_ms: BACKOFF_MS,
    ingest_s: round(ingestS, 2),
    down_s: round(downS, 2),
    refused_requests_while_down: refusedWhileDown,
    status_while_down: whileDown.status ?? null,
    first_delivery_after_s: firstAt === undefined ? null : round((firstAt - upAt) / 1000, 2),
    drain_s: arrived.length === 0 ? null : round((Math.max(...arrived) - upAt) / 1000, 2),
    events_per_s_after_first:
      firstAt === undefined ? null : round(arrived.length / ((Math.max(...arrived) - firstAt) / 1000), 0),
    missing,
    repeats: receiver.repeats - repeatsBefore,
    status_after: after.status ?? null,
    lag_seconds_after: after.lag_seconds ?? null,
  };
};

export const streamsPart: BenchPart = {
  name: 'streams',
  title: 'Stream deliveries: latency, throughput, catch-up',
  // It starts a stack of its own, with the stream pollers on (the shared one runs without).
  needsStack: false,
  isolated: true,
  async run(ctx): Promise<PartResult> {
    ctx.progress.step('starting a local stack with the stream pollers (in memory)…');
    const stack = await startLocalStack({
      port: 0,
      logLevel: 'ERROR',
      allowHttpLoopback: true,
      deliveryBackoffMs: BACKOFF_MS,
    });
    const receiver = await startBenchReceiver();
    try {
      const latency = await latencyPhase(ctx, stack, receiver);
      const throughput = await throughputPhase(ctx, stack, receiver);
      const catchUp = await catchUpPhase(ctx, stack, receiver);
      const headlines: Headline[] = [
        {
          key: 'streams_latency_p50_ms',
          value: latency.p50_ms,
          note: `ingest request sent → first arrival at a webhook receiver, ${latency.events} single events at ${PACED_RATE}/s, ms (context)`,
        },
        atMost(
          'streams_latency_p95_ms',
          latency.p95_ms,
          5_000,
          'the same, 95th percentile (SPEC: ≤ 5 s locally)',
          ' ms',
        ),
        {
          key: 'streams_delivery_events_per_s',
          value: throughput.events_per_s,
          note: `one webhook receiver draining a ${fmt(throughput.events, 0)}-event backlog from resume, events/s on this machine (context)`,
        },
        {
          key: 'streams_catchup_drain_s',
          value: catchUp.drain_s,
          note: `receiver down ${catchUp.simulated_down_minutes} min at ${DOWN_RATE} events/s (${fmt(catchUp.events, 0)} events, answered 503), then up: s to the last event (backoff base ${BACKOFF_MS} ms)`,
        },
        atMost(
          'streams_catchup_missing',
          catchUp.missing,
          0,
          'events of the down period that never reached the receiver (SPEC: it gets everything)',
        ),
      ];
      const tables: Table[] = [
        {
          title: 'Streams — webhook deliveries to one local receiver (own stack, stream pollers on)',
          columns: ['phase', 'events', 'figure', 'value'],
          rows: [
            [
              'latency',
              latency.events,
              'sent → receiver p50 / p95 / max, ms',
              `${latency.p50_ms} / ${latency.p95_ms} / ${latency.max_ms}`,
            ],
            [
              '',
              '',
              'ingest answer → receiver p50 / p95, ms',
              `${latency.from_ack_p50_ms} / ${latency.from_ack_p95_ms}`,
            ],
            ['', '', 'ingest answer p50, ms', latency.ingest_answer_p50_ms],
            ['throughput', throughput.events, 'resume → last event, s', throughput.drain_s],
            [
              '',
              '',
              'events/s (events per request)',
              `${fmt(throughput.events_per_s, 0)} (${throughput.events_per_request})`,
            ],
            [
              'catch-up',
              catchUp.events,
              'ingest while down, s (503s answered)',
              `${catchUp.ingest_s} (${catchUp.refused_requests_while_down})`,
            ],
            ['', '', 'status while down → after', `${catchUp.status_while_down} → ${catchUp.status_after}`],
            ['', '', 'up → first accepted delivery, s', catchUp.first_delivery_after_s],
            [
              '',
              '',
              'up → last event, s (events/s after the first)',
              `${catchUp.drain_s} (${fmt(catchUp.events_per_s_after_first, 0)})`,
            ],
            ['', '', 'missing / delivered again', `${catchUp.missing} / ${catchUp.repeats}`],
          ],
          notes: [
            `The part's own in-memory stack runs the stream pollers (router and archiver, 200 ms batching window), the deliverer from a local queue and the sweeper every 3 s, all in this process on the same cores as DynamoDB Local; milliseconds and events/s are for context.`,
            `Retries use TRAILKEEPER_DELIVERY_BACKOFF_MS = ${BACKOFF_MS} (SPEC: 1 s base, cap 60×): "up → first accepted delivery" is the retry pending when the receiver came back, at this scale; with the 1 s base it is up to a minute.`,
            `The ${catchUp.simulated_down_minutes}-minute outage is simulated: its ${fmt(catchUp.events, 0)} events (${DOWN_RATE}/s × ${catchUp.simulated_down_minutes} min) were ingested as fast as the API took them while the receiver answered 503.`,
          ],
        },
      ];
      return {
        headlines,
        details: { backoff_base_ms: BACKOFF_MS, latency, throughput, catch_up: catchUp },
        tables,
      };
    } finally {
      await receiver.close();
      await stack.stop();
    }
  },
};
