/**
 * Stream deliveries survive DynamoDB crashes. Clients ingest events for a fixed time into a
 * tenant with a webhook stream while the suite SIGKILLs and restarts DynamoDB Local (the events
 * table, its change stream, the outbox and the streams' delivery state all live there), three
 * times during the load. The receiver takes a moment to answer, so kills land on deliveries in
 * flight. The stream is paused for the last part of the load so a backlog builds up; once the
 * load has ended it is resumed, and DynamoDB Local is killed again as soon as the first request
 * of the drain reaches the receiver (before the deliverer can record it). Afterwards every acknowledged
 * event must have reached the receiver at least once (lost 0), every request must carry a valid
 * Standard Webhooks signature, and the duplicate rate (events delivered more than once, which
 * at-least-once allows) is printed. The stack runs with allowHttpLoopback (a plain-http receiver
 * on 127.0.0.1) and a 100 ms delivery backoff base, so retries happen on the test's timescale.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordedRequest, startReceiver, type TestReceiver } from '../support/receiver.ts';
import {
  countBy,
  createHttpClient,
  createTenant,
  fmt,
  formatCounts,
  type HttpClient,
  jsonRequest,
  printSummary,
  type ReliabilityTenant,
  type RetryPolicy,
  sendWithRetry,
  startTestStack,
  type TestStack,
} from './support.ts';

const CLIENTS = 3;
const LOAD_MS = 40_000;
/** DynamoDB Local is killed at these offsets of the load, and once more when the load has ended. */
const KILLS_DURING_LOAD_MS = [6_000, 18_000, 30_000];
/** The stream is paused from here to the end of the load (between the second and third kill). */
const PAUSE_AT_MS = 25_000;
/** Each delivery is answered after this long, so a kill can land while one is in flight. */
const RECEIVER_DELAY_MS = 150;
/** Patient enough to outlast most restarts (5–8 s on a busy machine); some requests still give up. */
const LOAD_RETRY_POLICY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 250, maxDelayMs: 4_000 };
/** How long every acknowledged event may take to arrive once the last restart is over. */
const DRAIN_MS = 180_000;
const ACTIONS = ['rel.login', 'rel.viewed', 'rel.shared', 'rel.deleted'];

const randomInt = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));

const newEvent = (client: number, seq: number) => ({
  id: `sd-${client}-${String(seq).padStart(6, '0')}`,
  action: ACTIONS[seq % ACTIONS.length] as string,
  actor: { id: `user-${client}-${randomInt(0, 9)}`, type: 'user' as const },
  target: { type: 'doc', id: `d-${randomInt(0, 50)}` },
  metadata: { client, seq },
});

/** The event ids of one webhook request (throws on a body that is not a delivery). */
const deliveredIds = (request: RecordedRequest): string[] => {
  const body = JSON.parse(request.body.toString('utf8')) as { type: string; data: { id: string }[] };
  if (body.type !== 'audit_events') throw new Error(`not a delivery: ${body.type}`);
  return body.data.map((event) => event.id);
};

