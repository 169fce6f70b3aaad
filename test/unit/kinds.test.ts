/**
 * withKindRegistry (shared/usecases/kinds.ts): the kinds and actor emails of an append are in the
 * registry before any of its events is stored, a failed registration stores nothing, a container
 * registers each entry once (until its memo is cleared), and per-kind counts reach the registry at
 * most once a minute — with an injected clock, never a sleep.
 */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import { kindId, kindOf } from '#shared/domain/kinds.ts';
import { KIND_COUNT_FLUSH_MS, KIND_MEMO_LIMIT, withKindRegistry } from '#shared/usecases/kinds.ts';
import type { AppendResult, EventStore, NewEvent } from '#shared/usecases/ports/events.ts';
import { MemoryKindRegistry } from './fakes/kinds.ts';

const START = Date.parse('2026-12-07T10:00:00.000Z');

const event = (id: string, overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  id,
  tenant_id: 'tnt_a',
  action: 'member.invited',
  occurred_at: '2026-12-07T09:59:00.000Z',
  received_at: '2026-12-07T10:00:00.000Z',
  actor: { id: 'user_1', type: 'user' },
  impersonated: false,
  expires_at: null,
  hash: `hash-${id}`,
  ...overrides,
});

/** An event store that records what it was asked to append (and, with `log`, when), first write of an id standing. */
class RecordingStore implements EventStore {
  readonly appended: string[] = [];
  private readonly ids = new Set<string>();
  constructor(private readonly log: string[] = []) {}

  async append(entries: readonly (NewEvent | StoredEvent)[]): Promise<AppendResult[]> {
    return entries.map((entry) => {
      const stored = 'event' in entry ? entry.event : entry;
      this.log.push(`append ${stored.id}`);
      this.appended.push(stored.id);
      const created = !this.ids.has(stored.id);
      this.ids.add(stored.id);
      return { event: stored, created };
    });
  }
  get = async () => null;
  query = async () => ({ events: [], more: false, readUnits: 0 });
  probe = async () => ({ count: 0, readUnits: 0 });
}

const setup = () => {
  let clock = START;
  const log: string[] = [];
  const events = new RecordingStore(log);
  const registry = new MemoryKindRegistry();
  const original = registry.register.bind(registry);
  registry.register = async (tenantId, entries, firstSeenAt) => {
    log.push(`register ${entries.kinds.length} kinds ${entries.emails.length} emails`);
    return original(tenantId, entries, firstSeenAt);
  };
  const countErrors: unknown[] = [];
  const store = withKindRegistry(events, registry, {
    now: () => clock,
    onCountError: (error) => countErrors.push(error),
  });
  const advance = (ms: number) => {
    clock += ms;
  };
  return { log, events, registry, store, advance, countErrors };
};

const countsOf = async (registry: MemoryKindRegistry, tenantId = 'tnt_a') =>
  Object.fromEntries((await registry.kinds(tenantId)).kinds.map((k) => [k.kind.action, k.count]));

