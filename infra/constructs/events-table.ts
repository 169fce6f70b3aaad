/**
 * The events table, built from EVENTS_TABLE in shared/config/tables.ts (keys, GSIs, TTL, stream).
 * Owns the storage-level guarantees of an audit log: point-in-time recovery, deletion protection,
 * RETAIN on stack removal. Who may touch it is decided in table-access.ts, not here.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Billing, type ITableV2, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import { globalIndexes, keyAttribute } from './table-schema.ts';

export class EventsTable extends Construct {
  readonly table: ITableV2;
  /** Names of every GSI, for index-scoped IAM statements. */
  readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.indexNames = Object.values(EVENTS_TABLE.indexes).map((index) => index.name);
    this.table = new TableV2(this, 'Table', {
      partitionKey: keyAttribute(EVENTS_TABLE.partitionKey),
      billing: Billing.onDemand(),
      globalSecondaryIndexes: globalIndexes(EVENTS_TABLE),
      timeToLiveAttribute: EVENTS_TABLE.ttlAttribute,
      // The stream monitor compares old and new images to tell tampering from TTL expiry.
      dynamoStream: StreamViewType[EVENTS_TABLE.stream],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Unlike an AWS-owned key, the AWS-managed key's use shows up in the account's CloudTrail,
      // and unlike a customer key it needs no key policy or grants.
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
