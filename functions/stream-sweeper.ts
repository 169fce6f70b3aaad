/**
 * Stream sweeper (EventBridge schedule, every minute; every few seconds locally): wakes every
 * active or failing stream without a live lease whose outbox is not empty, so a lost wake message
 * delays a stream by a minute at most and never strands its backlog. Also fires absence alerts
 * and reports matches a cooldown held back (shared/usecases/alerts.ts sweepAlerts). Logs counts only.
 */
import { alertNotificationQueue, alertStore } from '#shared/adapters/alert-wiring.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { deliveryQueue, outboxStore, streamStates } from '#shared/adapters/delivery-wiring.ts';
import { eventStore, redactor } from '#shared/adapters/wiring.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { sweepAlerts } from '#shared/usecases/alerts.ts';
import { sweepStreams } from '#shared/usecases/deliveries.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

const deps = {
  state: streamStates(),
  outbox: outboxStore(),
  queue: deliveryQueue(),
  clock: { now: () => Date.now() },
};

const alertDeps = {
  alerts: alertStore(),
  control: controlStore(),
  store: eventStore(),
  redact: redactor(),
  queue: alertNotificationQueue(),
  now: () => Date.now(),
};

export const handler = lambdaHandler('streamSweeper', telemetry, async () => {
  const woken = await sweepStreams(deps);
  if (woken > 0) logger.info('streams woken', { woken });
  const fired = await sweepAlerts(alertDeps);
  if (fired > 0) logger.info('alerts fired', { fired });
  return { woken, fired };
});
