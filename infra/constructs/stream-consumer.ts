/**
 * A `stream` function of the manifest: its ServiceFunction, fed by the events table's stream
 * through an event source mapping built from the entry's `stream` settings, with the mapping's
 * on-failure queue. The alarms (IteratorAge, dead letters) live in monitoring.ts.
 */
import { Duration } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { ARCHIVE } from '#shared/config/storage.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';
import { ServiceFunction, type ServiceResources } from './service-function.ts';

export type StreamFunctionDefinition = Extract<FunctionDefinition, { kind: 'stream' }>;

export interface StreamConsumerProps {
  readonly definition: StreamFunctionDefinition;
  readonly resources: ServiceResources;
}

/**
 * The compactor closes a day ARCHIVE.closeAfterHours after it ended; a consumer staging into the
 * archive may still be retrying a record of that day until it is maxRecordAge old, plus one run.
 * A day closed earlier would leave such a record staged but never compacted.
 */
const assertStagingEndsBeforeCompaction = (definition: StreamFunctionDefinition): void => {
  if (definition.archive !== 'stage') return;
  const latestStagingSeconds = definition.stream.maxRecordAgeSeconds + definition.timeoutSeconds;
  if (ARCHIVE.closeAfterHours * 3600 < latestStagingSeconds) {
    throw new Error(
      `ARCHIVE.closeAfterHours (${ARCHIVE.closeAfterHours}) must cover the ${definition.name} function's stream.maxRecordAgeSeconds + timeoutSeconds (${latestStagingSeconds} s): the compactor would close a day it can still add to`,
    );
  }
};

export class StreamConsumer extends Construct {
  readonly function: ServiceFunction;
  /** Batches that still fail after every retry land here (as stream pointers, not records). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    const { definition, resources } = props;
    const { stream } = definition;
    assertStagingEndsBeforeCompaction(definition);

    this.function = new ServiceFunction(this, 'Function', { definition, resources });

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      'on-failure destination of the stream event source mapping',
    );

    this.function.fn.addEventSource(
      new DynamoEventSource(resources.events.table, {
        // From the oldest record still in the stream: a redeploy must not skip unprocessed records.
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: stream.batchSize,
        maxBatchingWindow: Duration.seconds(stream.maxBatchingWindowSeconds),
        bisectBatchOnError: stream.bisectBatchOnError,
        // One bad record is reported alone and retried; the rest of the batch goes on.
        reportBatchItemFailures: true,
        retryAttempts: stream.retryAttempts,
        maxRecordAge: Duration.seconds(stream.maxRecordAgeSeconds),
        parallelizationFactor: stream.parallelizationFactor,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
  }
}