describe('registering kinds before events are appended', () => {
  it("registers a batch's kinds and emails, then appends it", async () => {
    const { log, registry, store } = setup();
    const batch = [
      event('e1', { actor: { id: 'user_1', type: 'user', email: 'Ada@Example.COM' } }),
      event('e2', { action: 'member.removed', target: { type: 'member', id: 'user_7' }, status: 'failure' }),
      event('e3', { actor: { id: 'user_1', type: 'user', email: 'ada@example.com' } }),
    ];

    await store.append(batch, 1);

    expect(log).toEqual(['register 2 kinds 1 emails', 'append e1', 'append e2', 'append e3']);
    expect(registry.registrations[0]).toEqual({
      tenantId: 'tnt_a',
      kinds: [
        {
          id: kindId(kindOf(batch[0] as StoredEvent)),
          kind: { action: 'member.invited', actor_type: 'user' },
          count: 0,
        },
        {
          id: kindId(kindOf(batch[1] as StoredEvent)),
          kind: { action: 'member.removed', target_type: 'member', status: 'failure', actor_type: 'user' },
          count: 0,
        },
      ],
      // Lower-cased, as filters compare it: both spellings are one pair.
      emails: [{ email: 'ada@example.com', actorId: 'user_1' }],
      firstSeenAt: '2026-12-07T10:00:00.000Z',
    });
    expect(await registry.actorsWithEmail('tnt_a', 'ada@example.com', 10)).toEqual({
      ids: ['user_1'],
      more: false,
    });
  });

  it('registers the kinds of NewEvent entries (with their fingerprints) like bare StoredEvents', async () => {
    const { events, registry, store } = setup();
    const entry: NewEvent = {
      event: event('e1', {
        area: 'members',
        method: 'create',
        actor: { id: 'svc 1', type: 'service', email: 'Bot@x.io' },
      }),
      contentHash: 'fp',
    };

    await store.append([entry], 1);

    expect(events.appended).toEqual(['e1']);
    expect(registry.registrations[0]?.kinds.map((k) => k.kind)).toEqual([
      { action: 'member.invited', area: 'members', method: 'create', actor_type: 'service' },
    ]);
    expect(registry.registrations[0]?.emails).toEqual([{ email: 'bot@x.io', actorId: 'svc 1' }]);
  });

  it('registers no email for an event without one', async () => {
    const { registry, store } = setup();

    await store.append([event('e1', { actor: { id: 'user_2' } })], 1);

    expect(registry.registrations).toHaveLength(1);
    expect(registry.registrations[0]?.emails).toEqual([]);
    expect(registry.registrations[0]?.kinds.map((k) => k.kind)).toEqual([{ action: 'member.invited' }]);
  });

  it('appends nothing, and rejects, when the registration fails; the next append registers again', async () => {
    const { events, registry, store } = setup();
    registry.failNext = 1;

    await expect(store.append([event('e1')], 1)).rejects.toThrow('throttled');
    expect(events.appended).toEqual([]);
    expect(store.registered.size).toBe(0);

    await store.append([event('e1')], 1);
    expect(events.appended).toEqual(['e1']);
    expect(registry.registrations).toHaveLength(2);
    expect((await registry.kinds('tnt_a')).kinds).toHaveLength(1);
  });

  it("fails the whole append when one tenant's registration of a mixed batch fails", async () => {
    const { events, registry, store } = setup();
    registry.failNext = 1;

    const append = store.append([event('e1'), event('e2', { tenant_id: 'tnt_b' })], 1);

    await expect(append).rejects.toThrow('throttled');
    expect(events.appended).toEqual([]);
    // The tenant that did register is remembered; the other is tried again next time.
    expect(store.registered.size).toBe(1);
    await store.append([event('e1'), event('e2', { tenant_id: 'tnt_b' })], 1);
    expect(registry.registrations.map((r) => r.tenantId)).toEqual(['tnt_a', 'tnt_b', 'tnt_a']);
    expect(events.appended).toEqual(['e1', 'e2']);
  });

  it('registers each kind and email pair once per container: later appends of them write nothing first', async () => {
    const { log, registry, store } = setup();
    const withEmail = { actor: { id: 'user_1', type: 'user' as const, email: 'ada@example.com' } };
    await store.append([event('e1', withEmail)], 1);

    await store.append([event('e2', withEmail), event('e3', withEmail)], 1);
    await store.append([event('e4', { ...withEmail, action: 'member.removed' })], 1);

    expect(registry.registrations.map((r) => [r.kinds.length, r.emails.length])).toEqual([
      [1, 1],
      [1, 0],
    ]);
    expect(log.filter((line) => line.startsWith('register'))).toHaveLength(2);
    // The same email with another actor id is a new pair.
    await store.append([event('e5', { actor: { id: 'user_9', type: 'user', email: 'ADA@example.com' } })], 1);
    expect(registry.registrations.at(-1)?.emails).toEqual([{ email: 'ada@example.com', actorId: 'user_9' }]);
  });

  it('keeps tenants apart: the same kind in another tenant is registered there', async () => {
    const { registry, store } = setup();
    await store.append([event('e1')], 1);

    await store.append([event('e1', { tenant_id: 'tnt_b' })], 1);

    expect(registry.registrations.map((r) => r.tenantId)).toEqual(['tnt_a', 'tnt_b']);
  });

  it(`forgets every entry above ${KIND_MEMO_LIMIT} and registers again as it goes`, async () => {
    const { registry, store } = setup();
    const many = Array.from({ length: KIND_MEMO_LIMIT }, (_, i) =>
      event(`e${i}`, { actor: { id: `user_${i}`, email: `u${i}@example.com` } }),
    );
    await store.append(many, 1);
    expect(store.registered.size).toBe(KIND_MEMO_LIMIT + 1);

    await store.append([event('x1', { action: 'member.removed' })], 1);

    expect(store.registered.size).toBe(1);
    await store.append([event('x2')], 1);
    expect(registry.registrations.at(-1)?.kinds.map((k) => k.kind.action)).toEqual(['member.invited']);
  });
});

