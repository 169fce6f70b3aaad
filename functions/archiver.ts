/**
 * The events table's stream consumer (DynamoDB Streams event source in AWS; the local stream
 * poller locally, with the same event shape). Stages every new event for the archive (see
 * shared/usecases/archive-stream.ts), counts TTL expiries and retention re-timings, and raises
 * `Trailkeeper/EventTampering` (alarmed) plus a security-finding log line for any other
 * modification or removal of an event. Logs keys and counts, never an event.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { requiredEnv } from '#shared/adapters/clients.ts';
import { decodeStreamRecord } from '#shared/adapters/event-stream.ts';
import { S3BlobWriter, s3Client } from '#shared/adapters/object-store.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { ARCHIVE_QUARANTINE_PREFIX } from '#shared/config/storage.ts';
import { createTelemetry, lambdaHandler } from '#shared/observability/handler.ts';
import { archiveStreamBatch } from '#shared/usecases/archive-stream.ts';

const telemetry = createTelemetry();
const { logger, metrics } = telemetry;

const deps = {
  staging: new S3BlobWriter(s3Client(), requiredEnv(ENV.archiveStagingBucket)),
  quarantine: new S3BlobWriter(s3Client(), requiredEnv(ENV.archiveBucket)),
};

export const handler = lambdaHandler('archiver', telemetry, async (event) => {
  const result = await archiveStreamBatch(deps, event.Records.map(decodeStreamRecord));
  for (const finding of result.findings) {
    logger.error('SECURITY FINDING: event modified or deleted outside TTL and retention', {
      finding: 'event_tampering',
      event_name: finding.eventName,
      key: finding.key,
      principal: finding.principal,
      sequence: finding.sequence,
    });
  }
  if (result.counts.quarantined > 0) {
    logger.error('stream records quarantined: they could not be read as events', {
      quarantined: result.counts.quarantined,
      prefix: ARCHIVE_QUARANTINE_PREFIX,
    });
  }
  const { counts } = result;
  const names = MANIFEST.archiver.metrics;
  metrics.addMetric(names.inserted, MetricUnit.Count, counts.insert);
  metrics.addMetric(names.archived, MetricUnit.Count, counts.archived);
  metrics.addMetric(names.expired, MetricUnit.Count, counts.expiry);
  metrics.addMetric(names.retimed, MetricUnit.Count, counts.retiming);
  metrics.addMetric(names.tampering, MetricUnit.Count, counts.tampering);
  metrics.addMetric(names.quarantined, MetricUnit.Count, counts.quarantined);
  logger.info('stream batch', {
    records: event.Records.length,
    ...counts,
    failed: result.batchItemFailures.length > 0,
  });
  return { batchItemFailures: result.batchItemFailures };
});
