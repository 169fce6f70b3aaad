/**
 * Tenant and API key use cases (shared/usecases/admin.ts, authenticate.ts) against the in-memory
 * control store: who may do what, retention changes starting a backfill job, optimistic updates
 * retried and given up on, and keys that work until revoked. The handler's DynamoDB commands are
 * asserted in test/handlers/admin.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '#shared/errors.ts';
import {
  createKey,
  createTenant,
  getTenant,
  listKeys,
  revokeKey,
  updateTenant,
} from '#shared/usecases/admin.ts';
import { authenticate } from '#shared/usecases/authenticate.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const operator: Principal = { kind: 'operator' };
const OPERATOR_KEY = 'operator-key-for-tests';

const keyOf = (tenantId: string, scopes: ('admin' | 'events:read')[]): Principal => ({
  kind: 'key',
  tenantId,
  keyId: 'key_01jd0000000000000000000000',
  keyName: 'ci',
  scopes,
  retentionDays: 30,
  shards: 1,
});

/** A control store where another writer changes the tenant right after each of its first `times` reads. */
class ContendedControlStore extends MemoryControlStore {
  otherWrites = 0;

  constructor(private readonly times: number) {
    super();
  }

  override async getTenant(tenantId: string): Promise<TenantRecord | null> {
    const read = await super.getTenant(tenantId);
    if (read !== null && this.otherWrites < this.times) {
      this.otherWrites += 1;
      await this.updateTenant(tenantId, { plan: 'business', updated_at: `other writer ${this.otherWrites}` });
    }
    return read;
  }
}

const setup = () => {
  const control = new MemoryControlStore();
  let now = T0;
  const deps = { control, store: new MemoryEventStore(), redact: createRedactor(), now: () => now };
  const tick = (ms = 1000) => {
    now += ms;
  };
  return { control, deps, tick };
};

