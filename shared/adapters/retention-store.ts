/**
 * The retention backfill's view of the events table: it pages through a tenant's events on the
 * tenant-time index (keys and expiry only) and changes one attribute, the TTL. This is the only
 * code that updates an event item, and its IAM grant (`events: 'retime'`) lets it touch nothing
 * but `expires_at` — which the event's hash deliberately does not cover.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_SORT_KEY, EVENTS_TABLE } from '../config/tables.ts';
import { partitionValue } from '../domain/keys.ts';
import type { IndexKey } from '../domain/retention-job.ts';
import type { ExpiryPage, RetentionStore } from '../usecases/ports/retention.ts';

const INDEX = EVENTS_TABLE.indexes.byTenantTime;
const TTL = EVENTS_TABLE.ttlAttribute;
const PK = EVENTS_TABLE.partitionKey;

export class DynamoRetentionStore implements RetentionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async page(
    tenantId: string,
    shard: number,
    after: IndexKey | undefined,
    limit: number,
  ): Promise<ExpiryPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INDEX.name,
        KeyConditionExpression: '#partition = :partition',
        ProjectionExpression: '#pk, #sk, #ttl',
        ExpressionAttributeNames: {
          '#partition': INDEX.partitionKey,
          '#pk': PK,
          '#sk': EVENT_SORT_KEY,
          '#ttl': TTL,
        },
        ExpressionAttributeValues: { ':partition': partitionValue(tenantId, shard, '') },
        ExclusiveStartKey: after,
        Limit: limit,
      }),
    );
    return {
      items: (out.Items ?? []).map((item) => ({
        pk: String(item[PK]),
        sk: String(item[EVENT_SORT_KEY]),
        expiresAt: typeof item[TTL] === 'number' ? item[TTL] : undefined,
      })),
      next: out.LastEvaluatedKey as IndexKey | undefined,
    };
  }

  async retime(pk: string, expiresAt: number | null, notExpiredAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: pk },
          UpdateExpression: expiresAt === null ? 'REMOVE #ttl' : 'SET #ttl = :ttl',
          // Never creates an item, never revives an expired one.
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#ttl) OR #ttl > :notExpiredAt)',
          ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL },
          ExpressionAttributeValues: {
            ':notExpiredAt': notExpiredAt,
            ...(expiresAt === null ? {} : { ':ttl': expiresAt }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
