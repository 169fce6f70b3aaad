/**
 * Stream router: the second reader of the events table's stream (the archiver is the first).
 * Copies each new event into the outbox of every matching stream of its tenant and wakes the
 * active ones (shared/usecases/deliveries.ts routeEvents). Never calls a destination, so no
 * receiver can hold the shard back; it also evaluates the tenant's alert rules on the new events
 * (shared/usecases/alerts.ts evaluateAlerts: state, trail record, queued notifications); fails the batch only on a store error (the writes are
 * idempotent, so the mapping's retry is safe). Records that are not readable inserts are the
 * archiver's concern (it quarantines them) and skipped here. Logs counts only.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { alertNotificationQueue, alertStore } from '#shared/adapters/alert-wiring.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { deliveryQueue, outboxStore, streamRecords } from '#shared/adapters/delivery-wiring.ts';
import { decodeInsert } from '#shared/adapters/event-stream.ts';
import { eventStore, redactor } from '#shared/adapters/wiring.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { evaluateAlerts } from '#shared/usecases/alerts.ts';
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

const alertDeps = {
  alerts: alertStore(),
  control: controlStore(),
  store: eventStore(),
  redact: redactor(),
  queue: alertNotificationQueue(),
  now: () => Date.now(),
  cache: new Map(),
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
  const fired = await evaluateAlerts(events, alertDeps);
  metrics.addMetric(MANIFEST.streamRouter.metrics.fired, MetricUnit.Count, fired);
  logger.info('routed', {
    records: event.Records.length,
    events: events.length,
    outbox_written: written,
    alerts_fired: fired,
  });
  return { batchItemFailures: [] };
});
