/**
 * The stream delivery pipeline (SPEC, "Streams and alerts"; design in the streams README):
 *
 * - routeEvents (the stream router, second reader of the events table's stream): each new event
 *   into the outbox of every stream of its tenant that is not disabled and whose filter matches,
 *   then one `wake` per touched active stream. Never calls a destination.
 * - handleDeliveryMessage (the deliverer, one queue message at a time): `wake` delivers a
 *   stream's outbox under its own lease, oldest first, batch by batch, until it is empty or the
 *   time budget is spent (then it wakes itself again). A failure is recorded (nextState: backoff
 *   with jitter, Retry-After, 410 → disabled, three days → disabled) and retried by a wake sent
 *   delayed until the next attempt: nobody waits, so a failing receiver holds up only its own
 *   stream. `replay` copies a window of the tenant's events into the outbox page by page.
 * - sweepStreams (every minute): wakes every active or failing stream without a live lease whose
 *   outbox is not empty, so a lost wake message only delays a stream.
 *
 * At least once: an entry leaves the outbox only after its receiver answered 2xx; a crash between
 * the answer and the delete sends the batch again (same webhook-id: receivers dedupe).
 */

import { batchesOf, buildDelivery, DELIVERY_LIMITS } from '../domain/deliveries.ts';
import {
  type AttemptOutcome,
  type DeliveryState,
  initialDeliveryState,
  lagSeconds,
  NETWORK_ERRORS,
  type NetworkError,
  nextState,
  retryAfterMs,
} from '../domain/delivery-state.ts';
import type { StoredEvent } from '../domain/event.ts';
import { streamFilterMatches } from '../domain/stream-input.ts';
import type {
  DeliveryMessage,
  DeliveryMessageQueue,
  DeliveryMetrics,
  DeliveryStateFields,
  DestinationPoster,
  OutboxStore,
  StreamStateStore,
} from './ports/deliveries.ts';
import type { SecretBox } from './ports/secret-box.ts';
import { type StreamRecord, type StreamRef, type StreamStore, streamSecretContext } from './ports/streams.ts';

/** SQS's longest delay; a later retry is reached by hops (each wake re-checks next_attempt_at). */
const MAX_DELAY_SECONDS = 900;
/** Left of the invocation's time when no further batch is started (a POST may take 10 s). */
export const DELIVERY_TIME_RESERVE_MS = 12_000;
/** The lease outlives the invocation by this much (a crashed deliverer's lease lapses soon after). */
const LEASE_MARGIN_MS = 5_000;
/** How long the router trusts its list of a tenant's streams. */
export const STREAM_CACHE_MS = 5_000;

export interface DeliveryClock {
  /** Epoch ms. */
  now: () => number;
  /** Uniform in [0, 1). */
  random: () => number;
}

const NO_METRICS: DeliveryMetrics = {
  succeeded: () => {},
  failed: () => {},
  disabled: () => {},
  lag: () => {},
  written: () => {},
};

const refOf = (stream: Pick<StreamRecord, 'tenant_id' | 'id'>): StreamRef => ({
  tenant_id: stream.tenant_id,
  stream_id: stream.id,
});

// ---------------------------------------------------------------------------------------------
// Router

export interface RouterDeps {
  streams: Pick<StreamStore, 'list'>;
  outbox: Pick<OutboxStore, 'put'>;
  queue: Pick<DeliveryMessageQueue, 'send'>;
  clock: Pick<DeliveryClock, 'now'>;
  metrics?: DeliveryMetrics;
  /** The router's cache of each tenant's streams (module scope in the handler). */
  cache?: Map<string, { at: number; streams: StreamRecord[] }>;
  cacheMs?: number;
}

/** The trail events that change a tenant's streams: seeing one drops the router's cached list. */
const STREAM_CHANGE = /^trailkeeper\.stream\./;

