/**
 * The events table's stream consumer (DynamoDB Streams event source in AWS; the local stream
 * poller locally, with the same event shape). Stages every new event for the archive (see
 * shared/usecases/archive-stream.ts), counts TTL expiries and retention re-timings, and raises
 * `Trailkeeper/EventTampering` (alarmed) plus a security-finding log line for any other
 * modification or removal of an event. Logs keys and counts, never an event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '#shared/adapters/clients.ts';
import { S3BlobWriter, s3Client } from '#shared/adapters/object-store.ts';
import { ARCHIVER, ENV } from '#shared/config/routes.ts';
import { ARCHIVE_QUARANTINE_PREFIX } from '#shared/config/storage.ts';
import { archiveStreamBatch } from '#shared/usecases/archive-stream.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Trailkeeper',
  serviceName: 'trailkeeper',
});

const deps = {
  staging: new S3BlobWriter(s3Client(), requiredEnv(ENV.archiveStagingBucket)),
  quarantine: new S3BlobWriter(s3Client(), requiredEnv(ENV.archiveBucket)),
};

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const result = await archiveStreamBatch(deps, event.Records);
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
  const names = ARCHIVER.metrics;
  metrics.addMetric(names.inserted, MetricUnit.Count, counts.insert);
  metrics.addMetric(names.archived, MetricUnit.Count, counts.archived);
  metrics.addMetric(names.expired, MetricUnit.Count, counts.expiry);
  metrics.addMetric(names.retimed, MetricUnit.Count, counts.retiming);
  metrics.addMetric(names.tampering, MetricUnit.Count, counts.tampering);
  metrics.addMetric(names.quarantined, MetricUnit.Count, counts.quarantined);
  metrics.publishStoredMetrics();
  logger.info('stream batch', {
    records: event.Records.length,
    ...counts,
    failed: result.batchItemFailures.length > 0,
  });
  return { batchItemFailures: result.batchItemFailures };
};
