/**
 * The control-plane table (tenants, API key hashes, later exports and digests), built from
 * CONTROL_TABLE in shared/config/tables.ts. Same durability settings as the events table: losing
 * it would lock every tenant out.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { Billing, type ITableV2, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CONTROL_TABLE, type TableDefinition } from '#shared/config/tables.ts';
import { globalIndexes, keyAttribute } from './table-schema.ts';

export class ControlTable extends Construct {
  readonly table: ITableV2;
  readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Widened to TableDefinition: the control table has no indexes yet, and `{}` has no values type.
    const definition: TableDefinition = CONTROL_TABLE;
    this.indexNames = Object.values(definition.indexes).map((index) => index.name);
    this.table = new TableV2(this, 'Table', {
      partitionKey: keyAttribute(CONTROL_TABLE.partitionKey),
      sortKey: keyAttribute(CONTROL_TABLE.sortKey),
      billing: Billing.onDemand(),
      globalSecondaryIndexes: globalIndexes(definition),
      // Short-lived records (the rate limit's per-second counters) carry an expiry and go by TTL.
      timeToLiveAttribute: CONTROL_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