/** Routes new events into their streams' outboxes; returns how many outbox entries it wrote. */
export const routeEvents = async (events: readonly StoredEvent[], deps: RouterDeps): Promise<number> => {
  const cache = deps.cache ?? new Map();
  const cacheMs = deps.cacheMs ?? STREAM_CACHE_MS;
  const byTenant = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const list = byTenant.get(event.tenant_id) ?? [];
    list.push(event);
    byTenant.set(event.tenant_id, list);
  }
  let written = 0;
  for (const [tenantId, tenantEvents] of byTenant) {
    const now = deps.clock.now();
    const cached = cache.get(tenantId);
    const changed = tenantEvents.some((event) => STREAM_CHANGE.test(event.action));
    let streams = cached?.streams;
    if (cached === undefined || changed || now - cached.at > cacheMs) {
      streams = await deps.streams.list(tenantId);
      cache.set(tenantId, { at: now, streams });
    }
    for (const stream of streams ?? []) {
      if (stream.status === 'disabled') continue;
      const matching = tenantEvents.filter(
        (event) =>
          streamFilterMatches(stream.filter, event) &&
          (stream.deliver_from === undefined || event.received_at >= stream.deliver_from),
      );
      if (matching.length === 0) continue;
      await deps.outbox.put(refOf(stream), matching);
      written += matching.length;
      // Paused keeps its backlog; a failing stream is woken by its own delayed message.
      if (stream.status === 'active') await deps.queue.send({ kind: 'wake', ...refOf(stream) });
    }
  }
  (deps.metrics ?? NO_METRICS).written(written);
  return written;
};

// ---------------------------------------------------------------------------------------------
// Deliverer

export interface DelivererDeps {
  streams: Pick<StreamStore, 'get'>;
  state: StreamStateStore;
  outbox: OutboxStore;
  queue: Pick<DeliveryMessageQueue, 'send'>;
  secrets: () => Promise<SecretBox>;
  poster: DestinationPoster;
  clock: DeliveryClock;
  metrics?: DeliveryMetrics;
  /**
   * The backoff base instead of the SPEC's 1 s (cap: 60 times it). Local runtime and tests only
   * (the handler passes it only when the loopback exception is on, which AWS never has).
   */
  backoffBaseMs?: number;
  /** Copies the replay window's events into the outbox, one page per call (see ReplaySource). */
  replay?: ReplaySource;
}

/** Pages a tenant's events received in a window, oldest first where the store allows. */
export interface ReplaySource {
  page(
    tenantId: string,
    window: { from: string; to: string },
    cursor: string | undefined,
  ): Promise<{ events: StoredEvent[]; cursor?: string }>;
}

export interface DeliveryBudget {
  /** Epoch ms after which no further batch is started. */
  deadline: number;
  /** Epoch ms the invocation may run until (the lease covers it). */
  hardDeadline: number;
}

export type WakeResult =
  | 'gone'
  | 'paused'
  | 'disabled'
  | 'not-due'
  | 'leased'
  | 'drained'
  | 'retrying'
  | 'continued';

const delaySecondsUntil = (dueMs: number, nowMs: number): number =>
  Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueMs - nowMs) / 1000)));

const stateOf = (stream: StreamRecord): DeliveryState => ({
  ...initialDeliveryState(),
  status: stream.status,
  attempts: stream.attempts ?? 0,
  last_delivered_at: stream.last_delivered_at ?? null,
  last_error: stream.last_error ?? null,
  last_error_at: (stream as { last_error_at?: string | null }).last_error_at ?? null,
  failing_since: stream.failing_since ?? null,
  next_attempt_at: stream.next_attempt_at ?? null,
  disabled_at: stream.disabled_at ?? null,
  disabled_reason: stream.disabled_reason ?? null,
});

/** The outcome of one POST as the state machine reads it. */
const attempt = async (
  poster: DestinationPoster,
  request: { url: string; headers: Record<string, string>; body: string },
): Promise<AttemptOutcome> => {
  try {
    const response = await poster.post(request);
    return {
      status: response.status,
      body: response.body,
      ...(response.headers['retry-after'] === undefined
        ? {}
        : { retryAfter: response.headers['retry-after'] }),
    };
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    const mapped: NetworkError =
      kind === 'invalid-url'
        ? 'refused-address'
        : (NETWORK_ERRORS as readonly string[]).includes(kind ?? '')
          ? (kind as NetworkError)
          : 'connect';
    return { error: mapped, detail: error instanceof Error ? error.message : String(error) };
  }
};

/** nextState with the local backoff base instead of the SPEC's (Retry-After still honoured). */
const withLocalBackoff = (
  state: DeliveryState,
  outcome: AttemptOutcome,
  now: number,
  random: () => number,
  baseMs: number | undefined,
): DeliveryState => {
  if (baseMs === undefined || state.status === 'disabled' || state.next_attempt_at === null) return state;
  const step = Math.min(baseMs * 60, baseMs * 2 ** Math.max(0, state.attempts - 1));
  const backoff = Math.round(step / 2 + (step / 2) * random());
  const asked = 'status' in outcome ? retryAfterMs(outcome.retryAfter, now) : undefined;
  return { ...state, next_attempt_at: new Date(now + Math.max(backoff, asked ?? 0)).toISOString() };
};