describe('stream deliveries through DynamoDB Local crashes', () => {
  let ts: TestStack;
  let http: HttpClient;
  let receiver: TestReceiver;
  let tenant: ReliabilityTenant;
  let streamId: string;
  let secret: string;
  const sent = new Set<string>();
  const acked = new Set<string>();
  const clientFailures: string[] = [];
  const timeline: string[] = [];
  let restarts = 0;
  let summary = 'did not finish';

  beforeAll(async () => {
    ts = await startTestStack('streams', {
      allowHttpLoopback: true,
      deliveryBackoffMs: 100,
      scheduleEveryMs: { 'stream-sweeper': 1_000 },
    });
    http = createHttpClient(ts.stack.url, 32);
    receiver = await startReceiver({ fallback: { status: 200, delayMs: RECEIVER_DELAY_MS } });
    tenant = await createTenant(http, { name: 'Streams' });
    const created = await http.send(
      jsonRequest('POST', '/v1/streams', tenant.key, {
        name: 'reliability',
        type: 'webhook',
        url: `${receiver.url}/hook`,
        filter: { action: 'rel.*' },
      }),
    );
    if (created.status !== 201) throw new Error(`create stream: ${created.status} ${created.text}`);
    streamId = String(created.json.id);
    secret = String(created.json.secret);
  });

  afterAll(async () => {
    http?.close();
    await receiver?.close();
    await ts?.stop();
    printSummary('streams-delivery', summary);
  });

  it('acknowledges events while DynamoDB Local is killed and restarted', async () => {
    const started = Date.now();
    const loadEnd = started + LOAD_MS;
    const restart = async () => {
      const killedAt = Date.now() - started;
      await ts.stack.restartDynamoDb({ signal: 'SIGKILL' });
      restarts += 1;
      timeline.push(`killed at ${killedAt} ms, answering at ${Date.now() - started} ms`);
    };
    const at = (offset: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, started + offset - Date.now())));
    const setStatus = async (status: 'paused' | 'active') => {
      const outcome = await sendWithRetry(
        http,
        jsonRequest('PATCH', `/v1/streams/${streamId}`, tenant.key, { status }),
        LOAD_RETRY_POLICY,
      );
      if (outcome.reply?.status !== 200)
        throw new Error(`${status}: ${outcome.reply?.status} ${outcome.reply?.text.slice(0, 300)}`);
      timeline.push(`${status} at ${Date.now() - started} ms`);
    };
    const kill = async () => {
      for (const offset of KILLS_DURING_LOAD_MS) {
        await at(offset);
        await restart();
      }
    };
    const pause = async () => {
      await at(PAUSE_AT_MS);
      await setStatus('paused');
    };
    const runClient = async (client: number) => {
      let seq = 0;
      while (Date.now() < loadEnd) {
        const events = Array.from({ length: randomInt(1, 50) }, () => newEvent(client, seq++));
        for (const event of events) sent.add(event.id);
        const outcome = await sendWithRetry(
          http,
          jsonRequest('POST', '/v1/events', tenant.key, { events }),
          LOAD_RETRY_POLICY,
        );
        clientFailures.push(...outcome.failures);
        const status = outcome.reply?.status;
        if (status === 200 || status === 201) for (const event of events) acked.add(event.id);
      }
    };

    await Promise.all([kill(), pause(), ...Array.from({ length: CLIENTS }, (_, c) => runClient(c))]);
    // Once more as the backlog starts to drain: the first request of the drain is in flight.
    const requestsBeforeResume = receiver.requests.length;
    await setStatus('active');
    await receiver.waitForRequests(requestsBeforeResume + 1);
    timeline.push(`first request of the drain at ${Date.now() - started} ms`);
    await restart();

    expect(restarts).toBe(KILLS_DURING_LOAD_MS.length + 1);
    expect(acked.size).toBeGreaterThan(0);
  });

  it('delivers every acknowledged event at least once, signed, and reports the duplicates', async () => {
    expect(acked.size).toBeGreaterThan(0);
    const verifier = new Webhook(secret);
    const deliveries = new Map<string, number>();
    const badSignatures: string[] = [];
    const missing = new Set(acked);
    let parsed = 0;
    const deadline = Date.now() + DRAIN_MS;
    while (missing.size > 0 && Date.now() < deadline) {
      const next = receiver.waitForRequests(parsed + 1);
      const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now()));
      const requests = await Promise.race([next, timer]);
      if (requests === null) break;
      for (const request of requests.slice(parsed)) {
        try {
          verifier.verify(request.body.toString('utf8'), {
            'webhook-id': String(request.headers['webhook-id']),
            'webhook-timestamp': String(request.headers['webhook-timestamp']),
            'webhook-signature': String(request.headers['webhook-signature']),
          });
        } catch (error) {
          badSignatures.push(`${request.headers['webhook-id']}: ${(error as Error).message}`);
        }
        for (const id of deliveredIds(request)) {
          deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
          missing.delete(id);
        }
      }
      parsed = requests.length;
    }

    const delivered = [...deliveries.values()].reduce((a, b) => a + b, 0);
    const distinct = deliveries.size;
    const twice = [...deliveries.values()].filter((n) => n > 1).length;
    const foreign = [...deliveries.keys()].filter((id) => !sent.has(id));
    const unackedDelivered = [...deliveries.keys()].filter((id) => sent.has(id) && !acked.has(id)).length;
    const lost = [...missing];
    const duplicateRate = distinct === 0 ? 0 : (delivered - distinct) / distinct;
    const stream = await http.send(jsonRequest('GET', `/v1/streams/${streamId}`, tenant.key));
    const router = ts.stack.streams['stream-router'].poller();
    summary =
      `${CLIENTS} clients, ${fmt(acked.size)} events acknowledged (${fmt(sent.size - acked.size)} not; ` +
      `failed attempts, retried: ${formatCounts(countBy(clientFailures))}); ${restarts} DynamoDB Local SIGKILLs ` +
      `(${timeline.join('; ')}); ${fmt(receiver.requests.length)} webhook requests carried ${fmt(delivered)} events, ` +
      `${fmt(distinct)} distinct (${fmt(unackedDelivered)} of them unacknowledged); lost ${lost.length}; ` +
      `duplicates ${fmt(delivered - distinct)} (${fmt(twice)} events more than once), duplicate rate ` +
      `${(duplicateRate * 100).toFixed(2)} %; router retries ${router.stats().retries}; delivery wake messages dead-lettered ` +
      `${ts.stack.queues.deliveries.deadLetters().length} (the sweeper wakes the stream instead); stream ${stream.json?.status}`;

    expect({ lostCount: lost.length, lost: lost.slice(0, 20), timeline }).toEqual({
      lostCount: 0,
      lost: [],
      timeline,
    });
    expect(badSignatures.slice(0, 10)).toEqual([]);
    expect(foreign.slice(0, 10)).toEqual([]);
    expect(router.deadLetters()).toEqual([]);
    // Sanity only: at least once allows repeats, but not a stream that resends everything.
    expect(duplicateRate).toBeLessThan(1);
    expect(stream.json?.status).toBe('active');
  });
});
