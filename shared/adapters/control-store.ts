/**
 * Control table adapter (DynamoDB): tenants and API keys, each tenant in its own partition.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, TenantRecord } from '../domain/tenant.ts';

export interface ControlStore {
  createTenant(tenant: TenantRecord): Promise<void>;
  getTenant(tenantId: string): Promise<TenantRecord | null>;
  updateTenant(
    tenantId: string,
    changes: Partial<Omit<TenantRecord, 'id' | 'created_at'>>,
  ): Promise<TenantRecord | null>;
  createKey(key: ApiKeyRecord): Promise<void>;
  getKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | null>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; returns false when it does not exist. Revoking twice keeps the first time. */
  revokeKey(tenantId: string, keyId: string, at: string): Promise<boolean>;
}

const tenantKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' });
const apiKeyKey = (tenantId: string, keyId: string) => ({ pk: `TENANT#${tenantId}`, sk: `KEY#${keyId}` });

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
};

const toKey = (item: Record<string, unknown>): ApiKeyRecord => {
  const key = strip<ApiKeyRecord>(item);
  return { ...key, revoked_at: key.revoked_at ?? null };
};

export class DynamoControlStore implements ControlStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async createTenant(tenant: TenantRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...tenantKey(tenant.id), ...tenant },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getTenant(tenantId: string): Promise<TenantRecord | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: tenantKey(tenantId) }),
    );
    return out.Item ? strip<TenantRecord>(out.Item) : null;
  }

  async updateTenant(
    tenantId: string,
    changes: Partial<Omit<TenantRecord, 'id' | 'created_at'>>,
  ): Promise<TenantRecord | null> {
    const entries = Object.entries(changes).filter(([, v]) => v !== undefined);
    const names = Object.fromEntries(entries.map(([k], i) => [`#a${i}`, k]));
    const values = Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v]));
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tenantKey(tenantId),
          UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? strip<TenantRecord>(out.Attributes) : null;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return null;
      throw error;
    }
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        // revoked_at is absent until revocation, so `if_not_exists` keeps the first revocation time.
        Item: { ...apiKeyKey(key.tenant_id, key.id), ...key, revoked_at: undefined },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: apiKeyKey(tenantId, keyId), ConsistentRead: true }),
    );
    return out.Item ? toKey(out.Item) : null;
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const keys: ApiKeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':prefix': 'KEY#' },
          ExclusiveStartKey: start,
        }),
      );
      keys.push(...(out.Items ?? []).map(toKey));
      start = out.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  async revokeKey(tenantId: string, keyId: string, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: apiKeyKey(tenantId, keyId),
          UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :at)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
