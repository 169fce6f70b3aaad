/**
 * Retention worker (EventBridge schedule, every minute; a timer locally): advances every pending
 * retention backfill job until done or until its time runs low. The lease on each job keeps
 * overlapping runs apart (concurrency is reserved only with -c reserveConcurrency=true). Logs ids
 * and counts only.
 */
import { dynamoDocumentClient, requiredEnv } from '#shared/adapters/clients.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { DynamoRetentionStore } from '#shared/adapters/retention-store.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { runRetentionJobs } from '#shared/usecases/retention-jobs.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

const deps = {
  control: controlStore(),
  events: new DynamoRetentionStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable)),
  now: () => Date.now(),
  leaseMs: (MANIFEST.retentionWorker.timeoutSeconds + 60) * 1000,
};

/** Stop starting pages this long before the timeout (a page of 200 updates takes well under it). */
const RESERVE_MS = 30_000;

export const handler = lambdaHandler(
  'retentionWorker',
  telemetry,
  async (_event, context): Promise<Record<string, string>> => {
    const outcomes = await runRetentionJobs(deps, () => context.getRemainingTimeInMillis(), RESERVE_MS);
    if (Object.keys(outcomes).length > 0) logger.info('retention jobs', { outcomes });
    return outcomes;
  },
);
