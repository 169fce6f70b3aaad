/**
 * Stream router: the second reader of the events table's stream (the archiver is the first).
 * Copies each new event into the outbox of every matching stream of its tenant and wakes the
 * active ones (shared/usecases/deliveries.ts routeEvents). Never calls a destination, so no
 * receiver can hold the shard back; fails the batch only on a store error (the writes are
 * idempotent, so the mapping's retry is safe). Records that are not readable inserts are the
 * archiver's concern (it quarantines them) and skipped here. Logs counts only.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { deliveryQueue, outboxStore, streamRecords } from '#shared/adapters/delivery-wiring.ts';
import { decodeInsert } from '#shared/adapters/event-stream.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { routeEvents } from '#shared/usecases/deliveries.ts';

const telemetry = createTelemetry();
const { logger, metrics } = telemetry;

const cache = new Map();
const deps = {
  streams: streamRecords(),
  outbox: outboxStore(),
  queue: deliveryQueue(),
  clock: { now: () => Date.now() },
  cache,
};

export const handler = lambdaHandler('streamRouter', telemetry, async (event) => {
  const events: StoredEvent[] = [];
  for (const record of event.Records) {
    if (record.eventName !== 'INSERT') continue;
    const decoded = decodeInsert(record);
    if (decoded.ok) events.push(decoded.event);
  }
  const written = await routeEvents(events, deps);
  metrics.addMetric(MANIFEST.streamRouter.metrics.written, MetricUnit.Count, written);
  logger.info('routed', { records: event.Records.length, events: events.length, outbox_written: written });
  return { batchItemFailures: [] };
});
