/**
 * The control plane's records in memory, honouring ControlStore's contract as DynamoControlStore
 * does: creates refuse an existing id, a guarded update refuses a tenant changed since it was
 * read, retention jobs are saved only over the version they were read at, and the active-jobs
 * listing follows the job's state. Every read is consistent (DynamoDB's may lag; no use case may
 * rely on that lag).
 */
import type { RetentionJob } from '#shared/domain/retention-job.ts';
import type { ApiKeyRecord, TenantRecord } from '#shared/domain/tenant.ts';
import {
  ConcurrentUpdateError,
  type ControlStore,
  type TenantChanges,
} from '#shared/usecases/ports/control.ts';
import { ConditionFailed, copy } from './condition.ts';

interface StoredTenant {
  record: TenantRecord;
  /** The tenant's place among the active retention jobs (`<requested_at>#<tenant>`), when listed. */
  activeSince?: string;
}

const isFinished = (job: RetentionJob): boolean => job.status === 'completed' || job.status === 'failed';

export class MemoryControlStore implements ControlStore {
  private readonly tenants = new Map<string, StoredTenant>();
  private readonly keys = new Map<string, ApiKeyRecord>();

  async createTenant(tenant: TenantRecord): Promise<void> {
    if (this.tenants.has(tenant.id)) throw new ConditionFailed(`tenant ${tenant.id} exists`);
    this.tenants.set(tenant.id, { record: copy(tenant) });
  }

  async getTenant(tenantId: string): Promise<TenantRecord | null> {
    const stored = this.tenants.get(tenantId);
    return stored === undefined ? null : copy(stored.record);
  }

  async updateTenant(
    tenantId: string,
    changes: TenantChanges,
    expectedUpdatedAt?: string,
  ): Promise<TenantRecord | null> {
    const stored = this.tenants.get(tenantId);
    if (stored === undefined) return null;
    if (expectedUpdatedAt !== undefined && stored.record.updated_at !== expectedUpdatedAt) {
      throw new ConcurrentUpdateError();
    }
    const defined = Object.entries(copy(changes)).filter(([, value]) => value !== undefined);
    stored.record = { ...stored.record, ...Object.fromEntries(defined) };
    if (changes.retention_job !== undefined) {
      stored.activeSince = `${changes.retention_job.requested_at}#${tenantId}`;
    }
    return copy(stored.record);
  }

  async listActiveRetentionJobs(): Promise<string[]> {
    return [...this.tenants.entries()]
      .flatMap(([id, stored]) =>
        stored.activeSince === undefined ? [] : [{ id, since: stored.activeSince }],
      )
      .sort((a, b) => a.since.localeCompare(b.since))
      .map(({ id }) => id);
  }

  async listTenantIds(): Promise<string[]> {
    return [...this.tenants.keys()].sort();
  }

  async saveRetentionJob(
    tenantId: string,
    job: RetentionJob,
    expectedVersion: number,
  ): Promise<RetentionJob | null> {
    const stored = this.tenants.get(tenantId);
    const current = stored?.record.retention_job;
    if (stored === undefined || current?.id !== job.id || current.version !== expectedVersion) return null;
    const saved: RetentionJob = { ...copy(job), version: expectedVersion + 1 };
    stored.record = { ...stored.record, retention_job: saved };
    if (isFinished(saved)) delete stored.activeSince;
    return copy(saved);
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    const id = `${key.tenant_id}/${key.id}`;
    if (this.keys.has(id)) throw new ConditionFailed(`key ${key.id} exists`);
    this.keys.set(id, copy(key));
  }

  async getKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | null> {
    const key = this.keys.get(`${tenantId}/${keyId}`);
    return key === undefined ? null : copy(key);
  }

  /** In key-id order, as the table's sort key keeps them. */
  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()]
      .filter((key) => key.tenant_id === tenantId)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(copy);
  }

  async revokeKey(tenantId: string, keyId: string, at: string): Promise<boolean> {
    const key = this.keys.get(`${tenantId}/${keyId}`);
    if (key === undefined) return false;
    key.revoked_at ??= at;
    return true;
  }
}