/** The credentials a stream's deliveries need, opened from their sealed form. */
const credentialsOf = async (
  stream: StreamRecord,
  box: SecretBox,
  now: number,
): Promise<{ secrets?: readonly string[]; token?: string; known: string[] }> => {
  const context = streamSecretContext(stream.tenant_id, stream.id, stream.type);
  if (stream.type === 'webhook') {
    if (stream.secret_sealed === undefined) return { known: [] };
    const current = await box.open(stream.secret_sealed, context);
    const previous =
      stream.previous_secret_sealed !== undefined &&
      stream.previous_secret_until !== undefined &&
      Date.parse(stream.previous_secret_until) > now
        ? [await box.open(stream.previous_secret_sealed, context)]
        : [];
    return { secrets: [current, ...previous], known: [current, ...previous] };
  }
  if (stream.token_sealed === undefined) return { known: [] };
  const token = await box.open(stream.token_sealed, context);
  return { token, known: [token] };
};

/**
 * One `wake`: delivers the stream's outbox until it is empty, a delivery fails, or the budget is
 * spent. Never waits for a retry: a failure is answered by a delayed wake.
 */
export const deliverStream = async (
  ref: StreamRef,
  budget: DeliveryBudget,
  deps: DelivererDeps,
): Promise<WakeResult> => {
  const metrics = deps.metrics ?? NO_METRICS;
  const { now, random } = deps.clock;
  const initial = await deps.streams.get(ref.tenant_id, ref.stream_id);
  if (initial === null) {
    await deps.outbox.purge(ref);
    return 'gone';
  }
  if (initial.status === 'disabled') {
    // A disabled stream keeps no backlog (SPEC); it says from when it stopped (disabled_at).
    await deps.outbox.purge(ref);
    return 'disabled';
  }
  if (initial.status === 'paused') return 'paused';
  const due = initial.next_attempt_at ? Date.parse(initial.next_attempt_at) : 0;
  if (due > now()) {
    await deps.queue.send({ kind: 'wake', ...ref }, delaySecondsUntil(due, now()));
    return 'not-due';
  }

  const leaseUntil = budget.hardDeadline + LEASE_MARGIN_MS;
  if (!(await deps.state.acquireLease(ref, now(), leaseUntil))) return 'leased';
  let released = false;
  const release = async () => {
    if (!released) await deps.state.releaseLease(ref, leaseUntil);
    released = true;
  };
  try {
    let credentials: Awaited<ReturnType<typeof credentialsOf>> | undefined;
    for (;;) {
      if (now() >= budget.deadline) {
        await deps.queue.send({ kind: 'wake', ...ref });
        return 'continued';
      }
      // Re-read each turn: a pause, a disable or a new URL applies from the next batch.
      const stream = await deps.streams.get(ref.tenant_id, ref.stream_id);
      if (stream === null) {
        await deps.outbox.purge(ref);
        return 'gone';
      }
      if (stream.status === 'paused') return 'paused';
      if (stream.status === 'disabled') {
        await deps.outbox.purge(ref);
        return 'disabled';
      }
      const limit = DELIVERY_LIMITS[stream.type].maxEvents;
      const entries = await deps.outbox.oldest(ref, limit);
      if (entries.length === 0) {
        await deps.state.record(ref, { lag_seconds: 0 });
        metrics.lag(0);
        await release();
        // A wake sent between our last look and the release found the lease taken: look again.
        if (!(await deps.outbox.hasEntries(ref))) return 'drained';
        if (!(await deps.state.acquireLease(ref, now(), leaseUntil))) return 'leased';
        released = false;
        continue;
      }
      // Events from before a disabled stream was resumed are not delivered.
      const stale = entries.filter(
        (entry) => stream.deliver_from !== undefined && entry.event.received_at < stream.deliver_from,
      );
      if (stale.length > 0) {
        await deps.outbox.remove(
          ref,
          stale.map((entry) => entry.key),
        );
        continue;
      }
      const sentAt = now();
      const [unit] = batchesOf(
        entries.map((entry) => entry.event),
        stream.type,
        { now: sentAt },
      );
      if (unit === undefined) continue;
      if (unit.kind === 'undeliverable') {
        // Too large for this destination on its own: recorded and passed over, never retried.
        const key = entries.find((entry) => entry.event === unit.event)?.key;
        if (key !== undefined) await deps.outbox.remove(ref, [key]);
        await deps.state.record(ref, {
          last_error: unit.reason,
          last_error_at: new Date(sentAt).toISOString(),
        });
        continue;
      }
      credentials ??= await credentialsOf(stream, await deps.secrets(), sentAt);
      const request = buildDelivery(stream.type, unit.events, {
        streamId: stream.id,
        now: sentAt,
        ...(credentials.secrets === undefined ? {} : { secrets: credentials.secrets }),
        ...(credentials.token === undefined ? {} : { token: credentials.token }),
      });
      const outcome = await attempt(deps.poster, { url: stream.url, ...request });
      const finished = now();
      const state = withLocalBackoff(
        nextState(stateOf(stream), outcome, { now: finished, random, secrets: credentials.known }),
        outcome,
        finished,
        random,
        deps.backoffBaseMs,
      );
      if (state.status !== 'failing' && state.status !== 'disabled' && state.attempts === 0) {
        const delivered = new Set(unit.events);
        await deps.outbox.remove(
          ref,
          entries.filter((entry) => delivered.has(entry.event)).map((entry) => entry.key),
        );
        const next = entries[unit.events.length];
        const lag = lagSeconds(next?.event.received_at, finished);
        await deps.state.record(ref, { ...stateFields(state), lag_seconds: lag });
        metrics.succeeded(unit.events.length);
        metrics.lag(lag);
        continue;
      }
      metrics.failed();
      const lag = lagSeconds(entries[0]?.event.received_at, finished);
      await deps.state.record(ref, { ...stateFields(state), lag_seconds: lag });
      metrics.lag(lag);
      if (state.status === 'disabled') {
        metrics.disabled();
        await deps.outbox.purge(ref);
        return 'disabled';
      }
      await release();
      const dueAt = state.next_attempt_at ? Date.parse(state.next_attempt_at) : finished;
      await deps.queue.send({ kind: 'wake', ...ref }, delaySecondsUntil(dueAt, now()));
      return 'retrying';
    }
  } finally {
    await release();
  }
};

