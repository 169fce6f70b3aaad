/**
 * Stream deliveries in AWS: the per-stream outbox table (OUTBOX_TABLE), the delivery queue
 * (DELIVERY_QUEUE) with its dead-letter queue, the KMS key sealing destination secrets, and the
 * deliverer function consuming the queue (the manifest's consumer of `deliveries`). The router
 * (a `stream` function) and the sweeper (a `schedule` function) are built with the other
 * functions of their kinds and reach these resources through ServiceResources.deliveries
 * (delivery-access.ts).
 *
 * An operator may allow private destinations (an on-premises Splunk) with
 * `cdk deploy -c privateDestinations=10.1.0.0/16,…` (CIDRs inside private ranges; synth checks
 * them as the functions will at start). The loopback exception can never be deployed.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Billing, type ITableV2, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { theConsumerOf } from '#shared/config/manifest.ts';
import { DELIVERY_QUEUE } from '#shared/config/storage.ts';
import { OUTBOX_TABLE } from '#shared/config/tables.ts';
import { networkPolicyFromEnv } from '#shared/domain/network-policy.ts';
import { contextString } from './context.ts';
import type { DeliveryResources } from './delivery-access.ts';
import { ServiceFunction, type ServiceResources } from './service-function.ts';
import { keyAttribute } from './table-schema.ts';

/** CDK context: the operator's allow-list of private destinations (comma-separated CIDRs). */
export const PRIVATE_DESTINATIONS_CONTEXT = 'privateDestinations';
/** Concurrent deliverer invocations (each serves one stream's turn). */
export const DELIVERER_MAX_CONCURRENCY = 20;

export class Deliveries extends Construct implements DeliveryResources {
  readonly outbox: ITableV2;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly destinationKey: Key;
  readonly privateDestinations: string;
  /** Set by addDeliverer. */
  deliverer?: ServiceFunction;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.privateDestinations = contextString(this.node, PRIVATE_DESTINATIONS_CONTEXT) ?? '';
    // Refuse at synth what the functions would refuse at start (a public range, loopback, …).
    networkPolicyFromEnv({ TRAILKEEPER_PRIVATE_DESTINATIONS: this.privateDestinations });

    this.outbox = new TableV2(this, OUTBOX_TABLE.id, {
      partitionKey: keyAttribute(OUTBOX_TABLE.partitionKey),
      sortKey: keyAttribute(OUTBOX_TABLE.sortKey),
      billing: Billing.onDemand(),
      timeToLiveAttribute: OUTBOX_TABLE.ttlAttribute,
      // Holds events waiting for delivery (a copy of the events table's): recoverable, like it.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new Queue(this, `${DELIVERY_QUEUE.id}DeadLetters`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, DELIVERY_QUEUE.id, {
      visibilityTimeout: Duration.seconds(DELIVERY_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DELIVERY_QUEUE.maxReceiveCount },
    });

    this.destinationKey = new Key(this, 'DestinationKey', {
      description: 'Trailkeeper destination secrets (webhook signing secrets, SIEM tokens)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Builds the queue's consumer with every resource it may be granted. */
  addDeliverer(resources: ServiceResources): ServiceFunction {
    const [name, definition] = theConsumerOf('deliveries');
    if (definition.timeoutSeconds > DELIVERY_QUEUE.visibilityTimeoutSeconds) {
      throw new Error(
        `DELIVERY_QUEUE.visibilityTimeoutSeconds (${DELIVERY_QUEUE.visibilityTimeoutSeconds}) must be at least the ${name} function's timeoutSeconds (${definition.timeoutSeconds})`,
      );
    }
    this.deliverer = new ServiceFunction(this, 'Deliverer', { definition, resources });
    this.deliverer.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: definition.queue.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: DELIVERER_MAX_CONCURRENCY,
      }),
    );
    return this.deliverer;
  }
}
