/**
 * Archive compactor (EventBridge schedule, hourly): turns each closed day's staged batches into
 * one object per tenant and day in the Object Lock bucket (shared/usecases/archive-compaction.ts).
 * Runs hourly with a timeout far below the hour, so runs do not overlap (no reserved concurrency
 * unless deployed with -c reserveConcurrency=true). What it leaves for lack of time, the next run
 * picks up. Logs partitions and counts, never events.
 */
import { ArchiveStore } from '#shared/adapters/archive-store.ts';
import { requiredEnv } from '#shared/adapters/clients.ts';
import { s3Client } from '#shared/adapters/object-store.ts';
import { ENV } from '#shared/config/env.ts';
import { ARCHIVE } from '#shared/config/storage.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { type CompactionResult, compactArchive } from '#shared/usecases/archive-compaction.ts';

const telemetry = createTelemetry();
const { logger } = telemetry;

const closeAfterHours = (): number => {
  const value = Number(process.env[ENV.archiveCloseAfterHours] ?? ARCHIVE.closeAfterHours);
  return Number.isFinite(value) ? value : ARCHIVE.closeAfterHours;
};

const deps = {
  store: new ArchiveStore(s3Client()),
  stagingBucket: requiredEnv(ENV.archiveStagingBucket),
  archiveBucket: requiredEnv(ENV.archiveBucket),
  now: () => Date.now(),
  closeAfterHours: closeAfterHours(),
};

/** Stop starting partitions this long before the timeout. */
const RESERVE_MS = 120_000;

export const handler = lambdaHandler(
  'archiveCompactor',
  telemetry,
  async (_event, context): Promise<CompactionResult> => {
    const result = await compactArchive(deps, () => context.getRemainingTimeInMillis(), RESERVE_MS);
    for (const p of result.partitions) {
      logger.info('archive partition compacted', {
        tenant_id: p.partition.tenantId,
        day: p.partition.day,
        staged: p.staged,
        written: p.written,
        duplicates: p.duplicates,
        key: p.key,
      });
    }
    logger.info('archive compaction', { partitions: result.partitions.length, pending: result.pending });
    return result;
  },
);
