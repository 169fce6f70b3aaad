/**
 * Production wiring of the stream delivery pipeline (router, deliverer, sweeper): the outbox, the
 * stream records and their delivery state, the delivery queue, the secret box and the guarded
 * POST under the deployment's network policy. Apart from wiring.ts so the ingest and query
 * bundles carry none of it.
 */
import { ENV } from '../config/env.ts';
import { networkPolicyFromEnv } from '../domain/network-policy.ts';
import type { ReplaySource } from '../usecases/deliveries.ts';
import type { DeliveryMessageQueue, DestinationPoster } from '../usecases/ports/deliveries.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { controlStore } from './control-wiring.ts';
import { SqsDeliveryQueue, sqsClientFor } from './delivery-queue.ts';
import { postGuarded } from './guarded-http.ts';
import { DynamoOutboxStore } from './outbox-store.ts';
import { DynamoSealStore } from './seal-store.ts';
import { secretBoxFromEnv } from './secret-box.ts';
import { DynamoStreamStateStore } from './stream-state-store.ts';
import { DynamoStreamStore } from './stream-store.ts';

export const outboxStore = () => new DynamoOutboxStore(dynamoDocumentClient(), requiredEnv(ENV.outboxTable));
export const streamRecords = () =>
  new DynamoStreamStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
export const streamStates = () =>
  new DynamoStreamStateStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));

export const deliveryQueue = (): DeliveryMessageQueue => {
  const url = requiredEnv(ENV.deliveryQueueUrl);
  return new SqsDeliveryQueue(sqsClientFor(url), url);
};

/** postGuarded under the environment's policy (checked at start: a bad value fails the cold start). */
export const destinationPoster = (): DestinationPoster => {
  const policy = networkPolicyFromEnv(process.env);
  return { post: (request) => postGuarded(request, { policy }) };
};

/**
 * The local backoff base (TRAILKEEPER_DELIVERY_BACKOFF_MS), honoured only where the loopback
 * exception is on — the local stack and tests; no deployed function has it, so AWS always
 * follows the SPEC's schedule.
 */
export const localBackoffBaseMs = (env: NodeJS.ProcessEnv = process.env): number | undefined => {
  if (env[ENV.allowHttpLoopback] !== '1') return undefined;
  const value = Number(env[ENV.deliveryBackoffMs]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
};

export { secretBoxFromEnv };

/** Events per replay page (one deliverer message each). */
export const REPLAY_PAGE_EVENTS = 500;

/**
 * A replay's source: the tenant's events received in [from, to), oldest first, from the events
 * table's `bySeal` index (partitioned by the hour received, sorted by `<received_at>#<id>`) and
 * their stored documents. The cursor is the received_at to continue after; a page ending inside
 * a millisecond continues from the millisecond before (the outbox rewrites what it sees twice).
 */
export const replaySource = (): ReplaySource => {
  const seals = new DynamoSealStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable));
  const tenants = controlStore();
  return {
    page: async (tenantId, window, cursor) => {
      const tenant = await tenants.getTenant(tenantId);
      if (tenant === null) return { events: [] };
      const start = cursor ?? new Date(Date.parse(window.from) - 1).toISOString();
      const end = new Date(Date.parse(window.to) - 1).toISOString();
      if (start >= end) return { events: [] };
      const sealed = await seals.receivedBetween(tenantId, tenant.shards, start, end, REPLAY_PAGE_EVENTS);
      const stored = await seals.storedEvents(
        tenantId,
        sealed.map((leaf) => leaf.id),
      );
      const events = sealed.flatMap((leaf) => {
        const event = stored.get(leaf.id);
        return event === undefined ? [] : [event];
      });
      const last = sealed.at(-1);
      if (sealed.length < REPLAY_PAGE_EVENTS || last === undefined) return { events };
      const first = sealed[0];
      const next =
        first !== undefined && first.received_at === last.received_at
          ? last.received_at
          : new Date(Date.parse(last.received_at) - 1).toISOString();
      return { events, cursor: next };
    },
  };
};
