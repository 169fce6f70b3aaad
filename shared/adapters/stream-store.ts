/**
 * Stream records in the control table (`TENANT#<tenant>` / `STREAM#<stream id>`, keys from
 * shared/domain/control-keys.ts), each listed in the sparse `streams` index for the sweeper.
 * Changes are UpdateItems of the named fields only (a null clears a delivery-state field), so
 * the API's edits and the deliverer's delivery state (status, lease, last error) never overwrite
 * each other.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  CONTROL_KEY_ATTRIBUTES,
  STREAM_LISTING_ATTRIBUTE,
  STREAM_SK_PREFIX,
  streamKey,
  streamListing,
  tenantPartition,
} from '../domain/control-keys.ts';
import type { StreamChanges, StreamRecord, StreamStore } from '../usecases/ports/streams.ts';

/** The item's own fields: its table keys and its `streams` index listing are not part of the record. */
const recordOf = (item: Record<string, unknown>): StreamRecord => {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item))
    if (!CONTROL_KEY_ATTRIBUTES.includes(name) && name !== STREAM_LISTING_ATTRIBUTE) record[name] = value;
  return record as unknown as StreamRecord;
};

export class DynamoStreamStore implements StreamStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: StreamRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...streamKey(record.tenant_id, record.id), ...streamListing(), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, streamId: string): Promise<StreamRecord | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: streamKey(tenantId, streamId), ConsistentRead: true }),
    );
    return out.Item === undefined ? null : recordOf(out.Item);
  }

  async list(tenantId: string): Promise<StreamRecord[]> {
    const records: StreamRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': STREAM_SK_PREFIX },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of out.Items ?? []) records.push(recordOf(item));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return records;
  }

  async update(tenantId: string, streamId: string, changes: StreamChanges): Promise<StreamRecord | null> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .forEach(([field, value], i) => {
        names[`#s${i}`] = field;
        values[`:s${i}`] = value;
        sets.push(`#s${i} = :s${i}`);
      });
    if (sets.length === 0) return this.get(tenantId, streamId);
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: streamKey(tenantId, streamId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? null : recordOf(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  async delete(tenantId: string, streamId: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: streamKey(tenantId, streamId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }
}