const stateFields = (state: DeliveryState): Partial<DeliveryStateFields> => ({ ...state });

/** One page of a replay into the outbox, then the next page's message or a wake. */
export const replayPage = async (
  message: Extract<DeliveryMessage, { kind: 'replay' }>,
  deps: Pick<DelivererDeps, 'streams' | 'outbox' | 'queue' | 'replay' | 'metrics'>,
): Promise<'replayed' | 'gone' | 'continued'> => {
  const ref: StreamRef = { tenant_id: message.tenant_id, stream_id: message.stream_id };
  const stream = await deps.streams.get(ref.tenant_id, ref.stream_id);
  if (stream === null || stream.status === 'disabled' || deps.replay === undefined) return 'gone';
  const page = await deps.replay.page(ref.tenant_id, { from: message.from, to: message.to }, message.cursor);
  const matching = page.events.filter((event) => streamFilterMatches(stream.filter, event));
  if (matching.length > 0) await deps.outbox.put(ref, matching);
  (deps.metrics ?? NO_METRICS).written(matching.length);
  if (page.cursor !== undefined) {
    await deps.queue.send({ ...message, cursor: page.cursor });
    return 'continued';
  }
  if (stream.status !== 'paused') await deps.queue.send({ kind: 'wake', ...ref });
  return 'replayed';
};

export const handleDeliveryMessage = async (
  message: DeliveryMessage,
  budget: DeliveryBudget,
  deps: DelivererDeps,
): Promise<string> =>
  message.kind === 'wake'
    ? deliverStream({ tenant_id: message.tenant_id, stream_id: message.stream_id }, budget, deps)
    : replayPage(message, deps);

// ---------------------------------------------------------------------------------------------
// Sweeper

export interface SweeperDeps {
  state: Pick<StreamStateStore, 'listAll'>;
  outbox: Pick<OutboxStore, 'hasEntries'>;
  queue: Pick<DeliveryMessageQueue, 'send'>;
  clock: Pick<DeliveryClock, 'now'>;
}

/** Wakes every active or failing stream without a live lease whose outbox is not empty; how many. */
export const sweepStreams = async (deps: SweeperDeps): Promise<number> => {
  let woken = 0;
  for await (const listing of deps.state.listAll()) {
    if (listing.status !== 'active' && listing.status !== 'failing') continue;
    const now = deps.clock.now();
    if ((listing.lease_until ?? 0) > now) continue;
    const ref: StreamRef = { tenant_id: listing.tenant_id, stream_id: listing.stream_id };
    if (!(await deps.outbox.hasEntries(ref))) continue;
    const due = listing.next_attempt_at ? Date.parse(listing.next_attempt_at) : 0;
    await deps.queue.send({ kind: 'wake', ...ref }, delaySecondsUntil(due, now));
    woken += 1;
  }
  return woken;
};
