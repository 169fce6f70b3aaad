/**
 * Export records in the control table (`TENANT#<id>` / `EXPORT#<id>`). Every change after
 * creation is conditioned on the record's version, so two workers that received the same job
 * can never interleave their writes: the loser's write fails and it stops.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { exportKey } from '../domain/control-keys.ts';
import type { ExportRecord } from '../domain/export.ts';
import type { ExportStore } from '../usecases/ports/exports.ts';

export class DynamoExportStore implements ExportStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: ExportRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...exportKey(record.tenant_id, record.id), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, exportId: string): Promise<ExportRecord | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: exportKey(tenantId, exportId), ConsistentRead: true }),
    );
    if (!out.Item) return null;
    const { pk: _pk, sk: _sk, ...record } = out.Item;
    return record as ExportRecord;
  }

  async save(record: ExportRecord): Promise<ExportRecord | null> {
    const next = { ...record, version: record.version + 1 };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...exportKey(record.tenant_id, record.id), ...next },
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': record.version },
        }),
      );
      return next;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }
}
