/**
 * Stream deliverer (consumer of DELIVERY_QUEUE): each message is one stream's turn — `wake`
 * delivers its outbox under the stream's lease, `replay` copies a window of events into it
 * (shared/usecases/deliveries.ts). A failed delivery is never waited for here: the use case
 * records it and sends a delayed wake. Only a store error fails the message (SQS redelivers it;
 * the sweeper covers the rest). An `alert` message is one notification of a fired alert
 * (shared/usecases/alerts.ts deliverAlertNotification). Logs ids, counts and outcomes, never
 * events or secrets.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse } from 'aws-lambda';
import {
  alertBaseUrl,
  alertEmailFrom,
  alertMailer,
  alertNotificationQueue,
  alertStore,
} from '#shared/adapters/alert-wiring.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { parseAlertNotification, parseDeliveryMessage } from '#shared/adapters/delivery-queue.ts';
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
import { eventStore } from '#shared/adapters/wiring.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { type AlertNotifyDeps, deliverAlertNotification } from '#shared/usecases/alerts.ts';
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

const alertDeps: AlertNotifyDeps = {
  alerts: alertStore(),
  control: controlStore(),
  store: eventStore(),
  secrets: secretBoxFromEnv,
  poster: deps.poster,
  mailer: alertMailer(),
  emailFrom: alertEmailFrom(),
  queue: alertNotificationQueue(),
  baseUrl: alertBaseUrl(),
  now: () => Date.now(),
  failed: () => metrics.addMetric(names.alertFailed, MetricUnit.Count, 1),
  // The local backoff base (tests) shortens alert retries too; AWS never has it.
  ...(backoffBaseMs === undefined ? {} : { retryBaseSeconds: Math.max(1, Math.round(backoffBaseMs / 1000)) }),
};

export const handler = lambdaHandler('streamDeliverer', telemetry, async (event, context) => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const notification = parseAlertNotification(record.body);
    if (notification !== undefined) {
      try {
        const outcome = await deliverAlertNotification(notification, alertDeps);
        logger.info('alert notification', {
          tenant_id: notification.tenant_id,
          alert_id: notification.alert_id,
          target: notification.target,
          attempt: notification.attempt,
          outcome,
        });
      } catch (error) {
        logger.warn('alert notification failed', {
          tenant_id: notification.tenant_id,
          alert_id: notification.alert_id,
          error: error instanceof Error ? error.name : 'Error',
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
      continue;
    }
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
