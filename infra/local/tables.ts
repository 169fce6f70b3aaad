/**
 * Creates the tables of shared/config/tables.ts in DynamoDB Local, the same definitions the CDK
 * stack deploys. Idempotent: an existing table is kept (persisted data survives restarts), an
 * index added to the definition since is created, and TTL is switched on if it is off.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { attributeType, type IndexDefinition, TABLES, type TableDefinition } from '#shared/config/tables.ts';

const keySchema = (partitionKey: string, sortKey: string | undefined) => [
  { AttributeName: partitionKey, KeyType: 'HASH' as const },
  ...(sortKey === undefined ? [] : [{ AttributeName: sortKey, KeyType: 'RANGE' as const }]),
];

const globalSecondaryIndex = (index: IndexDefinition): GlobalSecondaryIndex => ({
  IndexName: index.name,
  KeySchema: keySchema(index.partitionKey, index.sortKey),
  Projection:
    index.projection.length === 0
      ? { ProjectionType: 'KEYS_ONLY' }
      : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] },
});

const attributeDefinitions = (names: readonly string[]): AttributeDefinition[] =>
  [...new Set(names)].map((name) => ({ AttributeName: name, AttributeType: attributeType(name) }));

/** The CreateTable request for a definition (pure; exported for tests). */
export const createTableInput = (table: TableDefinition): CreateTableCommandInput => {
  const indexes = Object.values(table.indexes);
  const keyNames = [table.partitionKey, ...(table.sortKey === undefined ? [] : [table.sortKey])];
  return {
    TableName: table.localName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    AttributeDefinitions: attributeDefinitions([
      ...keyNames,
      ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
    ]),
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes.map(globalSecondaryIndex) } : {}),
    ...(table.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream } } : {}),
  };
};

const describe = async (client: DynamoDBClient, name: string) => {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
};

/** Creates indexes present in the definition but missing from an existing table. */
const addMissingIndexes = async (client: DynamoDBClient, table: TableDefinition, existing: Set<string>) => {
  for (const index of Object.values(table.indexes)) {
    if (existing.has(index.name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: table.localName,
        AttributeDefinitions: attributeDefinitions([index.partitionKey, index.sortKey]),
        GlobalSecondaryIndexUpdates: [{ Create: globalSecondaryIndex(index) }],
      }),
    );
  }
};

const enableTtl = async (client: DynamoDBClient, table: TableDefinition) => {
  if (table.ttlAttribute === undefined) return;
  const { TimeToLiveDescription } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: table.localName }),
  );
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: table.localName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
    }),
  );
};

/** Ensures every table exists as defined. Returns the names of the tables it created. */
export const ensureTables = async (
  client: DynamoDBClient,
  tables: readonly TableDefinition[] = TABLES,
): Promise<string[]> => {
  const created: string[] = [];
  for (const table of tables) {
    const existing = await describe(client, table.localName);
    if (existing === undefined) {
      await client.send(new CreateTableCommand(createTableInput(table)));
      created.push(table.localName);
    } else {
      const indexNames = new Set(
        (existing.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName ?? ''),
      );
      await addMissingIndexes(client, table, indexNames);
    }
    await enableTtl(client, table);
  }
  return created;
};
