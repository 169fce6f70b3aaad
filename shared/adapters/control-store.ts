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
import type { RetentionJob } from '../domain/retention-job.ts';
import type { ApiKeyRecord, TenantRecord } from '../domain/tenant.ts';

export type TenantChanges = Partial<Omit<TenantRecord, 'id' | 'created_at'>>;

export interface ControlStore {
  createTenant(tenant: TenantRecord): Promise<void>;
  getTenant(tenantId: string, consistent?: boolean): Promise<TenantRecord | null>;
  /**
   * Applies `changes` if the tenant exists and (when given) was last updated at
   * `expectedUpdatedAt`. Null when it does not exist; throws ConcurrentUpdateError when it changed.
   * A `retention_job` in the changes also lists the tenant in the activeJobs index.
   */
  updateTenant(
    tenantId: string,
    changes: TenantChanges,
    expectedUpdatedAt?: string,
  ): Promise<TenantRecord | null>;
  /** Tenants with a pending or running retention job (eventually consistent). */
  listActiveRetentionJobs(): Promise<string[]>;
  /** Every tenant id (eventually consistent), in id order. */
  listTenantIds(): Promise<string[]>;
  /**
   * Saves the tenant's retention job if it is still the one at `expectedVersion` (a newer change
   * replaces the job; a concurrent run bumps the version). Saves it with version + 1 and returns
   * it, or null when the condition failed. A finished job leaves the activeJobs index.
   */
  saveRetentionJob(
    tenantId: string,
    job: RetentionJob,
    expectedVersion: number,
  ): Promise<RetentionJob | null>;
  createKey(key: ApiKeyRecord): Promise<void>;
  getKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | null>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; returns false when it does not exist. Revoking twice keeps the first time. */
  revokeKey(tenantId: string, keyId: string, at: string): Promise<boolean>;
}

const tenantKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' });
const apiKeyKey = (tenantId: string, keyId: string) => ({ pk: `TENANT#${tenantId}`, sk: `KEY#${keyId}` });

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, active_job: _job, active_since: _since, entity: _entity, ...rest } = item;
  return rest as T;
};

const ACTIVE_JOBS = CONTROL_TABLE.indexes.activeJobs;
const TENANTS = CONTROL_TABLE.indexes.tenants;
const TENANT_ENTITY = 'tenant';
const RETENTION_QUEUE = 'retention';

/** The tenant was changed by someone else between read and write: re-read and retry. */
export class ConcurrentUpdateError extends Error {
  constructor() {
    super('The tenant was changed concurrently.');
    this.name = 'ConcurrentUpdateError';
  }
}

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
        Item: { ...tenantKey(tenant.id), ...tenant, [TENANTS.partitionKey]: TENANT_ENTITY },
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
      entries.push(
        [ACTIVE_JOBS.partitionKey, RETENTION_QUEUE],
        [ACTIVE_JOBS.sortKey, `${changes.retention_job.requested_at}#${tenantId}`],
      );
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
        const pk = String(item.pk ?? '');
        if (pk.startsWith('TENANT#')) tenants.push(pk.slice('TENANT#'.length));
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
