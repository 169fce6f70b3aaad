/**
 * Tamper detection: the STREAM_MONITOR function reads the events table's stream and emits the
 * `Trailkeeper/EventTampering` metric (Powertools EMF, dimension service=trailkeeper) for every
 * MODIFY and every REMOVE that is not a TTL expiry. Owns the event source mapping and its
 * dead-letter queue; the alarms on both live in monitoring.ts.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STREAM_MONITOR } from '#shared/config/routes.ts';
import {
  METRICS_NAMESPACE,
  SERVICE_NAME,
  ServiceFunction,
  type ServiceResources,
} from './service-function.ts';

/** What the handler emits and the alarm watches: change one, change both. */
export const TAMPERING_METRIC = {
  namespace: METRICS_NAMESPACE,
  metricName: 'EventTampering',
  dimensions: { service: SERVICE_NAME },
} as const;

export interface StreamMonitorProps {
  readonly resources: ServiceResources;
}

export class StreamMonitor extends Construct {
  readonly monitorFunction: ServiceFunction;
  /** Batches that still fail after every retry land here (as stream pointers, not records). */
  readonly deadLetterQueue: IQueue;

  constructor(scope: Construct, id: string, props: StreamMonitorProps) {
    super(scope, id);
    this.monitorFunction = new ServiceFunction(this, 'Monitor', {
      definition: STREAM_MONITOR,
      resources: props.resources,
      description: 'Trailkeeper tamper detection on the events stream',
    });

    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the stream event source mapping; nothing consumes it automatically, so it needs no DLQ of its own.',
    });
    this.deadLetterQueue = deadLetterQueue;

    this.monitorFunction.fn.addEventSource(
      new DynamoEventSource(props.resources.events.table, {
        // From the oldest record still in the stream: a redeploy must not skip unchecked changes.
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 10,
        onFailure: new SqsDlq(deadLetterQueue),
      }),
    );
  }
}
