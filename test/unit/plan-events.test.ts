/**
 * The planner's use case: which path it reads for a filter set, from the kind registry's counts
 * and small probes, and what it carries over to the next page. Against the in-memory events
 * table (which indexes each event under shared/domain/keys.ts) and an in-memory registry.
 */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import { kindId, kindOf, type RegisteredKind } from '#shared/domain/kinds.ts';
import { type EventFilters, listQuerySchema } from '#shared/domain/query.ts';
import { PROBE_LIMIT, planEvents } from '#shared/usecases/plan-events.ts';
import type { KindRegistry } from '#shared/usecases/ports/kinds.ts';
import { MemoryEventStore } from './fakes/events.ts';

const T0 = Date.parse('2026-11-20T00:00:00.000Z');
const window = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };

interface Spec {
  action?: string;
  actor?: string;
  email?: string;
  team?: string;
  status?: 'success' | 'failure';
  target?: string;
}

const eventOf = (i: number, spec: Spec): StoredEvent => ({
  id: `e${String(i).padStart(6, '0')}`,
  tenant_id: 'tnt_a',
  action: spec.action ?? 'doc.viewed',
  occurred_at: new Date(T0 - i * 60_000).toISOString(),
  received_at: new Date(T0 - i * 60_000).toISOString(),
  actor: { id: spec.actor ?? `u${i % 20}`, ...(spec.email === undefined ? {} : { email: spec.email }) },
  ...(spec.target === undefined ? {} : { target: { id: spec.target, type: 'doc' } }),
  ...(spec.team === undefined ? {} : { team_id: spec.team }),
  status: spec.status ?? 'success',
  impersonated: false,
  expires_at: null,
  hash: 'h',
});

/** A registry holding exactly the kinds and emails of `events`, counted. */
const registryOf = (events: readonly StoredEvent[]) => {
  const kinds = new Map<string, RegisteredKind>();
  const emails = new Map<string, Set<string>>();
  for (const e of events) {
    const kind = kindOf(e);
    const id = kindId(kind);
    const known = kinds.get(id) ?? { id, kind, count: 0 };
    known.count += 1;
    kinds.set(id, known);
    if (e.actor.email !== undefined) {
      const email = e.actor.email.toLowerCase();
      emails.set(email, (emails.get(email) ?? new Set()).add(e.actor.id));
    }
  }
  const calls = { kinds: 0, emails: 0 };
  const registry: Pick<KindRegistry, 'kinds' | 'actorsWithEmail'> = {
    kinds: async () => {
      calls.kinds += 1;
      return { kinds: [...kinds.values()], readUnits: 0 };
    },
    actorsWithEmail: async (_tenant, email, limit) => {
      calls.emails += 1;
      const ids = [...(emails.get(email) ?? [])];
      return { ids: ids.slice(0, limit), more: ids.length > limit };
    },
  };
  return { registry, calls };
};

const setUp = async (specs: Spec[], shards = 1) => {
  const events = specs.map((spec, i) => eventOf(i, spec));
  const store = new MemoryEventStore();
  await store.append(events, shards);
  const { registry, calls } = registryOf(events);
  const plan = (
    raw: Record<string, string>,
    options: {
      scope?: string[];
      via?: string;
      before?: string;
      resume?: { values: string[]; weights?: number[] };
    } = {},
  ) => {
    const { limit, cursor: _c, ...filters } = listQuerySchema.parse(raw);
    return planEvents(
      { store, kinds: registry },
      {
        tenantId: 'tnt_a',
        shards,
        filters: filters as EventFilters,
        window,
        scope: options.scope ?? null,
        limit,
        ...(options.before === undefined ? {} : { before: options.before }),
        ...(options.via === undefined ? {} : { via: options.via as never }),
        ...(options.resume === undefined ? {} : { resume: options.resume }),
      },
    );
  };
  return { store, calls, plan, events };
};

/** `n` events built by `spec(i)`. */
const many = (n: number, spec: (i: number) => Spec): Spec[] => Array.from({ length: n }, (_, i) => spec(i));