describe('tenants', () => {
  it('are created by the operator only', async () => {
    const { control, deps } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'business' });
    expect(tenant).toMatchObject({ name: 'Acme', plan: 'business', retention_days: 365, shards: 1 });
    expect(await control.listTenantIds()).toEqual([tenant.id]);

    await expect(createTenant(deps, keyOf(tenant.id, ['admin']), { name: 'X' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(createTenant(deps, null, { name: 'X' })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await control.listTenantIds()).toHaveLength(1);
  });

  it("answer 404, not 403, to another tenant's key", async () => {
    const { deps } = setup();
    const mine = await createTenant(deps, operator, { name: 'Mine' });
    const theirs = await createTenant(deps, operator, { name: 'Theirs' });
    await expect(getTenant(deps, keyOf(mine.id, ['admin']), theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getTenant(deps, keyOf(mine.id, ['events:read']), mine.id)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(await getTenant(deps, keyOf(mine.id, ['admin']), mine.id)).toMatchObject({ name: 'Mine' });
  });

  it('start a retention job when the effective retention changes, and only then', async () => {
    const { control, deps, tick } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    tick();
    await updateTenant(deps, operator, tenant.id, { name: 'Acme Inc' });
    expect(await control.listActiveRetentionJobs()).toEqual([]);

    tick();
    const updated = await updateTenant(deps, operator, tenant.id, { retention_days: 7 });
    expect(updated.retention_job).toMatchObject({ status: 'pending', retention_days: 7 });
    expect(await control.listActiveRetentionJobs()).toEqual([tenant.id]);
    expect((await control.getTenant(tenant.id))?.updated_at).toBe(new Date(T0 + 2000).toISOString());
  });

  it('let a tenant admin key change its self-service fields, and nothing else', async () => {
    const { deps } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const admin = keyOf(tenant.id, ['admin']);
    const changed = await updateTenant(deps, admin, tenant.id, { email_domains: ['Example.com'] });
    expect(changed.email_domains).toEqual(['example.com']);
    await expect(updateTenant(deps, admin, tenant.id, { plan: 'enterprise' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });

  it('never shrink their shards', async () => {
    const { deps } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', shards: 4 });
    await expect(updateTenant(deps, operator, tenant.id, { shards: 2 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect((await updateTenant(deps, operator, tenant.id, { shards: 8 })).shards).toBe(8);
  });

  it('are updated over what was read: a concurrent change is re-read and the update retried', async () => {
    const control = new ContendedControlStore(1);
    const deps = { control, store: new MemoryEventStore(), redact: createRedactor(), now: () => T0 };
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const updated = await updateTenant(deps, operator, tenant.id, { name: 'Renamed' });
    // The retry read the other writer's change and kept it.
    expect(control.otherWrites).toBe(1);
    expect(updated).toMatchObject({ name: 'Renamed', plan: 'business' });
  });

  it('give up with 409 after three attempts while the tenant keeps changing', async () => {
    const control = new ContendedControlStore(Number.POSITIVE_INFINITY);
    const deps = { control, store: new MemoryEventStore(), redact: createRedactor(), now: () => T0 };
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    await expect(updateTenant(deps, operator, tenant.id, { name: 'Renamed' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(control.otherWrites).toBe(3);
    expect((await control.getTenant(tenant.id))?.name).toBe('Acme');
  });

  it('that do not exist answer 404', async () => {
    const { deps } = setup();
    const missing = 'tnt_01jd000000000000000000zzzz';
    await expect(updateTenant(deps, operator, missing, { name: 'X' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(getTenant(deps, operator, 'not-an-id')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('API keys', () => {
  it('are shown once, stored as a hash, and authenticate until revoked', async () => {
    const { control, deps, tick } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    const created = await createKey(deps, operator, tenant.id, { name: 'ci', scopes: ['events:read'] });
    const stored = await control.getKey(tenant.id, created.id);
    expect(JSON.stringify(stored)).not.toContain(created.key);

    const auth = { control, operatorKey: async () => OPERATOR_KEY };
    expect(await authenticate(auth, created.key)).toMatchObject({
      kind: 'key',
      tenantId: tenant.id,
      keyId: created.id,
      scopes: ['events:read'],
      retentionDays: 90,
    });
    expect(await authenticate(auth, OPERATOR_KEY)).toEqual({ kind: 'operator' });

    tick();
    await revokeKey(deps, operator, tenant.id, created.id);
    tick();
    await revokeKey(deps, operator, tenant.id, created.id);
    expect((await control.getKey(tenant.id, created.id))?.revoked_at).toBe(new Date(T0 + 1000).toISOString());
    expect(await authenticate(auth, created.key)).toBeNull();
  });

  it('are listed oldest first, for their own tenant only', async () => {
    const { deps, tick } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const other = await createTenant(deps, operator, { name: 'Other' });
    const names = ['first', 'second', 'third'];
    for (const name of names) {
      tick();
      await createKey(deps, operator, tenant.id, { name, scopes: ['admin'] });
    }
    await createKey(deps, operator, other.id, { name: 'elsewhere', scopes: ['admin'] });
    const listed = await listKeys(deps, keyOf(tenant.id, ['admin']), tenant.id);
    expect(listed.data.map((key) => key.name)).toEqual(names);
    expect(JSON.stringify(listed)).not.toContain('secret_hash');
  });

  it('cannot be revoked when unknown', async () => {
    const { deps } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    await expect(
      revokeKey(deps, operator, tenant.id, 'key_01jd000000000000000000zzzz'),
    ).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('the in-memory control store', () => {
  it('refuses to create a tenant or key twice, as the conditional put does', async () => {
    const { control } = setup();
    const tenant: TenantRecord = {
      id: 'tnt_01jd0000000000000000000000',
      name: 'A',
      plan: 'free',
      custom_retention_days: null,
      shards: 1,
      created_at: 'c',
      updated_at: 'u',
    };
    await control.createTenant(tenant);
    await expect(control.createTenant({ ...tenant, name: 'B' })).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect((await control.getTenant(tenant.id))?.name).toBe('A');
  });
});
