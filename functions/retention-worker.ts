/**
 * Retention worker (EventBridge schedule, every minute; a timer locally): advances every pending
 * retention backfill job until done or until its time runs low. The lease on each job keeps
 * overlapping runs apart (concurrency is reserved only with -c reserveConcurrency=true). Logs ids
 * and counts only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { dynamoDocumentClient, requiredEnv } from '#shared/adapters/clients.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { DynamoRetentionStore } from '#shared/adapters/retention-store.ts';
import { ENV, RETENTION_WORKER } from '#shared/config/routes.ts';
import { runRetentionJobs } from '#shared/usecases/retention-jobs.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });

const deps = {
  control: controlStore(),
  events: new DynamoRetentionStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable)),
  now: () => Date.now(),
  leaseMs: (RETENTION_WORKER.timeoutSeconds + 60) * 1000,
};

/** Stop starting pages this long before the timeout (a page of 200 updates takes well under it). */
const RESERVE_MS = 30_000;

export const handler = async (_event: unknown, context: Context): Promise<Record<string, string>> => {
  const outcomes = await runRetentionJobs(deps, () => context.getRemainingTimeInMillis(), RESERVE_MS);
  if (Object.keys(outcomes).length > 0) logger.info('retention jobs', { outcomes });
  return outcomes;
};
