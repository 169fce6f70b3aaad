/**
 * Per-tenant allowances of notification emails, as counters in the control table: one item per
 * tenant and window (`TENANT#<id>` / `EMAIL_QUOTA#<window>`), taken with one conditional
 * increment — no scan, no read-modify-write race — and expired by the table's TTL.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import { emailQuotaKey } from '../domain/control-keys.ts';
import type { EmailQuotaStore } from '../usecases/ports/exports.ts';

export class DynamoEmailQuotaStore implements EmailQuotaStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async take(tenantId: string, window: string, limit: number, expiresAtSeconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: emailQuotaKey(tenantId, window),
          UpdateExpression: 'SET #ttl = :ttl ADD #count :one',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': CONTROL_TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': expiresAtSeconds },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
