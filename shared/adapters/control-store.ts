/**
 * Control table adapter (DynamoDB): tenants and API keys, each tenant in its own partition.
 * A tenant with a pending or running retention job also carries `active_job` / `active_since`,
 * the keys of the sparse `activeJobs` index through which the retention worker finds its work.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import {
  API_KEY_SK_PREFIX,
  activeRetentionJobKey,
  apiKeyKey,
  CONTROL_KEY_ATTRIBUTES,
  RETENTION_QUEUE,
  TENANT_ENTITY,
  tenantIdOfPartition,
  tenantKey,
  tenantListing,
  tenantPartition,
} from '../domain/control-keys.ts';
import type { RetentionJob } from '../domain/retention-job.ts';
import type { ApiKeyRecord, TenantRecord } from '../domain/tenant.ts';
import { ConcurrentUpdateError, type ControlStore, type TenantChanges } from '../usecases/ports/control.ts';

/** The record without its table and index keys. */
const strip = <T>(item: Record<string, unknown>): T =>
  Object.fromEntries(Object.entries(item).filter(([name]) => !CONTROL_KEY_ATTRIBUTES.includes(name))) as T;

const ACTIVE_JOBS = CONTROL_TABLE.indexes.activeJobs;
const TENANTS = CONTROL_TABLE.indexes.tenants;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

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
        // `entity` lists the tenant in the sparse `tenants` index (the sealer walks it).
        Item: { ...tenantKey(tenant.id), ...tenant, ...tenantListing() },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getTenant(tenantId: string, consistent = false): Promise<TenantRecord | null> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKey(tenantId),
        ...(consistent ? { ConsistentRead: true } : {}),
      }),
    );
    return out.Item ? strip<TenantRecord>(out.Item) : null;
  }

  async updateTenant(
    tenantId: string,
    changes: TenantChanges,
    expectedUpdatedAt?: string,
  ): Promise<TenantRecord | null> {
    const entries: [string, unknown][] = Object.entries(changes).filter(([, v]) => v !== undefined);
    if (changes.retention_job !== undefined) {
      entries.push(...Object.entries(activeRetentionJobKey(tenantId, changes.retention_job.requested_at)));
    }
    const names = Object.fromEntries(entries.map(([k], i) => [`#a${i}`, k]));
    const values = Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v]));
    const guarded = expectedUpdatedAt !== undefined;
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tenantKey(tenantId),
          UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
          ConditionExpression: guarded
            ? 'attribute_exists(pk) AND updated_at = :expected'
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: guarded ? { ...values, ':expected': expectedUpdatedAt } : values,
          ReturnValues: 'ALL_NEW',
          ...(guarded ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        }),
      );
      return out.Attributes ? strip<TenantRecord>(out.Attributes) : null;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // With a guard, an existing item means it changed since it was read.
      if (guarded && (error as { Item?: unknown }).Item !== undefined) throw new ConcurrentUpdateError();
      return null;
    }
  }

  async listTenantIds(): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TENANTS.name,
          KeyConditionExpression: '#entity = :entity',
          ExpressionAttributeNames: { '#entity': TENANTS.partitionKey },
          ExpressionAttributeValues: { ':entity': TENANT_ENTITY },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) if (typeof item.id === 'string') ids.push(item.id);
      start = out.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async listActiveRetentionJobs(): Promise<string[]> {
    const tenants: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ACTIVE_JOBS.name,
          KeyConditionExpression: '#job = :job',
          ExpressionAttributeNames: { '#job': ACTIVE_JOBS.partitionKey },
          ExpressionAttributeValues: { ':job': RETENTION_QUEUE },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const tenantId = tenantIdOfPartition(String(item[CONTROL_TABLE.partitionKey] ?? ''));
        if (tenantId !== null) tenants.push(tenantId);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return tenants;
  }

  async saveRetentionJob(
    tenantId: string,
    job: RetentionJob,
    expectedVersion: number,
  ): Promise<RetentionJob | null> {
    const saved: RetentionJob = { ...job, version: expectedVersion + 1 };
    const finished = saved.status === 'completed' || saved.status === 'failed';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tenantKey(tenantId),
          UpdateExpression: finished ? 'SET #job = :job REMOVE #active, #since' : 'SET #job = :job',
          ConditionExpression: '#job.#id = :id AND #job.#version = :version',
          ExpressionAttributeNames: {
            '#job': 'retention_job',
            '#id': 'id',
            '#version': 'version',
            ...(finished ? { '#active': ACTIVE_JOBS.partitionKey, '#since': ACTIVE_JOBS.sortKey } : {}),
          },
          ExpressionAttributeValues: { ':job': saved, ':id': job.id, ':version': expectedVersion },
        }),
      );
      return saved;
    } catch (error) {
      if (isConditionFailure(error)) return null;
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
          ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': API_KEY_SK_PREFIX },
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
