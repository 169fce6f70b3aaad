/**
 * Events table stream consumer: counts inserts and TTL expiries, and raises the
 * `Trailkeeper/EventTampering` metric (alarmed in CDK) plus a security-finding log line for any
 * modification or non-TTL removal of an event. Logs keys only, never the event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { classifyChange } from '#shared/domain/stream.ts';

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trailkeeper' });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Trailkeeper',
  serviceName: 'trailkeeper',
});

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const counts = { insert: 0, expiry: 0, tampering: 0 };
  for (const record of event.Records) {
    const kind = classifyChange(record);
    counts[kind] += 1;
    if (kind === 'tampering') {
      logger.error('SECURITY FINDING: event modified or deleted outside TTL', {
        finding: 'event_tampering',
        event_name: record.eventName,
        key: record.dynamodb?.Keys?.pk?.S,
        principal: (record.userIdentity as { principalId?: string } | undefined)?.principalId,
        sequence: record.dynamodb?.SequenceNumber,
      });
    }
  }
  metrics.addMetric('EventsInserted', MetricUnit.Count, counts.insert);
  metrics.addMetric('EventsExpired', MetricUnit.Count, counts.expiry);
  metrics.addMetric('EventTampering', MetricUnit.Count, counts.tampering);
  metrics.publishStoredMetrics();
  logger.info('stream batch', { records: event.Records.length, ...counts });
  return { batchItemFailures: [] };
};
