/**
 * Production wiring of the stream delivery pipeline (router, deliverer, sweeper): the outbox, the
 * stream records and their delivery state, the delivery queue, the secret box and the guarded
 * POST under the deployment's network policy. Apart from wiring.ts so the ingest and query
 * bundles carry none of it.
 */
import { ENV } from '../config/env.ts';
import { networkPolicyFromEnv } from '../domain/network-policy.ts';
import type { DeliveryMessageQueue, DestinationPoster } from '../usecases/ports/deliveries.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { SqsDeliveryQueue, sqsClientFor } from './delivery-queue.ts';
import { postGuarded } from './guarded-http.ts';
import { DynamoOutboxStore } from './outbox-store.ts';
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
