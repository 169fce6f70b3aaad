/**
 * Stream sweeper (EventBridge schedule, every minute; every few seconds locally): wakes every
 * active or failing stream without a live lease whose outbox is not empty, so a lost wake message
 * delays a stream by a minute at most and never strands its backlog. Logs counts only.
 */
import { deliveryQueue, outboxStore, streamStates } from '#shared/adapters/delivery-wiring.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { sweepStreams } from '#shared/usecases/deliveries.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

const deps = {
  state: streamStates(),
  outbox: outboxStore(),
  queue: deliveryQueue(),
  clock: { now: () => Date.now() },
};

export const handler = lambdaHandler('streamSweeper', telemetry, async () => {
  const woken = await sweepStreams(deps);
  if (woken > 0) logger.info('streams woken', { woken });
  return { woken };
});
