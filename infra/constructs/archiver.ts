/**
 * The events table's stream consumer (ARCHIVER in shared/config/routes.ts): stages every new event
 * for the archive, counts TTL expiries and retention re-timings, and flags any other modification
 * or removal as tampering. Owns the event source mapping (built from ARCHIVER.stream) and its
 * on-failure queue, and names the metrics the handler emits (Powertools EMF, namespace
 * Trailkeeper, dimension service=trailkeeper); the alarms on them live in monitoring.ts.
 */
import { Duration } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ARCHIVER } from '#shared/config/routes.ts';
import { ARCHIVE } from '#shared/config/storage.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';
import {
  ServiceFunction,
  type ServiceMetric,
  type ServiceResources,
  serviceMetric,
} from './service-function.ts';

/** A metric the archiver emits: what the handler writes and an alarm watches. Change one, change both. */
export type ArchiverMetric = ServiceMetric;

const archiverMetric = serviceMetric;

/** Every metric of the archiver (names from ARCHIVER.metrics). Two are alarmed; the others are counts to graph. */
export const ARCHIVER_METRICS = {
  tampering: archiverMetric(ARCHIVER.metrics.tampering),
  quarantined: archiverMetric(ARCHIVER.metrics.quarantined),
  inserted: archiverMetric(ARCHIVER.metrics.inserted),
  archived: archiverMetric(ARCHIVER.metrics.archived),
  expired: archiverMetric(ARCHIVER.metrics.expired),
  retimed: archiverMetric(ARCHIVER.metrics.retimed),
} as const;

export const TAMPERING_METRIC = ARCHIVER_METRICS.tampering;
export const QUARANTINE_METRIC = ARCHIVER_METRICS.quarantined;

export interface ArchiverProps {
  readonly resources: ServiceResources;
}

export class Archiver extends Construct {
  readonly archiverFunction: ServiceFunction;
  /** Batches that still fail after every retry land here (as stream pointers, not records). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ArchiverProps) {
    super(scope, id);
    const { stream } = ARCHIVER;

    // The compactor closes a day ARCHIVE.closeAfterHours after it ended; the archiver may still be
    // retrying a record of that day until it is maxRecordAge old, plus one run. A day closed
    // earlier would leave such a record staged but never compacted.
    const latestStagingSeconds = stream.maxRecordAgeSeconds + ARCHIVER.timeoutSeconds;
    if (ARCHIVE.closeAfterHours * 3600 < latestStagingSeconds) {
      throw new Error(
        `ARCHIVE.closeAfterHours (${ARCHIVE.closeAfterHours}) must cover ARCHIVER.stream.maxRecordAgeSeconds + ARCHIVER.timeoutSeconds (${latestStagingSeconds} s): the compactor would close a day the archiver can still add to`,
      );
    }

    this.archiverFunction = new ServiceFunction(this, 'Function', {
      definition: ARCHIVER,
      resources: props.resources,
      description: 'Trailkeeper archiver and tamper detection on the events stream',
    });

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      'on-failure destination of the stream event source mapping',
    );

    this.archiverFunction.fn.addEventSource(
      new DynamoEventSource(props.resources.events.table, {
        // From the oldest record still in the stream: a redeploy must not skip unarchived events.
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
