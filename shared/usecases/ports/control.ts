/**
 * Port: the control plane's records as the use cases need them — tenants (with their retention
 * job, seal state and scan position) and API keys. Implemented by DynamoControlStore
 * (shared/adapters/control-store.ts) and, for unit tests, by test/unit/fakes/control.ts.
 */
import type { RetentionJob } from '../../domain/retention-job.ts';
import type { ApiKeyRecord, TenantRecord } from '../../domain/tenant.ts';

export type TenantChanges = Partial<Omit<TenantRecord, 'id' | 'created_at'>>;

/** The tenant was changed by someone else between read and write: re-read and retry. */
export class ConcurrentUpdateError extends Error {
  constructor() {
    super('The tenant was changed concurrently.');
    this.name = 'ConcurrentUpdateError';
  }
}

export interface ControlStore {
  /** Stores a new tenant; refuses (throws) when a tenant with this id exists, changing nothing. */
  createTenant(tenant: TenantRecord): Promise<void>;
  /** `consistent`: read what the last write left (the default may lag behind it). */
  getTenant(tenantId: string, consistent?: boolean): Promise<TenantRecord | null>;
  /**
   * Applies `changes` if the tenant exists and (when given) was last updated at
   * `expectedUpdatedAt`. Null when it does not exist; throws ConcurrentUpdateError when it changed.
   * A `retention_job` in the changes also lists the tenant among the active retention jobs.
   */
  updateTenant(
    tenantId: string,
    changes: TenantChanges,
    expectedUpdatedAt?: string,
  ): Promise<TenantRecord | null>;
  /** Tenants with a pending or running retention job (eventually consistent), oldest request first. */
  listActiveRetentionJobs(): Promise<string[]>;
  /** Every tenant id (eventually consistent), in id order. */
  listTenantIds(): Promise<string[]>;
  /**
   * Saves the tenant's retention job if it is still the one at `expectedVersion` (a newer change
   * replaces the job; a concurrent run bumps the version). Saves it with version + 1 and returns
   * it, or null when the condition failed. A finished job leaves the active retention jobs.
   */
  saveRetentionJob(
    tenantId: string,
    job: RetentionJob,
    expectedVersion: number,
  ): Promise<RetentionJob | null>;
  /** Stores a new key; refuses (throws) when the key id exists, changing nothing. */
  createKey(key: ApiKeyRecord): Promise<void>;
  getKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | null>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; returns false when it does not exist. Revoking twice keeps the first time. */
  revokeKey(tenantId: string, keyId: string, at: string): Promise<boolean>;
}
