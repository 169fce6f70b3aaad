import { describe, expect, it } from 'vitest';
import type { PersonPrincipal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import { ValidationError } from '#shared/errors.ts';
import { listActions, MAX_ACTIONS, withActionRegistry } from '#shared/usecases/actions.ts';
import { ingestEvents, type KeyPrincipal, recordAccess } from '#shared/usecases/events.ts';
import { recordAdminAct } from '#shared/usecases/own-trail.ts';
import { MemoryActionRegistry } from './fakes/actions.ts';
import { MemoryEventStore } from './fakes/events.ts';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

const key = (
  tenantId = 'tnt_a',
  scopes: KeyPrincipal['scopes'] = ['events:write', 'events:read'],
): KeyPrincipal => ({
  kind: 'key',
  tenantId,
  keyId: 'key_1',
  keyName: 'ci',
  scopes,
  retentionDays: 90,
  shards: 1,
});

const person = (role: PersonPrincipal['role'], teamIds: string[] = []): PersonPrincipal =>
  ({
    kind: 'person',
    tenantId: 'tnt_a',
    person: { id: `user_${role}`, email: `${role}@example.com` },
    role,
    teamIds,
    permissions: ['view'],
    sessionId: 'ses_1',
    via: 'session',
    retentionDays: 90,
    shards: 1,
  }) as PersonPrincipal;

const setup = () => {
  const registry = new MemoryActionRegistry();
  const events = new MemoryEventStore();
  const store = withActionRegistry(events, registry);
  const deps = { store, redact: createRedactor(), now: () => NOW };
  return { registry, events, store, deps };
};

const ingest = (deps: ReturnType<typeof setup>['deps'], ...events: Record<string, unknown>[]) =>
  ingestEvents(deps, key(), {
    events: events.map((event, i) => ({
      id: `e${i}-${String(event.action)}`,
      actor: { id: 'u1' },
      ...event,
    })),
  });

const names = (list: { data: { action: string }[] }) => list.data.map((entry) => entry.action);

describe('registering actions as events are appended', () => {
  it("registers each stored event's action in its tenant, and in its team when it has one", async () => {
    const { registry, deps } = setup();
    await ingest(deps, { action: 'member.invited', team_id: 't1' }, { action: 'billing.paid' });
    expect(registry.firstSeen('tnt_a', null, 'member.invited')).toBe('2026-11-21T12:00:00.000Z');
    expect(registry.firstSeen('tnt_a', 't1', 'member.invited')).toBeDefined();
    expect(registry.firstSeen('tnt_a', null, 'billing.paid')).toBeDefined();
    expect(registry.firstSeen('tnt_a', 't1', 'billing.paid')).toBeUndefined();
  });

  it('writes a (tenant, action) or (tenant, team, action) once per container, however many events carry it', async () => {
    const { registry, deps } = setup();
    await ingest(deps, { action: 'doc.viewed', team_id: 't1' }, { action: 'doc.viewed', team_id: 't1' });
    expect(registry.writes).toBe(2);
    await ingest(deps, { action: 'doc.viewed', team_id: 't1', id: 'another' });
    await ingest(deps, { action: 'doc.viewed', team_id: 't2', id: 'other-team' });
    expect(registry.writes).toBe(3);
  });

  it('never fails the append when registering fails, and tries again with the next event', async () => {
    const { registry, events, deps } = setup();
    registry.failNext = 1;
    const outcome = await ingest(deps, { action: 'doc.shared' });
    expect(outcome.created).toBe(1);
    expect(events.eventsOf('tnt_a')).toHaveLength(1);
    expect(registry.firstSeen('tnt_a', null, 'doc.shared')).toBeUndefined();
    await ingest(deps, { action: 'doc.shared', id: 'retry' });
    expect(registry.firstSeen('tnt_a', null, 'doc.shared')).toBeDefined();
  });

  it("registers the service's own actions: a read's audit_log.viewed and an admin act's trailkeeper.*", async () => {
    const { registry, deps } = setup();
    await recordAccess(deps, key(), 'audit_log.viewed', {}, 'req-1');
    const tenant = {
      id: 'tnt_a',
      name: 'A',
      plan: 'pro',
      created_at: '2026-01-01T00:00:00Z',
    } as TenantRecord;
    await recordAdminAct(
      deps,
      tenant,
      { id: 'operator', type: 'system' },
      { action: 'trailkeeper.api_key.created' },
    );
    expect((await registry.list('tnt_a', null, '', 10)).actions).toEqual([
      'audit_log.viewed',
      'trailkeeper.api_key.created',
    ]);
  });
});

describe('listing actions', () => {
  const seeded = async () => {
    const context = setup();
    await ingest(
      context.deps,
      { action: 'member.invited', team_id: 't1' },
      { action: 'member.removed', team_id: 't2' },
      { action: 'member.role_changed', team_id: 't3' },
      { action: 'billing.paid', team_id: 't1' },
      { action: 'billing.paid', team_id: 't2' },
      { action: 'workspace.renamed' },
    );
    await recordAccess(context.deps, key(), 'audit_log.viewed', {}, 'req-1');
    return context;
  };

  it('gives a key and a whole-workspace role every action of the tenant, sorted, the trail’s own included', async () => {
    const { registry } = await seeded();
    const all = [
      'audit_log.viewed',
      'billing.paid',
      'member.invited',
      'member.removed',
      'member.role_changed',
      'workspace.renamed',
    ];
    expect(names(await listActions({ registry }, key(), {}))).toEqual(all);
    expect(names(await listActions({ registry }, person('auditor'), {}))).toEqual(all);
  });

  it("gives a team admin the actions of their teams' events only, merged without duplicates", async () => {
    const { registry } = await seeded();
    const list = await listActions({ registry }, person('team_admin', ['t1', 't2']), {});
    expect(names(list)).toEqual(['billing.paid', 'member.invited', 'member.removed']);
    expect(registry.reads).toBe(2);
  });

  it('narrows to a prefix, written plainly or as a filter prefix', async () => {
    const { registry } = await seeded();
    const members = ['member.invited', 'member.removed', 'member.role_changed'];
    expect(names(await listActions({ registry }, key(), { prefix: 'member.' }))).toEqual(members);
    expect(names(await listActions({ registry }, key(), { prefix: 'member.*' }))).toEqual(members);
    expect(names(await listActions({ registry }, key(), { prefix: 'mem' }))).toEqual(members);
    expect(names(await listActions({ registry }, key(), { prefix: 'member.r' }))).toEqual([
      'member.removed',
      'member.role_changed',
    ]);
  });

  it('never shows another tenant’s actions', async () => {
    const { registry } = await seeded();
    expect(names(await listActions({ registry }, key('tnt_b'), {}))).toEqual([]);
  });

  it.each(['Member', 'member#x', '*.x', '1abc', 'a'.repeat(130), 'a b'])(
    'refuses the prefix %j with a 400 naming `prefix`',
    async (prefix) => {
      const { registry } = await seeded();
      const error = await listActions({ registry }, key(), { prefix }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors.map((e) => e.field)).toEqual(['prefix']);
      expect(registry.reads).toBe(0);
    },
  );

  it('refuses an unknown parameter', async () => {
    const { registry } = await seeded();
    await expect(listActions({ registry }, key(), { prefx: 'member.' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it(`lists at most ${MAX_ACTIONS}, saying when there are more`, async () => {
    const registry = new MemoryActionRegistry();
    for (let i = 0; i < MAX_ACTIONS + 5; i++)
      await registry.register(
        { tenantId: 'tnt_a', teamId: 't1', action: `a.n${String(i).padStart(3, '0')}` },
        '',
      );
    await registry.register({ tenantId: 'tnt_a', teamId: 't2', action: 'a.extra' }, '');
    const list = await listActions({ registry }, person('team_admin', ['t1', 't2']), { prefix: 'a.' });
    expect(list.data).toHaveLength(MAX_ACTIONS);
    expect(list.data[0]?.action).toBe('a.extra');
    expect(list.has_more).toBe(true);
    const few = await listActions({ registry }, person('team_admin', ['t2']), {});
    expect(few).toEqual({ data: [{ action: 'a.extra' }], has_more: false });
  });
});