describe('counting events per kind', () => {
  it('writes pending counts at most once a minute, then only those since', async () => {
    const { advance, registry, store } = setup();
    await store.append([event('e1'), event('e2'), event('e3', { action: 'member.removed' })], 1);
    expect(await countsOf(registry)).toEqual({ 'member.invited': 0, 'member.removed': 0 });

    advance(KIND_COUNT_FLUSH_MS - 1);
    await store.append([event('e4')], 1);
    expect(await countsOf(registry)).toEqual({ 'member.invited': 0, 'member.removed': 0 });

    advance(1);
    await store.append([event('e5')], 1);
    expect(await countsOf(registry)).toEqual({ 'member.invited': 4, 'member.removed': 1 });
    expect(registry.registrations.at(-1)?.emails).toEqual([]);

    advance(30_000);
    await store.append([event('e6')], 1);
    expect(registry.registrations).toHaveLength(2);
    advance(30_000);
    await store.append([event('e7')], 1);
    expect(await countsOf(registry)).toEqual({ 'member.invited': 6, 'member.removed': 1 });
    expect(registry.registrations).toHaveLength(3);
  });

  it('counts only the events an append created, not replays of stored ids', async () => {
    const { advance, registry, store } = setup();
    await store.append([event('e1'), event('e2')], 1);

    advance(KIND_COUNT_FLUSH_MS);
    await store.append([event('e1'), event('e2')], 1);

    expect(await countsOf(registry)).toEqual({ 'member.invited': 2 });
  });

  it('reports a failed count flush and drops its counts, the append having succeeded', async () => {
    const { advance, countErrors, events, registry, store } = setup();
    await store.append([event('e1')], 1);
    advance(KIND_COUNT_FLUSH_MS);
    registry.failNext = 1;

    const results = await store.append([event('e2')], 1);

    expect(results.map((r) => r.event.id)).toEqual(['e2']);
    expect(events.appended).toEqual(['e1', 'e2']);
    expect(countErrors).toHaveLength(1);
    advance(KIND_COUNT_FLUSH_MS);
    await store.append([event('e3')], 1);
    expect(await countsOf(registry)).toEqual({ 'member.invited': 1 });
  });

  it('adds the pending count of a kind to its registration after the memo was cleared', async () => {
    const { registry, store } = setup();
    await store.append([event('e1'), event('e2')], 1);
    const filler = Array.from({ length: KIND_MEMO_LIMIT }, (_, i) =>
      event(`f${i}`, { actor: { id: `user_${i}`, email: `u${i}@example.com` } }),
    );
    await store.append(filler, 1);
    await store.append([event('x1', { action: 'member.removed' })], 1);

    await store.append([event('e3')], 1);

    const last = registry.registrations.at(-1);
    expect(last?.kinds).toEqual([
      expect.objectContaining({ kind: { action: 'member.invited', actor_type: 'user' }, count: 2 }),
    ]);
  });
});

describe('delegating everything but append', () => {
  it('passes get, query and probe to the wrapped store untouched', async () => {
    const { registry, store } = setup();
    const plan = { sources: [], from: undefined, to: undefined } as unknown as Parameters<
      EventStore['query']
    >[0];

    expect(await store.get('tnt_a', 'e1', START)).toBeNull();
    expect(await store.query(plan, 10, undefined, START)).toEqual({ events: [], more: false, readUnits: 0 });
    expect(await store.probe({} as Parameters<EventStore['probe']>[0], 'a', 'b', 5)).toEqual({
      count: 0,
      readUnits: 0,
    });
    expect(registry.registrations).toEqual([]);
  });
});
