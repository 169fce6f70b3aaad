/**
 * Stream deliverer (consumer of DELIVERY_QUEUE): each message is one stream's turn — `wake`
 * delivers its outbox under the stream's lease, `replay` copies a window of events into it
 * (shared/usecases/deliveries.ts). A failed delivery is never waited for here: the use case
 * records it and sends a delayed wake. Only a store error fails the message (SQS redelivers it;
 * the sweeper covers the rest). Logs ids, counts and outcomes, never events or secrets.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse } from 'aws-lambda';
import { parseDeliveryMessage } from '#shared/adapters/delivery-queue.ts';
import {
  deliveryQueue,
  destinationPoster,
  localBackoffBaseMs,
  outboxStore,
  replaySource,
  secretBoxFromEnv,
  streamRecords,
  streamStates,
} from '#shared/adapters/delivery-wiring.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import {
  DELIVERY_TIME_RESERVE_MS,
  type DelivererDeps,
  handleDeliveryMessage,
} from '#shared/usecases/deliveries.ts';

const telemetry = createTelemetry();
const { logger, metrics } = telemetry;
const names = MANIFEST.streamDeliverer.metrics;

const backoffBaseMs = localBackoffBaseMs();
const deps: DelivererDeps = {
  streams: streamRecords(),
  state: streamStates(),
  outbox: outboxStore(),
  queue: deliveryQueue(),
  secrets: secretBoxFromEnv,
  poster: destinationPoster(),
  replay: replaySource(),
  clock: { now: () => Date.now(), random: Math.random },
  metrics: {
    succeeded: (events) => metrics.addMetric(names.succeeded, MetricUnit.Count, events),
    failed: () => metrics.addMetric(names.failed, MetricUnit.Count, 1),
    disabled: () => metrics.addMetric(names.disabled, MetricUnit.Count, 1),
    // The largest lag seen in this invocation (EMF keeps every value; the alarm reads Maximum).
    lag: (seconds) => metrics.addMetric(names.lag, MetricUnit.Seconds, seconds),
    written: (entries) => metrics.addMetric(names.written, MetricUnit.Count, entries),
  },
  ...(backoffBaseMs === undefined ? {} : { backoffBaseMs }),
};

export const handler = lambdaHandler('streamDeliverer', telemetry, async (event, context) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const message = parseDeliveryMessage(record.body);
    if (message === undefined) {
      logger.error('dropping a malformed delivery message', { message_id: record.messageId });
      continue;
    }
    const now = Date.now();
    const remaining = context.getRemainingTimeInMillis();
    try {
      const outcome = await handleDeliveryMessage(
        message,
        { deadline: now + remaining - DELIVERY_TIME_RESERVE_MS, hardDeadline: now + remaining },
        deps,
      );
      logger.info('delivery message', {
        kind: message.kind,
        tenant_id: message.tenant_id,
        stream_id: message.stream_id,
        outcome,
      });
    } catch (error) {
      logger.warn('delivery message failed', {
        kind: message.kind,
        tenant_id: message.tenant_id,
        stream_id: message.stream_id,
        error: error instanceof Error ? error.name : 'Error',
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
