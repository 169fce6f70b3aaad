/**
 * The tenant's own trail (shared/usecases/own-trail.ts, through the admin use cases of
 * shared/usecases/admin.ts) on the in-memory stores: each administrative act writes its
 * `trailkeeper.*` event once, with the operator or the acting key as actor, the thing acted on as
 * target and what changed as from/to; nothing when nothing changed; a failed record answers 503
 * and its retry neither repeats the act nor its event. Also the access policy's input, and that
 * clients may never send these actions themselves.
 */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import type { Principal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ServiceUnavailableError,
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
import { ingestEvents } from '#shared/usecases/events.ts';
import { ADMIN_ACTIONS, recordAdminAct } from '#shared/usecases/own-trail.ts';
import type { AppendResult, NewEvent } from '#shared/usecases/ports/events.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const operator: Principal = { kind: 'operator' };
const OPERATOR_ACTOR = { id: 'operator', type: 'system', name: 'Trailkeeper operator' };
const KEY_ID = 'key_01jd0000000000000000000000';

const keyOf = (tenantId: string, scopes: ('admin' | 'events:read' | 'events:write')[]) =>
  ({
    kind: 'key',
    tenantId,
    keyId: KEY_ID,
    keyName: 'console-backend',
    scopes,
    retentionDays: 90,
    shards: 1,
  }) satisfies Principal;

/** An event store whose next `failures` appends fail as an unavailable table would. */
class FlakyEventStore extends MemoryEventStore {
  failures = 0;

  override async append(
    entries: readonly (NewEvent | StoredEvent)[],
    shards: number,
  ): Promise<AppendResult[]> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('table unavailable'), { name: 'InternalServerError' });
    }
    return super.append(entries, shards);
  }
}

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
      await this.updateTenant(tenantId, {
        name: `other writer ${this.otherWrites}`,
        updated_at: `w${this.otherWrites}`,
      });
    }
    return read;
  }
}

/** A control store that hands out maps with their keys in another order, as DynamoDB may. */
class ReorderingControlStore extends MemoryControlStore {
  override async getTenant(tenantId: string): Promise<TenantRecord | null> {
    const read = await super.getTenant(tenantId);
    if (read?.access === undefined) return read;
    return { ...read, access: { export: read.access.export, view: read.access.view } };
  }
}

const setup = (control = new MemoryControlStore()) => {
  const store = new FlakyEventStore();
  let now = T0;
  const deps = { control, store, redact: createRedactor(), now: () => now };
  const tick = (ms = 1000) => {
    now += ms;
  };
  /** The tenant's trailkeeper.* events, oldest first. */
  const trail = (tenantId: string) =>
    store
      .eventsOf(tenantId)
      .filter((e) => e.action.startsWith('trailkeeper.'))
      .sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.id.localeCompare(b.id));
  return { control, store, deps, tick, trail };
};