describe('the planner', () => {
  it('reads the time index without filters, asking nobody', async () => {
    const { plan, store, calls } = await setUp(many(50, () => ({})));
    const planned = await plan({});
    expect(planned.plan.path).toBe('time');
    expect(planned.plan.sources).toEqual([{ index: 'byTenantTime', partitionKey: 'tnt_a#0' }]);
    expect([store.probes, calls.kinds, calls.emails, planned.readUnits]).toEqual([0, 0, 0, 0]);
  });

  it('fans a kind filter out over exactly the kinds that match, on every shard, without probing', async () => {
    const { plan, store } = await setUp(
      many(200, (i) => ({
        action: i % 10 === 0 ? 'secret.read' : i % 10 === 1 ? 'secret.key.rotated' : 'doc.viewed',
      })),
      2,
    );
    const planned = await plan({ action: 'secret.*' });
    expect(planned.plan.path).toBe('kind');
    expect(planned.plan.sources).toHaveLength(2 * 2);
    expect(new Set(planned.plan.sources.map((s) => s.index))).toEqual(new Set(['byKind']));
    expect(store.probes).toBe(0);
    expect(planned.estimates.find((e) => e.path === 'kind')?.share).toBeCloseTo(0.2);
    // Each kind's partitions are weighted by its count (+1), per shard.
    expect(planned.plan.weights).toEqual([21, 21, 21, 21]);
  });

  it('reads the time index for a filter most events match (a wide fan-out costs more than what it skips)', async () => {
    const { plan } = await setUp(
      many(1_000, (i) => ({ action: `a.k${i % 40}`, status: i % 50 === 0 ? 'failure' : 'success' })),
      4,
    );
    expect((await plan({ status: 'success' })).plan.path).toBe('time');
    // Failures are in the sparse flag index: one partition per shard, not a fan-out over 40 kinds.
    const failed = await plan({ status: 'failure' });
    expect(failed.plan.path).toBe('flag');
    expect(failed.plan.sources).toHaveLength(2 * 4);
    expect(failed.estimates.find((e) => e.path === 'flag')?.share).toBeCloseTo(0.02);
    // A failed action reads its own kinds, sparser still.
    expect((await plan({ status: 'failure', action: 'a.k0' })).plan.path).toBe('kind');
  });

  it('reads nothing for a kind filter no stored event matches', async () => {
    const { plan } = await setUp(many(20, () => ({})));
    const planned = await plan({ action: 'never.seen' });
    expect(planned.plan).toMatchObject({ path: 'kind', sources: [] });
  });

  it("resolves an email to its actors' partitions, case-insensitively", async () => {
    const { plan } = await setUp(
      many(30, (i) => ({
        actor: i % 3 === 0 ? 'ada_1' : i % 3 === 1 ? 'ada_2' : 'bob',
        email: i % 3 === 2 ? 'bob@x.io' : 'Ada@X.io',
      })),
    );
    const planned = await plan({ actor_email: 'ADA@x.io' });
    expect(planned.plan.path).toBe('email');
    expect(planned.plan.sources.map((s) => s.partitionKey).sort()).toEqual([
      'tnt_a#0#ada_1',
      'tnt_a#0#ada_2',
    ]);
    expect((await plan({ actor_email: 'nobody@x.io' })).plan.sources).toEqual([]);
  });

  it('probes competing paths and reads the sparser: a rare action in a big team', async () => {
    const { plan, store } = await setUp(
      many(600, (i) => ({
        team: i % 2 === 0 ? 'big' : 'other',
        action: i % 60 === 0 ? 'rare.act' : 'doc.viewed',
      })),
    );
    const planned = await plan({ team_id: 'big', action: 'rare.act' });
    expect(planned.plan.path).toBe('kind');
    expect(store.probes).toBe(2); // the team's partition and the time index
    expect(planned.readUnits).toBe(0); // the in-memory table bills nothing
  });

  it('probes competing paths and reads the sparser: a small team and a common action', async () => {
    const { plan } = await setUp(
      many(600, (i) => ({
        team: i % 40 === 0 ? 'small' : 'other',
        action: i % 2 === 0 ? 'doc.viewed' : 'doc.edited',
      })),
    );
    const planned = await plan({ team_id: 'small', action: 'doc.viewed' });
    expect(planned.plan.path).toBe('team');
    const team = planned.estimates.find((e) => e.path === 'team');
    expect(team?.share).toBeGreaterThan(0.01);
    expect(team?.share).toBeLessThan(0.06);
  });

  it('compares two id filters by their probes: a one-off target beats a busy actor', async () => {
    const { plan, store } = await setUp(
      many(300, (i) => ({
        actor: i % 2 === 0 ? 'busy' : 'calm',
        target: i === 10 ? 'doc_1' : `doc_${100 + (i % 50)}`,
      })),
    );
    const planned = await plan({ actor_id: 'busy', target_id: 'doc_1' });
    expect(planned.plan.path).toBe('target');
    expect(store.probes).toBe(3);
    // A probe reads at most PROBE_LIMIT items.
    expect(PROBE_LIMIT).toBeLessThanOrEqual(10);
  });

  it("plans a team admin's teams like any filter, and keeps the scope on every event", async () => {
    const { plan } = await setUp(
      many(400, (i) => ({ team: `t${i % 4}`, action: i % 100 === 0 ? 'rare.act' : 'doc.viewed' })),
    );
    const scoped = await plan({}, { scope: ['t1', 't2'] });
    expect(scoped.plan.path).toBe('team');
    expect(scoped.plan.scope).toEqual(['t1', 't2']);
    const rare = await plan({ action: 'rare.act' }, { scope: ['t0', 't1', 't2'] });
    expect(rare.plan.path).toBe('kind');
    expect(rare.plan.scope).toEqual(['t0', 't1', 't2']);
  });

  it("reuses the cursor's path without probing or weighing again", async () => {
    const { plan, store } = await setUp(
      many(300, (i) => ({
        team: i % 2 === 0 ? 'big' : 'other',
        action: i % 30 === 0 ? 'rare.act' : 'doc.viewed',
      })),
    );
    const planned = await plan(
      { team_id: 'big', action: 'rare.act' },
      { via: 'team', before: '2026-11-19T00:00:00.000Z#z' },
    );
    expect(planned.plan.path).toBe('team');
    expect(store.probes).toBe(0);
    // A path that no longer applies (another filter set) is ignored, not trusted.
    expect((await plan({ action: 'rare.act' }, { via: 'target' })).plan.path).toBe('kind');
  });

  it("reads a cursor's carried kinds and weights as they are: no registry read, no probe", async () => {
    const { plan, store, calls } = await setUp(
      many(200, (i) => ({
        action: i % 10 === 0 ? 'secret.read' : i % 10 === 1 ? 'secret.key.rotated' : 'doc.viewed',
      })),
      2,
    );
    const first = await plan({ action: 'secret.*' });
    expect(calls.kinds).toBe(1);
    expect(first.values.values).toHaveLength(2);
    const [kept] = first.values.values;
    const next = await plan(
      { action: 'secret.*' },
      { via: 'kind', resume: { values: [kept as string], weights: [7] } },
    );
    expect(calls.kinds).toBe(1);
    expect(store.probes).toBe(0);
    expect(next.readUnits).toBe(0);
    expect(next.plan.path).toBe('kind');
    expect(next.plan.sources.map((s) => s.partitionKey)).toEqual([`tnt_a#0#${kept}`, `tnt_a#1#${kept}`]);
    expect(next.plan.weights).toEqual([7, 7]);
    // An email's actors ride along the same way.
    const email = await plan({ actor_email: 'a@x.io' }, { via: 'email', resume: { values: ['u1'] } });
    expect([calls.emails, email.plan.sources.map((s) => s.partitionKey)]).toEqual([
      0,
      ['tnt_a#0#u1', 'tnt_a#1#u1'],
    ]);
  });

  it('narrows, never widens: carried values the filters or the scope do not name are dropped', async () => {
    const { plan } = await setUp(many(100, (i) => ({ team: `t${i % 4}` })));
    const teams = await plan({ team_id: 't1,t2' }, { via: 'team', resume: { values: ['t2', 't3'] } });
    expect(teams.plan.sources.map((s) => s.partitionKey)).toEqual(['tnt_a#0#t2']);
    const scoped = await plan({}, { scope: ['t1'], via: 'team', resume: { values: ['t0', 't1'] } });
    expect(scoped.plan.sources.map((s) => s.partitionKey)).toEqual(['tnt_a#0#t1']);
    // Weights that do not line up with the values are not trusted: the page plans afresh.
    const odd = await plan(
      { team_id: 't1,t2' },
      { via: 'team', resume: { values: ['t1'], weights: [1, 2] } },
    );
    expect(odd.plan.sources).toHaveLength(2);
  });
});