describe('key acts in the trail', () => {
  it('a key created by the operator: one api_key.created, the operator as actor, the scopes and never the secret', async () => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    expect(trail(tenant.id)).toEqual([]);

    const key = await createKey(
      deps,
      operator,
      tenant.id,
      { name: 'ci', scopes: ['events:write', 'events:read'] },
      'req-7',
    );

    const events = trail(tenant.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'trailkeeper.api_key.created',
      actor: OPERATOR_ACTOR,
      target: { type: 'api_key', id: key.id, name: 'ci' },
      metadata: { scopes: ['events:write', 'events:read'] },
      context: { request_id: 'req-7' },
      occurred_at: new Date(T0).toISOString(),
    });
    const secret = key.key.split('.').at(-1) as string;
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it("a key created by a tenant's admin key names that key as actor", async () => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const key = await createKey(deps, keyOf(tenant.id, ['admin']), tenant.id, {
      name: 'reader',
      scopes: ['events:read'],
    });
    expect(trail(tenant.id)).toEqual([
      expect.objectContaining({
        action: 'trailkeeper.api_key.created',
        actor: { id: KEY_ID, type: 'api_key', name: 'console-backend' },
        target: { type: 'api_key', id: key.id, name: 'reader' },
      }),
    ]);
  });

  it('a key revoked: one api_key.revoked; revoking it again, by anyone, writes nothing new', async () => {
    const { deps, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const key = await createKey(deps, operator, tenant.id, { name: 'ci', scopes: ['events:write'] });
    tick();
    await revokeKey(deps, keyOf(tenant.id, ['admin']), tenant.id, key.id);
    tick();
    await revokeKey(deps, operator, tenant.id, key.id);

    const revoked = trail(tenant.id).filter((e) => e.action === 'trailkeeper.api_key.revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({
      actor: { id: KEY_ID, type: 'api_key' },
      target: { type: 'api_key', id: key.id, name: 'ci' },
      occurred_at: new Date(T0 + 1000).toISOString(),
    });
  });

  it('an unknown key is not revoked and nothing is written', async () => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    await expect(
      revokeKey(deps, operator, tenant.id, 'key_01jd000000000000000000zzzz'),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(trail(tenant.id)).toEqual([]);
  });

  it('a key whose event cannot be written is not created: 503, and no key exists unrecorded', async () => {
    const { deps, store, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    store.failures = 1;
    await expect(
      createKey(deps, operator, tenant.id, { name: 'ci', scopes: ['admin'] }),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect((await listKeys(deps, operator, tenant.id)).data).toEqual([]);

    const retried = await createKey(deps, operator, tenant.id, { name: 'ci', scopes: ['admin'] });
    expect((await listKeys(deps, operator, tenant.id)).data.map((k) => k.id)).toEqual([retried.id]);
    expect(trail(tenant.id).map((e) => e.target?.id)).toEqual([retried.id]);
  });

  it('a revocation whose event fails is done (the key is dead) and answers 503; the retry writes the event once', async () => {
    const { control, deps, store, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const key = await createKey(deps, operator, tenant.id, { name: 'ci', scopes: ['admin'] });
    store.failures = 1;
    await expect(revokeKey(deps, operator, tenant.id, key.id)).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    expect((await control.getKey(tenant.id, key.id))?.revoked_at).toBe(new Date(T0).toISOString());
    expect(trail(tenant.id).filter((e) => e.action === 'trailkeeper.api_key.revoked')).toEqual([]);

    tick();
    await revokeKey(deps, operator, tenant.id, key.id);
    await revokeKey(deps, operator, tenant.id, key.id);
    expect(trail(tenant.id).filter((e) => e.action === 'trailkeeper.api_key.revoked')).toHaveLength(1);
    expect((await control.getKey(tenant.id, key.id))?.revoked_at).toBe(new Date(T0).toISOString());
  });
});

describe('tenant updates in the trail', () => {
  it('an operator change writes one tenant.updated with from/to of only what changed', async () => {
    const { deps, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    tick();
    await updateTenant(deps, operator, tenant.id, { plan: 'business', name: 'Acme' }, 'req-9');

    expect(trail(tenant.id)).toEqual([
      expect.objectContaining({
        action: 'trailkeeper.tenant.updated',
        actor: OPERATOR_ACTOR,
        target: { type: 'tenant', id: tenant.id, name: 'Acme' },
        // The plan brings its retention and rate limit; the name stayed.
        metadata: {
          from: { plan: 'pro', retention_days: 90, rate_limit_rps: expect.any(Number) },
          to: { plan: 'business', retention_days: 365, rate_limit_rps: expect.any(Number) },
        },
        context: { request_id: 'req-9' },
        occurred_at: new Date(T0 + 1000).toISOString(),
      }),
    ]);
  });

  it.each([
    ['retention', { retention_days: 30 }, { retention_days: 90 }, { retention_days: 30 }],
    ['shards', { shards: 4 }, { shards: 1 }, { shards: 4 }],
    ['rate limit', { rate_limit_rps: 7 }, { rate_limit_rps: expect.any(Number) }, { rate_limit_rps: 7 }],
    [
      'email domains',
      { email_domains: ['example.com'] },
      { email_domains: [] },
      { email_domains: ['example.com'] },
    ],
    [
      'access policy',
      { access: { view: ['owner'], export: ['owner'] } },
      {
        access: {
          view: ['owner', 'admin', 'auditor', 'team_admin'],
          export: ['owner', 'admin', 'auditor', 'team_admin'],
        },
      },
      { access: { view: ['owner'], export: ['owner'] } },
    ],
  ])('a change of the %s is told as from/to', async (_what, body, from, to) => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    await updateTenant(deps, operator, tenant.id, body);
    const events = trail(tenant.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.metadata).toEqual({ from, to });
  });

  it('a change that changes nothing writes nothing, to the tenant or the trail', async () => {
    const { control, deps, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    await updateTenant(deps, operator, tenant.id, { email_domains: ['a.example', 'b.example'] });
    const before = await control.getTenant(tenant.id);
    tick();
    const same = await updateTenant(deps, operator, tenant.id, {
      plan: 'pro',
      name: 'Acme',
      email_domains: ['b.example', 'a.example'],
      access: {
        view: ['team_admin', 'auditor', 'admin', 'owner'],
        export: ['owner', 'admin', 'auditor', 'team_admin'],
      },
    });
    expect(same.updated_at).toBe(before?.updated_at);
    expect(await control.getTenant(tenant.id)).toEqual(before);
    expect(trail(tenant.id)).toHaveLength(1);
  });

  it('a policy read back with its keys in another order is the same policy: nothing written', async () => {
    const { deps, tick, trail } = setup(new ReorderingControlStore());
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const access = { view: ['owner', 'admin'], export: ['owner'] };
    const first = await updateTenant(deps, operator, tenant.id, { access });
    tick();
    const again = await updateTenant(deps, operator, tenant.id, { access });
    expect(again.updated_at).toBe(first.updated_at);
    expect(Object.keys(again.access)).toEqual(['view', 'export']);
    expect(trail(tenant.id)).toHaveLength(1);
  });

  it("a tenant's admin key changes the access policy: stored, shown, and its event names the key", async () => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const admin = keyOf(tenant.id, ['admin']);
    const updated = await updateTenant(deps, admin, tenant.id, {
      access: { view: ['auditor', 'owner'], export: ['owner'] },
    });
    // Roles are kept in their canonical order.
    expect(updated.access).toEqual({ view: ['owner', 'auditor'], export: ['owner'] });
    expect((await getTenant(deps, admin, tenant.id)).access).toEqual({
      view: ['owner', 'auditor'],
      export: ['owner'],
    });
    expect(trail(tenant.id)).toEqual([
      expect.objectContaining({
        action: 'trailkeeper.tenant.updated',
        actor: { id: KEY_ID, type: 'api_key', name: 'console-backend' },
        metadata: {
          from: { access: expect.any(Object) },
          to: { access: { view: ['owner', 'auditor'], export: ['owner'] } },
        },
      }),
    ]);
  });

  it('a failed record answers 503 after the change; the retry writes the event once and changes nothing more', async () => {
    const { control, deps, store, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    store.failures = 1;
    await expect(updateTenant(deps, operator, tenant.id, { retention_days: 30 })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    const changed = await control.getTenant(tenant.id);
    expect(changed?.custom_retention_days).toBe(30);
    expect(trail(tenant.id)).toEqual([]);

    tick();
    const retried = await updateTenant(deps, operator, tenant.id, { retention_days: 30 });
    expect(retried.updated_at).toBe(changed?.updated_at);
    expect(retried.retention_job?.id).toBe(changed?.retention_job?.id);
    const events = trail(tenant.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      metadata: { from: { retention_days: 90 }, to: { retention_days: 30 } },
      // When the change was made, not when it was recorded.
      occurred_at: new Date(T0).toISOString(),
    });

    tick();
    await updateTenant(deps, operator, tenant.id, { retention_days: 30 });
    expect(trail(tenant.id)).toHaveLength(1);
  });

  it("a change whose record failed is recorded by the tenant's next change, whoever makes it", async () => {
    const { deps, store, tick, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme', plan: 'pro' });
    store.failures = 1;
    await expect(updateTenant(deps, operator, tenant.id, { plan: 'business' })).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    tick();
    await updateTenant(deps, keyOf(tenant.id, ['admin']), tenant.id, { email_domains: ['example.com'] });
    const events = trail(tenant.id);
    expect(events.map((e) => [e.actor.id, Object.keys(e.metadata?.to ?? {})])).toEqual([
      ['operator', ['plan', 'retention_days', 'rate_limit_rps']],
      [KEY_ID, ['email_domains']],
    ]);
  });

  it('only the update that won a race is recorded', async () => {
    const { deps, trail } = setup(new ContendedControlStore(1));
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    await updateTenant(deps, operator, tenant.id, { shards: 2 });
    const events = trail(tenant.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.metadata).toEqual({ from: { shards: 1 }, to: { shards: 2 } });
  });

  it('writes nothing when the update keeps losing (409)', async () => {
    const { deps, trail } = setup(new ContendedControlStore(Number.POSITIVE_INFINITY));
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    await expect(updateTenant(deps, operator, tenant.id, { shards: 2 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(trail(tenant.id)).toEqual([]);
  });
});

describe('the access policy input', () => {
  it('is changed by the operator or an admin key of the tenant only', async () => {
    const { deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const other = await createTenant(deps, operator, { name: 'Other' });
    const access = { view: ['owner'], export: ['owner'] };
    await expect(
      updateTenant(deps, keyOf(tenant.id, ['events:read']), tenant.id, { access }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      updateTenant(deps, keyOf(other.id, ['admin']), tenant.id, { access }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // With an operator-only field, the whole change is the operator's.
    await expect(
      updateTenant(deps, keyOf(tenant.id, ['admin']), tenant.id, { access, plan: 'pro' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(trail(tenant.id)).toEqual([]);
    expect((await updateTenant(deps, operator, tenant.id, { access })).access).toEqual(access);
  });

  it.each([
    ['export beyond view', { view: ['owner'], export: ['owner', 'admin'] }, 'access.export'],
    ['an unknown role', { view: ['root'], export: [] }, 'access.view[0]'],
    ['export missing', { view: ['owner'] }, 'access.export'],
    ['an unknown field', { view: ['owner'], export: [], edit: ['owner'] }, 'access.edit'],
    ['not a list', { view: 'owner', export: [] }, 'access.view'],
  ])('refuses %s, naming the field', async (_what, access, field) => {
    const { control, deps, trail } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const error = await updateTenant(deps, operator, tenant.id, { access }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors.map((e) => e.field)).toContain(field);
    expect((await control.getTenant(tenant.id))?.access).toBeUndefined();
    expect(trail(tenant.id)).toEqual([]);
  });
});

describe('recordAdminAct', () => {
  it('writes nothing for an act older than the retention window (its event would have expired)', async () => {
    const { control, deps, store } = setup();
    const created = await createTenant(deps, operator, { name: 'Acme', retention_days: 1 });
    const tenant = (await control.getTenant(created.id)) as TenantRecord;
    const written = await recordAdminAct(deps, tenant, operator, {
      action: 'trailkeeper.tenant.updated',
      occurredAt: new Date(T0 - 2 * 86_400_000).toISOString(),
    });
    expect(written).toBe(false);
    expect(store.eventsOf(tenant.id)).toEqual([]);
  });
});

describe("the trail's own actions", () => {
  it.each(ADMIN_ACTIONS)('refuses %s from a client, storing nothing', async (action) => {
    const { deps, store } = setup();
    const tenant = await createTenant(deps, operator, { name: 'Acme' });
    const writer = keyOf(tenant.id, ['events:write']);
    const error = await ingestEvents(deps, writer, { action, actor: { id: 'u1' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors.map((e) => e.field)).toEqual(['action']);
    expect(store.eventsOf(tenant.id)).toEqual([]);
  });
});
